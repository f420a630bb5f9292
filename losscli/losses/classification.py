"""Binary classification losses: binary cross-entropy on probabilities, and on logits with
torch's pos_weight.

Both are elementwise: pred [N] or [N, D] for multi-label. The categorical losses live in
:mod:`.categorical`, the focal losses in :mod:`.focal`.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task
from ._numerics import binary_cross_entropy_logits, sigmoid

EPS_PARAM = ParamSpec("eps", 1e-15, "probabilities are clipped to [eps, 1 - eps] before the log",
                      low=0.0, high=0.5, high_inclusive=False)
CLIPPED_RANGE = ("full precision for p in [eps, 1 - eps]; outside it, the value and gradient at the clip (the "
                 "documented convention)")
BINARY_LABELS = InputSpec("target", (("...",),), Domain.LABEL, False,
                          "labels in [0, 1], same shape as pred (0/1, or soft labels)")


def bce(pred: np.ndarray, target: np.ndarray, *, eps: float) -> np.ndarray:
    """Binary cross-entropy on probabilities, elementwise.

    -[y·log p + (1-y)·log(1-p)] with p = clip(ŷ, eps, 1-eps). pred, target: [N] or [N, D].
    """
    prob = np.clip(pred, eps, 1.0 - eps)
    # a term whose label weight is 0 is 0 (0·log 0 = 0): with eps = 0, p = 1 and y = 1 cost 0, not NaN
    with np.errstate(divide="ignore"):
        positive, negative = np.log(prob), np.log1p(-prob)
    return -(np.where(target == 0, 0.0, target * positive) + np.where(target == 1, 0.0, (1.0 - target) * negative))


def bce_gradient(pred, target, *, eps):
    """(p - y) / (p(1 - p)), evaluated at the clipped p, so a confidently wrong prediction
    keeps a large gradient (as the seed and torch do) instead of a silent zero. With eps = 0
    and p = 0 or 1 it is the limit -y/p + (1-y)/(1-p), each term 0 where its label weight is."""
    prob = np.clip(pred, eps, 1.0 - eps)
    denominator = prob * (1.0 - prob)
    with np.errstate(divide="ignore", invalid="ignore"):
        edge = (np.where(target == 0, 0.0, -target / prob)
                + np.where(target == 1, 0.0, (1.0 - target) / (1.0 - prob)))
        return {"pred": np.where(denominator > 0, (prob - target) / np.where(denominator > 0, denominator, 1.0), edge)}


def given(vector) -> bool:
    """Whether a vector parameter was given: its default, () (or None), means "not given"."""
    return vector is not None and len(vector) > 0


def _positive_weight(pos_weight) -> np.ndarray | float:
    """pos_weight as a number or a per-column row that broadcasts against [N, D]; not given is 1."""
    return np.asarray(pos_weight, dtype=np.float64) if given(pos_weight) else 1.0


def bce_logits(logits: np.ndarray, target: np.ndarray, *, pos_weight=(1.0,)) -> np.ndarray:
    """Binary cross-entropy on logits x with torch's pos_weight p_w, elementwise.

    -[p_w·y·log σ(x) + (1-y)·log(1-σ(x))] = (1-y)·softplus(x) + p_w·y·softplus(-x): finite for
    any finite x, and 4.2e-18 (not 0) for a confident right answer at x = 40. pred, target: [N] or
    [N, D]; pos_weight: one number, or one per column of [N, D].
    """
    return binary_cross_entropy_logits(logits, target, _positive_weight(pos_weight))


def bce_logits_gradient(logits, target, *, pos_weight=(1.0,)):
    """σ(x) - y - (p_w - 1)·y·σ(-x), with σ(x) - y written as (1-y)·σ(x) - y·σ(-x) so that
    neither term cancels for large |x|."""
    extra = (_positive_weight(pos_weight) - 1.0) * target
    return {"logits": (1.0 - target) * sigmoid(logits) - (target + extra) * sigmoid(-logits)}


def check_pos_weight(arrays, params) -> None:
    """pos_weight has one value, or one per column of two-dimensional logits."""
    pos_weight, logits = params["pos_weight"], arrays["logits"]
    columns = logits.shape[-1] if logits.ndim >= 2 else 1
    if given(pos_weight) and len(pos_weight) not in (1, columns):
        raise InputError(f"parameter pos_weight: expected 1 value or {columns} (one per column of logits), "
                         f"got {len(pos_weight)}")


def _labels(rng, n):
    return rng.integers(0, 2, n).astype(np.float64)


def sample_probabilities(rng, n, params):
    # inside [eps, 1 - eps] with a margin (0.05 for the default eps), away from the clip
    low = params["eps"] + 0.1 * (0.5 - params["eps"])
    return {"pred": rng.uniform(low, 1.0 - low, n), "target": _labels(rng, n)}


def sample_bce_logits(rng, n, params):
    return {"logits": rng.normal(0.0, 2.0, n), "target": _labels(rng, n)}


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
    accurate_range=CLIPPED_RANGE,
)

BCE_LOGITS = LossSpec(
    name="bce_logits", aliases=("binary_cross_entropy_with_logits", "sigmoid_cross_entropy"),
    example_files=("sample_data/binary_logits.csv", "sample_data/binary_labels.csv"),
    task=Task.BINARY,
    inputs=(InputSpec("logits", (("...",),), Domain.REAL, True, "raw scores before the sigmoid"),
            BINARY_LABELS),
    params=(ParamSpec("pos_weight", (1.0,), "weight p_w of the positive term (torch's pos_weight): one value, or one "
                      "per column of [N, D] logits", low=0.0, kind="vector"),),
    forward=bce_logits, gradient=bce_logits_gradient, sample=sample_bce_logits, check=check_pos_weight,
    formula="-[p_w·y·log σ(x) + (1-y)·log(1-σ(x))]  =  (1-y)·softplus(x) + p_w·y·softplus(-x)",
    gradient_formula="∂/∂x = (1-y)·σ(x) - p_w·y·σ(-x)  (= σ(x) - y for p_w = 1)",
    when_to_use="Binary or multi-label classification on raw scores; stable for any logit.",
    output_activation="none (sigmoid inside the loss)",
    torch_equivalent="torch.nn.functional.binary_cross_entropy_with_logits(pos_weight=p_w)",
    notes="pos_weight > 1 raises recall (torch: pos_weight = negatives / positives for a balanced loss); it weighs "
          "the positive term only and does not change the mean's denominator N.",
)

SPECS = (BCE, BCE_LOGITS)
