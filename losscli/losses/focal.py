"""Focal losses (Lin et al., 2017): binary on probabilities, binary on logits (torchvision's
sigmoid_focal_loss) and multi-class on softmax logits.

The binary ones are elementwise (pred [N] or [N, D]); the softmax one is row-wise (logits
[N, C], class ids [N] -> [N]).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task
from ._numerics import (
    binary_cross_entropy_logits,
    log_softmax,
    pick_class,
    safe_divide,
    sigmoid,
    softmax_times_total_minus,
)
from .categorical import sample_class_logits
from .classification import (
    BINARY_LABELS,
    CLIPPED_RANGE,
    EPS_PARAM,
    bce,
    bce_gradient,
    given,
    sample_bce_logits,
    sample_probabilities,
)

GAMMA_PARAM = ParamSpec("gamma", 2.0, "focusing exponent: larger values down-weight easy examples more", low=0.0)


def focal(pred: np.ndarray, target: np.ndarray, *, alpha: float, gamma: float, eps: float) -> np.ndarray:
    """Focal loss on probabilities, elementwise (Lin et al., 2017).

    α_t·(1 - p_t)^γ·BCE(p, y) with p = clip(ŷ, eps, 1-eps), p_t = y·p + (1-y)(1-p) and
    α_t = y·α + (1-y)(1-α). For 0/1 labels BCE(p, y) = -log p_t, the seed's formula; for soft
    labels this is torchvision's sigmoid_focal_loss. pred, target: [N] or [N, D].
    """
    miss = _miss(np.clip(pred, eps, 1.0 - eps), target)
    alpha_t = target * alpha + (1.0 - target) * (1.0 - alpha)
    return alpha_t * miss**gamma * bce(pred, target, eps=eps)


def _miss(prob, target):
    """1 - p_t = y·(1 - p) + (1 - y)·p: exactly p for y = 0, where 1 - (1 - p) would keep 1 - p's rounding."""
    return target * (1.0 - prob) + (1.0 - target) * prob


def focal_gradient(pred, target, *, alpha, gamma, eps):
    """α_t·[(1-p_t)^γ·(p-y)/(p(1-p)) - γ(1-p_t)^(γ-1)·(2y-1)·BCE], at the clipped p."""
    prob = np.clip(pred, eps, 1.0 - eps)
    miss = _miss(prob, target)
    alpha_t = target * alpha + (1.0 - target) * (1.0 - alpha)
    cross_entropy = bce(pred, target, eps=eps)
    # Clipping keeps 1 - p_t >= eps > 0, so the power is finite even for gamma < 1; with eps = 0 a certain
    # right answer has 1 - p_t = 0 and BCE = 0, where the focusing term's limit is 0
    with np.errstate(divide="ignore", invalid="ignore"):
        focusing = np.where(miss > 0, gamma * miss ** (gamma - 1.0) * cross_entropy, 0.0) if gamma else 0.0
    gradient = miss**gamma * bce_gradient(pred, target, eps=eps)["pred"] - focusing * (2.0 * target - 1.0)
    return {"pred": alpha_t * gradient}


def _alpha_t(target, alpha):
    """y·α + (1-y)(1-α), or 1 when α < 0 (torchvision's switch for no class balancing)."""
    return target * alpha + (1.0 - target) * (1.0 - alpha) if alpha >= 0 else 1.0


def focal_logits(logits: np.ndarray, target: np.ndarray, *, alpha: float, gamma: float) -> np.ndarray:
    """torchvision.ops.sigmoid_focal_loss, elementwise: α_t·(1 - p_t)^γ·BCE_logits(x, y).

    p = σ(x), p_t = p·y + (1-p)(1-y), so 1 - p_t = y·σ(-x) + (1-y)·σ(x) without cancellation;
    BCE_logits = (1-y)·softplus(x) + y·softplus(-x). α < 0 drops α_t. logits, target: [N] or [N, D].
    """
    one_minus_p_t = target * sigmoid(-logits) + (1.0 - target) * sigmoid(logits)
    return _alpha_t(target, alpha) * one_minus_p_t**gamma * binary_cross_entropy_logits(logits, target)


def focal_logits_gradient(logits, target, *, alpha, gamma):
    """α_t·(1-p_t)^γ·[σ(x) - y + γ·(1-2y)·σ(x)σ(-x)/(1-p_t)·BCE], from ∂(1-p_t)/∂x = (1-2y)·σ(x)σ(-x)."""
    prob, prob_negative = sigmoid(logits), sigmoid(-logits)
    one_minus_p_t = target * prob_negative + (1.0 - target) * prob
    # σ(x)σ(-x) <= 1 - p_t, so the ratio is at most 1: (1-p_t)^(γ-1) never appears on its own
    ratio = safe_divide(prob * prob_negative, one_minus_p_t)
    bce_term = binary_cross_entropy_logits(logits, target)
    slope = (1.0 - target) * prob - target * prob_negative + gamma * (1.0 - 2.0 * target) * ratio * bce_term
    return {"logits": _alpha_t(target, alpha) * one_minus_p_t**gamma * slope}


def _class_alpha(alpha, target: np.ndarray) -> np.ndarray | float:
    """α of each row's class: not given is 1, one value applies to every class, else α[y]."""
    if not given(alpha):
        return 1.0
    alpha = np.asarray(alpha, dtype=np.float64)
    return alpha[0] if alpha.size == 1 else alpha[target.astype(np.intp)]


def _true_class_terms(logits, target):
    """log p_t and 1 - p_t (as -expm1(log p_t), accurate when p_t is near 1)."""
    log_p_t = pick_class(log_softmax(logits), target)
    return log_p_t, -np.expm1(log_p_t)


def softmax_focal(logits: np.ndarray, target: np.ndarray, *, alpha, gamma: float) -> np.ndarray:
    """Multi-class focal loss on logits, per row: -α_y·(1 - p_t)^γ·log p_t, p_t = softmax(z)[y].

    logits: [N, C]; target: class ids [N]; alpha: one value, or one per class -> [N].
    """
    log_p_t, one_minus_p_t = _true_class_terms(logits, target)
    return -_class_alpha(alpha, target) * one_minus_p_t**gamma * log_p_t


def softmax_focal_gradient(logits, target, *, alpha, gamma):
    """g·(softmax(z) - onehot(y)) with g = α_y·(1-p_t)^γ·[1 - γ·p_t·log p_t / (1 - p_t)]."""
    log_p_t, one_minus_p_t = _true_class_terms(logits, target)
    # log p_t / (1 - p_t) -> -1 as p_t -> 1; the division never sees a zero
    safe = np.where(one_minus_p_t > 0, one_minus_p_t, 1.0)
    log_ratio = np.where(one_minus_p_t > 0, log_p_t / safe, -1.0)
    scale = _class_alpha(alpha, target) * one_minus_p_t**gamma * (1.0 - gamma * np.exp(log_p_t) * log_ratio)
    onehot = np.zeros_like(logits)
    np.put_along_axis(onehot, target.astype(np.intp)[:, None], 1.0, -1)
    # softmax - onehot with the target's entry -(1 - p_t) kept when p_t rounds to 1 (a logit gap of 40)
    return {"logits": scale[:, None] * softmax_times_total_minus(logits, onehot)}


def check_alpha_length(arrays, params) -> None:
    alpha, classes = params["alpha"], arrays["logits"].shape[-1]
    if given(alpha) and len(alpha) not in (1, classes):
        raise InputError(f"parameter alpha: expected 1 value or {classes} (one per class), got {len(alpha)}")


FOCAL = LossSpec(
    name="focal", aliases=("focal_loss",), task=Task.BINARY,
    example_files=("sample_data/binary_probs.csv", "sample_data/binary_labels.csv"),
    inputs=(InputSpec("pred", (("...",),), Domain.PROBABILITY, True, "predicted probabilities (after sigmoid)"),
            BINARY_LABELS),
    params=(ParamSpec("alpha", 0.25, "weight of the positive class (1 - alpha for negatives)", low=0.0, high=1.0),
            GAMMA_PARAM, EPS_PARAM),
    forward=focal, gradient=focal_gradient, sample=sample_probabilities,
    formula="-α_t·(1 - p_t)^γ·log p_t,  p_t = p if y = 1 else 1 - p",
    gradient_formula="∂/∂ŷ = α_t·[(1-p_t)^γ·(p-y)/(p(1-p)) - γ(1-p_t)^(γ-1)·(2y-1)·BCE(p, y)]",
    when_to_use="Imbalanced binary detection: easy, well-classified examples contribute little "
                "(with γ = 2, an example at p_t = 0.9 weighs (1 - 0.9)² = 1/100 of its cross-entropy).",
    output_activation="sigmoid", logits_alternative="focal_logits",
    torch_equivalent="torchvision.ops.sigmoid_focal_loss at logits log(p / (1 - p))",
    notes="With γ = 0 and α = 0.5 focal is half of BCE. Soft labels use BCE(p, y) in place of -log p_t.",
    accurate_range=CLIPPED_RANGE,
)

FOCAL_LOGITS = LossSpec(
    name="focal_logits", aliases=("sigmoid_focal", "sigmoid_focal_loss"), task=Task.BINARY,
    example_files=("sample_data/binary_logits.csv", "sample_data/binary_labels.csv"),
    inputs=(InputSpec("logits", (("...",),), Domain.REAL, True, "raw scores before the sigmoid"), BINARY_LABELS),
    params=(ParamSpec("alpha", 0.25, "weight of the positive class (1 - alpha for negatives); alpha < 0 turns "
                      "the weighting off", high=1.0),
            GAMMA_PARAM),
    forward=focal_logits, gradient=focal_logits_gradient, sample=sample_bce_logits,
    formula="α_t·(1 - p_t)^γ·BCE_logits(x, y),  p = σ(x),  p_t = p·y + (1-p)(1-y)",
    gradient_formula="∂/∂x = α_t·(1-p_t)^γ·[σ(x) - y + γ·(1-2y)·σ(x)σ(-x)/(1-p_t)·BCE_logits]",
    when_to_use="Imbalanced binary or multi-label detection on raw scores (RetinaNet's loss).",
    output_activation="none (sigmoid inside the loss)",
    torch_equivalent="torchvision.ops.sigmoid_focal_loss",
    notes="torchvision's defaults α = 0.25, γ = 2; α < 0 means α_t = 1. With γ = 0 and α < 0 it is bce_logits. "
          "Soft labels are allowed (torchvision's formula). 1 - p_t and BCE are computed from log-sigmoids.",
)

SOFTMAX_FOCAL = LossSpec(
    name="softmax_focal", aliases=("multiclass_focal", "focal_softmax"), task=Task.MULTICLASS,
    example_files=("sample_data/multiclass_logits.csv", "sample_data/multiclass_labels.csv"),
    inputs=(InputSpec("logits", (("N", "C"),), Domain.REAL, True, "raw class scores before the softmax"),
            InputSpec("target", (("N",),), Domain.CLASS_TARGET, False, "class ids [N]")),
    params=(ParamSpec("alpha", (1.0,), "class balance α: one value for every class, or one per class",
                      low=0.0, kind="vector"),
            GAMMA_PARAM),
    forward=softmax_focal, gradient=softmax_focal_gradient, sample=sample_class_logits, check=check_alpha_length,
    formula="-α_y·(1 - p_t)^γ·log p_t,  p_t = softmax(z)[y]",
    gradient_formula="∂/∂z = α_y·(1-p_t)^γ·[1 - γ·p_t·log p_t/(1-p_t)]·(softmax(z) - onehot(y))",
    when_to_use="Imbalanced multi-class classification: well-classified rows contribute little.",
    output_activation="none (softmax inside the loss)",
    notes="With γ = 0 and α = 1 it is softmax_cross_entropy. α multiplies each row's loss and the mean divides by "
          "N (unlike cross-entropy's class weight, whose mean divides by Σ w[y]). Class ids only.",
)

SPECS = (FOCAL, FOCAL_LOGITS, SOFTMAX_FOCAL)
