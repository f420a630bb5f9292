"""Gradient summaries: which samples drive training, as partial aggregates that merge.

A gradient of any shape is read row by row (first axis = sample). The summary keeps the
squared L2 norm, the sum, the number of exactly-zero elements, the element of largest
magnitude with its row, and the rows of largest gradient norm; two summaries of consecutive
chunks merge into the summary of the whole (given each chunk's row offset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .scaled import Factor, ScaledSum

DEFAULT_TOP_ROWS = 5


@dataclass(frozen=True)
class GradientStats:
    """Mergeable statistics of a gradient array.

    squares = Σ g², sums = Σ g: sums that cannot overflow (:class:`ScaledSum`).
    top_rows: (row, row L2 norm, row loss, ids) of at most ``top`` rows, largest norm first, ties
    by larger loss, then by row; ids are the row's values of the id columns ``id_names``.
    max_position: index of the largest |g| within its row (empty for 1-D gradients).
    NaN ranks above every number (as in ``np.max``; among top rows level with +inf), ties go
    to the first row: merged statistics equal those of the whole however the parts were merged.
    """

    squares: ScaledSum
    sums: ScaledSum
    count: int
    zeros: int
    max_abs: float
    max_row: int
    max_position: tuple[int, ...]
    top_rows: tuple[tuple[int, float, float, tuple], ...]
    top: int = DEFAULT_TOP_ROWS
    id_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, gradient: np.ndarray, row_offset: int = 0, top: int = DEFAULT_TOP_ROWS,
           row_ids: np.ndarray | None = None, row_losses: np.ndarray | None = None,
           top_floor: tuple[float, float] = (0.0, math.nan),
           ids: dict[str, np.ndarray] | None = None) -> GradientStats:
        """Statistics of ``gradient`` (first axis = rows).

        Rows are numbered row_offset + i, or row_ids[i] when given (rows left after dropping
        some); row_losses, when given, are kept beside the top rows as their loss (and break
        ties of norm: MAE's equal gradients list its largest losses). ``ids``: the user's id
        columns, one value per input row (numbered from row_offset). Rows whose norm is below
        ``top_floor`` (the last of a merged top list: see :attr:`top_floor`) cannot enter the top
        rows and are not ranked: a fast path for streams.
        """
        id_names = tuple(ids or ())
        if gradient.size == 0:
            return cls(ScaledSum(), ScaledSum(), 0, 0, 0.0, 0, (), (), top, id_names)
        rows = gradient.reshape(gradient.shape[0], -1) if gradient.ndim else gradient.reshape(1, 1)
        magnitude = np.abs(rows)
        row_norms = _row_norms(rows, magnitude)
        flat_max = int(np.argmax(magnitude))  # the first NaN if there is one
        max_row, within = divmod(flat_max, rows.shape[1])
        position = np.unravel_index(within, gradient.shape[1:]) if gradient.ndim > 1 else ()
        losses = np.full(row_norms.shape, np.nan) if row_losses is None else np.asarray(row_losses, dtype=np.float64)
        order = _largest(row_norms, top, *top_floor, losses)

        def row_id(index):
            return int(row_offset + index if row_ids is None else row_ids[index])

        def id_values(index):
            return tuple(_plain(column[row_id(index) - row_offset]) for column in (ids or {}).values())

        return cls(
            squares=ScaledSum.of(row_norms, row_norms), sums=ScaledSum.of(rows),
            count=int(rows.size), zeros=int(rows.size - np.count_nonzero(rows)),
            max_abs=float(magnitude.flat[flat_max]), max_row=row_id(max_row),
            max_position=tuple(int(i) for i in position),
            top_rows=tuple((row_id(i), float(row_norms[i]), float(losses[i]), id_values(i)) for i in order),
            top=top, id_names=id_names,
        )

    @property
    def sum_squares(self) -> float:
        return self.squares.value

    @property
    def total(self) -> float:
        return self.sums.value

    @property
    def top_floor(self) -> tuple[float, float]:
        """(norm, loss) of the last row of a full top list: a later row enters only with a larger
        norm, or the same norm and a larger loss ((0, NaN) while the list is not full)."""
        if len(self.top_rows) < self.top:
            return 0.0, math.nan
        _, norm, loss, *_ = self.top_rows[-1]
        return _norm_rank(norm), loss

    def shifted(self, offset: int) -> GradientStats:
        """The same statistics with every row number moved by ``offset`` (a part that follows
        ``offset`` rows)."""
        if offset == 0:
            return self
        return replace(self, max_row=self.max_row + offset,
                       top_rows=tuple((row + offset, *rest) for row, *rest in self.top_rows))

    def merge(self, other: GradientStats) -> GradientStats:
        if other.count == 0 or self.count == 0:
            return self if other.count == 0 else other
        first = other if _above(other.max_abs, self.max_abs) else self
        rows = sorted(self.top_rows + other.top_rows, key=_rank)[: self.top]
        return GradientStats(
            self.squares + other.squares, self.sums + other.sums, self.count + other.count,
            self.zeros + other.zeros, first.max_abs, first.max_row, first.max_position, tuple(rows), self.top,
            self.id_names,
        )

    def scaled(self, factor: float | Factor) -> GradientStats:
        """Statistics of factor·g: how a chunk's sum-reduced gradient becomes the mean's (the
        factor may lie beyond the doubles: see :class:`~losscli.scaled.Factor`)."""
        factor = Factor.of(factor)
        magnitude = abs(factor)
        return GradientStats(self.squares.times(factor * factor), self.sums.times(factor), self.count, self.zeros,
                             float(self.max_abs * magnitude), self.max_row, self.max_position,
                             tuple((row, float(norm * magnitude), *rest) for row, norm, *rest in self.top_rows),
                             self.top, self.id_names)

    def as_dict(self) -> dict:
        """The summary as plain data (the ``gradient`` object of the JSON output)."""
        return {
            "l2_norm": self.squares.sqrt(),
            "mean": self.sums / ScaledSum(float(self.count)) if self.count else 0.0,
            "max_abs": self.max_abs,
            "max_abs_row": self.max_row,
            "max_abs_position": list(self.max_position),
            "zero_share": self.zeros / self.count if self.count else 0.0,
            "top_rows": [{"row": row, "l2_norm": norm, "loss": loss,
                          **({"ids": dict(zip(self.id_names, ids, strict=True))} if self.id_names else {})}
                         for row, norm, loss, ids in self.top_rows],
        }


def _rank(entry: tuple) -> tuple:
    """Order of top rows: larger norm (NaN level with +inf), then larger loss (NaN last), then lower row."""
    row, norm, loss, *_ = entry
    return -_norm_rank(norm), -loss if loss == loss else np.inf, row


def _norm_rank(norm: float) -> float:
    return math.inf if math.isnan(norm) else norm


def _above(value: float, other: float) -> bool:
    """value > other in the order NaN > +inf > numbers (a NaN equals a NaN)."""
    return (math.isnan(value) and not math.isnan(other)) or value > other


def _row_norms(rows: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Each row's L2 norm [N]; rows of huge values are scaled by a power of two first, so a
    norm is inf only when it is beyond the largest double."""
    if rows.shape[1] == 1:
        return magnitude[:, 0]  # one column: the row norm is |g| itself
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
    overflowed = np.isinf(norms)
    if overflowed.any() and (overflowed := overflowed & np.all(np.isfinite(rows), axis=1)).any():
        exponents = np.frexp(np.max(magnitude[overflowed], axis=1))[1]
        scaled = np.ldexp(rows[overflowed], -exponents[:, None])
        with np.errstate(over="ignore"):
            norms[overflowed] = np.ldexp(np.sqrt(np.einsum("ij,ij->i", scaled, scaled)), exponents)
    return norms


def _plain(value):
    """A NumPy scalar as the Python value (JSON-ready)."""
    return value.item() if isinstance(value, np.generic) else value


def _largest(values: np.ndarray, count: int, floor: float = 0.0, floor_tiebreak: float = math.nan,
             tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``count`` largest values above ``floor`` (or equal to it with a tiebreak
    above ``floor_tiebreak``, when that is a number), largest first (NaN level with +inf; ties:
    larger ``tiebreak``, then lower index), in O(n): a threshold pass and partitions, then a
    sort of the few kept."""
    if count <= 0 or values.size == 0:
        return np.arange(0)
    if np.isnan(values).any():
        values = np.where(np.isnan(values), np.inf, values)
    if floor <= 0:
        candidates = np.arange(values.size)
    elif tiebreak is None or math.isnan(floor_tiebreak):
        candidates = np.flatnonzero(values >= floor)
    else:  # MAE's equal norms: only a larger loss can enter
        candidates = np.flatnonzero((values > floor) | ((values == floor) & (tiebreak > floor_tiebreak)))
    if candidates.size > count:
        candidates = _cut(candidates, values, tiebreak, count)
    second = _second(tiebreak, candidates)
    return candidates[np.lexsort((candidates, second, -values[candidates]))][:count]


def _second(tiebreak: np.ndarray | None, indices: np.ndarray) -> np.ndarray:
    """The second sort key of ``indices``: larger tiebreak first, NaN last."""
    return np.zeros(indices.size) if tiebreak is None else np.nan_to_num(-tiebreak[indices], nan=np.inf)


def _cut(candidates: np.ndarray, values: np.ndarray, tiebreak: np.ndarray | None, count: int) -> np.ndarray:
    """The candidates that can be among the ``count`` largest values: those above the count-th
    largest, and of those equal to it (MAE: all of them) the ones first by the tiebreak."""
    threshold = -np.partition(-values[candidates], count - 1)[count - 1]
    above = candidates[values[candidates] > threshold]
    tied = candidates[values[candidates] == threshold]
    need = count - above.size
    if tied.size > need:
        second = _second(tiebreak, tied)
        tied = tied[second <= np.partition(second, need - 1)[need - 1]]
    return np.concatenate([above, tied])
