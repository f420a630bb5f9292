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

from .engine import LossResult, compute, evaluate, gradient_factor, reduced_value
from .errors import LossCliError, ParameterError
from .groups import GroupValue, group_aggregates, group_values, merge_groups
from .influence import (
    DEFAULT_SHOWN_ROWS,
    DEFAULT_TOP,
    Influence,
    InfluencePartial,
    _contributions,
    _gradient_squares,
    influence,
    row_contributions,
    row_gradient_squares,
)
from .reduction import Aggregate
from .registry import get_loss
from .spec import LossSpec
from .stream import StreamResult
from .summary import GradientStats

# The seed's compare_mse_mae: three small errors and one gross outlier (row 3).
OUTLIER_EXAMPLE = {"pred": np.array([1.5, 2.5, 3.5, 4.0]), "target": np.array([1.0, 2.0, 3.0, 100.0])}


@dataclass(frozen=True)
class LossComparison:
    """One loss evaluated on the shared inputs: the engine's result plus summaries.

    result: a :class:`LossResult` (local), or the :class:`StreamResult` of shards merged by the
    Dask engine (no per-sample arrays then; value, params, aggregate and rows are common).
    """

    result: LossResult | StreamResult
    gradient: dict[str, GradientStats]
    influence: Influence

    @property
    def name(self) -> str:
        return self.result.spec.name

    @property
    def n(self) -> int:
        """Number of per-sample values reduced (elements for elementwise losses)."""
        return self.result.aggregate.count

    @property
    def rows(self) -> int:
        """Number of input rows."""
        result = self.result
        return result.rows if isinstance(result, StreamResult) else result.per_sample.shape[0]

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


@dataclass(frozen=True)
class ComparePartial:
    """One loss over consecutive rows, as partial aggregates that merge (shards on Dask workers):
    the aggregate, unscaled gradient statistics per differentiable input (w·dℓ/dx; the mean's
    factor is applied at the end), the influence, per-group aggregates, and the row count."""

    aggregate: Aggregate
    gradient: dict[str, GradientStats]
    influence: InfluencePartial
    total_loss: float
    rows: int
    groups: dict[str, Aggregate] | None = None

    @classmethod
    def of(cls, spec: LossSpec, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any], weights=None,
           labels=None, keep: tuple[int | None, int | None] = (None, None)) -> ComparePartial:
        """One batch of rows (params already resolved); ``keep`` from :func:`influence_keep`."""
        evaluation = evaluate(spec, dict(arrays), params, weights)
        per_sample, rows = evaluation.per_sample, evaluation.per_sample.shape[0]
        gradients = evaluation.batch_gradients(spec, "mean")
        spread = InfluencePartial.of(_contributions(per_sample, weights), _gradient_squares(gradients, rows), *keep)
        groups = None
        if labels is not None:
            groups = group_aggregates(per_sample, evaluation.sample_weights, evaluation.denominators, labels,
                                      spec.mean_divisor)
        return cls(evaluation.aggregate, {name: GradientStats.of(grad) for name, grad in gradients.items()}, spread,
                   float(np.sum(per_sample)), rows, groups)

    def merge(self, other: ComparePartial) -> ComparePartial:
        """These rows followed by other's."""
        from .stream import _shift_rows

        gradient = {name: stats.merge(_shift_rows(other.gradient[name], self.rows))
                    for name, stats in self.gradient.items()}
        groups = other.groups if self.groups is None else self.groups
        if self.groups is not None and other.groups is not None:
            groups = merge_groups(self.groups, other.groups)
        return ComparePartial(self.aggregate.merge(other.aggregate), gradient, self.influence.merge(other.influence),
                              self.total_loss + other.total_loss, self.rows + other.rows, groups)

    def finish(self, spec: LossSpec, params: Mapping[str, Any], top: float = DEFAULT_TOP,
               shown: int = DEFAULT_SHOWN_ROWS) -> tuple[LossComparison, list[GroupValue] | None]:
        """The comparison of the mean over every merged row, and its --group-by values (or None)."""
        value = reduced_value(spec, self.aggregate, "mean")
        factor = gradient_factor(spec, self.aggregate, "mean")
        gradient = {name: stats.scaled(factor) for name, stats in self.gradient.items()}
        groups = None if self.groups is None else group_values(spec, "mean", self.groups)
        first = spec.differentiable_inputs[0]
        result = StreamResult(spec, dict(params), "mean", value, self.aggregate, first, gradient[first], factor,
                              self.total_loss, self.rows, 0, groups)
        return LossComparison(result, gradient, self.influence.finish(top, shown)), groups


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
