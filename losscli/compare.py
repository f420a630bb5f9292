"""Several losses on the same inputs, side by side: value, gradient size and influence.

Influence asks "how much of the loss, and of the training signal, comes from a few samples?".
For a loss with per-row contributions c_i (the row's per-sample losses, summed over its
elements and weighted) and per-row squared gradient norms s_i = Σ_inputs ||∂L/∂x_i||², the top
k rows by c hold ``loss_share`` = Σ_top c_i / Σ c_i and the top k rows by s hold
``grad_share`` = Σ_top s_i / Σ s_i, with k = max(1, floor(top·N)). Contributions are per-sample
losses before any transform (for perplexity, the token NLLs); gradients are those of the reduced
value. MSE on the seed's outlier example gives almost all of both to the outlier; MAE gives it
almost all of the loss but only a quarter of the gradient: every sample pulls with the same force.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import LossResult, compute
from .errors import LossCliError, ParameterError
from .registry import get_loss
from .spec import LossSpec
from .summary import GradientStats

DEFAULT_TOP = 0.01
DEFAULT_SHOWN_ROWS = 5
# The seed's compare_mse_mae: three small errors and one gross outlier (row 3).
OUTLIER_EXAMPLE = {"pred": np.array([1.5, 2.5, 3.5, 4.0]), "target": np.array([1.0, 2.0, 3.0, 100.0])}


@dataclass(frozen=True)
class RowInfluence:
    """One row's contribution c_i, its share of Σc, and its share of the squared gradient norm."""

    row: int
    loss: float
    loss_share: float
    grad_share: float


@dataclass(frozen=True)
class Influence:
    """How concentrated the loss and the gradient are: the top ``k`` rows' shares.

    rows: the rows of largest contribution c_i (at most ``shown``), largest first.
    """

    top: float
    k: int
    loss_share: float
    grad_share: float
    rows: tuple[RowInfluence, ...]


@dataclass(frozen=True)
class LossComparison:
    """One loss evaluated on the shared inputs: the engine's result plus summaries."""

    result: LossResult
    gradient: dict[str, GradientStats]
    influence: Influence

    @property
    def name(self) -> str:
        return self.result.spec.name

    @property
    def gradient_l2(self) -> float:
        """sqrt(Σ over differentiable inputs of ||∂L/∂x||²)."""
        return math.sqrt(sum(stats.sum_squares for stats in self.gradient.values()))

    def max_gradient(self) -> tuple[str, GradientStats]:
        """The input holding the largest |∂L/∂x|, and its statistics."""
        return max(self.gradient.items(), key=lambda item: item[1].max_abs)


def input_kind(spec: LossSpec) -> tuple:
    """What a loss takes: (name, domain, shape patterns) per input; equal kinds share inputs."""
    return tuple((item.name, item.domain, item.shapes) for item in spec.inputs)


def check_same_kind(specs: Sequence[LossSpec]) -> None:
    """Raise LossCliError naming the first loss whose inputs differ from the first loss's, and how."""
    first = specs[0]
    for spec in specs[1:]:
        if input_kind(spec) != input_kind(first):
            raise LossCliError(f"cannot compare {first.name} and {spec.name} on the same inputs: "
                               f"{_difference(first, spec)}")


def _difference(first: LossSpec, other: LossSpec) -> str:
    """The first way two losses' inputs differ: names, then per input its domain or shapes."""
    if first.input_names != other.input_names:
        return (f"{first.name} takes ({', '.join(first.input_names)}), "
                f"{other.name} takes ({', '.join(other.input_names)})")
    for mine, theirs in zip(first.inputs, other.inputs, strict=True):
        if mine.domain != theirs.domain:
            return (f"input {mine.name} is {mine.domain.value} for {first.name} "
                    f"but {theirs.domain.value} for {other.name}")
        if mine.shapes != theirs.shapes:
            return (f"input {mine.name} has shape {mine.shape_text()} for {first.name} "
                    f"but {theirs.shape_text()} for {other.name}")
    return "their inputs differ"


def route_params(specs: Sequence[LossSpec], params: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Send each "-p" parameter to its loss: ``huber.delta`` or a plain ``delta``.

    A plain name goes to the one listed loss that has such a parameter; none or several is a
    ParameterError. Returns {loss name: {param: raw value}} for every listed loss.
    """
    routed: dict[str, dict[str, Any]] = {spec.name: {} for spec in specs}
    for key, value in (params or {}).items():
        loss_name, dot, param = key.rpartition(".")
        target = _owner_by_prefix(specs, loss_name, key) if dot else _owner_by_param(specs, param)
        if dot and param not in {item.name for item in target.params}:
            valid = ", ".join(item.name for item in target.params) or "none"
            raise ParameterError(f"unknown parameter {param!r} for {target.name} (valid: {valid})")
        routed[target.name][param] = value
    return routed


def _owner_by_prefix(specs, loss_name, key) -> LossSpec:
    wanted = get_loss(loss_name)
    if wanted not in specs:
        listed = ", ".join(spec.name for spec in specs)
        raise ParameterError(f"parameter {key!r} names {wanted.name}, which is not among the losses ({listed})")
    return wanted


def _owner_by_param(specs, param) -> LossSpec:
    owners = [spec for spec in specs if param in {item.name for item in spec.params}]
    if len(owners) == 1:
        return owners[0]
    listed = ", ".join(spec.name for spec in specs)
    if not owners:
        raise ParameterError(f"unknown parameter {param!r}: none of {listed} takes it")
    names = ", ".join(spec.name for spec in owners)
    raise ParameterError(f"parameter {param!r} is ambiguous: {names} all take it; "
                         f"write e.g. {owners[0].name}.{param}=VALUE")


def resolve_losses(losses: Sequence[str | LossSpec]) -> list[LossSpec]:
    """Specs for the names, with duplicates and mixed input kinds rejected."""
    specs = [get_loss(loss) for loss in losses]
    if not specs:
        raise LossCliError("expected at least one loss to compare")
    seen = set()
    for spec in specs:
        if spec.name in seen:
            raise LossCliError(f"loss {spec.name} is listed twice")
        seen.add(spec.name)
    check_same_kind(specs)
    return specs


def top_count(top: float, rows: int) -> int:
    """k = max(1, floor(top·rows)), at most ``rows``; ``top`` is a fraction in (0, 1]."""
    if not 0.0 < top <= 1.0:
        raise ParameterError(f"--top must be a fraction in (0, 1], got {top:g}")
    return min(rows, max(1, math.floor(top * rows + 1e-9)))


def row_contributions(result: LossResult, weights=None) -> np.ndarray:
    """c_i: each row's (weighted) per-sample losses summed over its elements -> [N]."""
    per_sample = result.per_sample
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        per_sample = per_sample * weights.reshape(weights.shape + (1,) * (per_sample.ndim - weights.ndim))
    return per_sample.reshape(per_sample.shape[0], -1).sum(axis=1)


def row_gradient_squares(result: LossResult) -> np.ndarray:
    """s_i = Σ over differentiable inputs of the squared norm of row i's gradient -> [N]."""
    rows = result.per_sample.shape[0]
    total = np.zeros(rows)
    for gradient in result.gradients.values():
        flat = gradient.reshape(rows, -1)
        total += np.einsum("ij,ij->i", flat, flat)
    return total


def influence(contributions: np.ndarray, grad_squares: np.ndarray, top: float = DEFAULT_TOP,
              shown: int = DEFAULT_SHOWN_ROWS) -> Influence:
    """Shares of Σc and Σs held by the top k rows (k from :func:`top_count`); 0 when a total is 0."""
    k = top_count(top, contributions.shape[0])
    loss_total, grad_total = float(np.sum(contributions)), float(np.sum(grad_squares))
    by_loss = np.argsort(-contributions, kind="stable")
    by_grad = np.argsort(-grad_squares, kind="stable")
    rows = tuple(RowInfluence(int(i), float(contributions[i]), _share(contributions[i], loss_total),
                              _share(grad_squares[i], grad_total)) for i in by_loss[:shown])
    return Influence(top, k, _share(np.sum(contributions[by_loss[:k]]), loss_total),
                     _share(np.sum(grad_squares[by_grad[:k]]), grad_total), rows)


def _share(part: float, total: float) -> float:
    return float(part) / total if total else 0.0


def compare_one(spec: LossSpec, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any] | None = None,
                top: float = DEFAULT_TOP, weights=None, shown: int = DEFAULT_SHOWN_ROWS) -> LossComparison:
    """Evaluate one loss (mean reduction) and summarise its gradient and influence."""
    result = compute(spec, dict(arrays), params=params, weights=weights)
    stats = {name: GradientStats.of(gradient) for name, gradient in result.gradients.items()}
    spread = influence(row_contributions(result, weights), row_gradient_squares(result), top, shown)
    return LossComparison(result, stats, spread)


def compare(losses: Sequence[str | LossSpec], inputs: Mapping[str, Any] | None = None, *,
            params: Mapping[str, Any] | None = None, top: float = DEFAULT_TOP, weights=None,
            shown: int = DEFAULT_SHOWN_ROWS) -> list[LossComparison]:
    """Evaluate every loss on the same ``inputs`` ({input name: array}).

    ``params`` maps "loss.param" or an unambiguous plain "param" to a value. Without inputs the
    seed's outlier example is used (regression losses only).

    >>> [round(item.result.value, 5) for item in compare(["mse", "mae", "huber"])]
    [2304.1875, 24.375, 23.96875]
    """
    specs = resolve_losses(losses)
    routed = route_params(specs, params)
    if inputs is None:
        inputs = _default_inputs(specs[0])
    return [compare_one(spec, inputs, routed[spec.name], top, weights, shown) for spec in specs]


def _default_inputs(spec: LossSpec) -> dict[str, np.ndarray]:
    if set(spec.input_names) != set(OUTLIER_EXAMPLE) or spec.task.value != "regression":
        raise LossCliError(f"no inputs given: the built-in outlier example (pred, target) suits regression "
                           f"losses, not {spec.name}; give input files")
    return {name: array.copy() for name, array in OUTLIER_EXAMPLE.items()}
