"""--against LOSS: is the user's loss the loss they think it is? Forward values vs the registry's.

Compared on the check's inputs and on extreme variants of them: real-valued inputs scaled by
1e2 and 1e4 (large residuals, saturated logits: where naive formulas overflow or cancel) and
probabilities pushed within 1e-6 of 0 and 1. A scalar is matched with the reference's mean or
sum, whichever the check's inputs agree with; per-sample values are matched row by row. The
difference is relative, |yours - reference| / max(|yours|, |reference|) beyond float64 rounding
(see :func:`_relative`), worst over rows and cases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..checker.builtin import per_sample_losses
from ..checker.run import DEFAULT_VALUE_TOL
from ..errors import LossCliError
from ..registry import get_loss
from ..spec import Domain

Arrays = dict[str, np.ndarray]
SCALED = (1e2, 1e4)


@dataclass(frozen=True)
class CaseDifference:
    """The worst row of one case: relative difference, both values and the row (None for a scalar)."""

    case: str
    relative: float
    yours: float
    reference: float
    row: int | None


@dataclass(frozen=True)
class ValueComparison:
    reference: str
    matched_as: str  # "per sample", "mean" or "sum"
    cases: tuple[CaseDifference, ...]
    tolerance: float

    @property
    def worst(self) -> CaseDifference:
        return max(self.cases, key=lambda case: case.relative)

    @property
    def passed(self) -> bool:
        return self.worst.relative <= self.tolerance


def extreme_variants(like: str, arrays: Arrays) -> list[tuple[str, Arrays]]:
    """The check's inputs with real-valued inputs scaled, and probabilities pushed to 0 and 1."""
    spec = get_loss(like)
    domains = {item.name: item.domain for item in spec.inputs}
    scalable = [name for name in arrays if domains.get(name) in (Domain.REAL, Domain.POSITIVE, Domain.NONNEGATIVE)
                and np.issubdtype(arrays[name].dtype, np.floating)]
    variants = [(f"real inputs x{factor:g}", {**arrays, **{name: arrays[name] * factor for name in scalable}})
                for factor in SCALED if scalable]
    probabilities = [name for name in arrays if domains.get(name) is Domain.PROBABILITY]
    if probabilities:
        pushed = {name: np.where(arrays[name] < 0.5, arrays[name] * 1e-6, 1 - (1 - arrays[name]) * 1e-6)
                  for name in probabilities}
        variants.append(("probabilities within 1e-6 of 0 and 1", {**arrays, **pushed}))
    return variants


def _relative(yours: np.ndarray, reference: np.ndarray, scale: float = 0.0) -> np.ndarray:
    """|yours - reference| beyond the rounding any float64 formula carries, relative to the larger
    of the two. The rounding allowance is 8·ε times the largest magnitude in play: the values, or
    inputs of magnitude ``scale`` (a loss near 0 from logits of 300 carries 300·ε of rounding in
    any implementation that is not ours)."""
    allowance = 8 * np.finfo(np.float64).eps * max(float(np.max(np.abs(reference), initial=0.0)), scale)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        excess = np.maximum(np.abs(yours - reference) - allowance, 0.0)
        relative = excess / np.maximum(np.abs(yours), np.abs(reference))
    relative = np.where((yours == reference) | (excess == 0), 0.0, relative)
    return np.nan_to_num(relative, nan=np.inf)


def _difference(case: str, yours: np.ndarray, reference: np.ndarray, matched_as: str,
                scale: float = 0.0) -> CaseDifference:
    if matched_as != "per sample":
        total = float(reference.mean() if matched_as == "mean" else reference.sum())
        return CaseDifference(case, float(_relative(yours.reshape(()), np.asarray(total), scale)), float(yours),
                              total, None)
    relative = _relative(yours, reference, scale)
    row = int(np.argmax(relative))
    return CaseDifference(case, float(relative[row]), float(yours[row]), float(reference[row]), row)


def compare_values(user_losses: Callable[[Arrays], np.ndarray], for_user: Callable[[Arrays], Arrays], like: str,
                   arrays: Arrays, params: Mapping | None, tolerance: float = DEFAULT_VALUE_TOL) -> ValueComparison:
    """Compare ``user_losses(for_user(case))`` with ``like``'s per-sample losses on every case.

    ``arrays`` are shaped for the registered loss (class ids as it takes them); ``for_user``
    reshapes them as the user's code takes them (one-hot targets, say).
    """
    spec = get_loss(like)
    reference_losses = per_sample_losses(spec, spec.resolve_params(params))
    cases, matched_as = [], None
    for case, values in [("check inputs", arrays), *extreme_variants(like, arrays)]:
        reference = np.asarray(reference_losses(values), dtype=np.float64).reshape(-1)
        yours = np.asarray(user_losses(for_user(values)), dtype=np.float64)
        if matched_as is None:
            matched_as = _match(yours, reference, spec.name)
        scale = max((float(np.max(np.abs(array), initial=0.0)) for array in values.values()
                     if np.issubdtype(np.asarray(array).dtype, np.floating)), default=0.0)
        cases.append(_difference(case, yours.reshape(-1) if yours.ndim else yours, reference, matched_as, scale))
    return ValueComparison(spec.name, matched_as, tuple(cases), tolerance)


def _match(yours: np.ndarray, reference: np.ndarray, name: str) -> str:
    if yours.ndim == 0:
        mean, total = (float(_relative(yours, np.asarray(value))) for value in (reference.mean(), reference.sum()))
        return "mean" if mean <= total else "sum"
    if yours.size != reference.size:
        raise LossCliError(f"--against {name}: your code returns {yours.size} losses, {name} gives "
                           f"{reference.size} per-sample losses for the same inputs")
    return "per sample"
