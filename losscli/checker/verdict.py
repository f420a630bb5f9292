"""The verdict on one input: per-element tolerances, kinks, negligible elements, worst elements.

Per element (or direction), with u = rounding noise + truncation (drift/3) + atol, what the
numeric value can be off by at a smooth point:

* tolerance = rtol·max(|analytic|, |numeric|) + u: relative to the element's own scale, never
  to the largest gradient elsewhere (one outlier must not hide a wrong gradient next to it).
* not smooth when the slope jump or the drift exceeds the tolerance; a kink, left out, when the
  analytic value also lies between the one-sided slopes (as any subgradient does);
* negligible ("below noise") when both values are within u of 0: nothing to compare;
* failed when |analytic - numeric| > tolerance, when the signs differ and both exceed u, or when
  the analytic value is not finite.

A check that cannot be trusted raises :class:`GradcheckError` instead of passing: when no element
was compared, or when u exceeds rtol·scale on most compared elements (the step is too small for
the rounding or too large for the curvature). A decisive failure is reported all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .differences import Arrays, Differences, GradcheckError

WORST_SHOWN = 3


@dataclass(frozen=True)
class Element:
    """One checked element (index into the input) or direction (index = (direction number,)).

    inputs: every input's value at the element's row (full mode), for pointing at the branch.
    """

    index: tuple[int, ...]
    analytic: float
    numeric: float
    tolerance: float
    passed: bool
    inputs: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """analytic / numeric (1.01 for a gradient 1 % too large); None when numeric is 0."""
        return self.analytic / self.numeric if self.numeric else None


@dataclass(frozen=True)
class InputCheck:
    """The check of one differentiable input.

    method: "full", "full, per element" or "directional". checked: elements (or directions)
    compared; kinks and below_noise: those left out; failed: compared and outside the tolerance.
    worst: up to three compared entries with the largest error relative to their tolerance.
    max_rel_error: the largest |analytic - numeric| / max(|analytic|, |numeric|).
    """

    name: str
    method: str
    checked: int
    kinks: int
    below_noise: int
    failed: int
    max_abs_error: float
    max_rel_error: float
    worst: tuple[Element, ...]
    passed: bool

    @property
    def unit(self) -> str:
        return "directions" if self.method == "directional" else "elements"


def judge(name: str, method: str, analytic, diffs: Differences, rtol: float, atol: float, eps: float,
          arrays: Arrays | None = None) -> InputCheck:
    """Compare ``analytic`` with ``diffs.numeric`` entry by entry (same shape); see the module doc."""
    shape = diffs.numeric.shape
    a = np.broadcast_to(np.asarray(analytic, dtype=np.float64), shape).ravel()
    n, left, right = diffs.numeric.ravel(), diffs.left.ravel(), diffs.right.ravel()
    uncertainty = (diffs.noise + diffs.drift / 3).ravel() + atol
    scale = np.maximum(np.abs(a), np.abs(n))
    tolerance = rtol * scale + uncertainty
    error = np.abs(a - n)
    rough = np.maximum(diffs.kink_size, diffs.drift).ravel() > tolerance
    between = (a >= np.minimum(left, right) - tolerance) & (a <= np.maximum(left, right) + tolerance)
    at_kink = rough & between
    negligible = ~at_kink & (scale <= uncertainty)
    compared = ~at_kink & ~negligible
    sign_slip = (np.sign(a) != np.sign(n)) & (np.minimum(np.abs(a), np.abs(n)) > uncertainty)
    failing = compared & ((error > tolerance) | sign_slip | ~np.isfinite(a))
    counts = dict(checked=int(compared.sum()), kinks=int(at_kink.sum()), below_noise=int(negligible.sum()))
    if not failing.any():
        _refuse_untrustworthy(name, method, counts, compared, uncertainty, rtol * scale, diffs, eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        badness = np.where(sign_slip | ~np.isfinite(a), np.inf, np.where(error == 0, 0.0, error / tolerance))
        relative = np.nan_to_num(np.where(error == 0, 0.0, error / np.maximum(scale, uncertainty)), nan=np.inf)
    order = np.argsort(-np.where(compared, badness, -1.0), kind="stable")[:min(WORST_SHOWN, counts["checked"])]
    worst = tuple(_element(int(i), shape, a, n, tolerance, failing, name, arrays) for i in order)
    return InputCheck(name, method, **counts, failed=int(failing.sum()),
                      max_abs_error=float(error[compared].max()), max_rel_error=float(relative[compared].max()),
                      worst=worst, passed=not failing.any())


def _element(flat: int, shape, a, n, tolerance, failing, name, arrays) -> Element:
    index = tuple(int(i) for i in np.unravel_index(flat, shape))
    inputs = {} if arrays is None else inputs_at(arrays, name, index)
    return Element(index, float(a[flat]), float(n[flat]), float(tolerance[flat]), not bool(failing[flat]), inputs)


def inputs_at(arrays: Arrays, name: str, index: tuple[int, ...]) -> dict:
    """Every input's value at ``index`` of ``name``: the element itself, or the row it belongs to."""
    shape = arrays[name].shape
    found = {}
    for key, array in arrays.items():
        array = np.asarray(array)
        if array.shape == shape:
            found[key] = array[index].item()
        elif array.ndim and shape and array.shape[0] == shape[0]:
            found[key] = array[index[0]].tolist()
    return found


def _refuse_untrustworthy(name, method, counts, compared, uncertainty, allowed, diffs, eps) -> None:
    unit = "directions" if method == "directional" else "elements"
    checked = counts["checked"]
    if checked == 0:
        raise GradcheckError(f"0 {unit} of {name} checked: {counts['kinks']} at a kink (slopes differ within "
                             f"±2h), {counts['below_noise']} below rounding noise; nothing was compared")
    coarse = compared & (uncertainty > allowed)
    if 2 * int(coarse.sum()) > checked:
        noisy = float(diffs.noise.ravel()[coarse].sum()) >= float(diffs.drift.ravel()[coarse].sum()) / 3
        cause = ("rounding noise: --eps {eps:g} is too small" if noisy else
                 "truncation: --eps {eps:g} is too large for the curvature").format(eps=eps)
        raise GradcheckError(f"{name}: the finite differences cannot resolve rtol on {int(coarse.sum())} of "
                             f"{checked} {unit} ({cause}); the check would be meaningless")
