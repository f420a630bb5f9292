"""Robust regression losses: smooth L1, log-cosh and the quantile (pinball) loss.

Elementwise on pred and target of equal shape ([N] or [N, D]), like :mod:`.regression`: each
grows linearly, not quadratically, far from the target, so outliers pull with bounded force.
"""

from __future__ import annotations

import math

import numpy as np

from ..spec import LossSpec, ParamSpec, Task
from ._numerics import residual_halves, softplus
from .regression import OUTLIER_FILES, PRED, TARGET, residual_pair, residuals_around, sample_mae

LOG_2 = math.log(2.0)
# Below this |r|, log cosh r = log1p(2 sinh²(r/2)) is accurate to the last bit and sinh cannot overflow;
# above it, |r| + log(1 + e^(-2|r|)) - log 2 has no cancellation left.
LOG_COSH_SWITCH = 20.0


def smooth_l1(pred: np.ndarray, target: np.ndarray, *, beta: float) -> np.ndarray:
    """torch's smooth L1 of the residual r = ŷ - y, elementwise (Girshick, Fast R-CNN, 2015).

    ½r²/β where |r| < β, |r| - ½β elsewhere. pred, target: [N] or [N, D] -> same shape.
    """
    with np.errstate(over="ignore"):  # |ŷ - y| beyond 1.8e308: inf, as is the truth
        abs_residual = np.abs(pred - target)
    quadratic = np.minimum(abs_residual, beta)
    # ½·q·(q/β), not ½q²/β: neither the square of a huge residual overflows nor, for β < 1e-154, a tiny one
    # underflows; q/β <= 1
    return 0.5 * quadratic * (quadratic / beta) + (abs_residual - quadratic)


def smooth_l1_gradient(pred: np.ndarray, target: np.ndarray, *, beta: float) -> dict[str, np.ndarray]:
    """r/β where |r| < β, sign(r) elsewhere: the residual clipped to [-β, β], over β."""
    with np.errstate(over="ignore"):
        return {"pred": np.clip(pred - target, -beta, beta) / beta}


def log_cosh(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """log(cosh(ŷ - y)), elementwise: ≈ r²/2 near 0, ≈ |r| - log 2 far away.

    cosh overflows beyond |r| ≈ 710, so large residuals use |r| + softplus(-2|r|) - log 2;
    small ones use log1p(2 sinh²(r/2)) (cosh r - 1 = 2 sinh²(r/2)), which keeps r²/2 exact.
    pred, target: [N] or [N, D] -> same shape.
    """
    abs_residual = np.abs(pred - target)
    small = np.minimum(abs_residual, LOG_COSH_SWITCH)
    near = np.log1p(2.0 * np.sinh(0.5 * small) ** 2)
    far = abs_residual + softplus(-2.0 * abs_residual) - LOG_2
    return np.where(abs_residual < LOG_COSH_SWITCH, near, far)


def log_cosh_gradient(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """d/dŷ log cosh(ŷ - y) = tanh(ŷ - y)."""
    return {"pred": np.tanh(pred - target)}


def quantile(pred: np.ndarray, target: np.ndarray, *, alpha: float) -> np.ndarray:
    """Pinball loss of r = y - ŷ (Koenker & Bassett, 1978): α·r if r >= 0, (α - 1)·r if r < 0.

    Under-prediction (y > ŷ) costs α per unit, over-prediction 1 - α: minimised by the
    α-quantile. pred, target: [N] or [N, D] -> same shape.
    """
    # r = y - ŷ (scikit-learn's and LightGBM's sign convention) as k·h, k = 2 where y - ŷ overflows
    half, halves = residual_halves(target, pred)
    with np.errstate(over="ignore"):
        return np.maximum(alpha * half, (alpha - 1.0) * half) * halves


def quantile_gradient(pred: np.ndarray, target: np.ndarray, *, alpha: float) -> dict[str, np.ndarray]:
    """-α where y > ŷ, 1 - α where y < ŷ, 0 at y = ŷ (a subgradient, as mae's)."""
    residual = residual_halves(target, pred)[0]
    slope = np.where(residual > 0, -alpha, 1.0 - alpha)
    return {"pred": slope * np.abs(np.sign(residual))}  # |sign r|: 0 at r = 0, NaN stays NaN


def sample_smooth_l1(rng, n, params):
    return residuals_around(rng, n, params["beta"])


def sample_log_cosh(rng, n, params):
    return residual_pair(rng, rng.uniform(0.0, 6.0, n))



SMOOTH_L1 = LossSpec(
    irls=True, name="smooth_l1", aliases=("smooth_l1_loss",), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=OUTLIER_FILES,
    params=(ParamSpec("beta", 1.0, "residual size where the loss turns from quadratic to linear",
                      low=0.0, low_inclusive=False),),
    forward=smooth_l1, gradient=smooth_l1_gradient, sample=sample_smooth_l1,
    formula="r = ŷ - y;  ½r²/β if |r| < β, else |r| - ½β",
    gradient_formula="∂/∂ŷ = clip(r, -β, β) / β",
    when_to_use="Box regression in object detection (Fast R-CNN) and other regression with outliers: like huber, "
                "but the linear part has slope 1 whatever β, so β only sets where the quadratic zone ends.",
    output_activation="none (linear)", torch_equivalent="torch.nn.functional.smooth_l1_loss",
    notes="huber(delta=δ) = δ·smooth_l1(beta=δ), as torch documents. torch also accepts beta = 0 (plain l1); "
          "here beta must be > 0: use mae for that.",
)

LOG_COSH = LossSpec(
    irls=True, name="log_cosh", aliases=("logcosh",), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=OUTLIER_FILES,
    params=(), forward=log_cosh, gradient=log_cosh_gradient, sample=sample_log_cosh,
    formula="log(cosh(ŷ - y))  (computed as |r| + softplus(-2|r|) - log 2 for large |r|)",
    gradient_formula="∂/∂ŷ = tanh(ŷ - y)",
    when_to_use="Regression with outliers when a smooth (twice-differentiable) loss is wanted: ≈ r²/2 for "
                "small residuals, ≈ |r| - log 2 for large ones (Keras' log_cosh).",
    output_activation="none (linear)",
)

QUANTILE = LossSpec(
    irls=True, name="quantile", aliases=("pinball", "quantile_loss", "mean_pinball_loss"), task=Task.REGRESSION,
    inputs=(PRED, TARGET), example_files=OUTLIER_FILES,
    params=(ParamSpec("alpha", 0.5, "the quantile predicted: under-prediction costs alpha per unit, "
                      "over-prediction 1 - alpha", low=0.0, high=1.0),),
    forward=quantile, gradient=quantile_gradient, sample=sample_mae,
    formula="r = y - ŷ;  α·r if r >= 0, else (α - 1)·r",
    gradient_formula="∂/∂ŷ = -α if y > ŷ, 1 - α if y < ŷ  (0 at y = ŷ)",
    when_to_use="Quantile regression and prediction intervals: minimised by the α-quantile of the target "
                "(α = 0.5: the median, with half mae's value).",
    output_activation="none (linear)",
    notes="r = y - ŷ as in scikit-learn's mean_pinball_loss and LightGBM's objective=quantile (both call the "
          "parameter alpha): alpha = 0.9 penalises under-prediction 9× more, so predictions move up to the "
          "90th percentile. alpha may be 0 or 1, as scikit-learn allows (LightGBM needs 0 < alpha < 1). At "
          "y = ŷ the gradient is 0 (LightGBM uses 1 - alpha there).",
)

SPECS = (SMOOTH_L1, LOG_COSH, QUANTILE)
