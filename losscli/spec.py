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


@dataclass(frozen=True)
class ParamSpec:
    """A loss parameter: default, valid range (``None`` = unbounded) and one-line help."""

    name: str
    default: float
    help: str
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    integer: bool = False

    def range_text(self) -> str:
        if self.low is None and self.high is None:
            return "any real" if not self.integer else "any integer"
        parts = []
        if self.low is not None:
            parts.append(f"{'>=' if self.low_inclusive else '>'} {_fmt(self.low)}")
        if self.high is not None:
            parts.append(f"{'<=' if self.high_inclusive else '<'} {_fmt(self.high)}")
        return " and ".join(parts)

    def parse(self, raw: Any) -> float | int:
        """Convert ``raw`` (a number or a command-line string) and check it is in range."""
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {self.name} expects a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise ParameterError(f"parameter {self.name} must be finite, got {raw!r}")
        if self.integer:
            if value != int(value):
                raise ParameterError(f"parameter {self.name} expects an integer, got {raw!r}")
            value = int(value)
        too_low = self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive))
        too_high = self.high is not None and (value > self.high or (value == self.high and not self.high_inclusive))
        if too_low or too_high:
            raise ParameterError(f"parameter {self.name} must be {self.range_text()}, got {_fmt(value)}")
        return value


@dataclass(frozen=True)
class Transform:
    """A smooth function applied after reduction (perplexity = exp of the mean NLL)."""

    name: str
    function: Callable[[Any], Any]
    derivative: Callable[[Any], Any]


@dataclass(frozen=True)
class LossSpec:
    """Everything losscli knows about one loss.

    forward(*inputs, **params) returns per-sample losses: one value per element for
    elementwise losses (pred [N] or [N, D]), one per row for row-wise ones (shape = the leading
    batch dims). gradient(*inputs, **params) returns, for every differentiable input, the
    gradient of each sample's own loss with respect to that sample's slice (same shape as the
    input). sample(rng, n, params) returns valid random inputs with n rows, away from kinks and
    clipping.
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
    torch_equivalent: str | None = None
    example_files: tuple[str, ...] = ()

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
