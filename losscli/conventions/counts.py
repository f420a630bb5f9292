"""Count and Tweedie conventions: Poisson NLL under Keras, XGBoost and LightGBM, and the Tweedie
deviance of scikit-learn next to the Tweedie NLL of XGBoost and LightGBM.

Every framework here takes the predicted rate (mean) μ, not its log: torch's poisson_nll_loss
is the only one whose default input is log μ.
"""

from __future__ import annotations

import math

import numpy as np

from ..spec import Domain, InputSpec
from .record import KERAS_EPSILON, Convention, Knob, float32, float64, same_as_default
from .regression import KERAS_LOSS, LIGHTGBM_LABEL, XGBOOST_FLOAT32

XGBOOST_RATE_FLOOR = 1e-16
LIGHTGBM_RATE_FLOOR = 1e-10
RATE_INPUTS = (InputSpec("pred", (("...",),), Domain.NONNEGATIVE, True, "predicted rate μ >= 0 (not its log)"),
               InputSpec("target", (("...",),), Domain.NONNEGATIVE, False, "observed counts >= 0, same shape as pred"))
# The frameworks take the rate: no log_input/full/eps, and a cross-check gives them exp of torch's log-rates.
RATE_FIELDS = dict(params=(), inputs=RATE_INPUTS, check=None, exp_of_default_input="log_input")
RATE_INPUT = Knob("input", "takes the rate μ itself, not log μ (torch's default log_input=True)")


def poisson_keras(pred, target):
    """Keras: μ - y·log(μ + 1e-7) in float32."""
    pred32 = float32(pred)
    return float64(pred32 - float32(target) * np.log(pred32 + np.float32(KERAS_EPSILON)))


def poisson_keras_gradient(pred, target):
    return {"pred": 1.0 - target / (pred + KERAS_EPSILON)}


_lgamma32 = np.vectorize(lambda count: np.float32(math.lgamma(float(count) + 1.0)), otypes=[np.float32])


def poisson_xgboost(pred, target):
    """XGBoost's poisson-nloglik in float32: lgamma(y + 1) + μ - y·log μ, μ floored at 1e-16."""
    rate, target32 = np.maximum(float32(pred), np.float32(XGBOOST_RATE_FLOOR)), float32(target)
    return float64(_lgamma32(target32) + rate - np.log(rate) * target32)


def poisson_xgboost_gradient(pred, target):
    return {"pred": np.where(pred > XGBOOST_RATE_FLOOR, 1.0 - target / np.maximum(pred, XGBOOST_RATE_FLOOR), 0.0)}


def poisson_lightgbm(pred, target):
    """LightGBM's poisson metric: μ - y·log μ with μ floored at 1e-10 (no log y! term)."""
    rate = np.maximum(pred, LIGHTGBM_RATE_FLOOR)
    return rate - float64(float32(target)) * np.log(rate)


def poisson_lightgbm_gradient(pred, target):
    target = float64(float32(target))
    return {"pred": np.where(pred > LIGHTGBM_RATE_FLOOR, 1.0 - target / np.maximum(pred, LIGHTGBM_RATE_FLOOR), 0.0)}


def tweedie_nll(pred, target, *, power):
    """The Tweedie NLL of XGBoost and LightGBM: -y·μ^(1-ρ)/(1-ρ) + μ^(2-ρ)/(2-ρ) (no factor 2, no
    y-only term). pred, target: [N] or [N, D] -> same shape."""
    return -target * pred ** (1.0 - power) / (1.0 - power) + pred ** (2.0 - power) / (2.0 - power)


def tweedie_nll_gradient(pred, target, *, power):
    """-y·μ^(-ρ) + μ^(1-ρ) = (μ - y)·μ^(-ρ)."""
    return {"pred": (pred - target) * pred ** (-power)}


def tweedie_xgboost(pred, target, *, power):
    """XGBoost's tweedie-nloglik@ρ in float32."""
    rate, target32, rho = float32(pred), float32(target), np.float32(power)
    log_rate = np.log(rate)
    return float64(-target32 * np.exp((1 - rho) * log_rate) / (1 - rho) + np.exp((2 - rho) * log_rate) / (2 - rho))


def tweedie_lightgbm(pred, target, *, power):
    """LightGBM's tweedie metric: the Tweedie NLL with μ floored at 1e-10 and float32 labels."""
    return tweedie_nll(np.maximum(pred, LIGHTGBM_RATE_FLOOR), float64(float32(target)), power=power)


def tweedie_lightgbm_gradient(pred, target, *, power):
    gradient = tweedie_nll_gradient(np.maximum(pred, LIGHTGBM_RATE_FLOOR), float64(float32(target)), power=power)
    return {"pred": np.where(pred > LIGHTGBM_RATE_FLOOR, gradient["pred"], 0.0)}


def check_power_below_two(arrays, params) -> None:
    from ..errors import ParameterError

    if not 1.0 < params["power"] < 2.0:
        raise ParameterError(f"XGBoost's and LightGBM's tweedie metric need 1 < power < 2, got {params['power']:g}")


TWEEDIE_NLL = Knob("formula", "reports the Tweedie negative log-likelihood -y·μ^(1-ρ)/(1-ρ) + μ^(2-ρ)/(2-ρ), not "
                              "the deviance: no factor 2 and no term in y alone")
POSITIVE_RATE = (InputSpec("pred", (("...",),), Domain.POSITIVE, True, "predicted mean μ > 0"),
                 InputSpec("target", (("...",),), Domain.NONNEGATIVE, False, "observed values >= 0"))

CONVENTIONS = (
    Convention("keras", "poisson_nll", "keras.losses.Poisson()", KERAS_LOSS + (
        RATE_INPUT, Knob("clip", "adds 1e-7 to μ inside the log (torch: 1e-8, only with log_input=False)")),
        poisson_keras, poisson_keras_gradient, **RATE_FIELDS,
        mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("xgboost", "poisson_nll", "XGBoost eval_metric 'poisson-nloglik'", (
        XGBOOST_FLOAT32, RATE_INPUT, Knob("formula", "includes log(y!) as lgamma(y + 1): the exact NLL"),
        Knob("clip", "floors μ at 1e-16")),
        poisson_xgboost, poisson_xgboost_gradient, **RATE_FIELDS, dtype="float32"),
    Convention("lightgbm", "poisson_nll", "LightGBM metric 'poisson'", (
        RATE_INPUT, Knob("clip", "floors μ at 1e-10"), LIGHTGBM_LABEL),
        poisson_lightgbm, poisson_lightgbm_gradient, **RATE_FIELDS),

    same_as_default("sklearn", "tweedie", "sklearn.metrics.mean_tweedie_deviance(power=...)",
                    notes="scikit-learn's own default power is 0 (the squared error); give -p power.",
                    gradient_source="formula"),
    Convention("xgboost", "tweedie", "XGBoost eval_metric 'tweedie-nloglik@ρ'", (XGBOOST_FLOAT32, TWEEDIE_NLL),
               tweedie_xgboost, tweedie_nll_gradient, inputs=POSITIVE_RATE, check=check_power_below_two,
               dtype="float32"),
    Convention("lightgbm", "tweedie", "LightGBM metric 'tweedie' (tweedie_variance_power 1.5)", (
        TWEEDIE_NLL, Knob("clip", "floors μ at 1e-10"), LIGHTGBM_LABEL),
        tweedie_lightgbm, tweedie_lightgbm_gradient, check=check_power_below_two),
)
