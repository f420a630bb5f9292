"""Regression losses: squared, absolute and Huber error on pred and target of equal shape.

All are elementwise: the per-sample loss has the shape of ``pred`` ([N] or [N, D]) and the
mean reduction averages over every element, as torch's mse_loss, l1_loss and huber_loss do.
"""

from __future__ import annotations

import numpy as np

from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task

ELEMENTWISE = (("...",),)
PRED = InputSpec("pred", ELEMENTWISE, Domain.REAL, True, "predicted values")
TARGET = InputSpec("target", ELEMENTWISE, Domain.REAL, False, "true values, same shape as pred")


def mse(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Squared error (ŷ - y)², elementwise. pred, target: [N] or [N, D] -> same shape."""
    return (pred - target) ** 2


def mse_gradient(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """d/dŷ (ŷ - y)² = 2(ŷ - y)."""
    return {"pred": 2.0 * (pred - target)}


def mae(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Absolute error |ŷ - y|, elementwise. pred, target: [N] or [N, D] -> same shape."""
    return np.abs(pred - target)


def mae_gradient(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """d/dŷ |ŷ - y| = sign(ŷ - y), with 0 at ŷ = y (torch's subgradient)."""
    return {"pred": np.sign(pred - target)}


def huber(pred: np.ndarray, target: np.ndarray, *, delta: float) -> np.ndarray:
    """Huber loss of the residual a = ŷ - y, elementwise (Huber, 1964).

    ½a² where |a| <= δ, δ(|a| - ½δ) elsewhere. pred, target: [N] or [N, D] -> same shape.
    """
    abs_residual = np.abs(pred - target)
    quadratic = np.minimum(abs_residual, delta)
    return 0.5 * quadratic**2 + delta * (abs_residual - quadratic)


def huber_gradient(pred: np.ndarray, target: np.ndarray, *, delta: float) -> dict[str, np.ndarray]:
    """a where |a| <= δ, δ·sign(a) elsewhere: the residual clipped to [-δ, δ]."""
    return {"pred": np.clip(pred - target, -delta, delta)}


def _residual_pair(rng: np.random.Generator, magnitudes: np.ndarray) -> dict[str, np.ndarray]:
    """Targets ~ N(0, 4) and predictions off by ±magnitude."""
    target = rng.normal(0.0, 2.0, magnitudes.shape)
    signs = rng.choice([-1.0, 1.0], magnitudes.shape)
    return {"pred": target + signs * magnitudes, "target": target}


def sample_mse(rng, n, params):
    return _residual_pair(rng, rng.uniform(0.0, 3.0, n))


def sample_mae(rng, n, params):
    # |a| >= 0.1 keeps every element away from the kink at a = 0.
    return _residual_pair(rng, rng.uniform(0.1, 3.0, n))


def sample_huber(rng, n, params):
    delta = params["delta"]
    inside = rng.uniform(0.0, 0.9 * delta, n)
    outside = rng.uniform(1.1 * delta, 3.0 * delta, n)
    return _residual_pair(rng, np.where(rng.random(n) < 0.5, inside, outside))


MSE = LossSpec(
    name="mse", aliases=("l2", "mean_squared_error"), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=("sample_data/outliers_pred.csv", "sample_data/outliers_target.csv"),
    params=(), forward=mse, gradient=mse_gradient, sample=sample_mse,
    formula="(ŷ - y)²", gradient_formula="∂/∂ŷ = 2(ŷ - y)",
    when_to_use="Regression where large errors should cost quadratically more; estimates the mean; "
                "sensitive to outliers (Gaussian noise assumption).",
    output_activation="none (linear)", torch_equivalent="torch.nn.functional.mse_loss",
)

MAE = LossSpec(
    name="mae", aliases=("l1", "mean_absolute_error"), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=("sample_data/outliers_pred.csv", "sample_data/outliers_target.csv"),
    params=(), forward=mae, gradient=mae_gradient, sample=sample_mae,
    formula="|ŷ - y|", gradient_formula="∂/∂ŷ = sign(ŷ - y)  (0 at ŷ = y)",
    when_to_use="Robust regression: estimates the median, every error pulls with the same force, "
                "so outliers do not dominate.",
    output_activation="none (linear)", torch_equivalent="torch.nn.functional.l1_loss",
)

HUBER = LossSpec(
    name="huber", aliases=("huber_loss",), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=("sample_data/outliers_pred.csv", "sample_data/outliers_target.csv"),
    params=(ParamSpec("delta", 1.0, "residual size where the loss turns from quadratic to linear",
                      low=0.0, low_inclusive=False),),
    forward=huber, gradient=huber_gradient, sample=sample_huber,
    formula="a = ŷ - y;  ½a² if |a| <= δ, else δ(|a| - ½δ)",
    gradient_formula="∂/∂ŷ = clip(a, -δ, δ)",
    when_to_use="Regression with occasional outliers: quadratic (smooth) near the target, linear "
                "(bounded gradient) far from it.",
    output_activation="none (linear)", torch_equivalent="torch.nn.functional.huber_loss",
    notes="torch's smooth_l1_loss(beta) equals huber(delta=beta) / beta.",
)

SPECS = (MSE, MAE, HUBER)
