"""Classification losses: binary cross-entropy (probabilities or logits), categorical
cross-entropy (probabilities or logits, with label smoothing) and focal loss.

Binary losses are elementwise (pred [N] or [N, D] for multi-label); categorical ones are
row-wise (scores [N, C] -> one loss per row). Targets of the categorical losses are class ids
[N] or rows of C class probabilities [N, C].
"""

from __future__ import annotations

import numpy as np

from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task
from ._numerics import is_class_ids, log_softmax, pick_class, sigmoid, softmax, softplus

EPS_PARAM = ParamSpec("eps", 1e-15, "probabilities are clipped to [eps, 1 - eps] before the log",
                      low=0.0, high=0.5, high_inclusive=False)
BINARY_LABELS = InputSpec("target", (("...",),), Domain.LABEL, False,
                          "labels in [0, 1], same shape as pred (0/1, or soft labels)")
CLASS_TARGETS = InputSpec("target", (("N",), ("N", "C")), Domain.CLASS_TARGET, False,
                          "class ids [N] or one-hot / probability rows [N, C]")


def bce(pred: np.ndarray, target: np.ndarray, *, eps: float) -> np.ndarray:
    """Binary cross-entropy on probabilities, elementwise.

    -[y·log p + (1-y)·log(1-p)] with p = clip(ŷ, eps, 1-eps). pred, target: [N] or [N, D].
    """
    prob = np.clip(pred, eps, 1.0 - eps)
    return -(target * np.log(prob) + (1.0 - target) * np.log1p(-prob))


def bce_gradient(pred, target, *, eps):
    """(p - y) / (p(1 - p)), evaluated at the clipped p, so a confidently wrong prediction
    keeps a large gradient (as the seed and torch do) instead of a silent zero."""
    prob = np.clip(pred, eps, 1.0 - eps)
    return {"pred": (prob - target) / (prob * (1.0 - prob))}


def bce_logits(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Binary cross-entropy on logits x, elementwise: softplus(x) - y·x.

    Equal to -[y·log σ(x) + (1-y)·log(1-σ(x))] but finite for any finite x.
    """
    return softplus(logits) - target * logits


def bce_logits_gradient(logits, target):
    """σ(x) - y, written as (1-y)·σ(x) - y·σ(-x) so that neither term cancels for large |x|."""
    return {"logits": (1.0 - target) * sigmoid(logits) - target * sigmoid(-logits)}


def cross_entropy(pred: np.ndarray, target: np.ndarray, *, eps: float) -> np.ndarray:
    """Categorical cross-entropy on probabilities, per row: -Σ_c y_c·log clip(p_c, eps, 1-eps).

    pred: [N, C] probabilities; target: ids [N] or rows [N, C] -> [N].
    """
    log_prob = np.log(np.clip(pred, eps, 1.0 - eps))
    if is_class_ids(pred, target):
        # Only the true class is read, but a NaN elsewhere in the row still makes the row's loss NaN,
        # as it does for one-hot targets (nan_policy "propagate").
        return np.where(np.isnan(pred).any(axis=-1), np.nan, -pick_class(log_prob, target))
    return -np.sum(target * log_prob, axis=-1)


def cross_entropy_gradient(pred, target, *, eps):
    """-y_c / p_c at the clipped p (non-zero only at the true class for one-hot targets)."""
    prob = np.clip(pred, eps, 1.0 - eps)
    if is_class_ids(pred, target):
        gradient = np.zeros_like(prob)
        np.put_along_axis(gradient, target.astype(np.intp)[..., None],
                          -1.0 / pick_class(prob, target)[..., None], axis=-1)
        return {"pred": gradient}
    return {"pred": -target / prob}


def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray, *, smoothing: float) -> np.ndarray:
    """Softmax cross-entropy on logits with label smoothing, per row (Szegedy et al., 2016).

    -Σ_c y'_c·log softmax(z)_c with smoothed targets y' = (1-s)·y + s/C, log-softmax computed
    with the log-sum-exp shift. logits: [..., C]; target: ids [...] or rows [..., C] -> [...].
    """
    log_prob = log_softmax(logits)
    if is_class_ids(logits, target):
        # y' puts (1-s) on the true class and s/C on every class: -Σ s/C·log p_c = -s·mean(log p).
        return -(1.0 - smoothing) * pick_class(log_prob, target) - smoothing * np.mean(log_prob, axis=-1)
    smoothed = (1.0 - smoothing) * target + smoothing / logits.shape[-1]
    return -np.sum(smoothed * log_prob, axis=-1)


def softmax_cross_entropy_gradient(logits, target, *, smoothing):
    """softmax(z)·Σ_c y'_c - y'  (= softmax(z) - y' when the target rows sum to 1)."""
    prob = softmax(logits)
    num_classes = logits.shape[-1]
    if is_class_ids(logits, target):
        gradient = prob - smoothing / num_classes
        ids = target.astype(np.intp)[..., None]
        np.put_along_axis(gradient, ids, np.take_along_axis(gradient, ids, -1) - (1.0 - smoothing), -1)
        return {"logits": gradient}
    smoothed = (1.0 - smoothing) * target + smoothing / num_classes
    return {"logits": prob * np.sum(smoothed, axis=-1, keepdims=True) - smoothed}


def focal(pred: np.ndarray, target: np.ndarray, *, alpha: float, gamma: float, eps: float) -> np.ndarray:
    """Focal loss on probabilities, elementwise (Lin et al., 2017).

    α_t·(1 - p_t)^γ·BCE(p, y) with p = clip(ŷ, eps, 1-eps), p_t = y·p + (1-y)(1-p) and
    α_t = y·α + (1-y)(1-α). For 0/1 labels BCE(p, y) = -log p_t, the seed's formula; for soft
    labels this is torchvision's sigmoid_focal_loss. pred, target: [N] or [N, D].
    """
    prob = np.clip(pred, eps, 1.0 - eps)
    p_t = target * prob + (1.0 - target) * (1.0 - prob)
    alpha_t = target * alpha + (1.0 - target) * (1.0 - alpha)
    return alpha_t * (1.0 - p_t) ** gamma * bce(pred, target, eps=eps)


def focal_gradient(pred, target, *, alpha, gamma, eps):
    """α_t·[(1-p_t)^γ·(p-y)/(p(1-p)) - γ(1-p_t)^(γ-1)·(2y-1)·BCE], at the clipped p."""
    prob = np.clip(pred, eps, 1.0 - eps)
    p_t = target * prob + (1.0 - target) * (1.0 - prob)
    alpha_t = target * alpha + (1.0 - target) * (1.0 - alpha)
    # Clipping keeps 1 - p_t >= eps > 0, so the power is finite even for gamma < 1.
    focusing_slope = gamma * (1.0 - p_t) ** (gamma - 1.0) if gamma else 0.0
    gradient = ((1.0 - p_t) ** gamma * (prob - target) / (prob * (1.0 - prob))
                - focusing_slope * (2.0 * target - 1.0) * bce(pred, target, eps=eps))
    return {"pred": alpha_t * gradient}


def _labels(rng, n):
    return rng.integers(0, 2, n).astype(np.float64)


def sample_probabilities(rng, n, params):
    return {"pred": rng.uniform(0.05, 0.95, n), "target": _labels(rng, n)}


def sample_bce_logits(rng, n, params):
    return {"logits": rng.normal(0.0, 2.0, n), "target": _labels(rng, n)}


NUM_SAMPLE_CLASSES = 5


def sample_class_probabilities(rng, n, params):
    pred = softmax(rng.normal(0.0, 1.0, (n, NUM_SAMPLE_CLASSES)))
    return {"pred": pred, "target": rng.integers(0, NUM_SAMPLE_CLASSES, n).astype(np.float64)}


def sample_class_logits(rng, n, params):
    logits = rng.normal(0.0, 2.0, (n, NUM_SAMPLE_CLASSES))
    return {"logits": logits, "target": rng.integers(0, NUM_SAMPLE_CLASSES, n).astype(np.float64)}


BCE = LossSpec(
    name="bce", aliases=("binary_cross_entropy", "log_loss"), task=Task.BINARY,
    example_files=("sample_data/binary_probs.csv", "sample_data/binary_labels.csv"),
    inputs=(InputSpec("pred", (("...",),), Domain.PROBABILITY, True, "predicted probabilities (after sigmoid)"),
            BINARY_LABELS),
    params=(EPS_PARAM,), forward=bce, gradient=bce_gradient, sample=sample_probabilities,
    formula="-[y·log p + (1-y)·log(1-p)],  p = clip(ŷ, eps, 1-eps)",
    gradient_formula="∂/∂ŷ = (p - y) / (p(1 - p))",
    when_to_use="Binary or multi-label classification when the model outputs probabilities.",
    output_activation="sigmoid", logits_alternative="bce_logits",
    torch_equivalent="torch.nn.functional.binary_cross_entropy",
    notes="Predictions must be probabilities; for raw scores use bce_logits, which is also more stable.",
)

BCE_LOGITS = LossSpec(
    name="bce_logits", aliases=("binary_cross_entropy_with_logits", "sigmoid_cross_entropy"),
    example_files=("sample_data/binary_logits.csv", "sample_data/binary_labels.csv"),
    task=Task.BINARY,
    inputs=(InputSpec("logits", (("...",),), Domain.REAL, True, "raw scores before the sigmoid"),
            BINARY_LABELS),
    params=(), forward=bce_logits, gradient=bce_logits_gradient, sample=sample_bce_logits,
    formula="softplus(x) - y·x  =  -[y·log σ(x) + (1-y)·log(1-σ(x))]",
    gradient_formula="∂/∂x = σ(x) - y",
    when_to_use="Binary or multi-label classification on raw scores; stable for any logit.",
    output_activation="none (sigmoid inside the loss)",
    torch_equivalent="torch.nn.functional.binary_cross_entropy_with_logits",
)

CROSS_ENTROPY = LossSpec(
    name="cross_entropy", aliases=("categorical_cross_entropy", "ce"), task=Task.MULTICLASS,
    example_files=("sample_data/multiclass_probs.csv", "sample_data/multiclass_labels.csv"),
    inputs=(InputSpec("pred", (("N", "C"),), Domain.CLASS_DISTRIBUTION, True,
                      "predicted class probabilities (after softmax), rows summing to 1"),
            CLASS_TARGETS),
    params=(EPS_PARAM,), forward=cross_entropy, gradient=cross_entropy_gradient,
    sample=sample_class_probabilities,
    formula="-Σ_c y_c·log p_c,  p = clip(ŷ, eps, 1-eps)",
    gradient_formula="∂/∂ŷ_c = -y_c / p_c",
    when_to_use="Single-label multi-class classification when the model outputs probabilities.",
    output_activation="softmax", logits_alternative="softmax_cross_entropy",
    torch_equivalent="torch.nn.functional.nll_loss(log(p))",
)

SOFTMAX_CROSS_ENTROPY = LossSpec(
    name="softmax_cross_entropy", aliases=("softmax_ce", "cross_entropy_logits"), task=Task.MULTICLASS,
    example_files=("sample_data/multiclass_logits.csv", "sample_data/multiclass_labels.csv"),
    inputs=(InputSpec("logits", (("N", "C"),), Domain.REAL, True, "raw class scores before the softmax"),
            CLASS_TARGETS),
    params=(ParamSpec("smoothing", 0.0, "label smoothing s: targets become (1-s)·y + s/C",
                      low=0.0, high=1.0),),
    forward=softmax_cross_entropy, gradient=softmax_cross_entropy_gradient, sample=sample_class_logits,
    formula="logsumexp(z) - Σ_c y'_c·z_c  with y' = (1-s)·y + s/C",
    gradient_formula="∂/∂z = softmax(z) - y'",
    when_to_use="Single-label multi-class classification on raw scores (the standard classifier loss).",
    output_activation="none (softmax inside the loss)",
    torch_equivalent="torch.nn.functional.cross_entropy",
)

LABEL_SMOOTHING = LossSpec(
    name="label_smoothing", aliases=("label_smoothing_cross_entropy",), task=Task.MULTICLASS,
    example_files=("sample_data/multiclass_logits.csv", "sample_data/multiclass_onehot.csv"),
    inputs=SOFTMAX_CROSS_ENTROPY.inputs,
    params=(ParamSpec("smoothing", 0.1, "label smoothing s: targets become (1-s)·y + s/C",
                      low=0.0, high=1.0),),
    forward=softmax_cross_entropy, gradient=softmax_cross_entropy_gradient, sample=sample_class_logits,
    formula=SOFTMAX_CROSS_ENTROPY.formula, gradient_formula=SOFTMAX_CROSS_ENTROPY.gradient_formula,
    when_to_use="Multi-class classification where over-confident predictions should be discouraged.",
    output_activation="none (softmax inside the loss)",
    torch_equivalent="torch.nn.functional.cross_entropy(label_smoothing=s)",
    notes="softmax_cross_entropy with smoothing 0.1 by default.",
)

FOCAL = LossSpec(
    name="focal", aliases=("focal_loss",), task=Task.BINARY,
    example_files=("sample_data/binary_probs.csv", "sample_data/binary_labels.csv"),
    inputs=(InputSpec("pred", (("...",),), Domain.PROBABILITY, True, "predicted probabilities (after sigmoid)"),
            BINARY_LABELS),
    params=(ParamSpec("alpha", 0.25, "weight of the positive class (1 - alpha for negatives)", low=0.0, high=1.0),
            ParamSpec("gamma", 2.0, "focusing exponent: larger values down-weight easy examples more", low=0.0),
            EPS_PARAM),
    forward=focal, gradient=focal_gradient, sample=sample_probabilities,
    formula="-α_t·(1 - p_t)^γ·log p_t,  p_t = p if y = 1 else 1 - p",
    gradient_formula="∂/∂ŷ = α_t·[(1-p_t)^γ·(p-y)/(p(1-p)) - γ(1-p_t)^(γ-1)·(2y-1)·BCE(p, y)]",
    when_to_use="Imbalanced binary detection: easy, well-classified examples contribute little "
                "(with γ = 2, an example at p_t = 0.9 weighs (1 - 0.9)² = 1/100 of its cross-entropy).",
    output_activation="sigmoid", logits_alternative="bce_logits",
    torch_equivalent="torchvision.ops.sigmoid_focal_loss at logits log(p / (1 - p))",
    notes="With γ = 0 and α = 0.5 focal is half of BCE. Soft labels use BCE(p, y) in place of -log p_t.",
)

SPECS = (BCE, BCE_LOGITS, CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY, LABEL_SMOOTHING, FOCAL)
