"""Finite differences with a step per element, and what limits their precision.

Facts taken from torch.autograd.gradcheck, jax check_grads and Numerical Recipes §5.7; code ours.

* Step: h_k = eps·max(|x_k|, s), s the mean |x| of the input (1 when it is all zero). A step
  relative to the element keeps x ± h distinct from x at any scale (an absolute 1e-6 vanishes
  below the spacing of floats near 1e10), and s keeps it from collapsing near x = 0.
* Realized steps: the moved input is rounded, so the divisor is the move that happened,
  (x + h) - x, not h.
* The function at x - 2h, x - h, x, x + h, x + 2h gives the central difference at h (numeric),
  the one-sided slopes (left, right), the slope jump 2(right_h - left_h) - (right_2h - left_2h)
  in which curvature cancels (kink evidence), the drift n_h - n_2h (three times the truncation
  error h²f'''/6 of n_h) and the rounding noise 2σ/2h of a difference of two values of f.
* σ, the rounding error of one value of f, is the larger of 8ε·Σ|ℓ_i| (the sum's own rounding)
  and the jitter the values show: |f(x-2h) - 4f(x-h) + 6f(x) - 4f(x+h) + f(x+2h)| / 2, where
  the polynomial part cancels to h⁴f'''' and rounding is left, taken as the largest over the
  row's elements (one-at-a-time and directional: over all) whose slopes do not change by more
  than 10 % within the stencil (those are kinks, not rounding). A loss computed through values
  much larger than itself (log(1 + tiny) in a log-softmax, say) resolves changes far coarser
  than ε·|f|: its tiny gradient elements then read as noise, not as failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import LossCliError

OFFSETS = (-2, -1, 1, 2)  # multiples of h around x; slot 2 of stacked values holds f(x)
SLOTS = (0, 1, 3, 4)
ROUNDING = 8 * np.finfo(np.float64).eps

Arrays = dict[str, np.ndarray]


class GradcheckError(LossCliError):
    """A gradient check that cannot be trusted either way (exit 2, never a pass)."""


@dataclass(frozen=True)
class Differences:
    """Central differences and what bounds their precision, one entry per element or direction."""

    numeric: np.ndarray
    left: np.ndarray
    right: np.ndarray
    kink_size: np.ndarray
    drift: np.ndarray
    noise: np.ndarray


def steps(point: np.ndarray, eps: float) -> np.ndarray:
    """h_k = eps·max(|x_k|, mean |x|) for every element of ``point``."""
    magnitude = np.abs(np.asarray(point, dtype=np.float64))
    finite = magnitude[np.isfinite(magnitude)]
    typical = float(finite.mean()) if finite.size else 0.0
    return eps * np.maximum(magnitude, typical if typical > 0 else 1.0)


def displaced(point: np.ndarray, step: np.ndarray, name: str, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The moved points x + o·h for o in OFFSETS, stacked, and the realized moves (x + o·h) - x."""
    moved = np.stack([point + offset * step for offset in OFFSETS])
    realized = moved - point
    if np.any(realized[1] == 0) or np.any(realized[2] == 0):
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax((realized[2] == 0) | (realized[1] == 0))),
                                                       point.shape))
        raise GradcheckError(f"--eps {eps:g} is too small for {name}: x + h rounds to x at {name}{list(index)} "
                             f"= {point[index]:g} (the step must move the input; try --eps 1e-6)")
    return moved, realized


def differences(values: np.ndarray, realized: np.ndarray, magnitude: np.ndarray, per_row: bool) -> Differences:
    """``values`` stacks f at x - 2h, x - h, x, x + h, x + 2h on axis 0 and ``realized`` the four
    moves; ``magnitude`` is Σ|ℓ_i| behind each value of f. ``per_row``: each row of the trailing
    shape has its own f (row-batched), else one f for all entries."""
    minus2, minus1, zero, plus1, plus2 = values
    move_m2, move_m1, move_p1, move_p2 = realized
    width = move_p1 - move_m1
    numeric = (plus1 - minus1) / width
    left, right = (zero - minus1) / -move_m1, (plus1 - zero) / move_p1
    jump = 2 * (right - left) - ((plus2 - zero) / move_p2 - (zero - minus2) / -move_m2)
    drift = numeric - (plus2 - minus2) / (move_p2 - move_m2)
    jitter = np.abs(minus2 - 4 * minus1 + 6 * zero - 4 * plus1 + plus2) / 2
    smooth = np.abs(right - left) <= 0.1 * np.maximum(np.abs(left), np.abs(right))
    jitter = np.where(smooth, np.nan_to_num(jitter), 0.0)
    if per_row and jitter.ndim > 1:
        largest = jitter.reshape(jitter.shape[0], -1).max(axis=1).reshape(-1, *([1] * (jitter.ndim - 1)))
    else:
        largest = jitter.max() if jitter.size else 0.0
    value_noise = np.maximum(ROUNDING * magnitude, largest)
    return Differences(numeric, left, right, np.abs(jump), np.abs(drift), 2 * value_noise / width)


def check_finite(values: np.ndarray, name: str, where: Callable[[int], str]) -> None:
    """A non-finite loss at a moved point: the step left the loss's domain (or the code broke)."""
    bad = ~np.isfinite(values)
    if bad.any():
        slot = int(np.argmax(bad.reshape(5, -1).any(axis=1)))
        position = int(np.argmax(bad[slot].ravel()))
        offset = ("x - 2h", "x - h", "x", "x + h", "x + 2h")[slot]
        raise GradcheckError(f"the loss is not finite at {where(position)} with {name} moved to {offset}: "
                             "the step leaves the loss's domain (try a smaller --eps)")
