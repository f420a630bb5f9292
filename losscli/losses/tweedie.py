"""The Tweedie deviance (scikit-learn's mean_tweedie_deviance): Poisson at power 1, Gamma at 2,
compound Poisson-Gamma in between, in forms that cancel neither near y = ŷ nor near those powers."""

from __future__ import annotations

import numpy as np

from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task
from ..validation import fail_at
from ._numerics import SERIES_RADIUS, log_ratio, second_order_series
from .regression import ELEMENTWISE


def _expm1_over(scale: float, log_values: np.ndarray) -> np.ndarray:
    """(e^(c·L) - 1)/c, and L itself at c = 0 (its limit)."""
    return log_values if scale == 0.0 else np.expm1(scale * log_values) / scale


def _tweedie_far(pred, target, positive, log_ratio_values, a, b):
    """The deviance 2ŷ^a·f(u)/(ab), f(u) = a·u - ((1 + u)^a - 1), away from y = ŷ, in forms that neither
    overflow with y/ŷ nor cancel as p -> 1 (b -> 0) or p -> 2 (a -> 0). L = log(y/ŷ), -inf where y = 0.

    p < 1.5:  (2/a)·ŷ^(-b)·[y·(1 - (y/ŷ)^(-b))/b - (y - ŷ)]      (p = 1: 2[y·L - y + ŷ])
    p >= 1.5: (2/b)·[(y - ŷ)·ŷ^(-b) - ŷ^a·((y/ŷ)^a - 1)/a]         (p = 2: 2[(y - ŷ)/ŷ - L])
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if b < 0.5:
            # y·(1 - ρ^-b)/b, and y - y^a·ŷ^b once ρ^-b is beyond e^700 (then nothing cancels)
            huge = -b * log_ratio_values > 700.0
            shrink = np.where(huge, (target - target**a * pred**b) / max(b, 1e-300),
                              target * _expm1_over(-b, np.where(huge, 0.0, log_ratio_values)))
            return 2.0 / a * pred ** (-b) * (np.where(positive, shrink, 0.0) - (target - pred))
        # ŷ^a·(ρ^a - 1)/a, and (y^a - ŷ^a)/a once ρ^a is beyond e^700
        huge = a * log_ratio_values > 700.0
        grow = np.where(huge, (target**a - pred**a) / max(a, 1e-300),
                        pred**a * _expm1_over(a, np.where(huge, 0.0, log_ratio_values)))
        return 2.0 / b * ((target - pred) * pred ** (-b) - grow)


def tweedie(pred: np.ndarray, target: np.ndarray, *, power: float) -> np.ndarray:
    """Unit Tweedie deviance of y from the mean ŷ > 0 (scikit-learn's mean_tweedie_deviance).

    power 1 (Poisson): 2(y·log(y/ŷ) - y + ŷ);  power 2 (Gamma): 2(log(ŷ/y) + y/ŷ - 1);
    1 < p < 2 (compound Poisson-Gamma): 2(y^(2-p)/((1-p)(2-p)) - y·ŷ^(1-p)/(1-p) + ŷ^(2-p)/(2-p)).
    pred, target: [N] or [N, D] -> same shape.
    """
    # Every power is 2ŷ^a·f(u)/(ab) in u = (y - ŷ)/ŷ, a = 2 - p, b = p - 1: near y = ŷ (|u| <= 1/4) the series
    # f(u)/(ab) = u²/2 + (a-2)u³/6 + ..., exact to the last bit where the closed forms cancel to ~u²; elsewhere
    # _tweedie_far. Both are >= 0, and exactly 0 at y = ŷ.
    a, b = 2.0 - power, power - 1.0
    positive = target > 0
    difference = target - pred
    relative = difference / pred
    near = np.abs(relative) <= SERIES_RADIUS
    log_ratio_values = np.where(positive, log_ratio(np.where(positive, target, 1.0), pred, difference), -np.inf)
    deviance = np.where(near, 0.0, _tweedie_far(pred, target, positive, log_ratio_values, a, b))
    with np.errstate(under="ignore"):
        series = second_order_series(relative[near], lambda k: (a - k) / (k + 1.0))
        deviance[near] = 2.0 * pred[near] ** a * series
    return np.maximum(deviance, 0.0)


def tweedie_gradient(pred: np.ndarray, target: np.ndarray, *, power: float) -> dict[str, np.ndarray]:
    """2(ŷ - y)·ŷ^(-p), written 2·((ŷ - y)/ŷ)·ŷ^(1-p): ŷ - y is one exact rounding near y = ŷ (1 - y/ŷ
    would lose digits there), and ŷ^(-p) cannot overflow first."""
    with np.errstate(over="ignore"):
        return {"pred": 2.0 * ((pred - target) / pred) * pred ** (1.0 - power)}


def check_tweedie(arrays, params) -> None:
    if params["power"] == 2.0:
        fail_at(arrays["target"], "target", arrays["target"] <= 0, "expected targets > 0 (power 2, Gamma)")


def sample_tweedie(rng, n, params):
    pred = np.exp(rng.normal(0.5, 0.7, n))
    target = pred * rng.gamma(2.0, 0.5, n)  # mean ŷ, spread on both sides
    if params["power"] < 2.0:
        target = np.where(rng.random(n) < 0.25, 0.0, target)  # exact zeros: no claim
    return {"pred": pred, "target": target}


TWEEDIE = LossSpec(
    name="tweedie", aliases=("tweedie_deviance", "mean_tweedie_deviance"), task=Task.REGRESSION,
    inputs=(InputSpec("pred", ELEMENTWISE, Domain.POSITIVE, True, "predicted mean > 0"),
            InputSpec("target", ELEMENTWISE, Domain.NONNEGATIVE, False,
                      "observed values >= 0 (> 0 for power 2), same shape as pred")),
    params=(ParamSpec("power", 1.5, "Tweedie power: 1 Poisson, 2 Gamma, in between compound Poisson-Gamma",
                      low=1.0, high=2.0),),
    forward=tweedie, gradient=tweedie_gradient, sample=sample_tweedie, check=check_tweedie,
    example_files=("sample_data/claims_pred.csv", "sample_data/claims_target.csv"),
    formula="p = 1: 2(y·log(y/ŷ) - y + ŷ);  p = 2: 2(log(ŷ/y) + y/ŷ - 1);  "
            "else 2(y^(2-p)/((1-p)(2-p)) - y·ŷ^(1-p)/(1-p) + ŷ^(2-p)/(2-p))",
    gradient_formula="∂/∂ŷ = 2(ŷ - y)·ŷ^(-p)",
    when_to_use="Non-negative targets with exact zeros and a long right tail (insurance claims, rainfall, "
                "sales): the deviance of a Tweedie GLM, as scikit-learn's mean_tweedie_deviance.",
    output_activation="exp or softplus (the mean must be > 0)",
    notes="power 1 is the Poisson deviance (mean_poisson_deviance), 2 the Gamma deviance (mean_gamma_deviance, "
          "needs y > 0); 0·log 0 = 0. Computed in forms that do not cancel near y = ŷ nor for powers "
          "just above 1 or below 2.",
)

SPECS = (TWEEDIE,)
