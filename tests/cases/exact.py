"""50-digit arithmetic (mpmath) for the exact references, and its conversions from float64.

Every reference takes the float64 inputs exactly (``to_mp``) and computes in ``DIGITS`` decimal
digits with mpmath's unbounded exponent, so e^-10000 or 10^320 are ordinary numbers. Formulas are
the textbook ones; where a textbook form would cancel *completely* even at 50 digits (1 - σ(x) at
x = 1e4, 1 - softmax_y when class y dominates) the reference uses the algebraically equal form
without the subtraction (σ(-x), Σ_{c≠y} p_c). tests/test_accuracy.py re-evaluates every extreme
case at twice the digits, so a reference that loses its digits anywhere else is caught.

mpmath is imported lazily: the naive references and the rest of the suite do not need it.
"""

from __future__ import annotations

import functools
import importlib
from collections import Counter

import numpy as np

DIGITS = 50


def mpmath():
    """The mpmath module (imported on first use)."""
    return importlib.import_module("mpmath")


def to_mp(value):
    """A float64 array or number as mpf numbers (nested lists for arrays), exactly."""
    if np.ndim(value) == 0:
        return _exactly(float(value))
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 1:
        return [_exactly(item) for item in array.tolist()]
    return [to_mp(item) for item in array]


@functools.lru_cache(maxsize=4096)
def _exactly(number: float):
    return mpmath().mpf(number)  # exact at any working precision: a float64 has 53 bits


def sign(value):
    return (value > 0) - (value < 0)


def sigmoid(x):
    """1 / (1 + e^-x): no cancellation at any x in mpmath's unbounded exponent range."""
    return 1 / (1 + mpmath().exp(-x))


def log_sigmoid(x):
    return -mpmath().log1p(mpmath().exp(-x))


class Softmax:
    """softmax of one row of scores, with each entry's log and complement 1 - p_c free of cancellation.

    m = max z, rest = Σ_{c≠argmax} e^(z_c - m):  log p_c = (z_c - m) - log1p(rest), and at the argmax
    1 - p = rest / (1 + rest). Repeated scores share one exponential (a vocabulary of 50,000).
    """

    def __init__(self, scores):
        mp = mpmath()
        self.scores = list(scores)
        top = max(self.scores)
        self.argmax = self.scores.index(top)
        exps = {value: mp.exp(value - top) for value in set(self.scores)}
        counts = Counter(self.scores)
        counts[top] -= 1  # the argmax itself is the 1 in 1 + rest
        self.rest = mp.fsum(count * exps[value] for value, count in counts.items() if count)
        self.log_normaliser = mp.log1p(self.rest)
        self.top, self._exps = top, exps

    def log_prob(self, c):
        return (self.scores[c] - self.top) - self.log_normaliser

    def prob(self, c):
        return self._exps[self.scores[c]] / (1 + self.rest)

    def complement(self, c):
        """1 - p_c."""
        return self.rest / (1 + self.rest) if c == self.argmax else 1 - self.prob(c)

    def minus_onehot(self, c, target):
        """p_c - [c = target], written as -(1 - p_c) at the target."""
        return -self.complement(c) if c == target else self.prob(c)


def dot(first, second):
    return mpmath().fsum(a * b for a, b in zip(first, second, strict=True))


def norm(vector):
    return mpmath().sqrt(dot(vector, vector))


def flat(nested) -> list:
    """Every number of a nested list (or array of mpf numbers), in order."""
    if isinstance(nested, np.ndarray):
        nested = nested.tolist()
    if isinstance(nested, list):
        return [item for part in nested for item in flat(part)]
    return [nested]
