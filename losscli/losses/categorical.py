"""Categorical cross-entropy (probabilities or logits, with label smoothing), with torch's class
weights and ignore_index, and the KL divergence between class distributions.

All are row-wise: scores [N, C] (or [..., C]) -> one loss per row. Targets are class ids [N]
or rows of C class probabilities [N, C].

Class weights and ignore_index follow torch's cross_entropy / nll_loss exactly. With class-id
targets a row's loss is multiplied by w[y] and the mean divides by Σ w[y_i] over the targets
that are not ignored (the spec's ``denominator``); an ignored row has loss 0 and gradient 0.
With probability rows the weights enter as Σ_c w_c·y_c·(-log p_c), the mean divides by N and
ignore_index does not apply.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task
from . import double_double as dd
from ._numerics import CANCELLING, is_class_ids, log_softmax, softmax, softmax_times_total_minus
from .classification import CLIPPED_RANGE, EPS_PARAM, given

CLASS_TARGETS = InputSpec("target", (("N",), ("N", "C")), Domain.CLASS_TARGET, False,
                          "class ids [N] or one-hot / probability rows [N, C]")
WEIGHT_PARAM = ParamSpec("weight", None, "class weights w_c, one per class (torch's weight); with class ids the "
                         "mean divides by Σ w[target]", low=0.0, kind="vector")
IGNORE_INDEX_PARAM = ParamSpec("ignore_index", -100, "class-id targets equal to this are left out (loss and "
                               "gradient 0, not counted in the mean); not used with probability rows", kind="int")
OPTIONS_NOTE = ("weight: torch's class weights; with class ids each row's loss is multiplied by w[y] and the mean "
                "divides by Σ w[y_i] over the kept targets, with probability rows the loss is Σ_c w_c·y'_c·(-log p_c) "
                "and the mean divides by N. ignore_index (class ids only): those rows cost 0 and leave the mean's "
                "denominator; every target ignored is an error.")


def class_weights(weight, num_classes: int) -> np.ndarray:
    """The weight vector as an array; not given (() or None) is 1 for every class."""
    return np.asarray(weight, dtype=np.float64) if given(weight) else np.ones(num_classes)


def target_rows(scores: np.ndarray, target: np.ndarray, *, smoothing: float = 0.0, weight=None,
                ignore_index: int = -100) -> np.ndarray:
    """The row a of each sample, so that its loss is -Σ_c a_c·log p_c (torch's cross_entropy).

    Class ids y: a = (1-s)·w_y·onehot(y) + (s/C)·w, and a = 0 where y = ignore_index.
    Probability rows y: a = w ⊙ ((1-s)·y + s/C). scores: [..., C]; target: [...] or [..., C].
    """
    num_classes = scores.shape[-1]
    weights = class_weights(weight, num_classes)
    if not is_class_ids(scores, target):
        return weights * ((1.0 - smoothing) * target + smoothing / num_classes)
    kept = target != ignore_index
    ids = np.where(kept, target, 0).astype(np.intp)[..., None]
    rows = np.broadcast_to(smoothing / num_classes * weights, scores.shape).copy()
    np.put_along_axis(rows, ids, np.take_along_axis(rows, ids, -1) + (1.0 - smoothing) * weights[ids], -1)
    return rows * kept[..., None]


def class_denominators(scores: np.ndarray, target: np.ndarray, **params) -> np.ndarray:
    """What each row adds to the mean's denominator: w[y] for class ids (0 where ignored), 1 for rows."""
    if not is_class_ids(scores, target):
        return np.ones(scores.shape[:-1])
    kept = target != params["ignore_index"]
    weights = class_weights(params["weight"], scores.shape[-1])
    return np.where(kept, weights[np.where(kept, target, 0).astype(np.intp)], 0.0)


def check_class_options(arrays, params) -> None:
    """One weight per class, and at least one target that is not ignored."""
    (scores_name, scores), (target_name, target) = list(arrays.items())[:2]
    weight, ignore_index = params["weight"], params["ignore_index"]
    if given(weight) and len(weight) != scores.shape[-1]:
        raise InputError(f"parameter weight: expected {scores.shape[-1]} class weights (one per column of "
                         f"{scores_name}), got {len(weight)}")
    if is_class_ids(scores, target) and target.size and np.all(target == ignore_index):
        raise InputError(f"every target equals ignore_index {ignore_index}: no sample left to average",
                         input_name=target_name, hint="set -p ignore_index to a value the targets do not use")


def cross_entropy(pred: np.ndarray, target: np.ndarray, *, eps: float, weight=None,
                  ignore_index: int = -100) -> np.ndarray:
    """Categorical cross-entropy on probabilities, per row: -Σ_c a_c·log clip(p_c, eps, 1-eps).

    a = w_y·onehot(y) for class ids (torch's nll_loss of log p), w ⊙ y for probability rows.
    pred: [N, C] probabilities; target: ids [N] or rows [N, C] -> [N].
    """
    rows = target_rows(pred, target, weight=weight, ignore_index=ignore_index)
    return -np.sum(rows * np.log(np.clip(pred, eps, 1.0 - eps)), axis=-1)


def cross_entropy_gradient(pred, target, *, eps, weight=None, ignore_index=-100):
    """-a_c / p_c at the clipped p (non-zero only at the true class for class ids)."""
    rows = target_rows(pred, target, weight=weight, ignore_index=ignore_index)
    return {"pred": -rows / np.clip(pred, eps, 1.0 - eps)}


def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray, *, smoothing: float, weight=None,
                          ignore_index: int = -100) -> np.ndarray:
    """Softmax cross-entropy on logits with label smoothing (Szegedy et al., 2016), per row.

    -Σ_c a_c·log softmax(z)_c with a from :func:`target_rows`: smoothed targets
    y' = (1-s)·y + s/C, weighted as torch does (for class ids: (1-s)·w_y·(-log p_y) +
    (s/C)·Σ_c w_c·(-log p_c)). log-softmax uses the log-sum-exp shift.
    logits: [..., C]; target: ids [...] or rows [..., C] -> [...].
    """
    rows = target_rows(logits, target, smoothing=smoothing, weight=weight, ignore_index=ignore_index)
    return -np.sum(rows * log_softmax(logits), axis=-1)


def softmax_cross_entropy_gradient(logits, target, *, smoothing, weight=None, ignore_index=-100):
    """softmax(z)·Σ_c a_c - a  (= softmax(z) - y' without weights; 0 for an ignored row)."""
    rows = target_rows(logits, target, smoothing=smoothing, weight=weight, ignore_index=ignore_index)
    return {"logits": softmax_times_total_minus(logits, rows)}


def kl_div(log_pred: np.ndarray, target: np.ndarray, *, log_target: bool) -> np.ndarray:
    """KL(y || q) per row: Σ_c y_c·(log y_c - log q_c), with 0·log 0 = 0 (torch's kl_div).

    log_pred: log q [N, C] (log-probabilities, as torch expects); target: y [N, C], or log y
    with log_target. The mean over rows is torch's reduction "batchmean" -> [N].
    """
    with np.errstate(invalid="ignore"):
        terms, sizes = _kl_terms(log_pred, target, log_target)
        # row sums as a product with ones (BLAS): a third of np.sum's time over a short last axis
        ones = np.ones(terms.shape[-1])
        loss = terms @ ones
        # float64 leaves ~2^-53 of the terms' size (below): rows that cancel below 2^-8 of it (q = y to a few
        # digits) are summed again in double-double; float64's error is then below ~3e-14 of the KL (1e-14 at C = 3)
        slow = np.flatnonzero(np.isfinite(loss) & (np.abs(loss) <= CANCELLING * (sizes @ ones)))
    if slow.size:
        loss[slow] = _kl_double_double(log_pred[slow], target[slow], log_target)
    return loss


def _kl_terms(log_pred, target, log_target):
    """The terms y_c·(log y_c - log q_c) in float64 and the sizes their rounding errors scale with:
    y_c·(|log y_c| + |log q_c|), and with log_target (t - log q rounded once) the terms' own |·|."""
    if log_target:
        terms = np.exp(target) * (target - log_pred)
        return terms, np.abs(terms)
    # y·log y as 0 where y = 0; the log never sees a zero (no warning)
    y_log_y = np.where(target > 0, target * np.log(np.where(target > 0, target, 1.0)), 0.0)
    y_log_q = target * log_pred
    return y_log_y - y_log_q, np.abs(y_log_y) + np.abs(y_log_q)


def _kl_double_double(log_pred, target, log_target):
    """Σ_c y_c·(log y_c - log q_c) in double-double (~1e-30 of the terms): log y (or e^t, and t - log q)
    carried to 106 bits, so a KL of 1e-18 from terms of 0.3 keeps its digits."""
    if log_target:
        # e^t below e^-745 is 0 in float64, and its term below every other's
        probability = dd.where(target > -745.0, dd.exp(dd.DD(np.maximum(target, -745.0))), dd.DD(0.0))
        terms = probability * dd.DD(*dd.two_sum(target, -log_pred))
    else:
        positive = target > 0
        log_y = dd.log(dd.DD(np.where(positive, target, 1.0)))
        terms = dd.where(positive, (log_y - log_pred) * target, dd.DD(0.0))
    return dd.total(terms).value()


def kl_div_gradient(log_pred, target, *, log_target):
    """∂/∂log q_c = -y_c (0 where y_c = 0)."""
    return {"log_pred": -(np.exp(target) if log_target else target)}


NUM_SAMPLE_CLASSES = 5


def sample_class_probabilities(rng, n, params):
    pred = softmax(rng.normal(0.0, 1.0, (n, NUM_SAMPLE_CLASSES)))
    return {"pred": pred, "target": rng.integers(0, NUM_SAMPLE_CLASSES, n).astype(np.float64)}


def sample_class_logits(rng, n, params):
    logits = rng.normal(0.0, 2.0, (n, NUM_SAMPLE_CLASSES))
    return {"logits": logits, "target": rng.integers(0, NUM_SAMPLE_CLASSES, n).astype(np.float64)}


def sample_kl_div(rng, n, params):
    log_pred = log_softmax(rng.normal(0.0, 1.0, (n, NUM_SAMPLE_CLASSES)))
    target = softmax(rng.normal(0.0, 1.0, (n, NUM_SAMPLE_CLASSES)))
    if params["log_target"]:
        return {"log_pred": log_pred, "target": np.log(target)}
    # every other row has an exact zero, so 0·log 0 is exercised
    target[::2, 0] = 0.0
    return {"log_pred": log_pred, "target": target / target.sum(axis=-1, keepdims=True)}


CLASS_OPTIONS = dict(denominator=class_denominators, check=check_class_options)

CROSS_ENTROPY = LossSpec(
    name="cross_entropy", aliases=("categorical_cross_entropy", "ce"), task=Task.MULTICLASS,
    example_files=("sample_data/multiclass_probs.csv", "sample_data/multiclass_labels.csv"),
    inputs=(InputSpec("pred", (("N", "C"),), Domain.CLASS_DISTRIBUTION, True,
                      "predicted class probabilities (after softmax), rows summing to 1"),
            CLASS_TARGETS),
    params=(EPS_PARAM, WEIGHT_PARAM, IGNORE_INDEX_PARAM), forward=cross_entropy, gradient=cross_entropy_gradient,
    sample=sample_class_probabilities, **CLASS_OPTIONS,
    formula="-Σ_c w_c·y_c·log p_c,  p = clip(ŷ, eps, 1-eps)",
    gradient_formula="∂/∂ŷ_c = -w_c·y_c / p_c",
    when_to_use="Single-label multi-class classification when the model outputs probabilities.",
    output_activation="softmax", logits_alternative="softmax_cross_entropy",
    torch_equivalent="torch.nn.functional.nll_loss(log(p), weight=w, ignore_index=i)",
    notes=OPTIONS_NOTE, accurate_range=CLIPPED_RANGE,
)

SOFTMAX_CROSS_ENTROPY = LossSpec(
    name="softmax_cross_entropy", aliases=("softmax_ce", "cross_entropy_logits"), task=Task.MULTICLASS,
    example_files=("sample_data/multiclass_logits.csv", "sample_data/multiclass_labels.csv"),
    inputs=(InputSpec("logits", (("N", "C"),), Domain.REAL, True, "raw class scores before the softmax"),
            CLASS_TARGETS),
    params=(ParamSpec("smoothing", 0.0, "label smoothing s: targets become (1-s)·y + s/C", low=0.0, high=1.0),
            WEIGHT_PARAM, IGNORE_INDEX_PARAM),
    forward=softmax_cross_entropy, gradient=softmax_cross_entropy_gradient, sample=sample_class_logits,
    **CLASS_OPTIONS,
    formula="logsumexp(z)·Σ_c a_c - Σ_c a_c·z_c,  a = w ⊙ y',  y' = (1-s)·y + s/C",
    gradient_formula="∂/∂z = softmax(z)·Σ_c a_c - a  (= softmax(z) - y' without weights)",
    when_to_use="Single-label multi-class classification on raw scores (the standard classifier loss).",
    output_activation="none (softmax inside the loss)",
    torch_equivalent="torch.nn.functional.cross_entropy(weight=w, ignore_index=i, label_smoothing=s)",
    notes=OPTIONS_NOTE + " With smoothing and weights a class-id row costs (1-s)·w_y·(-log p_y) + "
                         "(s/C)·Σ_c w_c·(-log p_c), over the same denominator Σ w[y_i], as torch.",
)

LABEL_SMOOTHING = LossSpec(
    name="label_smoothing", aliases=("label_smoothing_cross_entropy",), task=Task.MULTICLASS,
    example_files=("sample_data/multiclass_logits.csv", "sample_data/multiclass_onehot.csv"),
    inputs=SOFTMAX_CROSS_ENTROPY.inputs,
    params=(ParamSpec("smoothing", 0.1, "label smoothing s: targets become (1-s)·y + s/C", low=0.0, high=1.0),
            WEIGHT_PARAM, IGNORE_INDEX_PARAM),
    forward=softmax_cross_entropy, gradient=softmax_cross_entropy_gradient, sample=sample_class_logits,
    **CLASS_OPTIONS,
    formula=SOFTMAX_CROSS_ENTROPY.formula, gradient_formula=SOFTMAX_CROSS_ENTROPY.gradient_formula,
    when_to_use="Multi-class classification where over-confident predictions should be discouraged.",
    output_activation="none (softmax inside the loss)",
    torch_equivalent="torch.nn.functional.cross_entropy(label_smoothing=s, weight=w, ignore_index=i)",
    notes="softmax_cross_entropy with smoothing 0.1 by default. " + SOFTMAX_CROSS_ENTROPY.notes,
)

KL_DIV = LossSpec(
    name="kl_div", aliases=("kl_divergence", "kl"), task=Task.MULTICLASS,
    example_files=("sample_data/kl_log_pred.csv", "sample_data/kl_target.csv"),
    inputs=(InputSpec("log_pred", (("N", "C"),), Domain.LOG_DISTRIBUTION, True,
                      "predicted log-probabilities log q (after log_softmax)"),
            InputSpec("target", (("N", "C"),), Domain.CLASS_DISTRIBUTION_OR_LOG, False,
                      "target class probabilities y (log y with log_target)")),
    params=(ParamSpec("log_target", False, "the target holds log-probabilities (torch's log_target)", kind="bool"),),
    forward=kl_div, gradient=kl_div_gradient, sample=sample_kl_div,
    formula="Σ_c y_c·(log y_c - log q_c),  0·log 0 = 0",
    gradient_formula="∂/∂log q_c = -y_c",
    when_to_use="Distillation and distribution matching: how far predicted class probabilities are from target ones.",
    output_activation="log_softmax",
    torch_equivalent="torch.nn.functional.kl_div(log_q, y, reduction='batchmean', log_target=...)",
    notes="The per-sample loss is one row's KL divergence, so the mean is torch's reduction 'batchmean' (the true "
          "KL per sample); torch's default 'mean' divides by N·C instead. The input is log q, not q.",
)

SPECS = (CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY, LABEL_SMOOTHING, KL_DIV)
