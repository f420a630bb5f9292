"""Regression losses: squared, absolute, Huber, root-mean-squared, squared-log and absolute
percentage error on pred and target of equal shape.

All are elementwise: the per-sample loss has the shape of ``pred`` ([N] or [N, D]) and the
mean reduction averages over every element, as torch's mse_loss, l1_loss and huber_loss do.
The smooth robust losses (smooth L1, log-cosh, quantile) live in :mod:`.robust`.
"""

from __future__ import annotations

import numpy as np

from ..scaled import Factor
from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task, Transform
from ._numerics import residual_halves

ELEMENTWISE = (("...",),)
OUTLIER_FILES = ("sample_data/outliers_pred.csv", "sample_data/outliers_target.csv")
PRED = InputSpec("pred", ELEMENTWISE, Domain.REAL, True, "predicted values")
TARGET = InputSpec("target", ELEMENTWISE, Domain.REAL, False, "true values, same shape as pred")
# scikit-learn's mean_absolute_percentage_error divides by max(|y|, float64 machine epsilon).
MAPE_EPS = float(np.finfo(np.float64).eps)


def mse(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Squared error (ŷ - y)², elementwise. pred, target: [N] or [N, D] -> same shape."""
    with np.errstate(over="ignore"):  # |ŷ - y| beyond 1.3e154: the square is inf, as is the truth
        return (pred - target) ** 2


def mse_gradient(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """d/dŷ (ŷ - y)² = 2(ŷ - y)."""
    with np.errstate(over="ignore"):
        return {"pred": 2.0 * (pred - target)}


def mae(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Absolute error |ŷ - y|, elementwise. pred, target: [N] or [N, D] -> same shape."""
    with np.errstate(over="ignore"):  # |ŷ - y| beyond 1.8e308: inf, as is the truth
        return np.abs(pred - target)


def mae_gradient(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """d/dŷ |ŷ - y| = sign(ŷ - y), with 0 at ŷ = y (torch's subgradient)."""
    with np.errstate(over="ignore"):
        return {"pred": np.sign(pred - target)}


def huber(pred: np.ndarray, target: np.ndarray, *, delta: float) -> np.ndarray:
    """Huber loss of the residual a = ŷ - y, elementwise (Huber, 1964).

    ½a² where |a| <= δ, δ(|a| - ½δ) elsewhere. pred, target: [N] or [N, D] -> same shape.
    """
    # a = k·h with k = 2 where ŷ - y overflows: δ·|a| may still be finite for a small δ
    half, halves = residual_halves(pred, target)
    inner = np.minimum(np.abs(half), delta / halves)  # min(|a|, δ) / k
    quadratic = inner * halves  # min(|a|, δ): exact, k is 1 or 2
    with np.errstate(over="ignore"):
        # (½q)·q: finite wherever ½q² is (q² alone overflows for δ > 1.3e154)
        return 0.5 * quadratic * quadratic + delta * (np.abs(half) - inner) * halves


def huber_gradient(pred: np.ndarray, target: np.ndarray, *, delta: float) -> dict[str, np.ndarray]:
    """a where |a| <= δ, δ·sign(a) elsewhere: the residual clipped to [-δ, δ]."""
    half, halves = residual_halves(pred, target)
    return {"pred": np.clip(half, -delta / halves, delta / halves) * halves}


def sqrt_derivative(mean_square):
    """d√v/dv = 1/(2√v), and 0 at v = 0 (every residual 0: a kink, where 0 is a subgradient)."""
    mean_square = np.asarray(mean_square, dtype=np.float64)
    positive = mean_square > 0
    return np.where(positive, 0.5 / np.sqrt(np.where(positive, mean_square, 1.0)), 0.0)


def sqrt_of_scaled(mean_square):
    """(√v, 1/(2√v)) of a mean square given as a ScaledSum: 1e160 from a mean square of 1e320,
    which is beyond the doubles, and a derivative beyond them (a Factor) when √v is subnormal;
    0 and 0 at v = 0 (as sqrt_derivative)."""
    root = mean_square.sqrt_factor()
    return float(root), (root.reciprocal() * Factor(0.5) if root.mantissa > 0 else 0.0)


def sqrt_chain(per_sample, gradients, pred, target):
    """d√ℓ/dŷ = ∂ℓ/(2√ℓ) per element with √ℓ = |ŷ - y| from the inputs: ℓ = (ŷ - y)² underflows to 0 at 1e-170
    and overflows at 1e160, where ∂ℓ = 2(ŷ - y) is still exact. 0 at ŷ = y; sign(∂ℓ) where 2|ŷ - y| overflows."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        root = mae(pred, target)
        chained = {name: gradient / (2.0 * root) for name, gradient in gradients.items()}
        return {name: np.where(root == 0, 0.0, np.where(np.isfinite(value), value, np.sign(gradients[name])))
                for name, value in chained.items()}


def log1p_difference(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """log(1 + a) - log(1 + b) for a, b > -1, without subtracting two nearly equal logs.

    log1p((a - b)/(1 + b)) when (1 + a)/(1 + b) is within [1/2, 3/2] (a - b is then one exact
    rounding), log((1 + a)/(1 + b)) while that ratio is a normal float, log1p(a) - log1p(b) beyond,
    where the difference exceeds 700 and cannot cancel.
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        relative = (first - second) / (1.0 + second)
        ratio = (1.0 + first) / (1.0 + second)
    near = np.abs(relative) < 0.5
    normal = (ratio >= np.finfo(np.float64).tiny) & np.isfinite(ratio)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(near, np.log1p(np.where(near, relative, 0.0)),
                        np.where(normal, np.log(np.where(normal, ratio, 1.0)), np.log1p(first) - np.log1p(second)))


def msle(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Squared log error (log(1 + ŷ) - log(1 + y))², elementwise, for ŷ, y > -1.

    pred, target: [N] or [N, D] -> same shape.
    """
    return log1p_difference(pred, target) ** 2


def msle_gradient(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """2(log(1 + ŷ) - log(1 + y)) / (1 + ŷ)."""
    return {"pred": 2.0 * log1p_difference(pred, target) / (1.0 + pred)}


def mape(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Absolute percentage error |ŷ - y| / max(|y|, ε) as a fraction (0.1 = 10 %), elementwise.

    ε = float64 machine epsilon, as scikit-learn. pred, target: [N] or [N, D] -> same shape.
    """
    half, halves = residual_halves(pred, target)  # |ŷ - y| may overflow where |ŷ - y| / |y| does not
    with np.errstate(over="ignore"):
        return np.abs(half) / np.maximum(np.abs(target), MAPE_EPS) * halves


def mape_gradient(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """sign(ŷ - y) / max(|y|, ε), with 0 at ŷ = y."""
    return {"pred": np.sign(residual_halves(pred, target)[0]) / np.maximum(np.abs(target), MAPE_EPS)}


def residual_pair(rng: np.random.Generator, magnitudes: np.ndarray) -> dict[str, np.ndarray]:
    """Targets ~ N(0, 4) and predictions off by ±magnitude."""
    target = rng.normal(0.0, 2.0, magnitudes.shape)
    signs = rng.choice([-1.0, 1.0], magnitudes.shape)
    return {"pred": target + signs * magnitudes, "target": target}


def sample_mse(rng, n, params):
    return residual_pair(rng, rng.uniform(0.0, 3.0, n))


def sample_mae(rng, n, params):
    # |a| >= 0.1 keeps every element away from the kink at a = 0.
    return residual_pair(rng, rng.uniform(0.1, 3.0, n))


def residuals_around(rng, n: int, switch: float) -> dict[str, np.ndarray]:
    """Pairs whose |residual| lies at least 10 % away from ``switch`` (where a piecewise loss
    turns from quadratic to linear), half inside and half outside."""
    inside = rng.uniform(0.0, 0.9 * switch, n)
    outside = rng.uniform(1.1 * switch, 3.0 * switch, n)
    return residual_pair(rng, np.where(rng.random(n) < 0.5, inside, outside))


def sample_huber(rng, n, params):
    return residuals_around(rng, n, params["delta"])


def sample_msle(rng, n, params):
    # log(1 + y) ~ N(1, 1) so y > -1, and log(1 + ŷ) off it by 0.05 to 1.5.
    log_target = rng.normal(1.0, 1.0, n)
    log_pred = log_target + rng.choice([-1.0, 1.0], n) * rng.uniform(0.05, 1.5, n)
    return {"pred": np.expm1(log_pred), "target": np.expm1(log_target)}


def sample_mape(rng, n, params):
    # |y| in [0.5, 5] (away from the ε floor) and |ŷ - y| >= 5 % of |y| (away from the kink).
    target = rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 5.0, n)
    return {"pred": target + rng.choice([-1.0, 1.0], n) * np.abs(target) * rng.uniform(0.05, 1.5, n),
            "target": target}


MSE = LossSpec(
    irls=True, name="mse", aliases=("l2", "mean_squared_error"), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=OUTLIER_FILES,
    params=(), forward=mse, gradient=mse_gradient, sample=sample_mse,
    formula="(ŷ - y)²", gradient_formula="∂/∂ŷ = 2(ŷ - y)",
    when_to_use="Regression where large errors should cost quadratically more; estimates the mean; "
                "sensitive to outliers (Gaussian noise assumption).",
    output_activation="none (linear)", torch_equivalent="torch.nn.functional.mse_loss",
    accurate_range="(ŷ - y)² is inf beyond |ŷ - y| = 1.3e154, as is the truth, and subnormal below 1.5e-154",
)

MAE = LossSpec(
    irls=True, name="mae", aliases=("l1", "mean_absolute_error"), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=OUTLIER_FILES,
    params=(), forward=mae, gradient=mae_gradient, sample=sample_mae,
    formula="|ŷ - y|", gradient_formula="∂/∂ŷ = sign(ŷ - y)  (0 at ŷ = y)",
    when_to_use="Robust regression: estimates the median, every error pulls with the same force, "
                "so outliers do not dominate.",
    output_activation="none (linear)", torch_equivalent="torch.nn.functional.l1_loss",
)

HUBER = LossSpec(
    irls=True, name="huber", aliases=("huber_loss",), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=OUTLIER_FILES,
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

RMSE = LossSpec(
    name="rmse", aliases=("root_mean_squared_error",), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=OUTLIER_FILES,
    params=(), forward=mse, gradient=mse_gradient, sample=sample_mae,
    # per element, sqrt((ŷ - y)²) is |ŷ - y|: taken as such, not through a square that over- or underflows
    transform=Transform("sqrt", np.sqrt, sqrt_derivative, per_sample_value=mae, chain=sqrt_chain,
                        of_scaled=sqrt_of_scaled),
    root=mae,
    reductions=("mean", "none"),
    formula="sqrt(mean (ŷ - y)²)",
    gradient_formula="∂/∂ŷ_i = (ŷ_i - y_i) / (N·RMSE)  (chain rule through sqrt; 0 when RMSE = 0)",
    when_to_use="Reporting regression error in the target's own units; the square root of mse, so it ranks "
                "models as mse does.",
    output_activation="none (linear)",
    notes="Only mean (sqrt of the weighted mean squared error, scikit-learn's root_mean_squared_error) and "
          "none make sense: with none each element's value is sqrt((ŷ - y)²) = |ŷ - y|, its absolute error.",
)

MSLE = LossSpec(
    name="msle", aliases=("mean_squared_log_error",), task=Task.REGRESSION,
    inputs=(InputSpec("pred", ELEMENTWISE, Domain.ABOVE_MINUS_ONE, True, "predicted values, > -1"),
            InputSpec("target", ELEMENTWISE, Domain.ABOVE_MINUS_ONE, False, "true values > -1, same shape as pred")),
    example_files=OUTLIER_FILES,
    params=(), forward=msle, gradient=msle_gradient, sample=sample_msle,
    formula="(log(1 + ŷ) - log(1 + y))²",
    gradient_formula="∂/∂ŷ = 2(log(1 + ŷ) - log(1 + y)) / (1 + ŷ)",
    when_to_use="Positive targets spanning orders of magnitude (counts, prices): penalises relative rather than "
                "absolute error, and under-prediction more than over-prediction.",
    output_activation="none, or softplus / exp to keep predictions > -1",
    notes="Inputs must be > -1 (log1p is defined there), as in scikit-learn >= 1.5; older scikit-learn "
          "rejected any negative value.",
)

MAPE = LossSpec(
    name="mape", aliases=("mean_absolute_percentage_error",), task=Task.REGRESSION, inputs=(PRED, TARGET),
    example_files=OUTLIER_FILES,
    params=(), forward=mape, gradient=mape_gradient, sample=sample_mape,
    formula="|ŷ - y| / max(|y|, ε),  ε = 2.22e-16 (float64 machine epsilon)",
    gradient_formula="∂/∂ŷ = sign(ŷ - y) / max(|y|, ε)  (0 at ŷ = y)",
    when_to_use="Forecast accuracy relative to the size of the target, for targets well away from 0.",
    output_activation="none (linear)",
    notes="A fraction, not a percentage: 0.25 means 25 %, as scikit-learn's mean_absolute_percentage_error. "
          "A target of 0 divides by ε, giving huge but finite values.",
)

SPECS = (MSE, MAE, HUBER, RMSE, MSLE, MAPE)
