"""A loss over many batches: evaluate each, merge the partial aggregates, finish once.

The value, the gradient summary, the per-group values and the influence of a file processed
batch by batch equal those of the whole array: every piece is a partial aggregate that merges
(Σ w·ℓ, Σ w·d, count; gradient statistics with row numbers; per-group aggregates; the rows of
largest contribution). Only the gradient of a mean needs the final Σw, so batch gradients are
w_i·dl_i/dx and :attr:`StreamResult.gradient_factor` turns them into the gradient of the
reduced loss at the end. They are kept in units of 2^-U, U = E - L: weights·2^-E (extreme
weights, :func:`~losscli.reduction.weight_exponent`) times dl_i/dx·2^L (gradients lifted out of
the subnormals, :func:`~losscli.engine.lift_for`); a partial has one U, the largest its
batches needed, so no lifted value overflows.

What a reducer has seen is a :class:`~losscli.partial.StreamPartial`: small, picklable, and mergeable with the
partial of the rows that follow, so shards reduced apart (on Dask workers) and merged give the
partial of the whole, and :meth:`StreamReducer.result` finishes either the same way. `compute`
and `compare`, local or on Dask, all run this one reducer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .engine import evaluate, gradient_factor, lift_for, reduced_value
from .errors import InputError
from .groups import GroupValue, group_aggregates, group_values
from .inputs import Batch, InputPlan
from .partial import HeldGradients, StreamPartial
from .reduction import Aggregate, weight_exponent
from .scaled import Factor
from .spec import LossSpec
from .summary import DEFAULT_TOP_ROWS, GradientStats

if TYPE_CHECKING:
    from .influence import Influence, InfluenceRequest


@dataclass(frozen=True)
class BatchOutput:
    """What a batch adds to per-row outputs, aligned with its input rows (NaN where a row was
    omitted): per-sample values (transformed for "none"), and the gradient of the first
    differentiable input (times :meth:`StreamResult.factor_for` its gradient_exponent at the
    end for mean and sum)."""

    per_sample: np.ndarray
    gradient: np.ndarray
    gradient_exponent: int = 0


@dataclass(frozen=True)
class StreamResult:
    """The finished reduction. value is None for reduction "none".

    gradients: the statistics of every tracked differentiable input's gradient (of the reduced
    value); ``gradient`` is the first one's. influence: with an influence request, else None.
    """

    spec: LossSpec
    params: dict[str, Any]
    reduction: str
    value: float | None
    aggregate: Aggregate
    gradient_input: str
    gradients: dict[str, GradientStats]
    gradient_factor: float | np.ndarray  # one per output column for multioutput "uniform_average"
    total_loss: float
    rows: int
    rows_omitted: int
    groups: list[GroupValue] | None
    influence: Influence | None = None
    gradient_exponent: int = 0  # the units (2^-U) gradient_factor takes gradients from

    @property
    def gradient(self) -> GradientStats:
        return self.gradients[self.gradient_input]

    def factor_for(self, exponent: int):
        """The gradient factor for a batch's gradients kept in units of 2^-exponent
        (:attr:`BatchOutput.gradient_exponent`); exact, though 2^exponent may not be a double."""
        shift = exponent - self.gradient_exponent
        if shift == 0:
            return self.gradient_factor
        if isinstance(self.gradient_factor, np.ndarray):
            return np.ldexp(self.gradient_factor, shift)
        return self.gradient_factor * Factor(1.0, shift)


class StreamReducer:
    """Feed batches with :meth:`add` (or whole partials with :meth:`merge`), then read :meth:`result`.

    Batches and partials follow each other in row order: the reducer numbers rows as they come.
    ``gradient_inputs``: the differentiable inputs whose gradient statistics are kept (default:
    the first); ``influence``: also the influence of the top rows (see :mod:`losscli.influence`).
    """

    def __init__(self, spec: LossSpec, params: Mapping[str, Any], reduction: str = "mean", *,
                 nan_policy: str = "raise", top: int = DEFAULT_TOP_ROWS, gradient_inputs: Sequence[str] | None = None,
                 influence: InfluenceRequest | None = None):
        self.spec, self.params, self.reduction = spec, dict(params), reduction
        self.nan_policy, self.top, self.influence = nan_policy, top, influence
        self.gradient_input = spec.differentiable_inputs[0]
        self.gradient_inputs = tuple(gradient_inputs or (self.gradient_input,))
        self.partial = StreamPartial()
        self.weight_exponent: int | None = None  # chosen from the first batch's weights

    def add(self, batch: Batch) -> BatchOutput:
        """Reduce one batch. Extreme weights (1e308) are used as weights·2^-E, E fixed by the first
        batch (see :func:`~losscli.reduction.weight_exponent`): every aggregate is kept in true
        units, the influence's contributions in these units, and the gradient statistics and the
        batch's gradient output in units of 2^-U (see the module), which :meth:`result`'s
        gradient_factor (:meth:`StreamResult.factor_for`) undoes."""
        if self.weight_exponent is None:
            self.weight_exponent = weight_exponent(batch.weights)
        exponent, divisor = self.weight_exponent, self.spec.mean_divisor
        weights = batch.weights if batch.weights is None or not exponent else np.ldexp(batch.weights, -exponent)
        evaluation = evaluate(self.spec, batch.arrays, self.params, weights, self.nan_policy)
        kept = evaluation.kept_rows
        row_ids = None if kept is None else np.flatnonzero(kept)
        aggregate = evaluation.aggregate.rescaled(exponent, divisor)
        units = self._gradient_units(evaluation, aggregate)
        gradients = evaluation.batch_gradients(self.spec, self.reduction, exponent - units)
        per_row_loss = _by_row(evaluation.per_sample).sum(axis=1)
        seen = self.partial.stats or {}
        stats = {name: GradientStats.of(gradients[name], 0, self.top, row_ids, per_row_loss,
                                        top_floor=seen[name].top_floor if name in seen else (0.0, math.nan),
                                        ids=batch.ids)
                 for name in self.gradient_inputs}
        groups = None
        if batch.labels is not None:
            labels = batch.labels if kept is None else batch.labels[kept]
            groups = {label: aggregate.rescaled(exponent, divisor) for label, aggregate in group_aggregates(
                evaluation.per_sample, evaluation.sample_weights, evaluation.denominators, labels, divisor,
                evaluation.roots, self.spec.multioutput).items()}
        spread = None
        if self.influence is not None:
            from .influence import InfluencePartial, row_contributions, row_gradient_squares  # compare's only

            spread = InfluencePartial.of(row_contributions(evaluation.per_sample, evaluation.sample_weights),
                                         row_gradient_squares(gradients, per_row_loss.shape[0]), *self.influence.keep,
                                         row_ids=row_ids, rows=batch.rows,
                                         floor=self.partial.influence)
        omitted = 0 if kept is None else int(np.count_nonzero(~kept))
        held = ()
        if self.spec.multioutput != "pooled" and self.reduction == "mean" and evaluation.aggregate.columns:
            held = (HeldGradients(batch.rows, {name: gradients[name] for name in self.gradient_inputs}, row_ids,
                                  per_row_loss, batch.ids, units),)
        self.merge(StreamPartial(aggregate, stats, float(np.sum(per_row_loss)),
                                 batch.rows, omitted, groups, spread, exponent, held, units))
        per_sample = evaluation.per_sample_values(self.spec) if self.reduction == "none" else evaluation.per_sample
        return BatchOutput(_restore_rows(per_sample, kept), _restore_rows(gradients[self.gradient_input], kept), units)

    def _gradient_units(self, evaluation, aggregate: Aggregate) -> int:
        """U for this batch's gradients: E - L, L lifting its weighted gradients out of the
        subnormals, but never below the U of the rows seen so far (whose statistics are then
        brought to it), so that a batch of larger gradients, lifted less, cannot overflow."""
        exponent = self.weight_exponent
        lift = lift_for(self.spec, aggregate, self.reduction, exponent, evaluation)
        if self.partial.stats is None:
            return exponent - lift
        units = max(exponent - lift, self.partial.gradient_exponent)
        self.partial = self.partial.aligned(self.partial.weight_exponent, units)
        return units

    def merge(self, partial: StreamPartial) -> None:
        """Take in the partial of the rows that follow those seen so far (a batch, or a shard
        reduced elsewhere)."""
        if self.spec.whole_input and self.partial.rows and partial.rows:
            raise InputError(f"{self.spec.name} under this convention depends on every row at once (it maps labels "
                             f"by the classes present), so it cannot be reduced shard by shard: run it without "
                             f"--engine dask")
        self.partial = self.partial.merge(partial)

    def result(self) -> StreamResult:
        partial = self.partial
        if partial.stats is None or partial.rows_omitted == partial.rows:
            raise InputError("no rows to reduce" if partial.stats is None else
                             "every row has a NaN or infinite value: nothing left after --nan-policy omit")
        if self.reduction == "none":
            value, factor = None, 1.0
        else:
            value = reduced_value(self.spec, partial.aggregate, self.reduction)
            factor = gradient_factor(self.spec, partial.aggregate, self.reduction, partial.gradient_exponent)
        groups = None if partial.groups is None else group_values(self.spec, self.reduction, partial.groups)
        spread = None
        if self.influence is not None:
            spread = partial.influence.finish(self.influence.top, self.influence.shown, partial.weight_exponent)
        if isinstance(factor, np.ndarray):  # one factor per output column: statistics from the held gradients
            stats = partial.held_stats(factor, self.top)
        else:
            stats = {name: item.scaled(factor) for name, item in partial.stats.items()}
        return StreamResult(self.spec, self.params, self.reduction, value, partial.aggregate, self.gradient_input,
                            stats, factor, partial.total_loss, partial.rows, partial.rows_omitted, groups, spread,
                            partial.gradient_exponent)


def plan_batches(plan: InputPlan, specs: Sequence[LossSpec]) -> Iterable[Batch]:
    """The plan's batches, or all its rows as one batch when a loss's values depend on every row
    at once (``whole_input``: memory then grows with the input, as the framework's own does)."""
    return [plan.load()] if any(spec.whole_input for spec in specs) else plan.batches()


def reduce_batches(batches: Iterable[Batch], reducers: Sequence[StreamReducer], on_outputs=None) -> None:
    """Feed every batch to every reducer (one read of the inputs for several losses); an input
    error is raised naming its file, column and row. ``on_outputs(batch, outputs)`` receives
    each batch's per-row outputs, one per reducer."""
    for batch in batches:
        with batch.located():
            outputs = [reducer.add(batch) for reducer in reducers]
        if on_outputs is not None:
            on_outputs(batch, outputs)


def _restore_rows(values: np.ndarray, kept: np.ndarray | None) -> np.ndarray:
    """Per-row values aligned with the input rows: NaN in rows that nan_policy "omit" dropped."""
    if kept is None:
        return values
    full = np.full((kept.size, *values.shape[1:]), np.nan)
    full[kept] = values
    return full


def _by_row(values: np.ndarray) -> np.ndarray:
    """[N, ...] as [N, elements per row], also for N = 0."""
    return values.reshape(values.shape[0], int(np.prod(values.shape[1:], dtype=np.int64)))


__all__ = ["Batch", "BatchOutput", "StreamPartial", "StreamReducer", "StreamResult", "reduce_batches"]
