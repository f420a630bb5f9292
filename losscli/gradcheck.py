"""Gradient checks: analytic gradients against central finite differences. Pure; never prints.

Facts taken from torch.autograd.gradcheck, jax check_grads and scipy.optimize.check_grad; code ours.

* Numeric derivative: central difference (f(x + h) - f(x - h)) / 2h with h = ``eps`` (torch:
  1e-6; jax: 1e-4; scipy: one-sided, h = 1.5e-8, returning only the norm of the difference).
  Pass rule per element, torch's allclose and defaults: |analytic - numeric| <= atol +
  rtol·|numeric| (atol 1e-5, rtol 1e-3), plus the difference's own rounding, 8·ε·|f(x)|/h.
* The 1/N blind spot: a mean's gradient shrinks as 1/N, so a fixed atol passes any relative
  error at large N (torch's slow mode has it). Registered losses are checked on the SUM of their
  per-sample losses: each element's gradient is its own sample's, O(1) at any N, so a gradient
  1 % off fails at every size. (``losscli.usercode`` scales atol to the gradient instead.)
* ``full``: every element in O(columns) evaluations. With independent rows one evaluation moves
  the same column of every row and reads each row's own loss difference; independence is first
  verified on three rows (moving one row leaves every other row's losses bit-for-bit equal),
  else one element at a time. ``directional`` (jax check_grads, torch fast_mode): along k
  random ±1 directions v, d/dt of the summed loss vs analytic·v, with atol·||v||₂ =
  atol·sqrt(elements) — per-element atols adding in quadrature, as random signs do (torch
  scales by sum(u)·sum(v), which at large sizes lets a 1 % error through). ±1 entries keep the
  derivative growing with the size, above the loss's rounding (unit-norm ones would sink into
  it). ``auto``: full up to FULL_MODE_LIMIT elements (ELEMENTWISE_LIMIT one at a time), else
  directional; each input's ``method`` says which ran.
* Kinks: f at x, x ± h and x ± 2h. At a smooth point 2(right_h - left_h) - (right_2h - left_2h)
  cancels the curvature and the central differences at h and 2h agree to O(h²); a jump in slope
  within 2h breaks one of them. Such an element is counted and left out of the verdict if the
  analytic value lies between the one-sided slopes (as any subgradient does). A wrong gradient
  at a smooth point, or outside that range, still fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .engine import compute, prepare, validate
from .errors import LossCliError, ParameterError
from .registry import LOSSES, get_loss
from .spec import LossSpec

MODES = ("auto", "full", "directional")
DEFAULT_EPS, DEFAULT_ATOL, DEFAULT_RTOL = 1e-6, 1e-5, 1e-3
DEFAULT_SIZE, DEFAULT_DIRECTIONS = 100, 5
FULL_MODE_LIMIT = 1_000_000  # auto: row-batched full mode up to this many elements of one input
ELEMENTWISE_LIMIT = 2_000  # auto: one-element-at-a-time full mode up to this many elements
OFFSETS = (-2, -1, 1, 2)  # steps of h around x; slot 2 of the stacked values holds f(x)
SLOTS = (0, 1, 3, 4)
# A central difference of float64 values carries rounding of a few ε·|f| / h.
ROUNDING_FACTOR = 8 * np.finfo(np.float64).eps

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Settings:
    """Step, tolerances, mode and the random draw of a check."""

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
        for name, low in (("eps", 0.0), ("atol", 0.0), ("rtol", 0.0), ("directions", 1), ("size", 1)):
            value = getattr(self, name)
            if not (math.isfinite(value) and (value > low if name == "eps" else value >= low)):
                raise ParameterError(f"--{name} must be {'>' if name == 'eps' else '>='} {low:g}, got {value:g}")


@dataclass(frozen=True)
class InputCheck:
    """The check of one differentiable input.

    method: "full", "full, per element" or "directional". checked: elements (full) or
    directions (directional) in the verdict; kinks: those left out as kinks. The worst entry is
    the one with the largest error relative to its tolerance: index into the input (full) or
    the direction number (directional), with its analytic and numeric values. max_rel_error
    divides by max(|numeric|, atol) so a zero gradient does not read as an infinite error.
    """

    name: str
    method: str
    checked: int
    kinks: int
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...] | None
    analytic: float | None
    numeric: float | None
    tolerance: float | None
    passed: bool

    @property
    def unit(self) -> str:
        return "directions" if self.method == "directional" else "elements"


@dataclass(frozen=True)
class GradcheckResult:
    """All input checks of one loss. ``differentiated`` says which scalar was checked."""

    loss: str
    differentiated: str
    settings: Settings
    inputs: tuple[InputCheck, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.inputs)

    @property
    def method(self) -> str:
        return ", ".join(dict.fromkeys(check.method for check in self.inputs))


@dataclass(frozen=True)
class Differences:
    """Central differences and kink evidence, from f at x - 2h, x - h, x, x + h, x + 2h."""

    numeric: np.ndarray
    left: np.ndarray
    right: np.ndarray
    kink_size: np.ndarray
    rounding: np.ndarray


def differences(values: np.ndarray, eps: float) -> Differences:
    """``values`` stacks f at offsets -2h, -h, 0, h, 2h along axis 0 (any trailing shape)."""
    minus2, minus1, zero, plus1, plus2 = values
    numeric = (plus1 - minus1) / (2 * eps)
    right, left = (plus1 - zero) / eps, (zero - minus1) / eps
    # 2·(right_h - left_h) - (right_2h - left_2h): curvature cancels, a jump in slope stays.
    jump = 2 * (right - left) - (plus2 - 2 * zero + minus2) / (2 * eps)
    drift = numeric - (plus2 - minus2) / (4 * eps)
    return Differences(numeric, left, right, np.maximum(np.abs(jump), np.abs(drift)),
                       ROUNDING_FACTOR * np.abs(zero) / eps)


def judge(name: str, method: str, analytic, diffs: Differences, atol, rtol: float, shape) -> InputCheck:
    """Apply |analytic - numeric| <= atol + rounding + rtol·|numeric|, leaving kinks out."""
    analytic = np.broadcast_to(np.asarray(analytic, dtype=np.float64), diffs.numeric.shape).ravel()
    numeric, left, right = (np.broadcast_to(a, diffs.numeric.shape).ravel()
                            for a in (diffs.numeric, diffs.left, diffs.right))
    absolute = np.broadcast_to(atol + diffs.rounding, diffs.numeric.shape).ravel()
    tolerance = absolute + rtol * np.abs(numeric)
    error = np.abs(analytic - numeric)
    between = (analytic >= np.minimum(left, right) - tolerance) & (analytic <= np.maximum(left, right) + tolerance)
    at_kink = (np.broadcast_to(diffs.kink_size, diffs.numeric.shape).ravel() > tolerance) & between
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(error == 0, 0.0, error / tolerance)
        relative = np.where(error == 0, 0.0, error / np.maximum(np.abs(numeric), absolute))
    ratio = np.where(at_kink, -np.inf, np.nan_to_num(ratio, nan=np.inf, posinf=np.inf))
    checked, kinks = ~at_kink, int(at_kink.sum())
    if not checked.any():
        return InputCheck(name, method, 0, kinks, 0.0, 0.0, None, None, None, None, True)
    worst = int(np.argmax(ratio))
    return InputCheck(name, method, int(checked.sum()), kinks, float(np.max(error[checked])),
                      float(np.max(relative[checked])), tuple(int(i) for i in np.unravel_index(worst, shape)),
                      float(analytic[worst]), float(numeric[worst]), float(tolerance[worst]),
                      passed=bool(np.all(error[checked] <= tolerance[checked])))


def row_batched(per_sample: Callable[[Arrays], np.ndarray], arrays: Arrays, name: str, eps: float) -> Differences:
    """Differences for every element of ``name`` in 4 evaluations per column (rows independent)."""
    work = arrays[name].copy()
    rows = work.shape[0]
    columns = work.reshape(rows, -1)  # a view: writing a column moves that column of every row

    def row_totals():
        return per_sample({**arrays, name: work}).reshape(rows, -1).sum(axis=1)

    values = np.empty((5, rows, columns.shape[1]))
    values[2] = row_totals()[:, None]
    for column in range(columns.shape[1]):
        original = columns[:, column].copy()
        for slot, offset in zip(SLOTS, OFFSETS, strict=True):
            columns[:, column] = original + offset * eps
            values[slot, :, column] = row_totals()
        columns[:, column] = original
    return differences(values.reshape(5, *work.shape), eps)


def one_at_a_time(total: Callable[[Arrays], float], arrays: Arrays, name: str, eps: float) -> Differences:
    """Differences for every element of ``name``, moving one element per evaluation."""
    work = arrays[name].copy()
    flat = work.reshape(-1)
    values = np.empty((5, flat.size))
    values[2] = total({**arrays, name: work})
    for index in range(flat.size):
        original = flat[index]
        for slot, offset in zip(SLOTS, OFFSETS, strict=True):
            flat[index] = original + offset * eps
            values[slot, index] = total({**arrays, name: work})
        flat[index] = original
    return differences(values.reshape(5, *work.shape), eps)


def directional(total, arrays: Arrays, name: str, gradient: np.ndarray, settings: Settings,
                rng: np.random.Generator, atol: float) -> InputCheck:
    """Compare d/dt total(x + t·v) with Σ gradient·v along random ±1 directions v."""
    point = arrays[name]
    values = np.empty((5, settings.directions))
    analytic = np.empty(settings.directions)
    values[2] = total(arrays)
    for index in range(settings.directions):
        direction = rng.integers(0, 2, point.shape).astype(np.float64) * 2.0 - 1.0  # Rademacher ±1
        analytic[index] = float(np.dot(gradient.ravel(), direction.ravel()))
        for slot, offset in zip(SLOTS, OFFSETS, strict=True):
            values[slot, index] = total({**arrays, name: point + (offset * settings.eps) * direction})
    # ||v||₂ = sqrt(elements): the per-element atol added in quadrature along the direction.
    return judge(name, "directional", analytic, differences(values, settings.eps),
                 atol * math.sqrt(point.size), settings.rtol, analytic.shape)


def rows_independent(per_sample: Callable[[Arrays], np.ndarray], arrays: Arrays, name: str, eps: float) -> bool:
    """True when moving one row of ``name`` leaves every other row's per-sample losses unchanged.

    Tried on the first, middle and last rows, each moved by h in every column.
    """
    point = arrays[name]
    rows = point.shape[0]
    base = per_sample(arrays)
    if base.ndim == 0 or base.shape[0] != rows:
        return False
    for row in sorted({0, rows // 2, rows - 1}):
        moved = point.copy()
        moved[row] += eps
        changed = per_sample({**arrays, name: moved}) != base
        changed[row] = False
        if changed.any():
            return False
    return True


def check_input(per_sample: Callable[[Arrays], np.ndarray], arrays: Arrays, name: str, gradient: np.ndarray,
                settings: Settings, rng: np.random.Generator) -> InputCheck:
    """Check the gradient of Σ per_sample(arrays) with respect to arrays[name]."""
    size = arrays[name].size

    def total(values):
        return float(np.sum(per_sample(values)))

    if settings.mode == "directional" or (settings.mode == "auto" and size > FULL_MODE_LIMIT):
        return directional(total, arrays, name, gradient, settings, rng, settings.atol)
    if rows_independent(per_sample, arrays, name, settings.eps):
        diffs = row_batched(per_sample, arrays, name, settings.eps)
        return judge(name, "full", gradient, diffs, settings.atol, settings.rtol, gradient.shape)
    if settings.mode == "auto" and size > ELEMENTWISE_LIMIT:
        return directional(total, arrays, name, gradient, settings, rng, settings.atol)
    diffs = one_at_a_time(total, arrays, name, settings.eps)
    return judge(name, "full, per element", gradient, diffs, settings.atol, settings.rtol, gradient.shape)


def gradcheck(loss: str | LossSpec, inputs=None, *, params: Mapping | None = None, eps: float = DEFAULT_EPS,
              atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL, mode: str = "auto",
              directions: int = DEFAULT_DIRECTIONS, seed: int = 0, size: int = DEFAULT_SIZE) -> GradcheckResult:
    """Check every differentiable input of ``loss`` on the sum of its per-sample losses.

    ``inputs`` (positional in the loss's input order, or a mapping by name) default to ``size``
    rows drawn from the loss's own generator with ``seed``. The analytic gradient is the one
    ``losscli.compute(..., reduction="none")`` returns.

    >>> gradcheck("mse").passed
    True
    """
    settings = Settings(eps, atol, rtol, mode, directions, seed, size)
    spec = get_loss(loss)
    rng = np.random.default_rng(seed)
    resolved = spec.resolve_params(params)
    if inputs is None:
        inputs = spec.sample(rng, size, resolved)
    _, arrays, resolved = prepare(spec, inputs, params, "none")
    arrays, _, _ = validate(spec, arrays, resolved)
    gradients = compute(spec, arrays, params=resolved, reduction="none").gradients

    def per_sample(values: Arrays) -> np.ndarray:  # as compute(..., reduction="none") returns them
        losses = spec.forward(*(values[name] for name in spec.input_names), **resolved)
        return spec.transform.function(losses) if spec.transform is not None else losses

    checks = []
    for name in spec.differentiable_inputs:
        gradient = gradients.get(name)
        if gradient is None or gradient.shape != arrays[name].shape:
            got = "nothing" if gradient is None else f"shape {gradient.shape}"
            raise LossCliError(f"{spec.name}: expected a gradient of shape {arrays[name].shape} for {name}, got {got}")
        checks.append(check_input(per_sample, arrays, name, gradient, settings, rng))
    return GradcheckResult(spec.name, "sum of per-sample losses", settings, tuple(checks))


def check_all(losses=LOSSES, **options) -> tuple[GradcheckResult, ...]:
    """:func:`gradcheck` of every registered loss with its default parameters and random inputs.

    ``options`` are gradcheck's keywords (eps, atol, rtol, mode, directions, seed, size).
    """
    return tuple(gradcheck(spec, **options) for spec in losses)
