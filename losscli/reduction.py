"""Reduction of per-sample losses, in one place.

Every loss returns per-sample values; this module turns them into ``mean``, ``sum`` or
``none`` results, optionally weighted. The reduction is built on :class:`Aggregate`, a partial
aggregate (weighted sum, weight total, count) that merges associatively, so a file processed in
chunks, or spread over workers, reduces to the same value as the whole array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

REDUCTIONS = ("mean", "sum", "none")


@dataclass(frozen=True)
class Aggregate:
    """Partial sums of a set of per-sample losses ``l`` with weights ``w``.

    weighted_sum = Σ w·l, weight_total = Σ w, count = number of values. Without weights w = 1,
    so weight_total = count. The weighted mean is Σ w·l / Σ w.
    """

    weighted_sum: float = 0.0
    weight_total: float = 0.0
    count: int = 0

    @classmethod
    def of(cls, per_sample: np.ndarray, weights: np.ndarray | None = None,
           denominators: np.ndarray | None = None) -> Aggregate:
        """Aggregate of per-sample losses; ``weights`` broadcast to their shape.

        ``denominators`` d_i are what each sample adds to the mean's denominator when a loss
        defines it (torch's class-weighted mean: d_i = weight[target_i], 0 where ignored), so
        weight_total = Σ w·d.
        """
        weighted_sum = np.sum(per_sample if weights is None else weights * per_sample)
        if denominators is None:
            weight_total = per_sample.size if weights is None else np.sum(weights)
        else:
            weight_total = np.sum(denominators if weights is None else weights * denominators)
        return cls(float(weighted_sum), float(weight_total), int(per_sample.size))

    def merge(self, other: Aggregate) -> Aggregate:
        return Aggregate(self.weighted_sum + other.weighted_sum,
                         self.weight_total + other.weight_total, self.count + other.count)

    def value(self, reduction: str) -> float:
        """The reduced loss: ``mean`` = Σ w·l / Σ w, ``sum`` = Σ w·l."""
        if reduction == "sum":
            return self.weighted_sum
        if reduction == "mean":
            if self.weight_total <= 0:
                raise InputError("cannot take a mean: the sample weights sum to zero"
                                 if self.count else "cannot take a mean of zero samples")
            return self.weighted_sum / self.weight_total
        raise ValueError(f"reduction {reduction!r} has no single value")


def broadcast_weights(weights: np.ndarray | None, per_sample_shape: tuple[int, ...]) -> np.ndarray | None:
    """Sample weights of shape [N] (or the leading dims of the per-sample shape) broadcast to it.

    Weights must be finite and non-negative; a weight applies to every element of its sample
    (both columns of a two-column regression row, every token of a sequence).
    """
    if weights is None:
        return None
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.shape != per_sample_shape[: weights.ndim]:
        raise InputError(f"expected {per_sample_shape[0]} sample weights, got shape {weights.shape}",
                         input_name="weights")
    bad = np.flatnonzero(~np.isfinite(weights.ravel()) | (weights.ravel() < 0))
    if bad.size:
        row = int(np.unravel_index(bad[0], weights.shape)[0])
        raise InputError(f"expected finite, non-negative weights, got {weights.ravel()[bad[0]]}",
                         input_name="weights", row=row)
    trailing = (1,) * (len(per_sample_shape) - weights.ndim)
    return np.broadcast_to(weights.reshape(weights.shape + trailing), per_sample_shape)
