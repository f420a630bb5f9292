"""Records for focal, focal_logits and softmax_focal (losscli/losses/focal.py)."""

from __future__ import annotations

import math

from loss_cases import Extreme, LossCase

from . import naive
from .binary import LABELS, bce_slope, binary_cross_entropy, clipped
from .exact import Softmax, log_sigmoid, mpmath, sigmoid
from .tables import PROBABILITIES, SIGNED_LOGITS, grid, rows
from .torch_ops import reduce

GAMMAS = (0.0, 0.5, 2.0, 3.0)


def naive_focal(pred, target, *, alpha: float, gamma: float, eps: float) -> float:
    losses = []
    for p, y in naive.elements(pred, target):
        p = naive.clip(p, eps)
        p_t = y * p + (1.0 - y) * (1.0 - p)  # p if y = 1, 1 - p if y = 0
        alpha_t = y * alpha + (1.0 - y) * (1.0 - alpha)
        # for 0/1 labels the cross-entropy term is -log p_t; soft labels use the full BCE
        cross_entropy_term = -math.log(p_t) if y in (0.0, 1.0) else naive.binary_cross_entropy(p, y)
        losses.append(alpha_t * (1.0 - p_t) ** gamma * cross_entropy_term)
    return naive.mean(losses)


def naive_focal_logits(logits, target, *, alpha, gamma) -> float:
    """torchvision.ops.sigmoid_focal_loss, reduction 'mean'."""
    losses = []
    for x, y in naive.elements(logits, target):
        p = math.exp(naive.log_sigmoid(x))
        ce = -(y * naive.log_sigmoid(x) + (1.0 - y) * naive.log_sigmoid(-x))
        p_t = p * y + (1.0 - p) * (1.0 - y)
        loss = ce * (1.0 - p_t) ** gamma
        if alpha >= 0:
            loss *= alpha * y + (1.0 - alpha) * (1.0 - y)
        losses.append(loss)
    return naive.mean(losses)


def naive_softmax_focal(logits, target, *, alpha=(), gamma) -> float:
    losses = []
    for row, label in zip(naive.rows_of(logits), naive.flat(target), strict=True):
        label = int(label)
        log_p_t = naive.log_softmax_row(row)[label]
        alpha_y = 1.0 if alpha is None or len(alpha) == 0 else (alpha[0] if len(alpha) == 1 else alpha[label])
        losses.append(-alpha_y * (1.0 - math.exp(log_p_t)) ** gamma * log_p_t)
    return naive.mean(losses)


def _power(base, exponent):
    """base^exponent with 0^0 = 1."""
    return mpmath().mpf(1) if exponent == 0 else base**exponent


def exact_focal(pred, target, *, alpha, gamma, eps):
    """torchvision's formula at the clipped p; the gradient is the documented one, evaluated at the clipped p."""
    prob = clipped(pred, eps)
    miss = target * (1 - prob) + (1 - target) * prob  # 1 - p_t
    alpha_t = target * alpha + (1 - target) * (1 - alpha)
    cross_entropy = binary_cross_entropy(prob, target)
    focusing_slope = gamma * _power(miss, gamma - 1) * (2 * target - 1) * cross_entropy if gamma else 0
    slope = _power(miss, gamma) * bce_slope(prob, target) - focusing_slope
    return alpha_t * _power(miss, gamma) * cross_entropy, {"pred": alpha_t * slope}


def exact_focal_logits(logits, target, *, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss; 1 - p_t = y·σ(-x) + (1-y)·σ(x)."""
    miss = target * sigmoid(-logits) + (1 - target) * sigmoid(logits)
    cross_entropy = -(target * log_sigmoid(logits) + (1 - target) * log_sigmoid(-logits))
    alpha_t = target * alpha + (1 - target) * (1 - alpha) if alpha >= 0 else 1
    bce_slope_x = (1 - target) * sigmoid(logits) - target * sigmoid(-logits)  # σ(x) - y
    miss_slope = (1 - 2 * target) * sigmoid(logits) * sigmoid(-logits)  # d(1 - p_t)/dx
    focusing = gamma * _power(miss, gamma - 1) * miss_slope * cross_entropy if gamma else 0
    return (alpha_t * _power(miss, gamma) * cross_entropy,
            {"logits": alpha_t * (_power(miss, gamma) * bce_slope_x + focusing)})


def exact_softmax_focal(logits, target, *, alpha, gamma):
    softmax, label = Softmax(logits), int(target)
    alpha_y = 1 if not alpha else (alpha[0] if len(alpha) == 1 else alpha[label])
    log_p_t, miss = softmax.log_prob(label), softmax.complement(label)
    # dL/dz_c = α·(p_c - δ_cy)·[(1-p_t)^γ - γ(1-p_t)^(γ-1)·p_t·log p_t]
    scale = _power(miss, gamma) - (gamma * _power(miss, gamma - 1) * softmax.prob(label) * log_p_t if gamma else 0)
    gradient = [alpha_y * scale * softmax.minus_onehot(c, label) for c in range(len(logits))]
    return -alpha_y * _power(miss, gamma) * log_p_t, {"logits": gradient}


def torchvision_sigmoid_focal_loss(torch, logits, targets, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss's published formula (reduction "none") in torch ops."""
    p = torch.sigmoid(logits)
    ce_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss


def torch_focal(torch, t, params, reduction):
    """torchvision's focal loss at the logit log(p / (1 - p)) of the probability."""
    logits = torch.log(t["pred"]) - torch.log1p(-t["pred"])
    return reduce(torchvision_sigmoid_focal_loss(torch, logits, t["target"], params["alpha"], params["gamma"]),
                  reduction)


def torch_focal_logits(torch, t, params, reduction):
    return reduce(torchvision_sigmoid_focal_loss(torch, t["logits"], t["target"], params["alpha"], params["gamma"]),
                  reduction)


def torch_softmax_focal(torch, t, params, reduction):
    """-α_y·(1 - p_t)^γ·log p_t in torch ops (torch has no multi-class focal loss)."""
    target = t["target"].long()
    log_p_t = torch.log_softmax(t["logits"], dim=-1).gather(-1, target[:, None])[:, 0]
    alpha = params["alpha"]
    alpha_y = 1.0 if not alpha else (alpha[0] if len(alpha) == 1 else torch.tensor(alpha, dtype=torch.float64)[target])
    return reduce(-alpha_y * (1 - torch.exp(log_p_t)) ** params["gamma"] * log_p_t, reduction)


def focal_extremes():
    table = grid(pred=PROBABILITIES, target=LABELS)
    # torch's formula sees the unclipped p: compared only inside [eps, 1 - eps]
    inside = grid(pred=tuple(p for p in PROBABILITIES if 1e-7 <= p <= 1.0 - 1e-7), target=LABELS)
    return (*(Extreme(f"probabilities 0 to 1, gamma {gamma:g}, eps {eps:g}", table,
                      {"gamma": gamma, "eps": eps, "alpha": 0.25}, torch=False)
              for gamma in GAMMAS for eps in (1e-15, 1e-7)),
            *(Extreme(f"probabilities inside the clip, gamma {gamma:g}", inside, {"gamma": gamma, "eps": 1e-7})
              for gamma in GAMMAS))


def focal_logits_extremes():
    table = grid(logits=SIGNED_LOGITS, target=LABELS)
    return tuple(Extreme(f"logits ±1e4, gamma {gamma:g}, alpha {alpha:g}", table, {"gamma": gamma, "alpha": alpha})
                 for gamma in GAMMAS for alpha in (0.25, -1.0))


def softmax_focal_extremes():
    gaps = (0.0, 1.0, 20.0, 40.0, 700.0, 1e4)
    logits = rows(*([gap, 0.0, -gap] for gap in gaps), *([0.0, gap, -gap] for gap in gaps), [1e4, -1e4, 1e4])
    target = rows(*([0.0] * len(logits)))
    return tuple(Extreme(f"logit gaps to 1e4, gamma {gamma:g}", {"logits": logits, "target": target},
                         {"gamma": gamma, "alpha": alpha})
                 for gamma in GAMMAS for alpha in ((1.0,), (0.25, 0.5, 2.0)))


CASES = (
    LossCase("focal", naive=naive_focal, exact=exact_focal, extremes=focal_extremes, torch=torch_focal,
             variants=({"gamma": 0.5}, {"gamma": 3.0, "alpha": 0.7}, {"gamma": 0.0})),
    LossCase("focal_logits", naive=naive_focal_logits, exact=exact_focal_logits, extremes=focal_logits_extremes,
             torch=torch_focal_logits, torch_native=True,
             variants=({"alpha": -1.0, "gamma": 0.5}, {"alpha": 0.7, "gamma": 3.0})),
    LossCase("softmax_focal", naive=naive_softmax_focal, exact=exact_softmax_focal, extremes=softmax_focal_extremes,
             torch=torch_softmax_focal,
             variants=({"alpha": (0.25, 0.5, 1.0, 2.0, 0.75), "gamma": 1.5}, {"alpha": 0.25, "gamma": 0.5})),
)
