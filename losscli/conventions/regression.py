"""Regression conventions: what Keras, scikit-learn, optax, XGBoost and LightGBM compute for
mse, mae, huber, rmse, msle, mape, log_cosh and quantile.

Keras and optax compute in float32 (Keras' floatx, JAX's default dtype): their forwards cast
the inputs and compute every elementwise step in float32, then hand the values back for the
float64 reduction. XGBoost holds labels and predictions as float32 and each row's metric in
float32; LightGBM holds labels as float32 and computes in float64. Gradients are the derivative
of the value each framework reports, in float64.
"""

from __future__ import annotations

import numpy as np

from ..losses import regression, robust
from ..spec import Domain, InputSpec
from .record import KERAS_EPSILON, Convention, Knob, float32, float64, same_as_default

KERAS_LOSS = (Knob("float32", "computes in float32 (Keras' floatx), even for float64 inputs"),
              Knob("divisor", "a Keras loss divides Σ w·loss by the number of values N, not by Σ w"))
OPTAX_MEAN = (Knob("float32", "computes in float32 (JAX's default dtype)"),
              Knob("divisor", "optax returns per-element losses; the mean you take (.mean()) divides by N, "
                              "weights (if you multiply them in) do not enter it"))
XGBOOST_FLOAT32 = Knob("float32", "XGBoost holds labels and predictions as float32 and each row's error in float32")
SKLEARN_COLUMNS = Knob("columns", "with several output columns scikit-learn averages one RMSE per column "
                                  "(multioutput='uniform_average'), not the root of one pooled mean")
LIGHTGBM_LABEL = Knob("float32", "LightGBM stores labels as float32 (predictions stay float64)")


def _residual32(pred, target):
    return float32(pred) - float32(target)


# --- elementwise formulas in the frameworks' dtypes ----------------------------------------------

def squared_error32(pred, target):
    """(ŷ - y)² in float32 (Keras' mean_squared_error, optax's squared_error)."""
    return float64(_residual32(pred, target) ** 2)


def absolute_error32(pred, target):
    """|ŷ - y| in float32 (Keras' mean_absolute_error, XGBoost's mae)."""
    return float64(np.abs(_residual32(pred, target)))


def huber32(pred, target, *, delta):
    """Keras' and optax's Huber in float32: ½e² if |e| <= δ, else δ|e| - ½δ²."""
    error, delta32 = _residual32(pred, target), np.float32(delta)
    abs_error = np.abs(error)
    quadratic = np.minimum(abs_error, delta32)
    return float64(np.float32(0.5) * quadratic**2 + delta32 * (abs_error - quadratic))


def log_cosh_keras(pred, target):
    """Keras' log_cosh in float32: x + softplus(-2x) - log 2, x = ŷ - y."""
    error = _residual32(pred, target)
    return float64(error + np.logaddexp(np.float32(0), np.float32(-2) * error) - np.float32(np.log(2.0)))


def log_cosh_optax(pred, target):
    """optax's log_cosh in float32: logaddexp(e, -e) - log 2."""
    error = _residual32(pred, target)
    return float64(np.logaddexp(error, -error) - np.float32(np.log(2.0)))


def msle_keras(pred, target):
    """Keras: (log(max(ŷ, ε) + 1) - log(max(y, ε) + 1))² in float32: values below ε = 1e-7 become ε."""
    epsilon = np.float32(KERAS_EPSILON)
    difference = np.log(np.maximum(float32(pred), epsilon) + 1) - np.log(np.maximum(float32(target), epsilon) + 1)
    return float64(difference**2)


def msle_keras_gradient(pred, target):
    """2(log(max(ŷ, ε)+1) - log(max(y, ε)+1)) / (ŷ + 1) where ŷ > ε, 0 where ŷ was replaced by ε."""
    clipped_pred, clipped_target = np.maximum(pred, KERAS_EPSILON), np.maximum(target, KERAS_EPSILON)
    slope = 2.0 * (np.log1p(clipped_pred) - np.log1p(clipped_target)) / (clipped_pred + 1.0)
    return {"pred": np.where(pred > KERAS_EPSILON, slope, 0.0)}


def mape_keras(pred, target):
    """Keras: 100·|y - ŷ| / max(|y|, 1e-7), in float32 (a percentage, not a fraction)."""
    target32 = float32(target)
    ratio = (target32 - float32(pred)) / np.maximum(np.abs(target32), np.float32(KERAS_EPSILON))
    return float64(np.float32(100) * np.abs(ratio))


def mape_keras_gradient(pred, target):
    return {"pred": 100.0 * np.sign(pred - target) / np.maximum(np.abs(target), KERAS_EPSILON)}


def mape_xgboost(pred, target):
    """XGBoost: |(y - ŷ)/y| in float32, no floor: a target of 0 gives inf (or NaN at ŷ = y = 0)."""
    target32 = float32(target)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float64(np.abs((target32 - float32(pred)) / target32))


def mape_xgboost_gradient(pred, target):
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"pred": np.sign(pred - target) / np.abs(target)}


def mape_lightgbm(pred, target):
    """LightGBM: |y - ŷ| / max(1, |y|) (by design: targets below 1 count as 1)."""
    target = float64(float32(target))
    return np.abs(target - pred) / np.maximum(1.0, np.abs(target))


def mape_lightgbm_gradient(pred, target):
    target = float64(float32(target))
    return {"pred": np.sign(pred - target) / np.maximum(1.0, np.abs(target))}


def quantile32(pred, target, *, alpha):
    """XGBoost's pinball loss in float32."""
    residual, alpha32 = float32(target) - float32(pred), np.float32(alpha)
    return float64(np.maximum(alpha32 * residual, (alpha32 - 1) * residual))


def _lightgbm(formula):
    """A float64 formula applied with the target rounded to float32, as LightGBM stores labels."""
    def forward(pred, target, **params):
        return formula(pred, float64(float32(target)), **params)

    def gradient(pred, target, **params):
        return GRADIENTS[formula](pred, float64(float32(target)), **params)

    return {"forward": forward, "gradient": gradient}


GRADIENTS = {regression.mse: regression.mse_gradient, regression.mae: regression.mae_gradient,
             regression.huber: regression.huber_gradient, robust.quantile: robust.quantile_gradient}


KERAS_REAL = (InputSpec("pred", (("...",),), Domain.REAL, True, "predicted values (values < 1e-7 become 1e-7)"),
              InputSpec("target", (("...",),), Domain.REAL, False, "true values, same shape (< 1e-7 become 1e-7)"))

CONVENTIONS = (
    Convention("keras", "mse", "keras.losses.MeanSquaredError()", KERAS_LOSS, squared_error32,
               mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    same_as_default("sklearn", "mse", "sklearn.metrics.mean_squared_error", gradient_source="formula"),
    Convention("optax", "mse", "optax.losses.squared_error(...).mean()", OPTAX_MEAN + (
        Knob("formula", "optax's l2_loss is half of this (0.5·squared_error)"),), squared_error32,
        mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("lightgbm", "mse", "LightGBM metric 'l2'", (LIGHTGBM_LABEL,), **_lightgbm(regression.mse)),

    Convention("keras", "mae", "keras.losses.MeanAbsoluteError()", KERAS_LOSS, absolute_error32,
               mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    same_as_default("sklearn", "mae", "sklearn.metrics.mean_absolute_error", gradient_source="formula"),
    Convention("xgboost", "mae", "XGBoost eval_metric 'mae'", (XGBOOST_FLOAT32,), absolute_error32, dtype="float32"),
    Convention("lightgbm", "mae", "LightGBM metric 'l1'", (LIGHTGBM_LABEL,), **_lightgbm(regression.mae)),

    Convention("keras", "huber", "keras.losses.Huber(delta=1.0)", KERAS_LOSS, huber32,
               mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("optax", "huber", "optax.losses.huber_loss(..., delta=1.0).mean()", OPTAX_MEAN, huber32,
               mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("lightgbm", "huber", "LightGBM metric 'huber' (δ is the parameter alpha, default 0.9)",
               (Knob("params", "LightGBM's δ is its parameter alpha, whose default is 0.9, not 1"), LIGHTGBM_LABEL),
               defaults={"delta": 0.9}, **_lightgbm(regression.huber)),

    Convention("keras", "rmse", "keras.metrics.RootMeanSquaredError() (a metric: Keras has no RMSE loss)",
               (KERAS_LOSS[0],), squared_error32, dtype="float32", gradient_source="autodiff",
               notes="A metric, so its mean divides by Σ w, unlike Keras' losses."),
    Convention("sklearn", "rmse", "sklearn.metrics.root_mean_squared_error (multioutput='uniform_average')",
               (SKLEARN_COLUMNS,), multioutput="uniform_average"),
    Convention("xgboost", "rmse", "XGBoost eval_metric 'rmse'", (XGBOOST_FLOAT32,), squared_error32,
               dtype="float32"),
    Convention("lightgbm", "rmse", "LightGBM metric 'rmse'", (LIGHTGBM_LABEL,), **_lightgbm(regression.mse)),

    Convention("keras", "msle", "keras.losses.MeanSquaredLogarithmicError()", KERAS_LOSS + (
        Knob("clip", "values below 1e-7 (negatives included) are silently replaced by 1e-7"),),
        msle_keras, msle_keras_gradient, inputs=KERAS_REAL, mean_divisor="count", dtype="float32",
        gradient_source="autodiff"),
    same_as_default("sklearn", "msle", "sklearn.metrics.mean_squared_log_error (>= 1.6: values > -1)",
                    gradient_source="formula"),

    Convention("keras", "mape", "keras.losses.MeanAbsolutePercentageError()", KERAS_LOSS + (
        Knob("scale", "a percentage (×100), not a fraction"),
        Knob("clip", "divides by max(|y|, 1e-7) instead of max(|y|, 2.2e-16)")),
        mape_keras, mape_keras_gradient, mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    same_as_default("sklearn", "mape", "sklearn.metrics.mean_absolute_percentage_error", gradient_source="formula"),
    Convention("xgboost", "mape", "XGBoost eval_metric 'mape'", (
        XGBOOST_FLOAT32, Knob("clip", "divides by |y| with no floor: a target of 0 gives inf")),
        mape_xgboost, mape_xgboost_gradient, dtype="float32"),
    Convention("lightgbm", "mape", "LightGBM metric 'mape'", (
        Knob("clip", "divides by max(1, |y|): targets below 1 in size count as 1"), LIGHTGBM_LABEL),
        mape_lightgbm, mape_lightgbm_gradient),

    Convention("keras", "log_cosh", "keras.losses.LogCosh()", KERAS_LOSS + (
        Knob("formula", "x + softplus(-2x) - log 2 in float32 loses the digits of small residuals"),),
        log_cosh_keras, mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("optax", "log_cosh", "optax.losses.log_cosh(...).mean()", OPTAX_MEAN, log_cosh_optax,
               mean_divisor="count", dtype="float32", gradient_source="autodiff"),

    same_as_default("sklearn", "quantile", "sklearn.metrics.mean_pinball_loss(alpha=0.5)", gradient_source="formula"),
    Convention("xgboost", "quantile", "XGBoost eval_metric 'quantile' (quantile_alpha has no default)",
               (XGBOOST_FLOAT32,), quantile32, dtype="float32"),
    Convention("lightgbm", "quantile", "LightGBM metric 'quantile' (alpha default 0.9)", (
        Knob("params", "LightGBM's alpha defaults to 0.9 (the 90th percentile), not 0.5"), LIGHTGBM_LABEL),
        defaults={"alpha": 0.9}, **_lightgbm(robust.quantile)),
)
