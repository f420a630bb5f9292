"""Deliberately naive reference implementations of every registered loss.

Written from the formulas (the seed, the papers), independently of losscli: plain Python loops
over rows and elements with the ``math`` module, so each one is obviously right. Each function
takes the loss's inputs in the registry's positional order and its parameters as keywords, and
returns the mean-reduced loss as a Python float (mean over elements for elementwise losses,
over rows / tokens for row-wise ones).

``REFERENCES`` maps every canonical loss name to its reference; a loss added to the registry
without an entry here makes the generic reference test fail.
"""

from __future__ import annotations

import math

import numpy as np


def _elements(*arrays):
    """Zip the flattened arrays element by element, as Python floats."""
    return zip(*(np.asarray(array, dtype=np.float64).ravel().tolist() for array in arrays), strict=True)


def _mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


def _clip(value: float, eps: float) -> float:
    return min(max(value, eps), 1.0 - eps)


def _distance(first, second) -> float:
    return math.sqrt(math.fsum((a - b) ** 2 for a, b in zip(first, second, strict=True)))


def _log_softmax_row(row) -> list[float]:
    """log softmax of one row of scores, shifting by the maximum so exp never overflows."""
    top = max(row)
    log_total = top + math.log(math.fsum(math.exp(score - top) for score in row))
    return [score - log_total for score in row]


def _target_row(target, num_classes: int) -> list[float]:
    """A class id (scalar) as a one-hot row, or a row of class probabilities as is."""
    if np.ndim(target) == 0:
        row = [0.0] * num_classes
        row[int(target)] = 1.0
        return row
    return [float(value) for value in target]


# --- regression -----------------------------------------------------------------------------

def mse(pred, target) -> float:
    return _mean((p - t) ** 2 for p, t in _elements(pred, target))


def mae(pred, target) -> float:
    return _mean(abs(p - t) for p, t in _elements(pred, target))


def huber(pred, target, *, delta: float) -> float:
    losses = []
    for p, t in _elements(pred, target):
        residual = abs(p - t)
        if residual <= delta:
            losses.append(0.5 * residual**2)
        else:
            losses.append(delta * (residual - 0.5 * delta))
    return _mean(losses)


# --- binary classification ------------------------------------------------------------------

def _binary_cross_entropy(p: float, y: float) -> float:
    return -(y * math.log(p) + (1.0 - y) * math.log(1.0 - p))


def bce(pred, target, *, eps: float) -> float:
    return _mean(_binary_cross_entropy(_clip(p, eps), y) for p, y in _elements(pred, target))


def bce_logits(logits, target) -> float:
    losses = []
    for x, y in _elements(logits, target):
        # log sigmoid(x) = -log(1 + e^-x) and log(1 - sigmoid(x)) = log sigmoid(-x) = -log(1 + e^x)
        log_p = -math.log1p(math.exp(-x))
        log_not_p = -math.log1p(math.exp(x))
        losses.append(-(y * log_p + (1.0 - y) * log_not_p))
    return _mean(losses)


def focal(pred, target, *, alpha: float, gamma: float, eps: float) -> float:
    losses = []
    for p, y in _elements(pred, target):
        p = _clip(p, eps)
        p_t = y * p + (1.0 - y) * (1.0 - p)  # p if y = 1, 1 - p if y = 0
        alpha_t = y * alpha + (1.0 - y) * (1.0 - alpha)
        # for 0/1 labels the cross-entropy term is -log p_t; soft labels use the full BCE
        cross_entropy_term = -math.log(p_t) if y in (0.0, 1.0) else _binary_cross_entropy(p, y)
        losses.append(alpha_t * (1.0 - p_t) ** gamma * cross_entropy_term)
    return _mean(losses)


# --- multi-class classification -------------------------------------------------------------

def cross_entropy(pred, target, *, eps: float) -> float:
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    losses = []
    for row in range(pred.shape[0]):
        probs = pred[row].tolist()
        weights = _target_row(target[row], len(probs))
        losses.append(-math.fsum(y * math.log(_clip(p, eps)) for p, y in zip(probs, weights, strict=True)))
    return _mean(losses)


def softmax_cross_entropy(logits, target, *, smoothing: float = 0.0) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    losses = []
    for row in range(logits.shape[0]):
        log_probs = _log_softmax_row(logits[row].tolist())
        num_classes = len(log_probs)
        smoothed = [(1.0 - smoothing) * y + smoothing / num_classes for y in _target_row(target[row], num_classes)]
        losses.append(-math.fsum(y * log_p for y, log_p in zip(smoothed, log_probs, strict=True)))
    return _mean(losses)


def label_smoothing(logits, target, *, smoothing: float) -> float:
    return softmax_cross_entropy(logits, target, smoothing=smoothing)


# --- embeddings -----------------------------------------------------------------------------

def contrastive(x1, x2, labels, *, margin: float) -> float:
    """Label 1 = same class: ½d²; label 0 = different class: ½max(0, m - d)²."""
    losses = []
    rows = zip(np.asarray(x1).tolist(), np.asarray(x2).tolist(), np.asarray(labels).tolist(), strict=True)
    for first, second, label in rows:
        distance = _distance(first, second)
        similar = 0.5 * distance**2
        dissimilar = 0.5 * max(0.0, margin - distance) ** 2
        losses.append(label * similar + (1.0 - label) * dissimilar)
    return _mean(losses)


def triplet(anchor, positive, negative, *, margin: float) -> float:
    losses = []
    rows = zip(np.asarray(anchor).tolist(), np.asarray(positive).tolist(), np.asarray(negative).tolist(), strict=True)
    for a, p, n in rows:
        losses.append(max(0.0, _distance(a, p) - _distance(a, n) + margin))
    return _mean(losses)


def infonce(query, keys, *, temperature: float, positive_idx: int) -> float:
    losses = []
    for q, row_keys in zip(np.asarray(query).tolist(), np.asarray(keys).tolist(), strict=True):
        scores = [math.fsum(a * b for a, b in zip(q, key, strict=True)) / temperature for key in row_keys]
        losses.append(-_log_softmax_row(scores)[int(positive_idx)])
    return _mean(losses)


# --- sequences ------------------------------------------------------------------------------

def lm_nll(logits, targets) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    vocab = logits.shape[-1]
    rows = logits.reshape(-1, vocab).tolist()
    tokens = np.asarray(targets, dtype=np.float64).ravel().tolist()
    return _mean(-_log_softmax_row(row)[int(token)] for row, token in zip(rows, tokens, strict=True))


def perplexity(logits, targets) -> float:
    return math.exp(lm_nll(logits, targets))


REFERENCES = {
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "bce": bce,
    "bce_logits": bce_logits,
    "cross_entropy": cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,
    "label_smoothing": label_smoothing,
    "focal": focal,
    "contrastive": contrastive,
    "triplet": triplet,
    "infonce": infonce,
    "lm_nll": lm_nll,
    "perplexity": perplexity,
}

# Issue 6's losses keep their references in their own modules, merged here.
from reference_classification_more import REFERENCES_CLASSIFICATION_MORE  # noqa: E402
from reference_regression_more import REFERENCES_REGRESSION_MORE  # noqa: E402

REFERENCES.update(REFERENCES_REGRESSION_MORE)
REFERENCES.update(REFERENCES_CLASSIFICATION_MORE)
