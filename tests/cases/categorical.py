"""Records for cross_entropy, softmax_cross_entropy, label_smoothing and kl_div
(losscli/losses/categorical.py); the exact cross-entropy helpers serve tests/cases/sequence.py too."""

from __future__ import annotations

import math

import numpy as np
from loss_cases import Extreme, LossCase

from . import naive
from .binary import clipped, xlogy
from .exact import Softmax, mpmath
from .tables import LOGITS, rows
from .torch_ops import class_weight, is_class_ids, reduce

CLASS_WEIGHT = (0.5, 2.0, 1.0)


def naive_cross_entropy(pred, target, *, eps, weight=(), ignore_index=-100) -> float:
    log_prob_rows = [[math.log(naive.clip(p, eps)) for p in row] for row in naive.rows_of(pred)]
    return naive.class_weighted_mean(log_prob_rows, target, smoothing=0.0, weight=weight, ignore_index=ignore_index)


def naive_softmax_cross_entropy(logits, target, *, smoothing=0.0, weight=(), ignore_index=-100) -> float:
    log_prob_rows = [naive.log_softmax_row(row) for row in naive.rows_of(logits)]
    return naive.class_weighted_mean(log_prob_rows, target, smoothing=smoothing, weight=weight,
                                     ignore_index=ignore_index)


def naive_kl_div(log_pred, target, *, log_target=False) -> float:
    """torch.nn.functional.kl_div(reduction='batchmean'): Σ over all elements / rows."""
    rows = []
    for log_q, row in zip(naive.rows_of(log_pred), naive.rows_of(target), strict=True):
        total = 0.0
        for x, t in zip(log_q, row, strict=True):
            if log_target:
                total += math.exp(t) * (t - x)
            elif t > 0:  # 0·log 0 = 0
                total += t * (math.log(t) - x)
        rows.append(total)
    return naive.mean(rows)


def target_row(target, num_classes, *, smoothing=0, weight=None, ignore_index=-100):
    """a with loss = -Σ_c a_c·log p_c (torch's cross_entropy): (1-s)·w_y·onehot(y) + (s/C)·w for a
    class id (0 when ignored), w ⊙ ((1-s)·y + s/C) for a row of probabilities."""
    weights = list(weight) if weight else [1] * num_classes
    if isinstance(target, list):
        return [w * ((1 - smoothing) * y + smoothing / num_classes) for w, y in zip(weights, target, strict=True)]
    if target == ignore_index:
        return [0] * num_classes
    label = int(target)
    return [(smoothing / num_classes) * w + ((1 - smoothing) * w if c == label else 0) for c, w in enumerate(weights)]


def exact_cross_entropy(pred, target, *, eps, weight=None, ignore_index=-100):
    shares = target_row(target, len(pred), weight=weight, ignore_index=ignore_index)
    probs = [clipped(p, eps) for p in pred]
    value = -sum(xlogy(a, p) for a, p in zip(shares, probs, strict=True))
    return value, {"pred": [-a / p for a, p in zip(shares, probs, strict=True)]}


def exact_softmax_cross_entropy(logits, target, *, smoothing=0, weight=None, ignore_index=-100):
    """Σ_c a_c·(-log p_c); gradient p·Σa - a, at the argmax Σ_{c≠argmax} a_c - Σa·(1 - p_argmax)."""
    mp = mpmath()
    softmax = Softmax(logits)
    shares = target_row(target, len(logits), smoothing=smoothing, weight=weight, ignore_index=ignore_index)
    total = mp.fsum(a for a in shares if a)
    value = -mp.fsum(a * softmax.log_prob(c) for c, a in enumerate(shares) if a)
    # entries with the same score and share have the same gradient (a vocabulary of 50,000 has few distinct ones)
    distinct = {}
    for c, a in enumerate(shares):
        if (logits[c], a) not in distinct:
            distinct[logits[c], a] = softmax.prob(c) * total - a
    gradient = [distinct[logits[c], a] for c, a in enumerate(shares)]
    top = softmax.argmax
    gradient[top] = mp.fsum(a for c, a in enumerate(shares) if c != top) - total * softmax.complement(top)
    return value, {"logits": gradient}


def exact_kl_div(log_pred, target, *, log_target):
    mp = mpmath()
    if log_target:
        value = mp.fsum(mp.exp(t) * (t - x) for x, t in zip(log_pred, target, strict=True))
        return value, {"log_pred": [-mp.exp(t) for t in target]}
    value = mp.fsum(xlogy(y, y) - y * x for x, y in zip(log_pred, target, strict=True))
    return value, {"log_pred": [-y for y in target]}


# --- torch -------------------------------------------------------------------------------------

def torch_cross_entropy(torch, t, params, reduction):
    """nll_loss of log p for class ids; -Σ_c w_c·y_c·log p_c for probability rows (mean over N)."""
    pred, target, weight = t["pred"], t["target"], class_weight(torch, params)
    if is_class_ids(pred, target):
        return torch.nn.functional.nll_loss(torch.log(pred), target.long(), weight=weight,
                                            ignore_index=params["ignore_index"], reduction=reduction)
    weights = weight if weight is not None else torch.ones(pred.shape[-1], dtype=torch.float64)
    return reduce(-(weights * target * torch.log(pred)).sum(dim=-1), reduction)


def torch_softmax_cross_entropy(torch, t, params, reduction):
    logits, target = t["logits"], t["target"]
    options = {"weight": class_weight(torch, params), "label_smoothing": params["smoothing"], "reduction": reduction}
    if is_class_ids(logits, target):
        return torch.nn.functional.cross_entropy(logits, target.long(), ignore_index=params["ignore_index"], **options)
    return torch.nn.functional.cross_entropy(logits, target, **options)


def torch_kl_div(torch, t, params, reduction):
    """kl_div per row: 'batchmean' for the mean, the row sums of 'none' per sample."""
    values = torch.nn.functional.kl_div(t["log_pred"], t["target"], reduction="none", log_target=params["log_target"])
    per_row = values.sum(dim=-1)
    return reduce(per_row, reduction)


# --- extreme tables -------------------------------------------------------------------------

def logit_rows():
    """Rows (x, 0, -x) for the table's logits, each class the target once, and a tie at 1e4."""
    logits = [[x, 0.0, -x] for x in LOGITS] + [[1e4, -1e4, 1e4], [-1e4, 1e4, 1e4], [1e-300, 0.0, -1e-300]]
    return np.repeat(rows(*logits), 3, axis=0), np.tile(rows(0.0, 1.0, 2.0), len(logits))


def vocabulary_rows(vocab=50_000):
    """The target logit dominating a vocabulary of 50,000 (NLL = log1p of the rest) and losing to it."""
    logits = np.zeros((3, vocab))
    logits[0, 7], logits[1, 7], logits[2, :100] = 40.0, 20.0, -700.0
    logits[2, 7] = 0.5
    return logits, rows(7.0, 7.0, 7.0)


def softmax_ce_extremes(default_smoothing=0.0):
    logits, target = logit_rows()
    soft = np.tile(rows([0.0, 1.0, 0.0], [1e-300, 1 - 2.0**-53, 2.0**-53], [0.2, 0.3, 0.5]), (len(logits) // 3, 1))
    cases = [Extreme(f"logits ±1e4, smoothing {s:g}, weight {w}", {"logits": logits, "target": target},
                     {"smoothing": s, "weight": w})
             for s in sorted({default_smoothing, 0.0, 0.1, 1e-10}) for w in (None, CLASS_WEIGHT)]
    cases += [Extreme(f"logits ±1e4, probability rows, smoothing {s:g}", {"logits": logits, "target": soft},
                      {"smoothing": s, "weight": CLASS_WEIGHT}) for s in (default_smoothing, 0.1)]
    cases.append(Extreme("ignored rows", {"logits": logits, "target": np.where(target == 1, 5.0, target)},
                         {"smoothing": default_smoothing, "ignore_index": 5}))
    vocab_logits, vocab_target = vocabulary_rows()
    cases.append(Extreme("vocabulary of 50,000", {"logits": vocab_logits, "target": vocab_target},
                         {"smoothing": default_smoothing}, slow=True))
    return tuple(cases)


PROBABILITY_ROWS = rows([1 - 2.0**-53, 1e-300, 2.0**-53], [1e-300, 0.5, 0.5], [0.3, 0.7, 0.0], [1e-15, 1 - 1e-15, 0.0],
                        [1.0, 0.0, 0.0], [1e-16, 1e-15, 1 - 1.1e-15])


def cross_entropy_extremes():
    pred, target = np.repeat(PROBABILITY_ROWS, 3, axis=0), np.tile(rows(0.0, 1.0, 2.0), len(PROBABILITY_ROWS))
    soft = np.tile(rows([0.0, 1.0, 0.0], [1e-300, 1 - 2.0**-53, 2.0**-53], [0.2, 0.3, 0.5]), (len(PROBABILITY_ROWS), 1))
    # torch takes log p unclipped: compared only on rows inside [eps, 1 - eps]
    inside = rows([0.3, 0.5, 0.2], [1e-15, 0.5, 0.5 - 1e-15], [1e-8, 1 - 2e-8, 1e-8])
    return (*(Extreme(f"probabilities 1e-300 to 1, {kind}, eps {eps:g}, weight {w}",
                      {"pred": pred, "target": targets}, {"eps": eps, "weight": w}, torch=False)
              for kind, targets in (("class ids", target), ("probability rows", soft))
              for eps in (1e-15, 1e-7) for w in (None, CLASS_WEIGHT)),
            Extreme("probabilities inside the clip", {"pred": np.repeat(inside, 3, axis=0),
                                                      "target": np.tile(rows(0.0, 1.0, 2.0), len(inside))}))


def kl_extremes():
    probs = rows([1 - 2.0**-53, 2.0**-54, 2.0**-54], [0.5, 0.5, 0.0], [1e-300, 0.5, 0.5])
    log_pred = np.where(probs == 0, -1e4, np.log(np.where(probs == 0, 1.0, probs)))
    # q = y to float precision (log q = fl(log y)): KL is then log's own rounding error (~1e-17 from terms of 0.3);
    # q within 1e-9 of y: terms of ±1e-9 cancel to KL ≈ 1e-18
    close = np.log(rows([0.2, 0.3, 0.5], [1e-300, 1 - 2.0**-53, 2.0**-53], [0.2 + 1e-12, 0.3, 0.5 - 1e-12]))
    close = np.concatenate([close, rows([np.log(0.5 + 1e-9), np.log(0.5 - 1e-9), -1e4])])
    log_pred = np.concatenate([log_pred, rows([-1e-300, -700.0, -1e4], [-np.log(3.0)] * 3), close])
    target = rows([1.0, 0.0, 0.0], [1e-300, 1 - 2.0**-53, 2.0**-53], [0.0, 0.5, 0.5], [0.2, 0.3, 0.5], [0.5, 0.5, 0.0])
    pairs_pred = np.repeat(log_pred, len(target), axis=0)
    pairs_target = np.tile(target, (len(log_pred), 1))
    log_target = np.log(np.where(pairs_target == 0, 1.0, pairs_target)) + np.where(pairs_target == 0, -800.0, 0.0)
    return (Extreme("log q to -1e4, targets with 0 and 1e-300", {"log_pred": pairs_pred, "target": pairs_target}),
            Extreme("log targets to -800", {"log_pred": pairs_pred, "target": log_target}, {"log_target": True}))


CASES = (
    LossCase("cross_entropy", naive=naive_cross_entropy, exact=exact_cross_entropy, extremes=cross_entropy_extremes,
             torch=torch_cross_entropy, torch_native=True,
             variants=({"weight": (0.5, 1.0, 2.0, 3.0, 0.25), "ignore_index": 0},)),
    LossCase("softmax_cross_entropy", naive=naive_softmax_cross_entropy, exact=exact_softmax_cross_entropy,
             extremes=softmax_ce_extremes, torch=torch_softmax_cross_entropy, torch_native=True, shift_invariant=True,
             variants=({"smoothing": 0.2}, {"weight": (0.5, 1.0, 2.0, 3.0, 0.25), "ignore_index": 1,
                                             "smoothing": 0.2})),
    LossCase("label_smoothing", naive=naive_softmax_cross_entropy, exact=exact_softmax_cross_entropy,
             extremes=lambda: softmax_ce_extremes(0.1), torch=torch_softmax_cross_entropy, torch_native=True,
             shift_invariant=True,
             variants=({"smoothing": 0.3}, {"smoothing": 1.0},
                       {"weight": (2.0, 1.0, 0.0, 1.0, 4.0), "ignore_index": 3})),
    # KL(y || q) >= 0 for q summing to 1; log-probabilities summing to 1 + 1e-16 after rounding give -1e-200
    LossCase("kl_div", naive=naive_kl_div, exact=exact_kl_div, extremes=kl_extremes, torch=torch_kl_div,
             torch_native=True, min_value=-1e-12, variants=({"log_target": True},)),
)
