"""A loss over many batches: evaluate each, merge the partial aggregates, finish once.

The value, the gradient summary and the per-group values of a file processed batch by batch
equal those of the whole array: every piece is a partial aggregate that merges (Σ w·ℓ, Σ w·d,
count; gradient statistics with row numbers; per-group aggregates). Only the gradient of a
mean needs the final Σw, so batch gradients are w_i·dl_i/dx and :attr:`StreamResult.gradient_factor`
turns them into the gradient of the reduced loss at the end.

What a reducer has seen is a :class:`StreamPartial`: small, picklable, and mergeable with the
partial of the rows that follow, so shards reduced apart (on Dask workers) and merged give the
partial of the whole, and :meth:`StreamReducer.result` finishes either the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .engine import evaluate, gradient_factor, reduced_value
from .errors import InputError
from .groups import GroupValue, group_aggregates, group_values, merge_groups
from .reduction import Aggregate
from .spec import LossSpec
from .summary import DEFAULT_TOP_ROWS, GradientStats


@dataclass(frozen=True)
class Batch:
    """Consecutive rows of every input (arrays by input name), their weights and group labels.
    A reducer numbers rows in the order its batches arrive."""

    arrays: dict[str, np.ndarray]
    weights: np.ndarray | None = None
    labels: np.ndarray | None = None


@dataclass(frozen=True)
class BatchOutput:
    """What a batch adds to per-row outputs, aligned with its input rows (NaN where a row was
    omitted): per-sample values (transformed for "none"), and the gradient of the first
    differentiable input (times gradient_factor at the end for mean and sum)."""

    per_sample: np.ndarray
    gradient: np.ndarray


@dataclass(frozen=True)
class StreamResult:
    """The finished reduction. value is None for reduction "none"."""

    spec: LossSpec
    params: dict[str, Any]
    reduction: str
    value: float | None
    aggregate: Aggregate
    gradient_input: str
    gradient: GradientStats
    gradient_factor: float
    total_loss: float
    rows: int
    rows_omitted: int
    groups: list[GroupValue] | None


@dataclass(frozen=True)
class StreamPartial:
    """The partial aggregates of consecutive rows: everything a result is finished from.

    Rows are numbered from 0 within the partial (gradient rows in ``stats``); :meth:`merge`
    places the other partial's rows after these. stats is None before any batch.
    """

    aggregate: Aggregate = Aggregate()
    stats: GradientStats | None = None
    total_loss: float = 0.0
    rows: int = 0
    rows_omitted: int = 0
    groups: dict[str, Aggregate] | None = None

    def merge(self, other: StreamPartial) -> StreamPartial:
        """The partial of these rows followed by other's (other's row numbers shift by self.rows)."""
        stats = self.stats
        if other.stats is not None:
            shifted = _shift_rows(other.stats, self.rows)
            stats = shifted if stats is None else stats.merge(shifted)
        groups = other.groups if self.groups is None else self.groups
        if self.groups is not None and other.groups is not None:
            groups = merge_groups(self.groups, other.groups)
        return StreamPartial(self.aggregate.merge(other.aggregate), stats, self.total_loss + other.total_loss,
                             self.rows + other.rows, self.rows_omitted + other.rows_omitted, groups)


class StreamReducer:
    """Feed batches with :meth:`add` (or whole partials with :meth:`merge`), then read :meth:`result`.

    Batches and partials follow each other in row order: the reducer numbers rows as they come.
    """

    def __init__(self, spec: LossSpec, params: Mapping[str, Any], reduction: str, *, nan_policy: str = "raise",
                 top: int = DEFAULT_TOP_ROWS):
        self.spec, self.params, self.reduction = spec, dict(params), reduction
        self.nan_policy, self.top = nan_policy, top
        self.gradient_input = spec.differentiable_inputs[0]
        self.partial = StreamPartial()

    def add(self, batch: Batch) -> BatchOutput:
        evaluation = evaluate(self.spec, batch.arrays, self.params, batch.weights, self.nan_policy)
        rows = next(iter(batch.arrays.values())).shape[0]
        kept = evaluation.kept_rows
        gradient = evaluation.batch_gradients(self.spec, self.reduction)[self.gradient_input]
        per_row_loss = _by_row(evaluation.per_sample).sum(axis=1)
        seen = self.partial.stats
        stats = GradientStats.of(gradient, 0, self.top, None if kept is None else np.flatnonzero(kept), per_row_loss,
                                 top_floor=0.0 if seen is None else seen.top_floor)
        groups = None
        if batch.labels is not None:
            labels = batch.labels if kept is None else np.asarray(batch.labels, dtype=object)[kept]
            groups = group_aggregates(evaluation.per_sample, evaluation.sample_weights, evaluation.denominators, labels)
        omitted = 0 if kept is None else int(np.count_nonzero(~kept))
        self.merge(StreamPartial(evaluation.aggregate, stats, float(np.sum(per_row_loss)), rows, omitted, groups))
        per_sample = evaluation.per_sample_values(self.spec) if self.reduction == "none" else evaluation.per_sample
        return BatchOutput(_restore_rows(per_sample, kept), _restore_rows(gradient, kept))

    def merge(self, partial: StreamPartial) -> None:
        """Take in the partial of the rows that follow those seen so far (a batch, or a shard
        reduced elsewhere)."""
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
            factor = gradient_factor(self.spec, partial.aggregate, self.reduction)
        groups = None if partial.groups is None else group_values(self.spec, self.reduction, partial.groups)
        return StreamResult(self.spec, self.params, self.reduction, value, partial.aggregate, self.gradient_input,
                            partial.stats.scaled(factor), factor, partial.total_loss, partial.rows,
                            partial.rows_omitted, groups)


def _shift_rows(stats: GradientStats, offset: int) -> GradientStats:
    """The same statistics with every row number moved by ``offset``."""
    if offset == 0:
        return stats
    return replace(stats, max_row=stats.max_row + offset,
                   top_rows=tuple((row + offset, norm, loss) for row, norm, loss in stats.top_rows))


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
