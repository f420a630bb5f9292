"""The partial aggregate of consecutive rows, which merges with the partial of the rows that
follow: what a :class:`~losscli.stream.StreamReducer` has seen, and what a Dask worker sends back.

Weight-linear pieces are kept in units of a power of two (exactly): contributions w·ℓ in units of
2^-weight_exponent, gradients w·∂ℓ in units of 2^-gradient_exponent (see :mod:`losscli.stream`);
a merge brings both partials to the larger exponents, so nothing overflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .groups import merge_groups
from .reduction import Aggregate
from .scaled import Factor
from .summary import GradientStats

if TYPE_CHECKING:
    from .influence import InfluencePartial


@dataclass(frozen=True)
class HeldGradients:
    """One batch's gradients w·∂ℓ (in units of 2^-gradient_exponent), kept to the end when
    the final factor is one per output column (multioutput "uniform_average": each column's mean
    scales its own gradients, so the rows of largest gradient are known only once every column's
    mean is): the statistics are then taken from them, batch by batch, as they would have been."""

    rows: int
    gradients: Mapping[str, np.ndarray]
    row_ids: np.ndarray | None
    losses: np.ndarray
    ids: Mapping[str, np.ndarray] | None
    gradient_exponent: int

    def stats(self, factor: np.ndarray, gradient_exponent: int, top: int) -> dict[str, GradientStats]:
        scale = np.ldexp(factor, self.gradient_exponent - gradient_exponent)
        with np.errstate(over="ignore", invalid="ignore"):
            return {name: GradientStats.of(gradient * scale, 0, top, self.row_ids, self.losses, ids=self.ids)
                    for name, gradient in self.gradients.items()}


@dataclass(frozen=True)
class StreamPartial:
    """The partial aggregates of consecutive rows: everything a result is finished from.

    Rows are numbered from 0 within the partial (gradient rows in ``stats``, influence rows);
    :meth:`merge` places the other partial's rows after these. stats is empty before any batch.
    """

    aggregate: Aggregate = Aggregate()
    stats: Mapping[str, GradientStats] | None = None
    total_loss: float = 0.0
    rows: int = 0
    rows_omitted: int = 0
    groups: dict[str, Aggregate] | None = None
    influence: InfluencePartial | None = None
    weight_exponent: int = 0  # contributions w·ℓ in units of 2^-weight_exponent
    held: tuple[HeldGradients, ...] = ()
    gradient_exponent: int = 0  # gradients w·∂ℓ (statistics, influence) in units of 2^-gradient_exponent

    def aligned(self, weight_exponent: int, gradient_exponent: int) -> StreamPartial:
        """The same partial with its contributions in units of 2^-weight_exponent and its
        gradients in units of 2^-gradient_exponent (exactly: powers of two; the exponents are
        never below the partial's own, so nothing overflows, and what underflows is below the
        doubles beside the rest)."""
        weight_shift = self.weight_exponent - weight_exponent
        gradient_shift = self.gradient_exponent - gradient_exponent
        if weight_shift == gradient_shift == 0:
            return self
        factor = Factor(1.0, gradient_shift)
        stats = None if self.stats is None else {name: item.scaled(factor) for name, item in self.stats.items()}
        influence = None if self.influence is None else self.influence.scaled(float(np.ldexp(1.0, weight_shift)),
                                                                              float(factor))
        return replace(self, stats=stats, influence=influence, weight_exponent=weight_exponent,
                       gradient_exponent=gradient_exponent)

    def merge(self, other: StreamPartial) -> StreamPartial:
        """The partial of these rows followed by other's (other's row numbers shift by self.rows)."""
        units, other_units = (self.weight_exponent, self.gradient_exponent), (other.weight_exponent,
                                                                           other.gradient_exponent)
        if units != other_units and self.stats is not None and other.stats is not None:
            common = (max(units[0], other_units[0]), max(units[1], other_units[1]))
            return self.aligned(*common).merge(other.aligned(*common))
        weight_exponent, gradient_exponent = other_units if self.stats is None else units  # nothing seen: theirs
        stats = self.stats
        if other.stats is not None:
            shifted = {name: item.shifted(self.rows) for name, item in other.stats.items()}
            stats = shifted if stats is None else {name: item.merge(shifted[name]) for name, item in stats.items()}
        groups = other.groups if self.groups is None else self.groups
        if self.groups is not None and other.groups is not None:
            groups = merge_groups(self.groups, other.groups)
        influence = other.influence if self.influence is None else self.influence
        if self.influence is not None and other.influence is not None:
            influence = self.influence.merge(other.influence)
        return StreamPartial(self.aggregate.merge(other.aggregate), stats, self.total_loss + other.total_loss,
                             self.rows + other.rows, self.rows_omitted + other.rows_omitted, groups, influence,
                             weight_exponent, self.held + other.held, gradient_exponent)

    def held_stats(self, factor: np.ndarray, top: int) -> dict[str, GradientStats]:
        """The gradient statistics of the held batches, each column times its factor."""
        merged, offset = None, 0
        for held in self.held:
            stats = {name: item.shifted(offset) for name, item in held.stats(factor, self.gradient_exponent,
                                                                             top).items()}
            merged = stats if merged is None else {name: item.merge(stats[name]) for name, item in merged.items()}
            offset += held.rows
        return merged
