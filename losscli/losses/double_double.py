"""Double-double arithmetic: a number as an unevaluated sum hi + lo of two float64 arrays, ~106 bits.

For the few samples where a loss is ill-conditioned in float64, the exact answer at the float inputs is
representable but float64 formulas cannot reach it: KL(y || q) at log q = fl(log y) is log's own rounding
error, Poisson's e^ŷ - y at ŷ = fl(log y) amplifies it, a loss crossing 0 cancels its terms. The losses
find those samples with a cheap float64 test and recompute only them here, to ~1e-30 relative.

Error-free transformations (Knuth's two-sum, Dekker's split and two-product; Python's math has no fma
before 3.13, numpy none) and the QD library's double-double algorithms (Hida, Li & Bailey, 2001).
Inputs are finite; products must not overflow (the callers scale by powers of two first), and a result
below ~1e-290 has a subnormal low part, so fewer digits (e^-700 to ~1e-20). Vectorized:
every function takes arrays of any matching shape.
"""

from __future__ import annotations

import numpy as np

_SPLITTER = 2.0**27 + 1.0
_SPLIT_LIMIT = 2.0**995  # above it, _SPLITTER·a would overflow: split a·2^-28 and scale back
# ln 2 in three parts, to 2^-170; the first has 32 bits, so k·LN2[0] is exact for |k| < 2^21 (Cody & Waite)
LN2 = (0.6931471803691238, 1.9082149292705877e-10, 1.1612227229362532e-26)
_REDUCTION_BITS = 10  # exp's argument is divided by 2^10 before its series
_SERIES_TERMS = 9  # |r| <= ln 2 / 2^11: r^10/10! < 1e-40


class DD:
    """hi + lo with |lo| <= ulp(hi)/2. ``__array_ufunc__ = None`` makes ``array + DD`` call DD.__radd__."""

    __array_ufunc__ = None
    __slots__ = ("hi", "lo")

    def __init__(self, hi, lo=0.0):
        self.hi, self.lo = np.broadcast_arrays(np.asarray(hi, dtype=np.float64), np.asarray(lo, dtype=np.float64))

    def __add__(self, other):
        other = _as_dd(other)
        high, error = two_sum(self.hi, other.hi)
        low, low_error = two_sum(self.lo, other.lo)
        high, error = _fast_two_sum(high, error + low)
        return DD(*_fast_two_sum(high, error + low_error))

    __radd__ = __add__

    def __neg__(self):
        return DD(-self.hi, -self.lo)

    def __sub__(self, other):
        return self + -_as_dd(other)

    def __rsub__(self, other):
        return _as_dd(other) - self

    def __mul__(self, other):
        other = _as_dd(other)
        product, error = two_product(self.hi, other.hi)
        return DD(*_fast_two_sum(product, error + (self.hi * other.lo + self.lo * other.hi)))

    __rmul__ = __mul__

    def __truediv__(self, other):
        """Long division: three quotient digits, each from the remainder of the previous ones."""
        other = _as_dd(other)
        first = self.hi / other.hi
        remainder = self - other * first
        second = remainder.hi / other.hi
        third = (remainder - other * second).hi / other.hi
        first, second = _fast_two_sum(first, second)
        return DD(first, second) + third

    def __rtruediv__(self, other):
        return _as_dd(other) / self

    def __getitem__(self, index):
        return DD(self.hi[index], self.lo[index])

    def ldexp(self, exponent):
        """self·2^exponent, exact (barring under- and overflow)."""
        return DD(np.ldexp(self.hi, exponent), np.ldexp(self.lo, exponent))

    def value(self) -> np.ndarray:
        """The nearest float64 (hi + lo rounded)."""
        return self.hi + self.lo


def _as_dd(value) -> DD:
    return value if isinstance(value, DD) else DD(value)


def where(condition, first: DD, second: DD) -> DD:
    first, second = _as_dd(first), _as_dd(second)
    return DD(np.where(condition, first.hi, second.hi), np.where(condition, first.lo, second.lo))


def two_sum(a, b):
    """(s, e) with s = fl(a + b) and s + e = a + b exactly (Knuth)."""
    total = a + b
    b_part = total - a
    return total, (a - (total - b_part)) + (b - b_part)


def _fast_two_sum(a, b):
    """two_sum for |a| >= |b| (or a = 0)."""
    total = a + b
    return total, b - (total - a)


def _split(a):
    """(high, low) halves of 26 bits each with high + low = a (Dekker), safe up to the largest float."""
    big = np.abs(a) > _SPLIT_LIMIT
    scaled = np.where(big, a * 2.0**-28, a)
    stretched = _SPLITTER * scaled
    high = stretched - (stretched - scaled)
    high = np.where(big, high * 2.0**28, high)
    return high, a - high


def two_product(a, b):
    """(p, e) with p = fl(a·b) and p + e = a·b exactly (Dekker), where a·b neither overflows nor underflows."""
    product = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(b)
    error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    return product, error


def sqrt(a: DD) -> DD:
    """√a for a >= 0: one Newton step from the float root, q + (a - q²)/(2q)."""
    root = np.sqrt(a.hi)
    safe = np.where(root > 0, root, 1.0)
    correction = (a - DD(*two_product(root, root))).hi / (2.0 * safe)
    return DD(*_fast_two_sum(root, np.where(root > 0, correction, 0.0)))


def total(terms: DD, axis: int = -1) -> DD:
    """Σ terms along ``axis``, in pairs (log₂ n double-double additions deep)."""
    hi, lo = np.moveaxis(terms.hi, axis, -1), np.moveaxis(terms.lo, axis, -1)
    while hi.shape[-1] > 1:
        if hi.shape[-1] % 2:
            pad = [(0, 0)] * (hi.ndim - 1) + [(0, 1)]
            hi, lo = np.pad(hi, pad), np.pad(lo, pad)
        summed = DD(hi[..., 0::2], lo[..., 0::2]) + DD(hi[..., 1::2], lo[..., 1::2])
        hi, lo = summed.hi, summed.lo
    return DD(hi[..., 0], lo[..., 0]) if hi.shape[-1] else DD(np.zeros(hi.shape[:-1]))


def dot(first: np.ndarray, second: np.ndarray) -> DD:
    """Σ_i first_i·second_i over the last axis, every product exact before the sum."""
    return total(DD(*two_product(first, second)))


def _reciprocal_factorials(count: int) -> list[DD]:
    """1/2!, 1/3!, ..., as double-doubles (computed once, by long division)."""
    terms, term = [], DD(1.0)
    for n in range(2, count + 1):
        term = term / float(n)
        terms.append(term)
    return terms


_RECIPROCAL_FACTORIALS = _reciprocal_factorials(_SERIES_TERMS)


def _expm1_reduced(a: DD):
    """(s, k) with e^a = 2^k·(1 + s): a - k·ln 2 divided by 2^10, its Taylor series r + r²/2! + ... (Horner), then
    e^2x - 1 = (e^x - 1)(e^x - 1 + 2) ten times; s keeps its relative accuracy as a -> 0."""
    k = np.rint(a.hi / LN2[0])
    # a.hi - k·LN2[0] is exact (Sterbenz): the rest is subtracted at the scale of the result, |r| <= 0.35
    head = DD(a.hi - k * LN2[0]) + a.lo
    reduced = (head - DD(*two_product(k, LN2[1])) - k * LN2[2]).ldexp(-_REDUCTION_BITS)
    series = _RECIPROCAL_FACTORIALS[-1]
    for coefficient in reversed(_RECIPROCAL_FACTORIALS[:-1]):
        series = series * reduced + coefficient
    series = (series * reduced + 1.0) * reduced
    for _ in range(_REDUCTION_BITS):
        series = series * (series + 2.0)
    return series, k.astype(np.int64)


def exp(a: DD) -> DD:
    """e^a (0 below about -745, inf above 709.78)."""
    with np.errstate(over="ignore", invalid="ignore"):
        series, k = _expm1_reduced(_as_dd(a))
        result = (series + 1.0).ldexp(k)
    return where(np.isinf(result.hi), DD(np.inf, 0.0), result)


def expm1(a: DD) -> DD:
    """e^a - 1, relatively accurate as a -> 0 (for |a| <= 700)."""
    series, k = _expm1_reduced(_as_dd(a))
    return where(k == 0, series, (series + 1.0).ldexp(k) - 1.0)


def log1p(z: DD) -> DD:
    """log(1 + z) for z > -1, relatively accurate as z -> 0 (for z < 1e300): from L = log1p(fl(z)), one Newton
    step L + δ with δ = (1 + z)·e^-L - 1 = expm1(-L) + z·e^-L (δ² below 2^-106 of L)."""
    z = _as_dd(z)
    start = np.log1p(z.hi)
    series, k = _expm1_reduced(DD(-start))  # e^-L = 2^k·(1 + s), |L| < 700: no overflow
    power = (series + 1.0).ldexp(k)
    delta = where(k == 0, series, power - 1.0) + z * power
    return DD(start) + delta


def log(a: DD) -> DD:
    """log a for a > 0 (subnormal included): a = m·2^e with m in [√½, √2), log a = e·ln 2 + log1p(m - 1)."""
    a = _as_dd(a)
    mantissa, exponent = np.frexp(a.hi)
    exponent = np.where(mantissa < np.sqrt(0.5), exponent - 1, exponent)
    scaled = a.ldexp(-exponent)  # m - 1 is exact (Sterbenz): log1p keeps every digit of log a near a = 1
    return times_ln2(exponent.astype(np.float64)) + log1p(scaled - 1.0)


def times_ln2(k: np.ndarray) -> DD:
    """k·ln 2 for integers |k| < 2^21, to ~2^-106 of it."""
    return DD(k * LN2[0]) + DD(*two_product(k, LN2[1])) + k * LN2[2]
