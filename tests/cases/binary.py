"""Records for bce and bce_logits (losscli/losses/classification.py)."""

from __future__ import annotations

import numpy as np
from loss_cases import Extreme, LossCase

from . import naive
from .exact import log_sigmoid, mpmath, sigmoid
from .tables import PROBABILITIES, SIGNED_LOGITS, grid

LABELS = (0.0, 1.0, 0.3)


def naive_bce(pred, target, *, eps: float) -> float:
    return naive.mean(naive.binary_cross_entropy(naive.clip(p, eps), y) for p, y in naive.elements(pred, target))


def naive_bce_logits(logits, target, *, pos_weight=()) -> float:
    """torch's binary_cross_entropy_with_logits; pos_weight one value or one per column."""
    logits = np.asarray(logits, dtype=np.float64)
    columns = logits.shape[1] if logits.ndim == 2 else 1
    given = list(pos_weight) if pos_weight is not None and len(pos_weight) else [1.0]
    losses = []
    for index, (x, y) in enumerate(naive.elements(logits, target)):
        p_w = given[index % columns] if len(given) > 1 else given[0]
        losses.append(-(p_w * y * naive.log_sigmoid(x) + (1.0 - y) * naive.log_sigmoid(-x)))
    return naive.mean(losses)


def clipped(pred, eps):
    """The documented clip: p = clip(ŷ, eps, 1 - eps), both bounds the float64 numbers losscli uses."""
    mp = mpmath()
    return min(max(pred, mp.mpf(eps)), mp.mpf(1.0 - eps))


def xlogy(coefficient, value):
    """coefficient·log(value), 0 where the coefficient is 0 (0·log 0 = 0)."""
    return 0 if coefficient == 0 else coefficient * mpmath().log(value)


def binary_cross_entropy(prob, label):
    """-[y·log p + (1-y)·log(1-p)], log(1-p) as log1p(-p): 1 - 1e-300 is 1 in 50 digits."""
    mp = mpmath()
    return -(xlogy(label, prob) + (0 if label == 1 else (1 - label) * mp.log1p(-prob)))


def bce_slope(prob, label):
    """d BCE / dp = (p - y) / (p(1 - p)), its limit -y/p + (1-y)/(1-p) at p = 0 or 1 (eps = 0)."""
    mp = mpmath()
    if 0 < prob < 1:
        return (prob - label) / (prob * (1 - prob))
    terms = [(-label, prob), (1 - label, 1 - prob)]
    return sum(coefficient / denominator if denominator else mp.inf * coefficient
               for coefficient, denominator in terms if coefficient)


def exact_bce(pred, target, *, eps):
    prob = clipped(pred, eps)
    return binary_cross_entropy(prob, target), {"pred": bce_slope(prob, target)}


def _pos_weight(pos_weight):
    if pos_weight is None or len(pos_weight) == 0:
        return 1
    assert len(pos_weight) == 1, "the exact reference takes one pos_weight (per-column ones: the naive reference)"
    return pos_weight[0]


def exact_bce_logits(logits, target, *, pos_weight=(1.0,)):
    weight = _pos_weight(pos_weight)
    value = -(weight * target * log_sigmoid(logits) + (1 - target) * log_sigmoid(-logits))
    return value, {"logits": (1 - target) * sigmoid(logits) - weight * target * sigmoid(-logits)}


def torch_bce(torch, t, params, reduction):
    return torch.nn.functional.binary_cross_entropy(t["pred"], t["target"], reduction=reduction)


def torch_bce_logits(torch, t, params, reduction):
    pos_weight = params["pos_weight"]
    weight = torch.tensor(pos_weight, dtype=torch.float64) if pos_weight else None
    return torch.nn.functional.binary_cross_entropy_with_logits(t["logits"], t["target"], pos_weight=weight,
                                                                reduction=reduction)


def bce_extremes():
    # torch clamps log p at -100 instead of clipping p: compared only inside [eps, 1 - eps]
    inside = tuple(p for p in PROBABILITIES if 1e-15 <= p <= 1.0 - 1e-15)
    return (*(Extreme(f"probabilities 0 to 1, eps = {eps:g}", grid(pred=PROBABILITIES, target=LABELS),
                      {"eps": eps}, torch=False) for eps in (1e-15, 1e-7, 0.0)),
            Extreme("probabilities inside the clip", grid(pred=inside, target=LABELS)))


def bce_logits_extremes():
    table = grid(logits=SIGNED_LOGITS, target=(*LABELS, 1e-300))
    return tuple(Extreme(f"logits ±1e4, pos_weight {weight:g}", table, {"pos_weight": (weight,)})
                 for weight in (1.0, 2.5, 0.0))


CASES = (
    LossCase("bce", naive=naive_bce, exact=exact_bce, extremes=bce_extremes, torch=torch_bce, torch_native=True,
             variants=({"eps": 0.1}, {"eps": 1e-7}), torch_variants=({"eps": 1e-7},)),
    LossCase("bce_logits", naive=naive_bce_logits, exact=exact_bce_logits, extremes=bce_logits_extremes,
             torch=torch_bce_logits, torch_native=True, variants=({"pos_weight": 2.5},)),
)
