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
# What a mean divides by, given per-sample weights w and the loss's own denominators d (1 when
# absent): Σ w·d (a weighted mean; torch, scikit-learn, XGBoost, LightGBM), Σ d whatever the
# weights (Keras losses and optax: weights scale the numerator only), or Σ d over the samples
# whose weight is not zero (tf.compat.v1's SUM_BY_NONZERO_WEIGHTS).
MEAN_DIVISORS = ("weights", "count", "nonzero_weights")


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
           denominators: np.ndarray | None = None, divisor: str = "weights") -> Aggregate:
        """Aggregate of per-sample losses; ``weights`` broadcast to their shape.

        ``denominators`` d_i are what each sample adds to the mean's denominator when a loss
        defines it (torch's class-weighted mean: d_i = weight[target_i], 0 where ignored), so
        weight_total = Σ w·d; ``divisor`` (one of MEAN_DIVISORS) says how the weights enter it.
        """
        weighted_sum = np.sum(per_sample if weights is None else weights * per_sample)
        terms = divisor_terms(weights, denominators, divisor)
        weight_total = per_sample.size if terms is None else np.sum(terms)
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


def divisor_terms(weights: np.ndarray | None, denominators: np.ndarray | None,
                  divisor: str = "weights") -> np.ndarray | None:
    """What each sample adds to the mean's denominator (None: 1 each): w·d, d, or (w ≠ 0)·d."""
    if divisor not in MEAN_DIVISORS:
        raise ValueError(f"unknown mean divisor {divisor!r} (valid: {', '.join(MEAN_DIVISORS)})")
    if weights is None or divisor == "count":
        return denominators
    scale = weights if divisor == "weights" else (weights != 0).astype(np.float64)
    return scale if denominators is None else scale * denominators


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
