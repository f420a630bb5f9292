"""losscli.losses.double_double against mpmath at 50 digits: every operation to ~1e-30 relative.

Inputs are random double-doubles over many magnitudes (their low parts ~1e-17 of the high ones);
the references are the exact mpmath values of those inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from losscli.losses import double_double as dd

mp = pytest.importorskip("mpmath")

TOLERANCE = 1e-30
N = 200


def _exact(number: dd.DD, index: int):
    return mp.mpf(float(number.hi[index])) + mp.mpf(float(number.lo[index]))


def _worst(result: dd.DD, references) -> float:
    """The largest relative error of ``result`` against the mpmath ``references``."""
    with mp.workdps(50):
        return max(float(abs((_exact(result, i) - ref) / ref)) for i, ref in enumerate(references) if ref != 0)


def _numbers(rng, low=-8, high=8, positive=False) -> dd.DD:
    hi = rng.normal(size=N) * 10.0 ** rng.integers(low, high, N)
    hi = np.abs(hi) if positive else hi
    return dd.DD(*dd.two_sum(hi, hi * rng.uniform(-1e-17, 1e-17, N)))


@pytest.fixture
def pair(rng):
    return _numbers(rng), _numbers(rng)


def test_error_free_transformations_are_exact(rng):
    a, b = rng.normal(size=N) * 1e5, rng.normal(size=N) * 1e-7
    total, error = dd.two_sum(a, b)
    product, product_error = dd.two_product(a, b * 1e300)  # above the split limit too
    with mp.workdps(700):
        for i in range(N):
            assert mp.mpf(total[i]) + mp.mpf(error[i]) == mp.mpf(a[i]) + mp.mpf(b[i])
            assert mp.mpf(product[i]) + mp.mpf(product_error[i]) == mp.mpf(a[i]) * mp.mpf(b[i] * 1e300)


@pytest.mark.parametrize("operation", ["add", "sub", "mul", "div"])
def test_arithmetic(pair, operation):
    a, b = pair
    ours = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[operation]
    with mp.workdps(50):
        exact = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
                 "div": lambda x, y: x / y}[operation]
        references = [exact(_exact(a, i), _exact(b, i)) for i in range(N)]
    assert _worst(ours, references) < TOLERANCE


def test_sum_that_cancels_keeps_the_low_parts(rng):
    # (x + 1e-20) - x: float64 gives 0, a double-double the 1e-20
    x = rng.uniform(1.0, 2.0, N)
    assert np.allclose(((dd.DD(x) + 1e-20) - x).value(), 1e-20, rtol=1e-12, atol=0.0)


def test_sqrt_dot_and_total(rng):
    a = _numbers(rng, positive=True)
    with mp.workdps(50):
        assert _worst(dd.sqrt(a), [mp.sqrt(_exact(a, i)) for i in range(N)]) < TOLERANCE
    first, second = rng.normal(size=(20, 7)), rng.normal(size=(20, 7))
    with mp.workdps(50):
        references = [mp.fsum(mp.mpf(u) * mp.mpf(v) for u, v in zip(row1, row2, strict=True))
                      for row1, row2 in zip(first, second, strict=True)]
    assert _worst(dd.dot(first, second), references) < TOLERANCE


@pytest.mark.parametrize("scale", [1e-12, 1e-3, 1.0, 30.0, 700.0])
def test_exp_and_expm1(rng, scale):
    # down to e^-630 = 1e-274: below about e^-670 the low part is subnormal and carries fewer digits
    x = dd.DD(rng.uniform(-0.9, 1.0, N) * scale)
    with mp.workdps(50):
        assert _worst(dd.exp(x), [mp.exp(_exact(x, i)) for i in range(N)]) < TOLERANCE
        assert _worst(dd.expm1(x), [mp.expm1(_exact(x, i)) for i in range(N)]) < TOLERANCE


def test_exp_overflows_to_inf():
    assert dd.exp(dd.DD(np.array([710.0]))).hi[0] == np.inf


@pytest.mark.parametrize(("low", "high"), [(-300, 300), (-1, 1)])
def test_log(rng, low, high):
    a = _numbers(rng, low, high, positive=True)
    with mp.workdps(50):
        assert _worst(dd.log(a), [mp.log(_exact(a, i)) for i in range(N)]) < TOLERANCE


def test_log_near_one_and_at_the_ends_of_the_range(rng):
    a = dd.DD(np.concatenate([1.0 + rng.normal(size=N - 4) * 1e-9, [5e-324, 1e-310, 1e300, 1.7976931348623157e308]]))
    with mp.workdps(50):
        assert _worst(dd.log(a), [mp.log(_exact(a, i)) for i in range(N)]) < TOLERANCE
        z = dd.DD(rng.normal(size=N) * 1e-10)
        assert _worst(dd.log1p(z), [mp.log1p(_exact(z, i)) for i in range(N)]) < TOLERANCE


def test_times_ln2():
    k = np.arange(-1100.0, 1100.0, 11.0)
    with mp.workdps(50):
        references = [mp.mpf(v) * mp.log(2) for v in k]
    assert _worst(dd.times_ln2(k), references) < TOLERANCE
