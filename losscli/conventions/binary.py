"""Binary conventions: cross-entropy on probabilities and logits and focal losses under Keras,
scikit-learn, optax, XGBoost and LightGBM (the hinges are in :mod:`.margin`).

Keras clips probabilities to [1e-7, 1 - 1e-7] in float32, where 1 - 1e-7 rounds to 0.99999988:
p = 1 at y = 0 costs -log(1.19e-7) = 15.94, p = 0 at y = 1 costs -log(1e-7) = 16.12.
scikit-learn clips at the input dtype's eps (2.2e-16), XGBoost floors at 1e-16 in float32,
LightGBM at 1e-15 and treats every label > 0 as 1.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..losses import classification
from ..losses._numerics import sigmoid
from ..losses.focal import GAMMA_PARAM
from ..spec import ParamSpec
from ..validation import fail_at
from .record import KERAS_EPSILON, Convention, Knob, float32, float64
from .regression import KERAS_LOSS, OPTAX_MEAN, XGBOOST_FLOAT32

SKLEARN_EPS = float(np.finfo(np.float64).eps)
XGBOOST_FLOOR = 1e-16
LIGHTGBM_FLOOR = float(np.float32(1e-15))  # kEpsilon = 1e-15f in LightGBM's meta.h: a float32 constant
KERAS_CLIP = Knob("clip", "clips p to [1e-7, 1 - 1e-7] in float32 (1 - 1e-7 rounds to 0.99999988)")
NO_POS_WEIGHT = Knob("params", "has no pos_weight")
KERAS_ALPHA = Knob("params", "alpha is ignored unless apply_class_balancing=True (-p class_balancing=true)")


def _bce_terms32(prob32, target32):
    """torch's binary_cross_entropy kernel in float32 (what Keras calls on the torch backend)."""
    with np.errstate(divide="ignore"):
        log_p, log_not_p = np.maximum(np.log(prob32), -100), np.maximum(np.log1p(-prob32), -100)
    return -(target32 * log_p + (1 - target32) * log_not_p)


def bce_keras(pred, target):
    """Keras' binary_crossentropy: clip to [ε, 1 - ε] in float32, then -[y log p + (1-y) log(1-p)]."""
    epsilon = np.float32(KERAS_EPSILON)
    return float64(_bce_terms32(np.clip(float32(pred), epsilon, 1 - epsilon), float32(target)))


def _inside_keras_clip(pred):
    epsilon = np.float32(KERAS_EPSILON)
    pred32 = float32(pred)
    return (pred32 >= epsilon) & (pred32 <= 1 - epsilon)


def bce_keras_gradient(pred, target):
    """(p - y)/(p(1 - p)) inside the clip, 0 outside it (the clip's derivative)."""
    rounded = float64(float32(pred))  # the slope at the float32 probability Keras differentiates at
    slope = classification.bce_gradient(rounded, target, eps=KERAS_EPSILON)["pred"]
    return {"pred": np.where(_inside_keras_clip(pred), slope, 0.0)}


def bce_logits32(logits, target):
    """max(x, 0) - x·y + log1p(exp(-|x|)) in float32 (Keras from_logits, optax's sigmoid_binary_cross_entropy)."""
    logits32, target32 = float32(logits), float32(target)
    return float64(np.maximum(logits32, 0) - logits32 * target32 + np.log1p(np.exp(-np.abs(logits32))))


def bce_logits_gradient(logits, target):
    return {"logits": sigmoid(logits) - target}


def bce_xgboost(pred, target):
    """XGBoost's logloss in float32: -[y log max(p, 1e-16) + (1-y) log max(1-p, 1e-16)]."""
    prob, target32, floor = float32(pred), float32(target), np.float32(XGBOOST_FLOOR)
    log_p, log_not_p = np.log(np.maximum(prob, floor)), np.log(np.maximum(1 - prob, floor))
    return float64(-(target32 * log_p + (1 - target32) * log_not_p))


def bce_floored_gradient(floor):
    def gradient(pred, target):
        positive = np.where(pred > floor, -target / np.maximum(pred, floor), 0.0)
        negative = np.where(1.0 - pred > floor, (1.0 - target) / np.maximum(1.0 - pred, floor), 0.0)
        return {"pred": positive + negative}
    return gradient


def hard_labels(target):
    """LightGBM's binary labels: every label > 0 is the positive class."""
    return (float32(target) > 0).astype(np.float64)


def log_floored_float32_constant(values, floor):
    """log max(v, floor) where LightGBM's floor is the float32 constant 1e-15f and log(floor) is
    taken in float32 (std::log of a float)."""
    return np.where(values > floor, np.log(np.maximum(values, floor)), float(np.log(np.float32(floor))))


def bce_lightgbm(pred, target):
    """LightGBM's binary_logloss: -log max(p, 1e-15f) for labels > 0, -log max(1 - p, 1e-15f) otherwise."""
    positive = hard_labels(target) > 0
    return -log_floored_float32_constant(np.where(positive, pred, 1.0 - pred), LIGHTGBM_FLOOR)


def bce_lightgbm_gradient(pred, target):
    return bce_floored_gradient(LIGHTGBM_FLOOR)(pred, hard_labels(target))


def check_hard_labels(arrays, params) -> None:
    """scikit-learn's log_loss takes class labels (0/1), one column."""
    target = arrays["target"]
    fail_at(target, "target", (target != 0) & (target != 1) & ~np.isnan(target),
            "scikit-learn's log_loss takes class labels 0 or 1")
    if target.ndim > 1 and target.shape[-1] > 1:
        raise InputError("scikit-learn's log_loss reads several label columns as one multi-class distribution per "
                         f"row, not {target.shape[-1]} binary problems: give one column", input_name="target")


# --- Keras' label smoothing -----------------------------------------------------------------------

KERAS_SMOOTHING = ParamSpec("label_smoothing", 0.0, "Keras' label_smoothing s: targets become y·(1 - s) + 0.5·s",
                            low=0.0, high=1.0)


def keras_smoothed_labels(target, smoothing):
    """y·(1 - s) + 0.5·s in float32, as Keras' binary losses smooth their targets (s = 0: y as given)."""
    if not smoothing:
        return target
    return float64(float32(target) * np.float32(1.0 - smoothing) + np.float32(0.5 * smoothing))


def with_keras_smoothing(function):
    """A Keras forward or gradient f(first, target, **params) that takes label_smoothing and hands
    it the smoothed target."""
    def smoothed(first, target, *, label_smoothing, **params):
        return function(first, keras_smoothed_labels(target, label_smoothing), **params)
    return smoothed


# --- focal ---------------------------------------------------------------------------------------

BALANCING = ParamSpec("class_balancing", False, "apply alpha (Keras' apply_class_balancing); off by default",
                      kind="bool")
KERAS_FOCAL_PARAMS = (ParamSpec("alpha", 0.25, "weight of the positive class when class_balancing is on",
                                low=0.0, high=1.0), GAMMA_PARAM, BALANCING, KERAS_SMOOTHING)


def focal_keras(pred, target, *, alpha, gamma, class_balancing):
    """Keras' binary_focal_crossentropy: (1 - p_t)^γ·BCE with p_t from the unclipped p, BCE clipped
    in float32; α_t only with class_balancing."""
    pred32, target32 = float32(pred), float32(target)
    p_t = target32 * pred32 + (1 - target32) * (1 - pred32)
    loss = (1 - p_t) ** np.float32(gamma) * float32(bce_keras(pred, target))
    if class_balancing:
        loss = (target32 * np.float32(alpha) + (1 - target32) * np.float32(1 - alpha)) * loss
    return float64(loss)


def focal_keras_gradient(pred, target, *, alpha, gamma, class_balancing):
    """d/dp of (1 - p_t)^γ·BCE: -γ(1 - p_t)^(γ-1)(2y - 1)·BCE + (1 - p_t)^γ·BCE'."""
    p_t = target * pred + (1.0 - target) * (1.0 - pred)
    focusing = gamma * (1.0 - p_t) ** (gamma - 1.0) if gamma else 0.0
    slope = (1.0 - p_t) ** gamma * bce_keras_gradient(pred, target)["pred"] - focusing * (
        2.0 * target - 1.0) * bce_keras(pred, target)
    alpha_t = target * alpha + (1.0 - target) * (1.0 - alpha) if class_balancing else 1.0
    return {"pred": alpha_t * slope}


def focal_logits_keras(logits, target, *, alpha, gamma, class_balancing):
    """Keras with from_logits=True: p = sigmoid(x) in float32, then the probability path (clip included)."""
    return focal_keras(float64(1 / (1 + np.exp(-float32(logits)))), target, alpha=alpha, gamma=gamma,
                       class_balancing=class_balancing)


def focal_logits_keras_gradient(logits, target, **params):
    prob = sigmoid(logits)
    return {"logits": focal_keras_gradient(prob, target, **params)["pred"] * prob * (1.0 - prob)}


def focal_logits_optax(logits, target, *, alpha, gamma):
    """optax's sigmoid_focal_loss in float32: BCE_logits·(1 - p_t)^γ, times α_t only when α >= 0."""
    logits32, target32 = float32(logits), float32(target)
    prob = 1 / (1 + np.exp(-logits32))
    p_t = prob * target32 + (1 - prob) * (1 - target32)
    loss = float32(bce_logits32(logits, target)) * (1 - p_t) ** np.float32(gamma)
    if alpha >= 0:
        loss = (np.float32(alpha) * target32 + np.float32(1 - alpha) * (1 - target32)) * loss
    return float64(loss)


SOFT_LABEL_NOTE = Knob("labels", "every label > 0 counts as 1 (a soft label 0.3 is a positive)")

CONVENTIONS = (
    Convention("keras", "bce", "keras.losses.BinaryCrossentropy(label_smoothing=s)", KERAS_LOSS + (KERAS_CLIP,),
               with_keras_smoothing(bce_keras), with_keras_smoothing(bce_keras_gradient), params=(KERAS_SMOOTHING,),
               mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("sklearn", "bce", "sklearn.metrics.log_loss(labels=[0, 1])", (
        Knob("clip", "clips p to [eps, 1 - eps] with eps = 2.2e-16, the float64 machine epsilon"),),
        defaults={"eps": SKLEARN_EPS}, check=check_hard_labels),
    Convention("xgboost", "bce", "XGBoost eval_metric 'logloss'", (
        XGBOOST_FLOAT32, Knob("clip", "floors p and 1 - p at 1e-16 (in float32, 1 - p loses digits near 1)")),
        bce_xgboost, bce_floored_gradient(XGBOOST_FLOOR), params=(), dtype="float32"),
    Convention("lightgbm", "bce", "LightGBM metric 'binary_logloss'", (
        SOFT_LABEL_NOTE, Knob("clip", "floors p and 1 - p at 1e-15")),
        bce_lightgbm, bce_lightgbm_gradient, params=()),

    Convention("keras", "bce_logits", "keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=s)",
               KERAS_LOSS + (NO_POS_WEIGHT,), with_keras_smoothing(bce_logits32),
               with_keras_smoothing(bce_logits_gradient), params=(KERAS_SMOOTHING,), check=None,
               mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("optax", "bce_logits", "optax.losses.sigmoid_binary_cross_entropy(...).mean()",
               OPTAX_MEAN + (NO_POS_WEIGHT,), bce_logits32, bce_logits_gradient, params=(), check=None,
               mean_divisor="count", dtype="float32", gradient_source="autodiff"),

    Convention("keras", "focal", "keras.losses.BinaryFocalCrossentropy(label_smoothing=s)", KERAS_LOSS + (
        KERAS_CLIP, KERAS_ALPHA),
        with_keras_smoothing(focal_keras), with_keras_smoothing(focal_keras_gradient), params=KERAS_FOCAL_PARAMS,
        mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("keras", "focal_logits", "keras.losses.BinaryFocalCrossentropy(from_logits=True, label_smoothing=s)",
               KERAS_LOSS + (KERAS_CLIP, KERAS_ALPHA, Knob(
                   "formula", "applies the sigmoid, then clips the probability like the non-logit loss")),
               with_keras_smoothing(focal_logits_keras), with_keras_smoothing(focal_logits_keras_gradient),
               params=KERAS_FOCAL_PARAMS, mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("optax", "focal_logits", "optax.losses.sigmoid_focal_loss(...).mean() (alpha=None)", OPTAX_MEAN + (
        Knob("params", "alpha defaults to None: no class balancing (α < 0 here), torchvision's default is 0.25"),),
        focal_logits_optax, defaults={"alpha": -1.0}, mean_divisor="count", dtype="float32",
        gradient_source="autodiff"),
)
