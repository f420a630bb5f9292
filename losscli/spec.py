"""Declarative description of a loss: the types the registry is made of.

A :class:`LossSpec` is the single source of truth for a loss: its names, task, inputs with
shapes and domains, parameters with defaults and ranges, forward and gradient functions, an
input generator for tests and gradcheck, and its documentation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from .errors import ParameterError

Arrays = dict[str, np.ndarray]


class Task(str, Enum):
    REGRESSION = "regression"
    BINARY = "binary"
    MULTICLASS = "multiclass"
    EMBEDDING = "embedding"
    SEQUENCE = "sequence"


class Domain(str, Enum):
    """What values an input may hold; checked by :mod:`losscli.validation`."""

    REAL = "real"
    PROBABILITY = "probability in [0, 1]"
    LABEL = "label in [0, 1] (soft labels allowed)"
    CLASS_DISTRIBUTION = "class probabilities, rows summing to 1"
    CLASS_TARGET = "class ids in [0, C) or rows of C class probabilities"
    TOKEN_IDS = "token ids in [0, V)"
    NONNEGATIVE = "real >= 0"
    POSITIVE = "real > 0"
    ABOVE_MINUS_ONE = "real > -1"
    SIGNED_LABEL = "label +1 or -1 (0 is read as -1)"
    LOG_DISTRIBUTION = "log class probabilities, rows whose exp sums to 1"
    CLASS_DISTRIBUTION_OR_LOG = "class probabilities, rows summing to 1 (their logs with log_target)"


@dataclass(frozen=True)
class InputSpec:
    """One named input of a loss.

    ``shapes`` lists the accepted shape patterns. Symbols name dimensions that must agree
    across inputs ("N" rows, "C" classes, "D" embedding size, "K" keys); "..." stands for one
    or more leading batch dimensions shared by the inputs.
    """

    name: str
    shapes: tuple[tuple[str, ...], ...]
    domain: Domain
    differentiable: bool
    help: str

    def shape_text(self) -> str:
        # "..." (one or more batch dims) is shown as N…: [N…, V] is [N, V] or [B, T, V].
        return " or ".join("[" + ", ".join(pattern).replace("...", "N…") + "]" for pattern in self.shapes)


PARAM_KINDS = ("float", "int", "bool", "vector")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class ParamSpec:
    """A loss parameter: default, valid range (``None`` = unbounded) and one-line help.

    kind: "float", "int", "bool" or "vector" (e.g. class weights: a comma list or a one-column
    file, each element within the range; resolved to a tuple of floats). A vector's default may
    be None, meaning "not given".
    """

    name: str
    default: float | int | bool | tuple | None
    help: str
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    kind: str = "float"

    def range_text(self) -> str:
        if self.kind == "bool":
            return "true or false"
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>=' if self.low_inclusive else '>'} {_fmt(self.low)}")
        if self.high is not None:
            bounds.append(f"{'<=' if self.high_inclusive else '<'} {_fmt(self.high)}")
        text = " and ".join(bounds) or ("any integer" if self.kind == "int" else "any real")
        return f"comma list or one-column file, each {text}" if self.kind == "vector" else text

    def parse(self, raw: Any) -> float | int | bool | tuple:
        """Convert ``raw`` (a value or a command-line string) and check it is in range."""
        if self.kind == "bool":
            return self._parse_bool(raw)
        if self.kind == "vector":
            if raw is None or raw == ():
                return None  # "not given", e.g. no class weights
            return tuple(self._parse_number(item) for item in _vector_items(self.name, raw))
        return self._parse_number(raw)

    def _parse_bool(self, raw: Any) -> bool:
        text = str(raw).strip().lower()
        if isinstance(raw, bool) or text in _TRUE + _FALSE:
            return raw if isinstance(raw, bool) else text in _TRUE
        raise ParameterError(f"parameter {self.name} expects true or false, got {raw!r}")

    def _parse_number(self, raw: Any) -> float | int:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {self.name} expects a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise ParameterError(f"parameter {self.name} must be finite, got {raw!r}")
        if self.kind == "int":
            if value != int(value):
                raise ParameterError(f"parameter {self.name} expects an integer, got {raw!r}")
            value = int(value)
        too_low = self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive))
        too_high = self.high is not None and (value > self.high or (value == self.high and not self.high_inclusive))
        if too_low or too_high:
            raise ParameterError(f"parameter {self.name} must be {self.range_text()}, got {_fmt(value)}")
        return value


def _vector_items(name: str, raw: Any) -> list:
    """Elements of a vector parameter given as a sequence or a comma list (the command line
    reads a one-column file into a sequence)."""
    if not isinstance(raw, str):
        return list(np.asarray(raw, dtype=object).ravel())
    items = [item for item in raw.split(",") if item.strip()]
    if not items or (len(items) == 1 and not _is_number(items[0])):
        raise ParameterError(f"parameter {name} expects a comma list of numbers or a one-column file, got {raw!r}")
    return items


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Transform:
    """A smooth function T applied after reduction (perplexity = exp of the mean NLL).

    With reduction "none" each sample reports T(ℓ_i) and derivative(ℓ_i)·∂ℓ_i. Where ℓ_i or that
    product is not representable but the answer is (rmse's √((ŷ - y)²) = |ŷ - y| at 1e160, e^ℓ·∂ℓ
    where e^ℓ overflows and ∂ℓ underflows), a transform gives them instead:
    per_sample_value(*inputs, **params) -> T(ℓ_i), and chain(ℓ, gradients, *inputs, **params) ->
    T'(ℓ_i)·∂ℓ_i from the loss's own per-sample gradients (so a wrong gradient stays visible).
    of_scaled(mean) -> (T(mean), T'(mean)) takes the reduced value as a
    :class:`~losscli.scaled.ScaledSum`, for a mean beyond the doubles (rmse's mean square of 1e320).
    """

    name: str
    function: Callable[[Any], Any]
    derivative: Callable[[Any], Any]
    per_sample_value: Callable[..., np.ndarray] | None = None
    chain: Callable[..., Arrays] | None = None
    of_scaled: Callable[[Any], tuple[float, float]] | None = None


@dataclass(frozen=True)
class LossSpec:
    """Everything losscli knows about one loss.

    forward(*inputs, **params) returns per-sample losses: one value per element for
    elementwise losses (pred [N] or [N, D]), one per row for row-wise ones (shape = the leading
    batch dims). gradient(*inputs, **params) returns, for every differentiable input, the
    gradient of each sample's own loss with respect to that sample's slice (same shape as the
    input). sample(rng, n, params) returns valid random inputs with n rows, away from kinks and
    clipping. denominator(*inputs, **params), when given, returns what each sample adds to the
    mean's denominator (class weights of the targets, 0 for ignored ones); the default is 1.
    mean_divisor says how sample weights enter that denominator (reduction.MEAN_DIVISORS):
    "weights" (Σ w·d, the weighted mean), "count" (Σ d: weights scale the numerator only, as in
    Keras losses) or "nonzero_weights"; a framework convention may change it.
    accurate_range, where the loss has a limit, says in one line where float64 stops carrying
    its value or gradient to the last digit (tests/test_accuracy.py holds it to that elsewhere).
    irls: a loss of the residual ŷ - y alone with g(r)/r >= 0 non-increasing in |r|, the condition
    under which iteratively reweighted least squares minimises it (losscli.fit).
    root(*inputs, **params), for a loss whose per-sample values are squares, returns √ℓ_i
    (rmse: |ŷ - y|): sums of ℓ are then taken from the roots, exact where ℓ over- or underflows.
    multioutput (reduction.MULTIOUTPUTS): how a mean over several output columns is taken: one
    "pooled" mean, or "uniform_average", the mean of each column's (transformed) mean.
    whole_input: the per-sample values depend on every row at once (a framework that maps labels by
    the classes present): evaluated in one batch only.
    """

    name: str
    task: Task
    inputs: tuple[InputSpec, ...]
    params: tuple[ParamSpec, ...]
    forward: Callable[..., np.ndarray]
    gradient: Callable[..., Arrays]
    sample: Callable[[np.random.Generator, int, Mapping[str, Any]], Arrays]
    formula: str
    gradient_formula: str
    when_to_use: str
    output_activation: str
    aliases: tuple[str, ...] = ()
    notes: str = ""
    logits_alternative: str | None = None
    reductions: tuple[str, ...] = ("mean", "sum", "none")
    transform: Transform | None = None
    check: Callable[[Arrays, Mapping[str, Any]], None] | None = None
    denominator: Callable[..., np.ndarray] | None = None
    torch_equivalent: str | None = None
    mean_divisor: str = "weights"
    example_files: tuple[str, ...] = ()
    accurate_range: str = ""
    irls: bool = False
    root: Callable[..., np.ndarray] | None = None
    multioutput: str = "pooled"
    whole_input: bool = False

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    @property
    def differentiable_inputs(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs if spec.differentiable)

    def defaults(self) -> dict[str, float | int]:
        return {param.name: param.default for param in self.params}

    def resolve_params(self, overrides: Mapping[str, Any] | None = None) -> dict[str, float | int]:
        """Defaults updated with ``overrides``; unknown names and bad values raise ParameterError."""
        by_name = {param.name: param for param in self.params}
        resolved = self.defaults()
        for key, raw in (overrides or {}).items():
            if key not in by_name:
                valid = ", ".join(by_name) or "none"
                raise ParameterError(f"unknown parameter {key!r} for {self.name} (valid: {valid})")
            resolved[key] = by_name[key].parse(raw)
        return resolved


def _fmt(value: float) -> str:
    return f"{value:g}"
