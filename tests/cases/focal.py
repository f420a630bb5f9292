"""Records for focal, focal_logits and softmax_focal (losscli/losses/focal.py)."""

from __future__ import annotations

from loss_cases import Extreme, LossCase

from .binary import LABELS, bce_slope, binary_cross_entropy, clipped
from .exact import Softmax, log_sigmoid, mpmath, sigmoid
from .tables import PROBABILITIES, SIGNED_LOGITS, grid, rows

GAMMAS = (0.0, 0.5, 2.0, 3.0)


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


def focal_extremes():
    table = grid(pred=PROBABILITIES, target=LABELS)
    return tuple(Extreme(f"probabilities 0 to 1, gamma {gamma:g}, eps {eps:g}", table,
                         {"gamma": gamma, "eps": eps, "alpha": 0.25})
                 for gamma in GAMMAS for eps in (1e-15, 1e-7))


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
    LossCase("focal", exact=exact_focal, extremes=focal_extremes,
             variants=({"gamma": 0.5}, {"gamma": 3.0, "alpha": 0.7}, {"gamma": 0.0})),
    LossCase("focal_logits", exact=exact_focal_logits, extremes=focal_logits_extremes,
             variants=({"alpha": -1.0, "gamma": 0.5}, {"alpha": 0.7, "gamma": 3.0})),
    LossCase("softmax_focal", exact=exact_softmax_focal, extremes=softmax_focal_extremes,
             variants=({"alpha": (0.25, 0.5, 1.0, 2.0, 0.75), "gamma": 1.5}, {"alpha": 0.25, "gamma": 0.5})),
)
