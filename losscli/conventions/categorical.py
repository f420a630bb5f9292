"""Multi-class conventions: cross-entropy on probabilities and logits, label smoothing and KL
divergence under Keras, scikit-learn, optax, XGBoost and LightGBM, and optax's triplet loss.

Keras (torch and JAX backends) renormalises each probability row, then clips it to
[1e-7, 1 - 1e-7], in float32; the TensorFlow backend's sparse loss clips first. scikit-learn
uses the rows as given (it only warns when they do not sum to 1) and clips at 2.2e-16; XGBoost
floors p_y at 1e-16 in float32, LightGBM at 1e-15. None has torch's class weights or
ignore_index: Keras' class_weight becomes sample weights, divided by N.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..losses._numerics import is_class_ids, pick_class, softmax, softmax_times_total_minus
from ..losses.categorical import cross_entropy_gradient
from ..losses.classification import EPS_PARAM
from ..losses.embedding import euclidean_distance
from ..losses.focal import softmax_focal_gradient
from ..spec import Domain, InputSpec
from .binary import LIGHTGBM_FLOOR, SKLEARN_EPS, XGBOOST_FLOOR, log_floored_float32_constant
from .record import KERAS_EPSILON, Convention, Knob, float32, float64
from .regression import KERAS_LOSS, OPTAX_MEAN, XGBOOST_FLOAT32

NO_CLASS_WEIGHTS = Knob("params", "has no class weights or ignore_index (Keras turns class_weight into sample "
                                  "weights: give them as --weights, divided by N)")
UNNORMALISED = (InputSpec("pred", (("N", "C"),), Domain.NONNEGATIVE, True, "class probabilities >= 0 (each row is "
                          "renormalised to sum to 1)"),
                InputSpec("target", (("N",), ("N", "C")), Domain.CLASS_TARGET, False, "class ids [N] or rows [N, C]"))
ROWS_AS_GIVEN = (InputSpec("pred", (("N", "C"),), Domain.PROBABILITY, True, "class probabilities in [0, 1], used "
                           "as given (rows need not sum to 1)"), UNNORMALISED[1])
CLASS_IDS = (ROWS_AS_GIVEN[0], InputSpec("target", (("N",),), Domain.CLASS_TARGET, False, "class ids [N]"))


def one_hot_rows(scores, target):
    """Targets as rows [N, C]: class ids become one-hot, rows stay."""
    if not is_class_ids(scores, target):
        return target
    return np.eye(scores.shape[-1])[target.astype(np.intp)]


def cross_entropy_keras(pred, target):
    """Keras (torch/JAX backends): q = p/Σp, clip q to [ε, 1 - ε], -Σ y log q, in float32."""
    pred32, epsilon = float32(pred), np.float32(KERAS_EPSILON)
    normalised = np.clip(pred32 / np.sum(pred32, axis=-1, keepdims=True), epsilon, 1 - epsilon)
    return float64(-np.sum(float32(one_hot_rows(pred, target)) * np.log(normalised), axis=-1))


def cross_entropy_keras_gradient(pred, target):
    """With S = Σp and m_c = 1 where q_c is inside the clip: -y_j·m_j/p_j + Σ_c y_c·m_c / S."""
    rows, total = one_hot_rows(pred, target), np.sum(pred, axis=-1, keepdims=True)
    normalised = pred / total
    kept = rows * ((normalised >= KERAS_EPSILON) & (normalised <= 1.0 - KERAS_EPSILON))
    return {"pred": -kept / np.where(pred > 0, pred, 1.0) + np.sum(kept, axis=-1, keepdims=True) / total}


def log_loss_sklearn(pred, target, *, eps):
    """scikit-learn's log_loss per row: -Σ y·log clip(p, eps, 1 - eps), rows used as given."""
    return -np.sum(one_hot_rows(pred, target) * np.log(np.clip(pred, eps, 1 - eps)), axis=-1)


def log_loss_sklearn_gradient(pred, target, *, eps):
    return cross_entropy_gradient(pred, one_hot_rows(pred, target), eps=eps)


def class_floor(floor, float32_inputs):
    """-log max(p_y, floor) (XGBoost's mlogloss in float32, LightGBM's multi_logloss with its float32 floor)."""
    def forward(pred, target):
        if float32_inputs:
            return float64(-np.log(np.maximum(pick_class(float32(pred), target), np.float32(floor))))
        return -log_floored_float32_constant(pick_class(pred, target), floor)

    def gradient(pred, target):
        picked = pick_class(pred, target)
        rows = one_hot_rows(pred, target) * np.where(picked > floor, -1.0 / np.maximum(picked, floor), 0.0)[:, None]
        return {"pred": rows}

    return forward, gradient


def smoothed_rows(scores, target, *, smoothing=0.0, ignore_index=None):
    """Targets as rows y' = (1 - s)·y + s/C; a class id equal to ignore_index (Keras' ignore_class)
    gives a row of zeros: loss 0, gradient 0."""
    if ignore_index is None or not is_class_ids(scores, target):
        rows = one_hot_rows(scores, target)
        return (1.0 - smoothing) * rows + smoothing / scores.shape[-1]
    kept = target != ignore_index
    rows = smoothed_rows(scores, np.where(kept, target, 0), smoothing=smoothing)
    return rows * kept[..., None]


def _log_softmax32(logits):
    logits32 = float32(logits)
    shifted = logits32 - np.max(logits32, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax_ce32(logits, target, *, smoothing, ignore_index=None):
    """-Σ y'·log_softmax(z) in float32, y' = (1 - s)·y + s/C (Keras from_logits, optax)."""
    rows = smoothed_rows(logits, target, smoothing=smoothing, ignore_index=ignore_index)
    return float64(-np.sum(float32(rows) * _log_softmax32(logits), axis=-1))


def softmax_ce_gradient(logits, target, *, smoothing, ignore_index=None):
    rows = smoothed_rows(logits, target, smoothing=smoothing, ignore_index=ignore_index)
    return {"logits": softmax_times_total_minus(logits, rows)}


def kept_targets(scores, target, *, ignore_index, **_):
    """What each row adds to the mean's denominator under Keras' ignore_class: 0 where masked, else 1."""
    if not is_class_ids(scores, target):
        return np.ones(scores.shape[:-1])
    return (target != ignore_index).astype(np.float64)


def check_keras_ignore_class(arrays, params) -> None:
    """Keras' SparseCategoricalCrossentropy has ignore_class but no label smoothing, and its
    CategoricalCrossentropy the reverse: no Keras loss does both."""
    scores, target = arrays.values()
    if params.get("smoothing") and is_class_ids(scores, target) and np.any(target == params["ignore_index"]):
        raise InputError(f"Keras has no loss with both label smoothing and ignore_class: targets equal "
                         f"ignore_index {params['ignore_index']} with smoothing {params['smoothing']:g}",
                         input_name="target")


def softmax_focal_keras(logits, target, *, alpha, gamma):
    """Keras' categorical_focal_crossentropy(from_logits=True) per row, in float32: p = softmax(z),
    q = clip(p/Σp, ε, 1 - ε), Σ_c (1 - q_c)^γ·α_c·(-y_c·log q_c) with y one-hot; α one value or one per class."""
    log_prob = _log_softmax32(logits)
    prob = np.exp(log_prob)
    epsilon = np.float32(KERAS_EPSILON)
    normalised = np.clip(prob / np.sum(prob, axis=-1, keepdims=True), epsilon, 1 - epsilon)
    weighting = (1 - normalised) ** np.float32(gamma) * float32(alpha)
    return float64(np.sum(weighting * (-float32(one_hot_rows(logits, target)) * np.log(normalised)), axis=-1))


def softmax_focal_keras_gradient(logits, target, *, alpha, gamma):
    """The registered gradient (α_y·(1-p_t)^γ·[...]·(softmax(z) - onehot(y))), 0 where Keras' clip
    holds p_t at 1e-7 or 1 - 1e-7."""
    p_t = pick_class(softmax(logits), target)
    inside = (p_t >= KERAS_EPSILON) & (p_t <= 1.0 - KERAS_EPSILON)
    gradient = softmax_focal_gradient(logits, target, alpha=alpha, gamma=gamma)["logits"]
    return {"logits": gradient * inside[:, None]}


def kl_keras(pred, target):
    """Keras' kl_divergence(y_true=P, y_pred=Q) on probabilities: both clipped to [1e-7, 1], in float32."""
    epsilon = np.float32(KERAS_EPSILON)
    target32, pred32 = np.clip(float32(target), epsilon, 1), np.clip(float32(pred), epsilon, 1)
    return float64(np.sum(target32 * np.log(target32 / pred32), axis=-1))


def kl_keras_gradient(pred, target):
    """-P'_c / Q_c where Q_c is inside [1e-7, 1] (P' the clipped target), else 0."""
    clipped = np.clip(target, KERAS_EPSILON, 1.0)
    inside = (pred >= KERAS_EPSILON) & (pred <= 1.0)
    return {"pred": np.where(inside, -clipped / np.where(inside, pred, 1.0), 0.0)}


def kl_optax(log_pred, target, *, log_target):
    """optax's kl_divergence (log_target: kl_divergence_with_log_targets) in float32, per row."""
    log_pred32, target32 = float32(log_pred), float32(target)
    if log_target:
        return float64(np.sum(np.exp(target32) * (target32 - log_pred32), axis=-1))
    log_target32 = np.log(np.where(target32 > 0, target32, 1))
    return float64(np.sum(target32 * (log_target32 - log_pred32), axis=-1))


def triplet_optax(anchor, positive, negative, *, margin):
    """optax's triplet_margin_loss in float32: d = (Σ|a - b|² + 1e-6)^½, max(d_ap - d_an + m, 0)."""
    anchor32 = float32(anchor)
    to_positive = np.sqrt(np.sum((anchor32 - float32(positive)) ** 2, axis=-1) + np.float32(1e-6))
    to_negative = np.sqrt(np.sum((anchor32 - float32(negative)) ** 2, axis=-1) + np.float32(1e-6))
    return float64(np.maximum(to_positive - to_negative + np.float32(margin), 0))


def triplet_optax_gradient(anchor, positive, negative, *, margin):
    """As the registered gradient, with d = sqrt(|a - b|² + 1e-6) in place of |a - b|."""
    d_pos = np.sqrt(euclidean_distance(anchor, positive)[0] ** 2 + 1e-6)
    d_neg = np.sqrt(euclidean_distance(anchor, negative)[0] ** 2 + 1e-6)
    active = (d_pos - d_neg + margin > 0).astype(np.float64)[:, None]
    grad_positive = -active * (anchor - positive) / d_pos[:, None]
    grad_negative = active * (anchor - negative) / d_neg[:, None]
    return {"anchor": -(grad_positive + grad_negative), "positive": grad_positive, "negative": grad_negative}


KERAS_RENORMALISE = Knob("renormalise", "renormalises each probability row to sum 1, then clips it to [1e-7, "
                                        "1 - 1e-7] in float32 (the TensorFlow backend's sparse loss clips first)")
XGBOOST_CE = class_floor(XGBOOST_FLOOR, True)
LIGHTGBM_CE = class_floor(LIGHTGBM_FLOOR, False)
OPTAX_CE = "optax.losses.softmax_cross_entropy (class ids: _with_integer_labels; smoothing: smooth_labels)"
KERAS_CE = "keras.losses.CategoricalCrossentropy (class ids: SparseCategoricalCrossentropy)"
KERAS_LOGIT_CE = ("keras.losses.CategoricalCrossentropy(from_logits=True) (class ids: "
                  "SparseCategoricalCrossentropy(from_logits=True, ignore_class=ignore_index))")
LOGIT_PARAMS = dict(inputs=(InputSpec("logits", (("N", "C"),), Domain.REAL, True, "raw class scores"),
                            UNNORMALISED[1]),
                    check=None, denominator=None)


def _registered(spec_params, *names):
    return tuple(param for param in spec_params if param.name in names)


KERAS_IGNORE_CLASS = Knob("ignore", "ignore_index is Keras' ignore_class: those targets cost 0 and the mean divides by "
                                    "the number of the other targets, weighted or not (torch: by Σ w[y] over them)")
KERAS_NO_CLASS_WEIGHTS = Knob("params", "has no class weights (Keras turns class_weight into sample weights: give "
                                        "them as --weights, divided by N)")


def logit_conventions(loss: str, registered_params) -> tuple[Convention, ...]:
    """Keras and optax records for a softmax cross-entropy loss (with its smoothing parameter;
    Keras also with ignore_index, its ignore_class)."""
    return (
        Convention("keras", loss, KERAS_LOGIT_CE, KERAS_LOSS + (
            KERAS_NO_CLASS_WEIGHTS, KERAS_IGNORE_CLASS), softmax_ce32, softmax_ce_gradient,
            params=_registered(registered_params, "smoothing", "ignore_index"), mean_divisor="count",
            dtype="float32", gradient_source="autodiff",
            **{**LOGIT_PARAMS, "check": check_keras_ignore_class, "denominator": kept_targets}),
        Convention("optax", loss, OPTAX_CE, OPTAX_MEAN + (NO_CLASS_WEIGHTS,), softmax_ce32, softmax_ce_gradient,
                   params=_registered(registered_params, "smoothing"), mean_divisor="count", dtype="float32",
                   gradient_source="autodiff", **LOGIT_PARAMS),
    )


def _registered_params(name):
    from ..registry import get_loss

    return get_loss(name).params


CONVENTIONS = (
    Convention("keras", "cross_entropy", KERAS_CE, KERAS_LOSS + (KERAS_RENORMALISE, NO_CLASS_WEIGHTS),
               cross_entropy_keras, cross_entropy_keras_gradient, params=(), inputs=UNNORMALISED, check=None,
               denominator=None, mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("sklearn", "cross_entropy", "sklearn.metrics.log_loss(labels=range(C))", (
        Knob("clip", "clips p to [eps, 1 - eps] with eps = 2.2e-16"),
        Knob("renormalise", "uses the rows as given: it warns, but does not renormalise, when they do not sum to 1"),
        Knob("params", "has no class weights or ignore_index")),
        log_loss_sklearn, log_loss_sklearn_gradient,
        params=(EPS_PARAM,), defaults={"eps": SKLEARN_EPS}, inputs=ROWS_AS_GIVEN, check=None, denominator=None),
    Convention("xgboost", "cross_entropy", "XGBoost eval_metric 'mlogloss'", (
        XGBOOST_FLOAT32, Knob("clip", "floors p_y at 1e-16"), Knob("params", "has no class weights")),
        *XGBOOST_CE, params=(), inputs=CLASS_IDS, check=None, denominator=None, dtype="float32"),
    Convention("lightgbm", "cross_entropy", "LightGBM metric 'multi_logloss'", (
        Knob("clip", "floors p_y at 1e-15"), Knob("params", "has no class weights")),
        *LIGHTGBM_CE, params=(), inputs=CLASS_IDS, check=None, denominator=None),

    *logit_conventions("softmax_cross_entropy", _registered_params("softmax_cross_entropy")),
    *logit_conventions("label_smoothing", _registered_params("label_smoothing")),

    Convention("keras", "softmax_focal", "keras.losses.CategoricalFocalCrossentropy(from_logits=True) on one-hot "
               "targets", KERAS_LOSS + (
        Knob("params", "alpha defaults to 0.25 (losscli: 1) and multiplies every class's term; a list gives one "
                       "per class"),
        Knob("clip", "clips the softmax probabilities to [1e-7, 1 - 1e-7] in float32: a true class below 1e-7 "
                     "costs at most α·16.12, one above 1 - 1e-7 still α·(1.19e-7)^γ·15.94")),
        softmax_focal_keras, softmax_focal_keras_gradient, defaults={"alpha": (0.25,)}, mean_divisor="count",
        dtype="float32", gradient_source="autodiff"),

    Convention("keras", "kl_div", "keras.losses.KLDivergence()", KERAS_LOSS + (
        Knob("input", "takes the predicted probabilities Q, not log Q"),
        Knob("clip", "clips both P and Q to [1e-7, 1]: zero targets count as 1e-7")),
        kl_keras, kl_keras_gradient, params=(), check=None, mean_divisor="count", dtype="float32",
        gradient_source="autodiff", exp_of_default_input="always",
        inputs=(InputSpec("pred", (("N", "C"),), Domain.REAL, True, "predicted probabilities Q (clipped to [1e-7, 1])"),
                InputSpec("target", (("N", "C"),), Domain.REAL, False,
                          "target probabilities P (clipped to [1e-7, 1])"))),
    Convention("optax", "kl_div", "optax.losses.kl_divergence(log_predictions, targets).mean()", OPTAX_MEAN + (
        Knob("strictness", "takes any log-predictions and targets: rows need not be normalised"),),
        kl_optax, mean_divisor="count", dtype="float32", gradient_source="autodiff",
        inputs=(InputSpec("log_pred", (("N", "C"),), Domain.REAL, True, "log-predictions log Q (not checked)"),
                InputSpec("target", (("N", "C"),), Domain.REAL, False, "targets P (log P with log_target)"))),

    Convention("optax", "triplet", "optax.losses.triplet_margin_loss(...).mean() (margin=1.0, eps=1e-6)", OPTAX_MEAN + (
        Knob("params", "margin defaults to 1.0, not 0.2"),
        Knob("formula", "adds eps = 1e-6 under the square root of each distance: d(a, a) = 1e-3")),
        triplet_optax, triplet_optax_gradient, defaults={"margin": 1.0}, mean_divisor="count", dtype="float32",
        gradient_source="autodiff"),
)
