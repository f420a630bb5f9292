"""Numbers beyond the doubles: a sum that cannot overflow (:class:`ScaledSum`) and a multiplier
m·2^e (:class:`Factor`), so that aggregates and gradient factors stay exact where their
intermediate values pass the largest or smallest double."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScaledSum:
    """A sum that cannot overflow: mantissa·2**exponent.

    Sums of finite terms keep exponent 0 (the plain float sum, bit for bit) until a term or a
    partial sum would pass the largest double; then each term is brought to a common power of
    two first. A NaN or infinite term makes the sum NaN or infinite, as in a plain sum, and
    merges propagate it the same way in any order of merging.
    """

    mantissa: float = 0.0
    exponent: int = 0

    @classmethod
    def of(cls, values: np.ndarray, factors: np.ndarray | None = None) -> ScaledSum:
        """Σ values (·factors, elementwise); factors broadcast to values' shape."""
        with np.errstate(over="ignore", invalid="ignore"):
            terms = values if factors is None else values * factors
            total = np.sum(terms)
        if np.isfinite(total) or not _all_finite(values, factors):
            return cls(float(total))
        # frexp splits each term into m·2**e with |m| in [0.5, 1): terms are scaled exactly
        mantissas, exponents = np.frexp(values)
        if factors is not None:
            factor_mantissas, factor_exponents = np.frexp(np.broadcast_to(factors, np.shape(values)))
            mantissas, exponents = mantissas * factor_mantissas, exponents + factor_exponents
        top = _top_exponent(mantissas, exponents)
        return cls(float(np.sum(np.ldexp(mantissas, exponents - top))), top)._normal()

    @classmethod
    def of_squares(cls, roots: np.ndarray, factors: np.ndarray | None = None) -> ScaledSum:
        """Σ roots²·factors, exact to rounding whatever the magnitudes: roots of 1e160 (squares
        beyond the largest double) and of 1e-170 (squares below the smallest) alike."""
        mantissas, exponents = np.frexp(np.asarray(roots, dtype=np.float64))
        mantissas, exponents = mantissas * mantissas, 2 * exponents
        if factors is not None:
            factor_mantissas, factor_exponents = np.frexp(np.broadcast_to(factors, np.shape(roots)))
            mantissas, exponents = mantissas * factor_mantissas, exponents + factor_exponents
        if mantissas.size == 0:
            return cls()
        top = _top_exponent(mantissas, exponents)
        with np.errstate(invalid="ignore"):
            return cls(float(np.sum(np.ldexp(mantissas, exponents - top))), top)._normal()

    def shifted(self, exponent: int) -> ScaledSum:
        """The sum times 2^exponent, exactly."""
        return ScaledSum(self.mantissa, self.exponent + exponent)._normal() if exponent else self

    def reciprocal_times(self, numerator: float, exponent: int = 0) -> float:
        """numerator·2^exponent / this sum as a double, without over- or underflow in between."""
        mantissa, mantissa_exponent = math.frexp(self.mantissa)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return float(np.ldexp(np.divide(numerator, mantissa), exponent - mantissa_exponent - self.exponent))

    def over(self, other: ScaledSum) -> ScaledSum:
        """self / other, itself scaled: a ratio beyond the doubles (a mean square of 1e320) stays exact."""
        numerator, numerator_exponent = math.frexp(self.mantissa)
        denominator, denominator_exponent = math.frexp(other.mantissa)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(np.divide(numerator, denominator))
        return ScaledSum(ratio, numerator_exponent + self.exponent - denominator_exponent - other.exponent)._normal()

    @property
    def value(self) -> float:
        """The sum as a double (inf when it is beyond the largest double)."""
        with np.errstate(over="ignore"):
            return float(np.ldexp(self.mantissa, self.exponent))

    def __add__(self, other: ScaledSum) -> ScaledSum:
        if self.mantissa == 0 or other.mantissa == 0:  # a zero's exponent says nothing of the scale
            return other if self.mantissa == 0 else self
        top = max(self.exponent, other.exponent)
        total = math.ldexp(self.mantissa, self.exponent - top) + math.ldexp(other.mantissa, other.exponent - top)
        if math.isinf(total) and math.isfinite(self.mantissa) and math.isfinite(other.mantissa):
            # two finite parts overflow by at most a factor 2
            total = math.ldexp(self.mantissa, self.exponent - top - 1) + math.ldexp(other.mantissa,
                                                                                  other.exponent - top - 1)
            top += 1
        return ScaledSum(total, top)

    def __truediv__(self, other: ScaledSum) -> float:
        """self / other as a double, without overflow in between."""
        if self.exponent == other.exponent == 0:
            return self.mantissa / other.mantissa
        numerator, numerator_exponent = math.frexp(self.mantissa)
        denominator, denominator_exponent = math.frexp(other.mantissa)
        shift = numerator_exponent + self.exponent - denominator_exponent - other.exponent
        with np.errstate(over="ignore"):
            return float(np.ldexp(numerator / denominator, shift))

    def times(self, factor: float | Factor) -> ScaledSum:
        """The sum times ``factor``, without overflow in between."""
        if isinstance(factor, Factor):
            return self.times(factor.mantissa).shifted(factor.exponent)
        if self.exponent == 0 and math.isfinite(product := self.mantissa * factor):
            return ScaledSum(product)
        factor_mantissa, factor_exponent = math.frexp(factor)
        return ScaledSum(self.mantissa * factor_mantissa, self.exponent + factor_exponent)._normal()

    def sqrt_factor(self) -> Factor:
        """√(the sum) as a :class:`Factor`, exact where the double would be subnormal."""
        mantissa, exponent = math.frexp(self.mantissa)
        exponent += self.exponent
        if exponent % 2:
            mantissa, exponent = mantissa * 2.0, exponent - 1
        with np.errstate(invalid="ignore"):
            return Factor(float(np.sqrt(mantissa)), exponent // 2)

    def sqrt(self) -> float:
        """√(the sum) as a double (NaN for a negative sum)."""
        if self.exponent == 0:
            return math.sqrt(self.mantissa) if self.mantissa >= 0 else math.nan
        half, odd = divmod(self.exponent, 2)
        with np.errstate(invalid="ignore"):
            return float(np.ldexp(np.sqrt(math.ldexp(self.mantissa, odd)), half))

    def _normal(self) -> ScaledSum:
        """Exponent 0 whenever the value is an ordinary (normal) double: equal sums compare equal,
        and a sum below the normal range keeps its digits in the scaled form."""
        value = self.value
        return ScaledSum(value) if math.isfinite(value) and abs(value) >= sys.float_info.min else self


def _top_exponent(mantissas: np.ndarray, exponents: np.ndarray) -> int:
    """The largest exponent among the non-zero terms (a zero's exponent says nothing of the scale)."""
    nonzero = mantissas != 0
    return int(np.max(exponents[nonzero])) if nonzero.any() else 0


def _all_finite(values: np.ndarray, factors: np.ndarray | None) -> bool:
    return bool(np.all(np.isfinite(values))) and (factors is None or bool(np.all(np.isfinite(factors))))


@dataclass(frozen=True)
class Factor:
    """A multiplier m·2^e that may lie beyond the doubles: rmse's gradient factor 1/(2·N·RMSE) at
    residuals of 1e-311 is 2e310, though every gradient it makes is a double. value·factor is one
    rounding of the exact product wherever that is a double (scaled up before the mantissa, down
    after it). Floats, NumPy arrays and ScaledSums multiply by it."""

    mantissa: float
    exponent: int = 0

    __array_ufunc__ = None  # ndarray * factor defers to __rmul__

    @classmethod
    def of(cls, value: float | Factor) -> Factor:
        if isinstance(value, Factor):
            return value
        mantissa, exponent = math.frexp(value)
        return cls(mantissa, exponent)

    def __mul__(self, other):
        if isinstance(other, Factor):
            mantissa, exponent = math.frexp(self.mantissa * other.mantissa)
            return Factor(mantissa, exponent + self.exponent + other.exponent)
        if isinstance(other, ScaledSum):
            return other.times(self)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            if self.exponent > 0:  # up first, keeping a subnormal's digits; x·2^(e-1) overflows only if x·m·2^e does
                return np.multiply(np.ldexp(other, self.exponent - 1), 2.0 * self.mantissa)
            return np.ldexp(np.multiply(other, self.mantissa), self.exponent)

    __rmul__ = __mul__

    def __abs__(self) -> Factor:
        return Factor(abs(self.mantissa), self.exponent)

    def __float__(self) -> float:
        with np.errstate(over="ignore"):
            return float(np.ldexp(self.mantissa, self.exponent))

    def reciprocal(self) -> Factor:
        mantissa, exponent = math.frexp(1.0 / self.mantissa) if self.mantissa else (math.inf, 0)
        return Factor(mantissa, exponent - self.exponent)
