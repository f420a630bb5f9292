"""A loss over many batches: evaluate each, merge the partial aggregates, finish once.

The value, the gradient summary and the per-group values of a file processed batch by batch
equal those of the whole array: every piece is a partial aggregate that merges (Σ w·ℓ, Σ w·d,
count; gradient statistics with row numbers; per-group aggregates). Only the gradient of a
mean needs the final Σw, so batch gradients are w_i·dl_i/dx and :attr:`StreamResult.gradient_factor`
turns them into the gradient of the reduced loss at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    """Consecutive rows of every input (arrays by input name), their weights and group labels;
    first_row is the index of the batch's first row in the whole input."""

    arrays: dict[str, np.ndarray]
    weights: np.ndarray | None = None
    labels: np.ndarray | None = None
    first_row: int = 0


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


class StreamReducer:
    """Feed batches with :meth:`add`, then read :meth:`result`."""

    def __init__(self, spec: LossSpec, params: Mapping[str, Any], reduction: str, *, nan_policy: str = "raise",
                 top: int = DEFAULT_TOP_ROWS):
        self.spec, self.params, self.reduction = spec, dict(params), reduction
        self.nan_policy, self.top = nan_policy, top
        self.gradient_input = spec.differentiable_inputs[0]
        self.aggregate = Aggregate()
        self.stats: GradientStats | None = None
        self.total_loss = 0.0
        self.rows = self.rows_omitted = 0
        self.groups: dict[str, Aggregate] | None = None

    def add(self, batch: Batch) -> BatchOutput:
        evaluation = evaluate(self.spec, batch.arrays, self.params, batch.weights, self.nan_policy)
        rows = next(iter(batch.arrays.values())).shape[0]
        kept = evaluation.kept_rows
        row_ids = None if kept is None else batch.first_row + np.flatnonzero(kept)
        gradient = evaluation.batch_gradients(self.spec, self.reduction)[self.gradient_input]
        per_row_loss = _by_row(evaluation.per_sample).sum(axis=1)
        stats = GradientStats.of(gradient, batch.first_row, self.top, row_ids, per_row_loss,
                                 top_floor=0.0 if self.stats is None else self.stats.top_floor)
        self.stats = stats if self.stats is None else self.stats.merge(stats)
        self.aggregate = self.aggregate.merge(evaluation.aggregate)
        self.total_loss += float(np.sum(per_row_loss))
        self.rows += rows
        self.rows_omitted += 0 if kept is None else int(np.count_nonzero(~kept))
        if batch.labels is not None:
            labels = batch.labels if kept is None else np.asarray(batch.labels, dtype=object)[kept]
            found = group_aggregates(evaluation.per_sample, evaluation.sample_weights, evaluation.denominators, labels)
            self.groups = found if self.groups is None else merge_groups(self.groups, found)
        per_sample = evaluation.per_sample
        if self.reduction == "none" and self.spec.transform is not None:
            with np.errstate(over="ignore"):
                per_sample = self.spec.transform.function(per_sample)
        return BatchOutput(_restore_rows(per_sample, kept), _restore_rows(gradient, kept))

    def result(self) -> StreamResult:
        if self.stats is None or self.rows_omitted == self.rows:
            raise InputError("no rows to reduce" if self.stats is None else
                             "every row has a NaN or infinite value: nothing left after --nan-policy omit")
        if self.reduction == "none":
            value, factor = None, 1.0
        else:
            value = reduced_value(self.spec, self.aggregate, self.reduction)
            factor = gradient_factor(self.spec, self.aggregate, self.reduction)
        groups = None if self.groups is None else group_values(self.spec, self.reduction, self.groups)
        return StreamResult(self.spec, self.params, self.reduction, value, self.aggregate, self.gradient_input,
                            self.stats.scaled(factor), factor, self.total_loss, self.rows, self.rows_omitted, groups)


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
