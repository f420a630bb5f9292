"""Margin conventions: the hinge and squared hinge under Keras (0/1 labels read as -1/+1 when every
label is 0 or 1, float32), scikit-learn (LabelBinarizer's label mapping, a single class all -1)
and optax (labels used as given: 0 stays 0)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..losses import margin
from ..spec import Domain, InputSpec
from .record import Convention, Knob, float32, float64
from .regression import KERAS_LOSS, OPTAX_MEAN


def hinge_optax(scores, target):
    """optax's hinge_loss in float32: max(0, 1 - y·x) with y used as given (0 is not -1)."""
    return float64(np.maximum(0, 1 - float32(target) * float32(scores)))


def hinge_optax_gradient(scores, target):
    return margin.hinge_gradient_of_signs(scores, target)


def hinge32(forward):
    """A registered hinge computed in float32 (Keras)."""
    def computed(scores, target):
        return float64(float32(forward(float32(scores).astype(np.float64), target)))
    return computed


def check_not_mixed(arrays, params) -> None:
    """Keras maps 0/1 labels to -1/+1 only when every label is 0 or 1."""
    target = arrays["target"]
    if np.any(target == 0) and np.any(target == -1):
        raise InputError("Keras converts labels 0/1 to -1/+1 only when every label is 0 or 1: these mix 0 and -1",
                         input_name="target")


def sklearn_signs(target):
    """scikit-learn's LabelBinarizer(neg_label=-1) on the labels given: of two label values the
    larger is +1, the other -1; a single label value makes every label -1."""
    classes = np.unique(target)
    return np.where((classes.size > 1) & (target == classes[-1]), 1.0, -1.0)


def hinge_sklearn(scores, target):
    """scikit-learn's binary hinge_loss: max(0, 1 - s·x), s from :func:`sklearn_signs`."""
    return margin.hinge_of_signs(scores, sklearn_signs(target))


def hinge_sklearn_gradient(scores, target):
    return margin.hinge_gradient_of_signs(scores, sklearn_signs(target))


def check_sklearn_binary(arrays, params) -> None:
    """scikit-learn's binary hinge_loss: one score per row, at most two label values."""
    scores, classes = arrays["scores"], np.unique(arrays["target"])
    if scores.ndim > 1 and scores.shape[1] > 1:
        raise InputError(f"scikit-learn's binary hinge_loss takes one score per row, got {scores.shape[1]} columns",
                         input_name="scores")
    if classes.size > 2:
        raise InputError(f"scikit-learn's hinge_loss reads {classes.size} label values "
                         f"({', '.join(f'{value:g}' for value in classes)}) as {classes.size} classes, which need "
                         f"one score column per class: give two label values", input_name="target")


def sklearn_label_lines(arrays) -> list[str]:
    """The label mapping scikit-learn applies to these labels, in numbers."""
    target = np.asarray(arrays["target"])
    classes = np.unique(target)
    if classes.size == 1:
        return [f"every label is {classes[0]:g}: a single class, so scikit-learn reads all {target.size} as -1"]
    if classes.size == 2 and classes[-1] != 1:
        return [f"labels {classes[0]:g}/{classes[-1]:g}: scikit-learn reads {classes[-1]:g} (the larger) as +1"]
    return []


SKLEARN_HINGE = (Knob("labels", "maps labels with LabelBinarizer(neg_label=-1): of the two label values present "
                                "the larger is +1 (labels -1/0 read 0 as +1)"),
                 Knob("single class", "if every label has the same value, all become -1 (y = [1, 1, 1] are read as "
                                      "three negatives)"))

OPTAX_LABELS = (InputSpec("scores", (("...",),), Domain.REAL, True, "raw decision scores"),
                InputSpec("target", (("...",),), Domain.REAL, False, "labels +1 / -1, used as given (0 stays 0)"))

CONVENTIONS = (
    Convention("keras", "hinge", "keras.losses.Hinge()", KERAS_LOSS, hinge32(margin.hinge), check=check_not_mixed,
               mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("keras", "squared_hinge", "keras.losses.SquaredHinge()", KERAS_LOSS, hinge32(margin.squared_hinge),
               check=check_not_mixed, mean_divisor="count", dtype="float32", gradient_source="autodiff"),
    Convention("sklearn", "hinge", "sklearn.metrics.hinge_loss (binary: one score per row)", SKLEARN_HINGE,
               hinge_sklearn, hinge_sklearn_gradient, check=check_sklearn_binary, whole_input=True,
               explain_inputs=sklearn_label_lines),
    Convention("optax", "hinge", "optax.losses.hinge_loss(...).mean()", OPTAX_MEAN + (
        Knob("labels", "takes labels as ±1 and does not read 0 as -1: a 0 label costs max(0, 1 - 0·x) = 1"),),
        hinge_optax, hinge_optax_gradient, inputs=OPTAX_LABELS, mean_divisor="count", dtype="float32",
        gradient_source="autodiff"),
)
