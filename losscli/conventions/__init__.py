"""Framework conventions: what torch, Keras, scikit-learn, optax, XGBoost and LightGBM report for
the "same" loss, one declarative record per framework × loss.

>>> from losscli.conventions import apply_convention
>>> from losscli import compute
>>> keras_bce = apply_convention("bce", "keras")
>>> round(compute(keras_bce, [1.0], [0.0]).value, 4)  # p = 1 at y = 0, clipped at 1 - 1e-7 in float32
15.9424
"""

from __future__ import annotations

from ..errors import LossCliError
from ..registry import LOSSES, get_loss
from ..spec import LossSpec
from . import binary, categorical, counts, margin, regression
from .record import DEFAULT_FRAMEWORK, FRAMEWORKS, Convention, Knob, derive
from .torch_calls import ConventionWarning, torch_conventions

CONVENTIONS: tuple[Convention, ...] = (*torch_conventions(LOSSES), *regression.CONVENTIONS, *counts.CONVENTIONS,
                                       *binary.CONVENTIONS, *margin.CONVENTIONS,
                                       *categorical.CONVENTIONS)
_BY_KEY = {convention.key: convention for convention in CONVENTIONS}
if len(_BY_KEY) != len(CONVENTIONS):
    raise RuntimeError("two conventions for the same loss and framework")
# Frameworks with a loss of a similar name that is not this one: said when asked for it.
RELATED = {
    ("huber", "xgboost"): "XGBoost's 'mphe' is the pseudo-Huber loss, a different function",
    ("poisson_nll", "sklearn"): "scikit-learn's mean_poisson_deviance is the deviance: losscli tweedie -p power=1",
    ("mse", "xgboost"): "XGBoost reports only 'rmse': losscli rmse --convention xgboost",
    ("cosine", "keras"): "Keras' CosineSimilarity is -cos(y, ŷ) without labels, a different loss",
    ("infonce", "optax"): "optax's ntxent builds its pairs from labels, a different loss",
}


class ConventionError(LossCliError):
    """A framework that does not compute this loss, or an unknown framework name."""


def frameworks_of(loss: str | LossSpec) -> tuple[str, ...]:
    """The frameworks that compute ``loss``, in FRAMEWORKS order."""
    name = get_loss(loss).name
    return tuple(framework for framework in FRAMEWORKS if (name, framework) in _BY_KEY)


def conventions_of(loss: str | LossSpec) -> tuple[Convention, ...]:
    name = get_loss(loss).name
    return tuple(_BY_KEY[name, framework] for framework in frameworks_of(name))


def find_convention(loss: str | LossSpec, framework: str) -> Convention:
    """The record for ``loss`` under ``framework``; ConventionError names the frameworks that have it."""
    spec = get_loss(loss)
    framework = framework.strip().lower()
    if framework not in FRAMEWORKS:
        raise ConventionError(f"unknown convention {framework!r} (valid: {', '.join(FRAMEWORKS)})")
    if (spec.name, framework) not in _BY_KEY:
        others = ", ".join(frameworks_of(spec)) or "none of them"
        related = RELATED.get((spec.name, framework))
        raise ConventionError(f"{framework} has no {spec.name} loss (conventions for {spec.name}: {others})"
                              + (f"; {related}" if related else ""))
    return _BY_KEY[spec.name, framework]


def apply_convention(loss: str | LossSpec, framework: str | None) -> LossSpec:
    """The spec that computes what ``framework`` reports for ``loss``; None keeps losscli's default."""
    spec = get_loss(loss)
    if framework is None:
        return spec
    return derive(spec, find_convention(spec, framework))


__all__ = ["CONVENTIONS", "DEFAULT_FRAMEWORK", "FRAMEWORKS", "Convention", "ConventionError", "ConventionWarning",
           "Knob",
           "apply_convention", "conventions_of", "find_convention", "frameworks_of"]
