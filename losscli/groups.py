"""Loss per slice ("which segment got worse"): per-sample losses re-aggregated by a group label.

Each group's value comes from the same partial aggregates as the whole (Σ w·ℓ, Σ w·d, count),
so groups merge across batches and back into the overall value, and a group equals computing
that slice alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import LossResult, reduced_value
from .errors import InputError
from .reduction import Aggregate, divisor_terms
from .scaled import ScaledSum
from .spec import LossSpec

MISSING_LABEL = "(missing)"
OVERALL_LABEL = "(all)"  # the row of every sample, after the groups


@dataclass(frozen=True)
class GroupValue:
    """One slice: its label, the aggregate of its samples and the reduced value."""

    label: str
    aggregate: Aggregate
    value: float

    @property
    def n(self) -> int:
        return self.aggregate.count


def label_text(label) -> str:
    """A group label for display: integral floats lose their '.0', missing cells are '(missing)',
    and a label that reads "(missing)" or "(all)" is quoted, so it is never taken for those rows."""
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return MISSING_LABEL
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    text = str(label)
    return f"'{text}'" if text in (MISSING_LABEL, OVERALL_LABEL) else text


def group_aggregates(per_sample: np.ndarray, sample_weights: np.ndarray | None,
                     denominators: np.ndarray | None, labels, divisor: str = "weights",
                     roots: np.ndarray | None = None, multioutput: str = "pooled") -> dict[str, Aggregate]:
    """{label: Aggregate of its rows}, in order of first appearance.

    labels: one per row [N], an array or a :class:`~losscli.io.coded.CodedColumn` (as readers
    give them): the sums are ``np.bincount`` over the codes, and only the k distinct values
    become label text. ``roots``: as in :meth:`Aggregate.of` (rmse), each group's sum taken from them;
    ``multioutput``: as there (each group keeps its per-column aggregates).
    """
    from .io.coded import CodedColumn

    coded = labels if isinstance(labels, CodedColumn) else CodedColumn.encode(labels)
    rows = per_sample.shape[0]
    if len(coded) != rows:
        raise InputError(f"row-count mismatch: the group column has {len(coded)} rows, the inputs {rows}",
                         input_name="group-by")
    slots = coded.values.shape[0]
    sums = np.bincount(coded.codes, _row_totals(per_sample, sample_weights), slots)
    terms = divisor_terms(sample_weights, denominators, divisor)
    totals = np.bincount(coded.codes, _row_totals(np.ones_like(per_sample) if terms is None else terms, None), slots)
    counts = np.bincount(coded.codes, minlength=slots) * (per_sample.size // max(rows, 1))
    aggregates: dict[str, Aggregate] = {}
    for code in np.flatnonzero(counts):  # codes in order of first appearance
        aggregate = _group_aggregate(code, sums, totals, counts, coded.codes, per_sample, sample_weights,
                                     denominators, divisor, roots, multioutput)
        label = label_text(coded.values[code])
        aggregates[label] = aggregates[label].merge(aggregate) if label in aggregates else aggregate
    return aggregates


def _group_aggregate(index, sums, totals, counts, codes, per_sample, sample_weights, denominators,
                     divisor, roots=None, multioutput="pooled") -> Aggregate:
    """Group ``index``'s aggregate from the bincount sums; recomputed from its rows (sums that
    cannot overflow, or taken from the roots, or per column) when a sum passed the largest double,
    roots are given or the columns are averaged."""
    if roots is None and multioutput == "pooled" and np.isfinite(sums[index]) and np.isfinite(totals[index]):
        return Aggregate(ScaledSum(float(sums[index])), ScaledSum(float(totals[index])), int(counts[index]))
    rows = np.flatnonzero(codes == index)

    def part(values):
        return None if values is None else values[rows]

    return Aggregate.of(per_sample[rows], part(sample_weights), part(denominators), divisor, part(roots), multioutput)


def merge_groups(first: dict[str, Aggregate], second: dict[str, Aggregate]) -> dict[str, Aggregate]:
    merged = dict(first)
    for label, aggregate in second.items():
        merged[label] = merged[label].merge(aggregate) if label in merged else aggregate
    return merged


def group_values(spec: LossSpec, reduction: str, aggregates: dict[str, Aggregate]) -> list[GroupValue]:
    """Each group's reduced value; NaN for a group whose weights are all zero (or all ignored)."""
    if reduction == "none":
        raise InputError("--group-by needs a single value per group: use --reduction mean or sum")
    return [GroupValue(label, aggregate, _value(spec, aggregate, reduction)) for label, aggregate in aggregates.items()]


def groups_of(result: LossResult, labels) -> list[GroupValue]:
    """Group values of a :func:`losscli.compute` result; labels: one per input row (rows that
    nan_policy "omit" dropped are dropped here too)."""
    from .io.coded import CodedColumn

    labels = labels if isinstance(labels, CodedColumn) else np.asarray(labels, dtype=object)
    if result.kept_rows is not None and len(labels) == result.kept_rows.shape[0]:
        labels = labels[result.kept_rows]
    aggregates = group_aggregates(result.per_sample, result.sample_weights, result.denominators, labels,
                                  result.spec.mean_divisor, result.roots, result.spec.multioutput)
    return group_values(result.spec, result.reduction, aggregates)


def _row_totals(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Σ over each row's elements of w·values (an elementwise loss of [N, D] has D per row)."""
    weighted = values if weights is None else weights * values
    return weighted.reshape(weighted.shape[0], int(np.prod(weighted.shape[1:], dtype=np.int64))).sum(axis=1)


def _value(spec: LossSpec, aggregate: Aggregate, reduction: str) -> float:
    if reduction == "mean" and aggregate.weight_total <= 0:
        return float("nan")
    return reduced_value(spec, aggregate, reduction)
