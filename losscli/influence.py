"""Influence: how much of the loss, and of the training signal, comes from a few samples.

For per-row contributions c_i (the row's per-sample losses, summed over its elements and
weighted) and per-row squared gradient norms s_i = Σ_inputs ||∂L/∂x_i||², the top k rows by c
hold ``loss_share`` = Σ_top c_i / Σ c_i and the top k rows by s hold ``grad_share`` =
Σ_top s_i / Σ s_i, with k = max(1, floor(top·N)). :class:`InfluencePartial` keeps what parts of
the rows need so that they merge (shards on Dask workers) into the influence of the whole.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from .errors import ParameterError

DEFAULT_TOP = 0.01
DEFAULT_SHOWN_ROWS = 5


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


def top_count(top: float, rows: int) -> int:
    """k = max(1, floor(top·rows)), at most ``rows``; ``top`` is a fraction in (0, 1]."""
    if not 0.0 < top <= 1.0:
        raise ParameterError(f"--top must be a fraction in (0, 1], got {top:g}")
    return min(rows, max(1, math.floor(top * rows + 1e-9)))


@dataclass(frozen=True)
class InfluenceRequest:
    """What a reducer keeps for the influence: the fraction ``top``, the rows ``shown``, and how
    many rows by contribution and by squared gradient norm (``keep``, from :func:`influence_keep`
    of an upper bound on the rows; None keeps every row)."""

    top: float = 0.01
    shown: int = 5
    keep: tuple[int | None, int | None] = (None, None)

    @classmethod
    def for_rows(cls, top: float, row_bound: int | None, shown: int = 5) -> InfluenceRequest:
        """The request for inputs of at most ``row_bound`` rows (None: unknown, keep all)."""
        top_count(top, 1)  # a bad --top fails before anything is read
        return cls(top, shown, (None, None) if row_bound is None else influence_keep(top, max(1, row_bound), shown))


def row_contributions(per_sample: np.ndarray, sample_weights: np.ndarray | None = None) -> np.ndarray:
    """c_i: each row's per-sample losses, weighted (weights broadcast to per_sample's shape),
    summed over its elements -> [N]."""
    weighted = per_sample if sample_weights is None else per_sample * sample_weights
    return weighted.reshape(weighted.shape[0], -1).sum(axis=1)


def row_gradient_squares(gradients: Mapping[str, np.ndarray], rows: int) -> np.ndarray:
    """s_i = Σ over differentiable inputs of the squared norm of row i's gradient -> [N]."""
    total = np.zeros(rows)
    for gradient in gradients.values():
        flat = gradient.reshape(rows, -1)
        total += np.einsum("ij,ij->i", flat, flat)
    return total


def influence(contributions: np.ndarray, grad_squares: np.ndarray, top: float = DEFAULT_TOP,
              shown: int = DEFAULT_SHOWN_ROWS) -> Influence:
    """Shares of Σc and Σs held by the top k rows (k from :func:`top_count`); 0 when a total is 0."""
    keep_loss, keep_grad = influence_keep(top, contributions.shape[0], shown)
    return InfluencePartial.of(contributions, grad_squares, keep_loss, keep_grad).finish(top, shown)


def influence_keep(top: float, rows: int, shown: int = DEFAULT_SHOWN_ROWS) -> tuple[int, int]:
    """How many rows a part of ``rows`` rows must keep, by contribution and by squared gradient
    norm, for the influence of the whole: max(k, shown) and k (k from :func:`top_count`)."""
    k = top_count(top, rows)
    return max(k, shown), k


@dataclass(frozen=True)
class InfluencePartial:
    """The influence of consecutive rows as a partial aggregate that merges.

    It keeps the totals Σc and Σs, and the rows of largest c (with their c and s; at most
    ``keep_loss``) and of largest s (at most ``keep_grad``), ties by row, in no particular order
    (sorted once, by :meth:`finish`); rows are numbered from 0 within the part. :meth:`merge`
    places the other part's rows after these and keeps the largest of both lists, so when every
    part keeps :func:`influence_keep` of the whole input's row count, the merge of the parts
    finishes to the influence of the whole. ``None`` keeps every row (when the row count is not
    known in advance). A list may hold up to twice its ``keep`` (selection is amortised); its
    ``floor`` is a value at least ``keep`` of its entries reach, below which no row can enter.
    Scaling every s by one factor (the mean's 1/Σw) leaves every share unchanged, so parts may
    hold unscaled w·dℓ/dx squares.
    """

    rows: int
    loss_total: float
    grad_total: float
    loss_rows: np.ndarray
    loss_values: np.ndarray
    loss_grads: np.ndarray
    grad_rows: np.ndarray
    grad_values: np.ndarray
    keep_loss: int | None = None
    keep_grad: int | None = None
    loss_floor: float = -np.inf
    grad_floor: float = -np.inf

    @classmethod
    def of(cls, contributions: np.ndarray, grad_squares: np.ndarray, keep_loss: int | None = None,
           keep_grad: int | None = None, *, row_ids: np.ndarray | None = None, rows: int | None = None,
           floor: InfluencePartial | None = None) -> InfluencePartial:
        """The influence of one part of ``rows`` rows (default: one per contribution), numbered
        0.. or by ``row_ids`` when some were left out. ``floor``: the partial of the rows
        before, whose full lists no row below their smallest value can enter (a fast path)."""
        contributions = np.asarray(contributions, dtype=np.float64)
        grad_squares = np.asarray(grad_squares, dtype=np.float64)
        numbers = np.arange(contributions.shape[0]) if row_ids is None else np.asarray(row_ids)
        loss_floor, grad_floor = (-np.inf, -np.inf) if floor is None else (floor.loss_floor, floor.grad_floor)
        by_loss, loss_floor = _largest(contributions, numbers, keep_loss, loss_floor)
        by_grad, grad_floor = _largest(grad_squares, numbers, keep_grad, grad_floor)
        return cls(int(contributions.shape[0]) if rows is None else rows, float(np.sum(contributions)),
                   float(np.sum(grad_squares)), numbers[by_loss],
                   contributions[by_loss], grad_squares[by_loss], numbers[by_grad], grad_squares[by_grad],
                   keep_loss, keep_grad, loss_floor, grad_floor)

    def merge(self, other: InfluencePartial) -> InfluencePartial:
        """The influence of these rows followed by other's (other's rows shift by self.rows)."""
        keep_loss, keep_grad = _smaller(self.keep_loss, other.keep_loss), _smaller(self.keep_grad, other.keep_grad)
        loss_rows = np.concatenate([self.loss_rows, other.loss_rows + self.rows])
        loss_values = np.concatenate([self.loss_values, other.loss_values])
        by_loss, loss_floor = _amortised(loss_values, loss_rows, keep_loss, max(self.loss_floor, other.loss_floor))
        grad_rows = np.concatenate([self.grad_rows, other.grad_rows + self.rows])
        grad_values = np.concatenate([self.grad_values, other.grad_values])
        by_grad, grad_floor = _amortised(grad_values, grad_rows, keep_grad, max(self.grad_floor, other.grad_floor))
        return InfluencePartial(self.rows + other.rows, self.loss_total + other.loss_total,
                                self.grad_total + other.grad_total, loss_rows[by_loss], loss_values[by_loss],
                                np.concatenate([self.loss_grads, other.loss_grads])[by_loss], grad_rows[by_grad],
                                grad_values[by_grad], keep_loss, keep_grad, loss_floor, grad_floor)

    def scaled(self, factor: float, gradient_factor: float | None = None) -> InfluencePartial:
        """The influence of weights·factor: contributions times factor, squared gradients times
        factor² (gradient_factor², when the gradients' units change apart from the weights')."""
        gradient_factor = factor if gradient_factor is None else gradient_factor
        square = gradient_factor * gradient_factor
        return replace(self, loss_total=self.loss_total * factor, grad_total=self.grad_total * square,
                       loss_values=self.loss_values * factor, loss_grads=self.loss_grads * square,
                       grad_values=self.grad_values * square, loss_floor=self.loss_floor * factor,
                       grad_floor=self.grad_floor * square)

    def finish(self, top: float = DEFAULT_TOP, shown: int = DEFAULT_SHOWN_ROWS, weight_exponent: int = 0) -> Influence:
        """The influence of all the rows merged (contributions of weights·2^-weight_exponent shown
        in true units); ValueError when a part kept too few rows."""
        k = top_count(top, self.rows)
        if self.loss_rows.shape[0] < min(self.rows, max(k, shown)) or self.grad_rows.shape[0] < min(self.rows, k):
            raise ValueError(f"the parts kept too few rows for the top {k} of {self.rows} (see influence_keep)")
        loss_total, grad_total = self.loss_total, self.grad_total
        by_loss = np.lexsort((self.loss_rows, -self.loss_values))  # largest first, ties by row
        loss_values, loss_grads, loss_rows = (array[by_loss] for array in (self.loss_values, self.loss_grads,
                                                                           self.loss_rows))
        grad_values = np.sort(self.grad_values)[::-1]
        with np.errstate(over="ignore"):  # a contribution beyond the doubles is inf, as is the truth
            contributions = np.ldexp(loss_values[:shown], weight_exponent)
        rows = tuple(RowInfluence(int(row), float(contribution), _share(loss, loss_total), _share(grad, grad_total))
                     for row, contribution, loss, grad in zip(loss_rows[:shown], contributions, loss_values[:shown],
                                                              loss_grads[:shown], strict=True))
        return Influence(top, k, _share(np.sum(loss_values[:k]), loss_total),
                         _share(np.sum(grad_values[:k]), grad_total), rows)


def _largest(values: np.ndarray, rows: np.ndarray, keep: int | None, floor: float) -> tuple[np.ndarray, float]:
    """(indices, floor) of the values above ``floor``, cut to the ``keep`` largest when more than
    twice as many are left (see :func:`_amortised`). A value equal to the floor cannot enter: these
    rows follow every row kept at that value, which win the tie."""
    candidates = np.flatnonzero(values > floor) if floor > -np.inf else np.arange(values.size)
    kept, floor = _amortised(values[candidates], rows[candidates], keep, floor)
    return candidates[kept], floor


def _amortised(values: np.ndarray, rows: np.ndarray, keep: int | None, floor: float) -> tuple[np.ndarray, float]:
    """Every index while at most 2·keep values are held; beyond, the ``keep`` largest (ties by
    lower row) and their threshold as the new floor: each value is selected O(1) times on average."""
    if keep is None or values.size <= 2 * keep:
        return np.arange(values.size), floor
    return _select(values, rows, keep)


def _select(values: np.ndarray, rows: np.ndarray, keep: int) -> tuple[np.ndarray, float]:
    """(indices of the ``keep`` largest values, ties by lower row, in no order; the keep-th
    largest value), in O(n): every value above it, and of those equal to it the lowest rows."""
    threshold = -np.partition(-values, keep - 1)[keep - 1]
    above, tied = np.flatnonzero(values > threshold), np.flatnonzero(values == threshold)
    need = keep - above.size
    if tied.size > need:
        tied = tied[np.argpartition(rows[tied], need - 1)[:need]]
    return np.concatenate([above, tied]), float(threshold)


def _smaller(first: int | None, second: int | None) -> int | None:
    return second if first is None else first if second is None else min(first, second)


def _share(part: float, total: float) -> float:
    return float(part) / total if total else 0.0
