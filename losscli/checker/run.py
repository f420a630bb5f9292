"""Gradient checks: analytic gradients against central finite differences. Pure; never prints.

The checked scalar is the SUM of the per-sample losses: each element's gradient is its own
sample's, the same at any N, so a gradient 1 % off fails at every size (a mean's gradient shrinks
as 1/N and hides under any fixed atol — torch's default mode has that blind spot). A function
that returns only a scalar is checked on that scalar; tolerances are per element either way
(:mod:`.verdict`), so the 1/N scale needs no special case.

Modes: ``full`` checks every element, row-batched in O(columns) evaluations when the losses
are per-sample and moving one row leaves the other rows' losses unchanged, else one element at a
time; ``directional`` checks k random ±1 directions; ``auto`` picks full up to FULL_MODE_LIMIT
elements (ELEMENTWISE_LIMIT one at a time), directional above. Each input's ``method`` says
which ran.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import LossCliError, ParameterError
from .differences import Arrays, GradcheckError
from .methods import Losses, directional, one_at_a_time, row_batched, rows_independent
from .verdict import InputCheck, judge

MODES = ("auto", "full", "directional")
DEFAULT_EPS, DEFAULT_ATOL, DEFAULT_RTOL = 1e-6, 0.0, 1e-3
DEFAULT_SIZE, DEFAULT_DIRECTIONS = 100, 5
DEFAULT_VALUE_TOL = 1e-6  # --against: the largest relative difference of forward values that passes
FULL_MODE_LIMIT = 1_000_000  # auto: row-batched full mode up to this many elements of one input
ELEMENTWISE_LIMIT = 2_000  # auto: one-element-at-a-time full mode up to this many elements


@dataclass(frozen=True)
class Settings:
    """Relative step, tolerances, mode and the random draw of a check."""

    eps: float = DEFAULT_EPS
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    mode: str = "auto"
    directions: int = DEFAULT_DIRECTIONS
    seed: int = 0
    size: int = DEFAULT_SIZE

    def __post_init__(self):
        if self.mode not in MODES:
            raise ParameterError(f"unknown mode {self.mode!r} (valid: {', '.join(MODES)})")
        for name, low in (("eps", 0.0), ("atol", 0.0), ("rtol", 0.0), ("directions", 1), ("seed", 0), ("size", 1)):
            value = getattr(self, name)
            if not (math.isfinite(value) and (value > low if name == "eps" else value >= low)):
                raise ParameterError(f"--{name} must be {'>' if name == 'eps' else '>='} {low:g}, got {value:g}")


@dataclass(frozen=True)
class GradcheckResult:
    """All input checks of one loss. ``differentiated`` says which scalar was checked. ``passed``
    needs every input's check and, when given, the value comparison to pass."""

    loss: str
    differentiated: str
    settings: Settings
    inputs: tuple[InputCheck, ...]
    framework: str | None = None  # user code: "torch", "jax" or "numpy"
    against: object | None = None  # user code with --against: a ValueComparison

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.inputs) and (self.against is None or self.against.passed)

    @property
    def method(self) -> str:
        return ", ".join(dict.fromkeys(check.method for check in self.inputs))


def check_input(losses: Losses, arrays: Arrays, name: str, gradient: np.ndarray, settings: Settings,
                rng: np.random.Generator) -> InputCheck:
    """Check ``gradient`` as d(Σ losses(arrays))/d arrays[name]."""
    size = arrays[name].size
    options = (settings.rtol, settings.atol, settings.eps)
    if settings.mode == "directional" or (settings.mode == "auto" and size > FULL_MODE_LIMIT):
        return _directional(losses, arrays, name, gradient, settings, rng)
    if rows_independent(losses, arrays, name, settings.eps):
        diffs = row_batched(losses, arrays, name, settings.eps)
        return judge(name, "full", gradient, diffs, *options, arrays)
    if settings.mode == "auto" and size > ELEMENTWISE_LIMIT:
        return _directional(losses, arrays, name, gradient, settings, rng)
    diffs = one_at_a_time(losses, arrays, name, settings.eps)
    return judge(name, "full, per element", gradient, diffs, *options, arrays)


def _directional(losses, arrays, name, gradient, settings, rng) -> InputCheck:
    analytic, diffs = directional(losses, arrays, name, gradient, settings.eps, settings.directions, rng)
    return judge(name, "directional", analytic, diffs, settings.rtol, settings.atol, settings.eps)


def check_gradients(label: str, differentiated: str, losses: Losses, arrays: Arrays,
                    gradients: Mapping[str, np.ndarray], settings: Settings) -> GradcheckResult:
    """Check each ``gradients[name]`` against finite differences of Σ losses(arrays).

    ``losses`` maps named float64 arrays to per-sample losses or a scalar; ``gradients`` gives,
    for each input to check, d(Σ losses)/d(input) at ``arrays``. A check that cannot be trusted
    raises GradcheckError naming ``label``.
    """
    rng = np.random.default_rng(settings.seed)
    checks = []
    for name, gradient in gradients.items():
        gradient = np.asarray(gradient, dtype=np.float64)
        if gradient.shape != np.shape(arrays[name]):
            raise LossCliError(f"{label}: expected a gradient of shape {np.shape(arrays[name])} for {name}, "
                               f"got {gradient.shape}")
        try:
            checks.append(check_input(losses, arrays, name, gradient, settings, rng))
        except GradcheckError as error:
            raise GradcheckError(f"{label}: {error}") from None
    return GradcheckResult(label, differentiated, settings, tuple(checks))
