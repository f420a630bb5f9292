"""Records for hinge, squared_hinge (losscli/losses/margin.py) and cosine (losscli/losses/cosine.py)."""

from __future__ import annotations

import math

import numpy as np
from loss_cases import Extreme, LossCase

from . import naive
from .exact import dot, mpmath
from .tables import LARGEST, ULP, around, grid, rows, signed
from .torch_ops import reduce

COSINE_EPS = 1e-12  # torch's EPSILON in cosine_embedding_loss, added to both squared norms


def naive_hinge(scores, target) -> float:
    return naive.mean(max(0.0, 1.0 - naive.signed(y) * x) for x, y in naive.elements(scores, target))


def naive_squared_hinge(scores, target) -> float:
    return naive.mean(max(0.0, 1.0 - naive.signed(y) * x) ** 2 for x, y in naive.elements(scores, target))


def naive_cosine(x1, x2, labels, *, margin) -> float:
    """torch's cosine_embedding_loss (its eps included); label 0 is read as -1."""
    losses = []
    for first, second, label in zip(naive.rows_of(x1), naive.rows_of(x2), naive.flat(labels), strict=True):
        dot_product = math.fsum(a * b for a, b in zip(first, second, strict=True))
        norm1 = math.fsum(a * a for a in first) + COSINE_EPS
        norm2 = math.fsum(b * b for b in second) + COSINE_EPS
        cos = dot_product / math.sqrt(norm1 * norm2)
        losses.append(1.0 - cos if naive.signed(label) == 1.0 else max(0.0, cos - margin))
    return naive.mean(losses)


def _signed(label):
    return -1 if label == 0 else label


def exact_hinge(scores, target):
    label = _signed(target)
    margin = 1 - label * scores
    return max(margin, 0), {"scores": -label if margin > 0 else 0}


def exact_squared_hinge(scores, target):
    label = _signed(target)
    margin = max(1 - label * scores, 0)
    return margin**2, {"scores": -2 * label * margin}


def exact_cosine(x1, x2, labels, *, margin):
    """torch's cosine_embedding_loss: cos = x1·x2 / sqrt((|x1|² + ε)(|x2|² + ε))."""
    mp = mpmath()
    squared1, squared2 = dot(x1, x1) + COSINE_EPS, dot(x2, x2) + COSINE_EPS
    root = mp.sqrt(squared1 * squared2)
    cos = dot(x1, x2) / root
    if _signed(labels) == 1:
        value, slope = 1 - cos, -1
    else:
        value, slope = max(cos - margin, 0), (1 if cos > margin else 0)
    grad1 = [slope * (b / root - cos * a / squared1) for a, b in zip(x1, x2, strict=True)]
    grad2 = [slope * (a / root - cos * b / squared2) for a, b in zip(x1, x2, strict=True)]
    return value, {"x1": grad1, "x2": grad2}


def _torch_hinge(power):
    def loss(torch, t, params, reduction):
        """2·multi_margin_loss of the scores [0, x] with class (y+1)/2: max(0, 1 - y·x)^p / 2 per row."""
        scores, label = t["scores"], torch.where(t["target"] == 0, -1.0, t["target"])
        two_class = torch.stack([torch.zeros_like(scores.reshape(-1)), scores.reshape(-1)], dim=1)
        classes = ((label.reshape(-1) + 1) / 2).long()
        per_row = 2 * torch.nn.functional.multi_margin_loss(two_class, classes, p=power, reduction="none")
        return reduce(per_row.reshape(scores.shape), reduction)

    return loss


def torch_cosine(torch, t, params, reduction):
    return torch.nn.functional.cosine_embedding_loss(t["x1"], t["x2"], t["labels"], margin=params["margin"],
                                                     reduction=reduction)


def hinge_extremes():
    scores = signed((0.0, 1e-300, 0.5, *around(1.0), *around(1.0, 1e-15), 2.0, 1e4, 1e160, 1e300, LARGEST))
    return (Extreme("scores to 1.8e308 around the margin 1", grid(scores=scores, target=(1.0, -1.0, 0.0))),)


def pair_rows(scale: float):
    """Pairs of 3-vectors at norms ~scale: orthogonal, at 60° and 120°, nearly opposite, one zero, one at 98°;
    exactly opposite and exactly parallel (cosine's gradient is then the cancellation of two terms of size
    1/|x|, down to ε's share), 1e-9 from parallel (1 - cos = 5e-19), and nearly orthogonal with a dot product
    that cancels (0.07 - 0.07 + 7e-13); and duplicated pairs."""
    first = rows([1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0],
                 [1.0, 2.0, 0.0], [1.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.1, 0.7, 0.0])
    second = rows([0.0, 1.0, 0.0], [0.5, np.sqrt(0.75), 0.0], [-0.5, np.sqrt(0.75), 0.0], [-1.0, -2.0, 0.25],
                  [1.0, 1.0, 1.0], [0.3, -2.0, 0.5], [-1.0, -2.0, 0.0], [1.0, 2.0, 0.0], [1.0, 1e-9, 0.0],
                  [0.7, -0.1 + 1e-12, 0.0])
    # duplicated pairs, x2 = x1 and x2 = -x1 exactly: 1 - |cos| is then ε's share alone, ε/(|x|² + ε)
    duplicated = rows([1.0, 2.0, 0.0], [0.3, -0.7, 1e-3])
    return (np.concatenate([first * scale, duplicated * scale, duplicated * scale]),
            np.concatenate([second * scale * 3.0, duplicated * scale, -duplicated * scale]))


def cosine_extremes():
    cases = []
    for scale in (1.0, 1e-160, 1e160, 1e-300, 1e300, 1e-310):
        x1, x2 = pair_rows(scale)
        cases.append(Extreme(f"norms {scale:g}, label 1", {"x1": x1, "x2": x2, "labels": np.ones(len(x1))}))
        # margins away from the pairs' cosines and at them: at cos(60°) = 0.5 (within 1e-16, after rounding),
        # -0.5 and -1 (opposite) the loss cos - m is the cosine's last digits
        for margin in (0.0, 0.3, 0.5, -0.5, -0.7, -1.0):
            cases.append(Extreme(f"norms {scale:g}, label -1, margin {margin:g}",
                                 {"x1": x1, "x2": x2, "labels": np.full(len(x1), -1.0)}, {"margin": margin}))
    # cos(60°) = 0.5 computed from floats lies within an ulp of the margin 0.5: the hinge's kink
    x1, x2 = pair_rows(1.0)
    cases.append(Extreme("cos at the margin", {"x1": x1[1:2], "x2": x2[1:2], "labels": rows(-1.0)},
                         {"margin": 0.5 * (1 - ULP)}))
    return tuple(cases)


CASES = (
    LossCase("hinge", naive=naive_hinge, exact=exact_hinge, extremes=hinge_extremes, torch=_torch_hinge(1),
             torch_native=True),
    LossCase("squared_hinge", naive=naive_squared_hinge, exact=exact_squared_hinge, extremes=hinge_extremes,
             torch=_torch_hinge(2), torch_native=True),
    LossCase("cosine", naive=naive_cosine, exact=exact_cosine, extremes=cosine_extremes, torch=torch_cosine,
             torch_native=True, variants=({"margin": 0.5}, {"margin": -0.4})),
)
