"""The declarative record of a framework convention, and the spec it derives.

A :class:`Convention` says what one framework computes for one registered loss: its API, the
forward and gradient it evaluates (in the dtype the framework computes in), what the mean divides
by, its parameter defaults, what inputs it accepts, and — in words — every knob that differs from
losscli's default. :func:`derive` turns it into a :class:`~losscli.spec.LossSpec` that the engine
evaluates unchanged, so streaming, Dask shards and group-by get conventions for free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..spec import InputSpec, LossSpec, ParamSpec

FRAMEWORKS = ("torch", "keras", "sklearn", "optax", "xgboost", "lightgbm")
DEFAULT_FRAMEWORK = "torch"
# Keras' backend.epsilon(): the clip constant of its probability losses.
KERAS_EPSILON = 1e-7
KEEP: Any = object()  # a field of the registered spec that the convention keeps


@dataclass(frozen=True)
class Knob:
    """One way a convention departs from the default: a short name and a sentence."""

    name: str
    text: str


@dataclass(frozen=True)
class Convention:
    """What ``framework`` computes for the registered loss ``loss``.

    forward/gradient replace the spec's (same calling convention: inputs positional, params as
    keywords); KEEP keeps the registered ones. params replaces the parameter list (a framework
    may lack one of ours, e.g. Keras' fixed clip constant); defaults changes parameter defaults.
    mean_divisor is a reduction.MEAN_DIVISORS rule; multioutput a reduction.MULTIOUTPUTS rule (how a
    mean over several output columns is taken). knobs explain every difference in words.
    gradient_source says where the gradient comes from ("autodiff" when the framework
    differentiates this loss, else "formula": the derivative of the value it reports).
    exp_of_default_input: see :meth:`takes_exp_of_default_input` (used by cross-checks, which give
    every convention the same saved inputs). whole_input: the framework's per-sample values depend
    on every row at once (scikit-learn's hinge maps labels by the classes present), so the input
    cannot be reduced in batches. explain_inputs(arrays) -> lines: what the convention does with
    these particular inputs, in numbers (for cross-checks and --explain).
    """

    framework: str
    loss: str
    api: str
    knobs: tuple[Knob, ...] = ()
    forward: Callable[..., np.ndarray] | Any = KEEP
    gradient: Callable[..., dict] | Any = KEEP
    params: tuple[ParamSpec, ...] | Any = KEEP
    defaults: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[InputSpec, ...] | Any = KEEP
    check: Callable | None | Any = KEEP
    denominator: Callable | None | Any = KEEP
    transform: Any = KEEP
    mean_divisor: str = "weights"
    multioutput: str = "pooled"
    dtype: str = "float64"
    gradient_source: str = "formula"
    notes: str = ""
    exp_of_default_input: str | None = None
    whole_input: bool = False
    explain_inputs: Callable[[Mapping[str, np.ndarray]], list[str]] | None = None

    def takes_exp_of_default_input(self, default_params: Mapping[str, Any]) -> bool:
        """Whether the framework takes exp of the default's first input (the rate where the default
        holds log-rates): "always", or the name of the default's boolean parameter that says so."""
        if self.exp_of_default_input is None:
            return False
        return self.exp_of_default_input == "always" or bool(default_params.get(self.exp_of_default_input))

    @property
    def key(self) -> tuple[str, str]:
        return self.loss, self.framework


def derive(spec: LossSpec, convention: Convention) -> LossSpec:
    """The registered spec with the convention's forward, gradient, parameters, inputs, checks,
    mean divisor and multioutput rule: a LossSpec the engine evaluates like any other."""
    changes = {name: getattr(convention, name) for name in ("forward", "gradient", "params", "inputs", "check",
                                                              "denominator", "transform")
               if getattr(convention, name) is not KEEP}
    params = changes.get("params", spec.params)
    changes["params"] = tuple(replace(param, default=convention.defaults[param.name])
                              if param.name in convention.defaults else param for param in params)
    notes = " ".join(part for part in (spec.notes, f"[{convention.framework}] {convention.notes}") if part.strip())
    if "forward" in changes or "transform" in changes:
        changes["root"] = None  # the registered loss's √ℓ_i is not the square root of another forward
    return replace(spec, mean_divisor=convention.mean_divisor, multioutput=convention.multioutput, notes=notes,
                   whole_input=convention.whole_input, **changes)


def same_as_default(framework: str, loss: str, api: str, notes: str = "",
                    gradient_source: str = "autodiff") -> Convention:
    """A framework that computes exactly losscli's default for this loss."""
    return Convention(framework, loss, api, notes=notes, gradient_source=gradient_source)


def float32(array: np.ndarray) -> np.ndarray:
    """The array as the framework holds it: float32 (Keras' floatx, JAX's default dtype)."""
    return np.asarray(array, dtype=np.float32)


def float64(array: np.ndarray) -> np.ndarray:
    """A float32 result handed back to losscli's float64 reduction."""
    return np.asarray(array, dtype=np.float64)
