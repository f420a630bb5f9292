"""Reduction of per-sample losses, in one place.

Every loss returns per-sample values; this module turns them into ``mean``, ``sum`` or
``none`` results, optionally weighted. The reduction is built on :class:`Aggregate`, a partial
aggregate (weighted sum, weight total, count) that merges associatively, so a file processed in
chunks, or spread over workers, reduces to the same value as the whole array.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .scaled import ScaledSum

REDUCTIONS = ("mean", "sum", "none")
# What a mean divides by, given per-sample weights w and the loss's own denominators d (1 when
# absent): Σ w·d (a weighted mean; torch, scikit-learn, XGBoost, LightGBM), Σ d whatever the
# weights (Keras losses and optax: weights scale the numerator only), or Σ d over the samples
# whose weight is not zero (tf.compat.v1's SUM_BY_NONZERO_WEIGHTS).
MEAN_DIVISORS = ("weights", "count", "nonzero_weights")
# How a mean treats several outputs (per-sample values [N, D]): one mean over every value
# ("pooled"), or the mean over columns of each column's reduced value ("uniform_average",
# scikit-learn's multioutput default). They differ only for a transformed mean (rmse: the mean
# of per-column roots is not the root of the pooled mean).
MULTIOUTPUTS = ("pooled", "uniform_average")


@dataclass(frozen=True)
class Aggregate:
    """Partial sums of a set of per-sample losses ``l`` with weights ``w``.

    weighted_sum = Σ w·l, weight_total = Σ w, count = number of values. Without weights w = 1,
    so weight_total = count. The weighted mean is Σ w·l / Σ w. Both sums are
    :class:`ScaledSum` s: weights of 1e308 give the right mean, not inf/inf or 0.
    columns: for multioutput "uniform_average", the aggregate of each output column (empty
    otherwise, and for a single output); they merge column by column.
    """

    scaled_sum: ScaledSum = ScaledSum()
    scaled_total: ScaledSum = ScaledSum()
    count: int = 0
    columns: tuple[Aggregate, ...] = ()

    @classmethod
    def of(cls, per_sample: np.ndarray, weights: np.ndarray | None = None,
           denominators: np.ndarray | None = None, divisor: str = "weights",
           roots: np.ndarray | None = None, multioutput: str = "pooled") -> Aggregate:
        """Aggregate of per-sample losses; ``weights`` broadcast to their shape.

        ``denominators`` d_i are what each sample adds to the mean's denominator when a loss
        defines it (torch's class-weighted mean: d_i = weight[target_i], 0 where ignored), so
        weight_total = Σ w·d; ``divisor`` (one of MEAN_DIVISORS) says how the weights enter it.
        ``roots``: for losses that are squares (ℓ_i = roots_i²), Σ w·ℓ is taken from the roots,
        exact where the squares over- or underflow. ``multioutput`` (one of MULTIOUTPUTS):
        "uniform_average" also keeps one aggregate per column of 2-D per-sample values.
        """
        if multioutput not in MULTIOUTPUTS:
            raise ValueError(f"unknown multioutput {multioutput!r} (valid: {', '.join(MULTIOUTPUTS)})")
        columns = ()
        if multioutput == "uniform_average" and per_sample.ndim == 2 and per_sample.shape[1] > 1:
            columns = tuple(cls.of(*(None if part is None else part[:, j]
                                     for part in (per_sample, weights, denominators)), divisor,
                                   None if roots is None else roots[:, j]) for j in range(per_sample.shape[1]))
        factors = divisor_factors(weights, divisor)
        if denominators is None:
            total = ScaledSum(float(per_sample.size)) if factors is None else ScaledSum.of(factors)
        else:
            total = ScaledSum.of(denominators, factors)
        weighted = ScaledSum.of(per_sample, weights) if roots is None else ScaledSum.of_squares(roots, weights)
        return cls(weighted, total, int(per_sample.size), columns)

    @property
    def weighted_sum(self) -> float:
        return self.scaled_sum.value

    @property
    def weight_total(self) -> float:
        return self.scaled_total.value

    def rescaled(self, exponent: int, divisor: str = "weights") -> Aggregate:
        """The aggregate of weights·2^exponent (exact): Σw·ℓ scales, and Σw·d when the mean
        divides by the weights."""
        if exponent == 0:
            return self
        total = self.scaled_total.shifted(exponent) if divisor == "weights" else self.scaled_total
        return Aggregate(self.scaled_sum.shifted(exponent), total, self.count,
                         tuple(column.rescaled(exponent, divisor) for column in self.columns))

    def merge(self, other: Aggregate) -> Aggregate:
        if self.columns and other.columns and len(self.columns) != len(other.columns):
            raise InputError(f"{len(self.columns)} output columns, then {len(other.columns)}")
        columns = (tuple(mine.merge(theirs) for mine, theirs in zip(self.columns, other.columns, strict=True))
                   if self.columns and other.columns else self.columns or other.columns)
        return Aggregate(self.scaled_sum + other.scaled_sum, self.scaled_total + other.scaled_total,
                         self.count + other.count, columns)

    def value(self, reduction: str) -> float:
        """The reduced loss: ``mean`` = Σ w·l / Σ w, ``sum`` = Σ w·l."""
        if reduction == "sum":
            return self.weighted_sum
        self._check_mean(reduction)
        return self.scaled_sum / self.scaled_total

    def scaled_value(self, reduction: str) -> ScaledSum:
        """The reduced loss as a :class:`ScaledSum` (for a transform that takes one: rmse's root
        of a mean square beyond the doubles)."""
        if reduction == "sum":
            return self.scaled_sum
        self._check_mean(reduction)
        return self.scaled_sum.over(self.scaled_total)

    def _check_mean(self, reduction: str) -> None:
        if reduction != "mean":
            raise ValueError(f"reduction {reduction!r} has no single value")
        if self.scaled_total.mantissa <= 0:
            raise InputError("cannot take a mean: the sample weights sum to zero"
                             if self.count else "cannot take a mean of zero samples")


# Weights in [2^-256, 2^256] are used as given; beyond, they are scaled by a power of two
# (exactly) so that w·∂ℓ neither overflows nor underflows (see :func:`weight_exponent`).
WEIGHT_RANGE = 2.0**256


def weight_exponent(weights: np.ndarray | None) -> int:
    """E such that weights·2^-E have their largest value in [1, 2): 0 for ordinary weights
    (results bit for bit as without scaling); weights of 1e308 give w·2^-E ≈ 1, so w·∂ℓ stays
    finite, and 2^E itself is a double."""
    if weights is None:
        return 0
    with np.errstate(invalid="ignore"):
        top = float(np.max(np.abs(weights), initial=0.0))
    if not math.isfinite(top) or top == 0.0 or 1.0 / WEIGHT_RANGE <= top <= WEIGHT_RANGE:
        return 0
    return math.frexp(top)[1] - 1


# Lifted weighted gradients stay below 2^LIFT_CEILING: room for the sums of their squares.
LIFT_CEILING = 1000


def gradient_lift(gradients: Mapping[str, np.ndarray], weights: np.ndarray, factor_exponent: int) -> int:
    """L for the weighted gradients w·∂ℓ that a factor F = m·2^f (f = factor_exponent, m in
    [0.5, 1)) turns into the gradient: L = f, so that w·∂ℓ·2^L lies within a factor 2 of the
    gradient itself and keeps every bit it has. w·∂ℓ alone rounds to the subnormal grid
    below 2^-1022, where an F above 1 may make a normal double of it (rmse's 1/(Σw·RMSE) at
    residuals of 1e-311, a perplexity's e^mean). 0 when F < 2 (what is subnormal stays within a
    bit of it: a sum's F of 1 takes no lift), and at most what keeps the largest |w·∂ℓ|·2^L
    below 2^LIFT_CEILING."""
    if factor_exponent <= 1:
        return 0
    top_gradient = max((_largest_finite(gradient) for gradient in gradients.values()), default=0.0)
    (gradient_mantissa, gradient_power), (weight_mantissa, weight_power) = (
        math.frexp(top_gradient), math.frexp(_largest_finite(weights)))
    power = gradient_power + weight_power + math.frexp(gradient_mantissa * weight_mantissa)[1]  # of the product
    return max(0, min(factor_exponent, LIFT_CEILING - power))


def _largest_finite(values: np.ndarray) -> float:
    if values.size == 0:
        return 0.0
    top = max(-float(np.min(values)), float(np.max(values)))  # no |values| array: two passes, no copy
    return top if math.isfinite(top) else float(np.max(np.abs(values[np.isfinite(values)]), initial=0.0))


def divisor_factors(weights: np.ndarray | None, divisor: str = "weights") -> np.ndarray | None:
    """What multiplies each sample's denominator d in the mean's divisor (None: 1): w, nothing
    (count), or (w ≠ 0)."""
    if divisor not in MEAN_DIVISORS:
        raise ValueError(f"unknown mean divisor {divisor!r} (valid: {', '.join(MEAN_DIVISORS)})")
    if weights is None or divisor == "count":
        return None
    return weights if divisor == "weights" else (weights != 0).astype(np.float64)


def divisor_terms(weights: np.ndarray | None, denominators: np.ndarray | None,
                  divisor: str = "weights") -> np.ndarray | None:
    """What each sample adds to the mean's denominator (None: 1 each): w·d, d, or (w ≠ 0)·d."""
    factors = divisor_factors(weights, divisor)
    if factors is None or denominators is None:
        return denominators if factors is None else factors
    with np.errstate(over="ignore"):  # an overflowing product is recomputed by Aggregate.of
        return factors * denominators


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
