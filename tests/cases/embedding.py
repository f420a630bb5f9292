"""Records for contrastive, triplet and infonce (losscli/losses/embedding.py)."""

from __future__ import annotations

import math

import numpy as np
from loss_cases import Extreme, LossCase

from . import naive
from .exact import Softmax, dot, mpmath, norm
from .margin import pair_rows
from .tables import rows
from .torch_ops import reduce


def naive_contrastive(x1, x2, labels, *, margin: float) -> float:
    """Label 1 = same class: ½d²; label 0 = different class: ½max(0, m - d)²."""
    losses = []
    for first, second, label in zip(naive.rows_of(x1), naive.rows_of(x2), naive.flat(labels), strict=True):
        distance = naive.distance(first, second)
        losses.append(label * 0.5 * distance**2 + (1.0 - label) * 0.5 * max(0.0, margin - distance) ** 2)
    return naive.mean(losses)


def naive_triplet(anchor, positive, negative, *, margin: float) -> float:
    rows = zip(naive.rows_of(anchor), naive.rows_of(positive), naive.rows_of(negative), strict=True)
    return naive.mean(max(0.0, naive.distance(a, p) - naive.distance(a, n) + margin) for a, p, n in rows)


def naive_infonce(query, keys, *, temperature: float, positive_idx: int) -> float:
    losses = []
    for q, row_keys in zip(naive.rows_of(query), naive.rows_of(keys), strict=True):
        scores = [math.fsum(a * b for a, b in zip(q, key, strict=True)) / temperature for key in row_keys]
        losses.append(-naive.log_softmax_row(scores)[int(positive_idx)])
    return naive.mean(losses)


def _difference(first, second):
    return [a - b for a, b in zip(first, second, strict=True)]


def exact_contrastive(x1, x2, labels, *, margin):
    """½·y·d² + ½·(1-y)·max(0, m - d)²; the hinge's slope at d = 0 is taken as 0 (losscli's subgradient)."""
    difference = _difference(x1, x2)
    distance = norm(difference)
    hinge = max(margin - distance, 0)
    value = labels * distance**2 / 2 + (1 - labels) * hinge**2 / 2
    push = (1 - labels) * hinge / distance if distance else 0
    grad1 = [(labels - push) * d for d in difference]
    return value, {"x1": grad1, "x2": [-g for g in grad1]}


def exact_triplet(anchor, positive, negative, *, margin):
    to_positive, to_negative = _difference(anchor, positive), _difference(anchor, negative)
    distance_pos, distance_neg = norm(to_positive), norm(to_negative)
    hinge = distance_pos - distance_neg + margin
    if hinge <= 0:
        zeros = [0] * len(anchor)
        return 0, {"anchor": zeros, "positive": zeros, "negative": zeros}
    grad_pos = [-d / distance_pos if distance_pos else 0 for d in to_positive]
    grad_neg = [d / distance_neg if distance_neg else 0 for d in to_negative]
    return hinge, {"anchor": [-(p + n) for p, n in zip(grad_pos, grad_neg, strict=True)],
                   "positive": grad_pos, "negative": grad_neg}


def exact_infonce(query, keys, *, temperature, positive_idx):
    mp = mpmath()
    softmax = Softmax([dot(query, key) / temperature for key in keys])
    weights = [softmax.minus_onehot(k, positive_idx) for k in range(len(keys))]
    grad_query = [mp.fsum(w * key[d] for w, key in zip(weights, keys, strict=True)) / temperature
                  for d in range(len(query))]
    grad_keys = [[w * q / temperature for q in query] for w in weights]
    return -softmax.log_prob(positive_idx), {"query": grad_query, "keys": grad_keys}


def torch_contrastive(torch, t, params, reduction):
    """The formula (label 1 = same class) in torch ops: torch has no contrastive loss."""
    distance = torch.nn.functional.pairwise_distance(t["x1"], t["x2"], p=2.0, eps=0.0)
    labels = t["labels"]
    hinge = torch.clamp(params["margin"] - distance, min=0.0)
    return reduce(0.5 * labels * distance**2 + 0.5 * (1 - labels) * hinge**2, reduction)


def torch_triplet(torch, t, params, reduction):
    return torch.nn.functional.triplet_margin_loss(t["anchor"], t["positive"], t["negative"], margin=params["margin"],
                                                   p=2, eps=0.0, reduction=reduction)


def torch_infonce(torch, t, params, reduction):
    """cross_entropy of the similarities q·k/τ with the positive's index."""
    similarities = torch.einsum("nd,nkd->nk", t["query"], t["keys"]) / params["temperature"]
    positive = torch.full((similarities.shape[0],), params["positive_idx"], dtype=torch.long)
    return torch.nn.functional.cross_entropy(similarities, positive, reduction=reduction)


SCALES = (1.0, 1e-160, 1e160, 1e-300, 1e300, 1e-310)  # 1e-310: subnormal, 1/d overflows
SQRT2 = math.sqrt(2.0)


def contrastive_extremes():
    cases = []
    for scale in SCALES:
        x1, x2 = pair_rows(scale)
        for label in (1.0, 0.0, 0.3):
            cases.append(Extreme(f"norms {scale:g}, label {label:g}",
                                 {"x1": x1, "x2": x2, "labels": np.full(len(x1), label)}, {"margin": 2.0 * scale}))
    # ½d² finite though d² overflows (d = 1.5e154 to 1.8e154), and beyond
    cases.append(Extreme("distances where d² overflows", {"x1": rows([0.0, 0.0], [0.0, 0.0], [0.0, 0.0]),
                                                         "x2": rows([1.5e154, 0.0], [1.8e154, 0.0], [1e155, 0.0]),
                                                         "labels": rows(1.0, 1.0, 0.5)}, {"margin": 1e155}))
    # distances at the margin: |x1 - x2| = 5 (3-4-5) against margins 5 and its neighbours, and √2 (and √2·1e160)
    # against the floats around it: m - d is then √2's rounding error, ~1e-17 of it
    for distance, pair in ((5.0, [3.0, 4.0]), (SQRT2, [1.0, 1.0]), (SQRT2 * 1e160, [1e160, 1e160])):
        for margin in (distance * (1 - 2.0**-52), distance, distance * (1 + 2.0**-52)):
            cases.append(Extreme(f"distance at margin {margin!r}", {"x1": rows([0.0, 0.0], [0.5, -0.5]),
                                                                    "x2": rows(pair, [0.5, -0.5] + np.array(pair)),
                                                                    "labels": rows(0.0, 0.0)}, {"margin": margin}))
    return tuple(cases)


def triplet_extremes():
    cases = []
    for scale in SCALES:
        anchor, positive = pair_rows(scale)
        negative = np.roll(positive, 1, axis=0)
        for margin in (0.2, 1e-300, 5.0):
            cases.append(Extreme(f"norms {scale:g}, margin {margin:g}·norm",
                                 {"anchor": anchor, "positive": positive, "negative": negative},
                                 {"margin": margin * scale}, torch=margin * scale > 0))  # torch rejects margin 0
    # d(a, p) - d(a, n) + m at 0 and a few ulps from it: exactly (5 - 6 + 1), and with d(a, p) = √2, d(a, n) = 2
    # where the hinge is √2's rounding error (~1e-17)
    for positive, negative, kink in (([3.0, 4.0], [6.0, 0.0], 1.0), ([1.0, 1.0], [2.0, 0.0], 2.0 - SQRT2)):
        for margin in (kink * (1 - 2.0**-52), kink, kink * (1 + 2.0**-52)):
            cases.append(Extreme(f"hinge at margin {margin!r}", {"anchor": rows([0.0, 0.0]), "positive": rows(positive),
                                                                 "negative": rows(negative)}, {"margin": margin}))
    return tuple(cases)


def infonce_extremes():
    query = rows([1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0])
    keys = np.stack([rows([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.6, 0.8, 0.0])] * 3)
    cases = [Extreme(f"unit vectors, temperature {tau:g}, positive {positive}", {"query": query, "keys": keys},
                     {"temperature": tau, "positive_idx": positive})
             for tau in (1.0, 0.07, 0.01, 1e-6) for positive in (0, 1, 3)]
    cases += [Extreme(f"norms {scale:g}, temperature 0.07", {"query": query * scale, "keys": keys * scale},
                      {"temperature": 0.07, "positive_idx": 3}) for scale in (1e-160, 1e-300, 1e100, 1e160, 1e300)]
    return tuple(cases)


CASES = (
    LossCase("contrastive", naive=naive_contrastive, exact=exact_contrastive, extremes=contrastive_extremes,
             torch=torch_contrastive, variants=({"margin": 2.0},)),
    LossCase("triplet", naive=naive_triplet, exact=exact_triplet, extremes=triplet_extremes, torch=torch_triplet,
             torch_native=True, variants=({"margin": 1.0},)),
    LossCase("infonce", naive=naive_infonce, exact=exact_infonce, extremes=infonce_extremes, torch=torch_infonce,
             torch_native=True,
             variants=({"positive_idx": 2, "temperature": 0.5}, {"temperature": 1.0}, {"temperature": 0.01})),
)
