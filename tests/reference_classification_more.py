"""Naive references for issue 6's classification and margin losses and options.

Written from torch's and torchvision's documented formulas, independently of losscli: plain loops
with the ``math`` module. Each takes the loss's inputs in registry order and all of its
parameters as keywords, and returns the mean-reduced loss as a float.

Besides the new losses (hinge, squared_hinge, cosine, kl_div, focal_logits, softmax_focal), this
module replaces tests/reference.py's entries for the losses that gained options: class weights
and ignore_index (cross_entropy, softmax_cross_entropy, label_smoothing, lm_nll, perplexity) and
pos_weight (bce_logits). torch's class-weighted mean (nll_loss, cross_entropy):

    class ids:  Σ_i [(1-s)·w[y_i]·(-log p_i[y_i]) + (s/C)·Σ_c w_c·(-log p_i[c])] / Σ_i w[y_i]
                over the rows with y_i != ignore_index
    prob rows:  Σ_i Σ_c w_c·((1-s)·y_ic + s/C)·(-log p_ic) / N
"""

from __future__ import annotations

import math

import numpy as np

COSINE_EPS = 1e-12  # torch's EPSILON in cosine_embedding_loss


def _rows(array) -> list:
    return np.asarray(array, dtype=np.float64).tolist()


def _flat(array) -> list[float]:
    return np.asarray(array, dtype=np.float64).ravel().tolist()


def _mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


def _log_softmax(row) -> list[float]:
    top = max(row)
    log_total = top + math.log(math.fsum(math.exp(score - top) for score in row))
    return [score - log_total for score in row]


def _log_sigmoid(x: float) -> float:
    # log(1 / (1 + e^-x)), written so that neither exp overflows
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def _weights(weight, num_classes):
    return [1.0] * num_classes if weight is None or len(weight) == 0 else [float(w) for w in weight]


def _signed(label: float) -> float:
    return -1.0 if label == 0 else label


# --- the cross-entropy family with torch's weight / ignore_index / label_smoothing -----------

def _class_weighted_mean(log_prob_rows, target, *, smoothing, weight, ignore_index):
    """torch's cross_entropy mean, given each row's log-probabilities."""
    num_classes = len(log_prob_rows[0])
    weights = _weights(weight, num_classes)
    target = np.asarray(target, dtype=np.float64)
    numerator, denominator = [], []
    if target.ndim == 2:  # probability rows: weights inside the sum, the mean over N
        for log_probs, row in zip(log_prob_rows, target.tolist(), strict=True):
            smoothed = [(1.0 - smoothing) * y + smoothing / num_classes for y in row]
            numerator.append(-math.fsum(w * y * lp for w, y, lp in zip(weights, smoothed, log_probs, strict=True)))
        return math.fsum(numerator) / len(numerator)
    for log_probs, label in zip(log_prob_rows, target.tolist(), strict=True):
        if label == ignore_index:
            continue
        label = int(label)
        nll = -weights[label] * log_probs[label]
        smooth = -math.fsum(w * lp for w, lp in zip(weights, log_probs, strict=True))
        numerator.append((1.0 - smoothing) * nll + smoothing / num_classes * smooth)
        denominator.append(weights[label])
    return math.fsum(numerator) / math.fsum(denominator)


def cross_entropy(pred, target, *, eps, weight=(), ignore_index=-100) -> float:
    log_prob_rows = [[math.log(min(max(p, eps), 1.0 - eps)) for p in row] for row in _rows(pred)]
    return _class_weighted_mean(log_prob_rows, target, smoothing=0.0, weight=weight, ignore_index=ignore_index)


def softmax_cross_entropy(logits, target, *, smoothing=0.0, weight=(), ignore_index=-100) -> float:
    log_prob_rows = [_log_softmax(row) for row in _rows(logits)]
    return _class_weighted_mean(log_prob_rows, target, smoothing=smoothing, weight=weight,
                                ignore_index=ignore_index)


def lm_nll(logits, targets, *, weight=(), ignore_index=-100) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    flat = logits.reshape(-1, logits.shape[-1])
    return softmax_cross_entropy(flat, np.asarray(targets).ravel(), weight=weight, ignore_index=ignore_index)


def perplexity(logits, targets, *, weight=(), ignore_index=-100) -> float:
    return math.exp(lm_nll(logits, targets, weight=weight, ignore_index=ignore_index))


def kl_div(log_pred, target, *, log_target=False) -> float:
    """torch.nn.functional.kl_div(reduction='batchmean'): Σ over all elements / rows."""
    rows = []
    for log_q, row in zip(_rows(log_pred), _rows(target), strict=True):
        total = 0.0
        for x, t in zip(log_q, row, strict=True):
            if log_target:
                total += math.exp(t) * (t - x)
            elif t > 0:  # 0·log 0 = 0
                total += t * (math.log(t) - x)
        rows.append(total)
    return _mean(rows)


# --- binary ----------------------------------------------------------------------------------

def bce_logits(logits, target, *, pos_weight=()) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    columns = logits.shape[1] if logits.ndim == 2 else 1
    given = list(pos_weight) if pos_weight is not None and len(pos_weight) else [1.0]
    losses = []
    for index, (x, y) in enumerate(zip(_flat(logits), _flat(target), strict=True)):
        p_w = given[index % columns] if len(given) > 1 else given[0]
        losses.append(-(p_w * y * _log_sigmoid(x) + (1.0 - y) * _log_sigmoid(-x)))
    return _mean(losses)


def focal_logits(logits, target, *, alpha, gamma) -> float:
    """torchvision.ops.sigmoid_focal_loss, reduction 'mean'."""
    losses = []
    for x, y in zip(_flat(logits), _flat(target), strict=True):
        p = math.exp(_log_sigmoid(x))
        ce = -(y * _log_sigmoid(x) + (1.0 - y) * _log_sigmoid(-x))
        p_t = p * y + (1.0 - p) * (1.0 - y)
        loss = ce * (1.0 - p_t) ** gamma
        if alpha >= 0:
            loss *= alpha * y + (1.0 - alpha) * (1.0 - y)
        losses.append(loss)
    return _mean(losses)


def softmax_focal(logits, target, *, alpha=(), gamma) -> float:
    losses = []
    for row, label in zip(_rows(logits), _flat(target), strict=True):
        label = int(label)
        log_p_t = _log_softmax(row)[label]
        if alpha is None or len(alpha) == 0:
            alpha_y = 1.0
        else:
            alpha_y = alpha[0] if len(alpha) == 1 else alpha[label]
        losses.append(-alpha_y * (1.0 - math.exp(log_p_t)) ** gamma * log_p_t)
    return _mean(losses)


# --- margin ----------------------------------------------------------------------------------

def hinge(scores, target) -> float:
    return _mean(max(0.0, 1.0 - _signed(y) * x) for x, y in zip(_flat(scores), _flat(target), strict=True))


def squared_hinge(scores, target) -> float:
    return _mean(max(0.0, 1.0 - _signed(y) * x) ** 2 for x, y in zip(_flat(scores), _flat(target), strict=True))


def cosine(x1, x2, labels, *, margin) -> float:
    """torch's cosine_embedding_loss (its eps included); label 0 is read as -1."""
    losses = []
    for first, second, label in zip(_rows(x1), _rows(x2), _flat(labels), strict=True):
        dot = math.fsum(a * b for a, b in zip(first, second, strict=True))
        norm1 = math.fsum(a * a for a in first) + COSINE_EPS
        norm2 = math.fsum(b * b for b in second) + COSINE_EPS
        cos = dot / math.sqrt(norm1 * norm2)
        losses.append(1.0 - cos if _signed(label) == 1.0 else max(0.0, cos - margin))
    return _mean(losses)


REFERENCES_CLASSIFICATION_MORE = {
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "cosine": cosine,
    "kl_div": kl_div,
    "focal_logits": focal_logits,
    "softmax_focal": softmax_focal,
    # losses that gained options: these replace tests/reference.py's entries
    "bce_logits": bce_logits,
    "cross_entropy": cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,
    "label_smoothing": softmax_cross_entropy,
    "lm_nll": lm_nll,
    "perplexity": perplexity,
}
