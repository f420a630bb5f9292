"""smooth_l1, log_cosh and quantile (losscli/losses/robust.py): hand values, identities, switch points.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from loss_cases import compute_quietly, sample

from losscli import ParameterError, compute

LN2, LN3 = math.log(2.0), math.log(3.0)


def test_smooth_l1_by_hand():
    # beta 1: |r| = 0.5 -> ½·0.25/1 = 0.125;  |r| = 3 -> 3 - 0.5 = 2.5;  mean 1.3125
    assert compute("smooth_l1", [0.5, -3.0], [0.0, 0.0]).value == 1.3125
    # beta 2: |r| = 1 -> ½·1/2 = 0.25;  |r| = 3 -> 3 - 1 = 2;  gradients r/β = 0.5 and sign = 1, /N
    result = compute("smooth_l1", [1.0, 3.0], [0.0, 0.0], params={"beta": 2.0})
    assert result.value == 1.125
    np.testing.assert_array_equal(result.gradients["pred"], [0.25, 0.5])


@pytest.mark.parametrize("delta", [0.05, 0.5, 1.0, 2.5, 10.0])
def test_huber_is_delta_times_smooth_l1(delta):
    # torch's documentation of HuberLoss: huber(δ) = δ·smooth_l1(β = δ)
    inputs, _ = sample("huber", 5, {"delta": delta}, rows=32)
    huber = compute("huber", inputs, params={"delta": delta})
    smooth = compute("smooth_l1", inputs, params={"beta": delta})
    assert huber.value == pytest.approx(delta * smooth.value, rel=1e-14)
    np.testing.assert_allclose(huber.gradients["pred"], delta * smooth.gradients["pred"], rtol=1e-14)


def test_smooth_l1_beta_must_be_positive():
    with pytest.raises(ParameterError, match="beta must be > 0, got 0"):
        compute("smooth_l1", [1.0], [0.0], params={"beta": 0.0})


def test_log_cosh_by_hand():
    # cosh(ln 3) = (3 + 1/3)/2 = 5/3;  cosh(0) = 1
    result = compute("log_cosh", [LN3, 0.0], [0.0, 0.0])
    assert result.value == pytest.approx(math.log(5 / 3) / 2, rel=1e-15)
    # tanh(ln 3) = (3 - 1/3)/(3 + 1/3) = 0.8, /N
    np.testing.assert_allclose(result.gradients["pred"], [0.4, 0.0], rtol=1e-15)


@pytest.mark.parametrize("residual", [1e-8, 1e-4, 1e-2])
def test_log_cosh_is_half_square_for_small_residuals(residual):
    # log cosh r = r²/2 - r⁴/12 + r⁶/45 - ...: fully accurate, not 1e-16 absolute noise on a 5e-17 value
    value = compute("log_cosh", [residual], [0.0]).value
    assert value == pytest.approx(residual**2 / 2 - residual**4 / 12 + residual**6 / 45, rel=1e-14)


@pytest.mark.parametrize("residual", [25.0, 50.0, 800.0, 1e6, -1e6])
def test_log_cosh_is_abs_minus_log2_for_large_residuals(residual):
    # log cosh r = |r| - ln 2 + ln(1 + e^(-2|r|)); the last term is below 1e-21 here. cosh(800) overflows.
    result = compute_quietly("log_cosh", [residual], [0.0])
    assert result.value == pytest.approx(abs(residual) - LN2, rel=1e-15)
    assert result.gradients["pred"][0] == math.copysign(1.0, residual)


def test_log_cosh_is_continuous_at_its_switch():
    # the two formulas meet at |r| = 20: neighbours across it differ by slope·step, tanh(20) ≈ 1
    below, above = np.nextafter(20.0, 0.0), 20.0
    values = compute("log_cosh", [below, above], [0.0, 0.0], reduction="none").value
    assert values[1] - values[0] == pytest.approx(above - below, rel=1e-3)


@pytest.mark.parametrize(("pred", "alpha", "expected"), [
    # scikit-learn docs, mean_pinball_loss with y_true = [1, 2, 3]; r = y - ŷ
    ([0.0, 2.0, 3.0], 0.1, 0.1 / 3),   # r = 1 >= 0: α·1 = 0.1, over 3 elements ("0.03...")
    ([1.0, 2.0, 4.0], 0.1, 0.9 / 3),   # r = -1 < 0: (α - 1)·(-1) = 0.9 ("0.3...")
    ([0.0, 2.0, 3.0], 0.9, 0.9 / 3),   # "0.3..."
    ([1.0, 2.0, 4.0], 0.9, 0.1 / 3),   # "0.03..."
    ([1.0, 2.0, 3.0], 0.1, 0.0),       # a perfect prediction
])
def test_quantile_scikit_learn_examples(pred, alpha, expected):
    assert compute("quantile", pred, [1.0, 2.0, 3.0], params={"alpha": alpha}).value == pytest.approx(expected,
                                                                                                       rel=1e-15)


def test_quantile_gradient_by_hand():
    # α = 0.9: under-prediction (y > ŷ) -> -α, over-prediction -> 1 - α, exact -> 0; /N = 3
    result = compute("quantile", [0.0, 4.0, 2.0], [1.0, 3.0, 2.0], params={"alpha": 0.9})
    np.testing.assert_allclose(result.gradients["pred"], [-0.3, 0.1 / 3, 0.0], rtol=1e-15)


def test_quantile_at_one_half_is_half_mae():
    # scikit-learn's user guide: pinball loss with alpha = 0.5 is half the mean absolute error
    inputs, _ = sample("mae", 6, rows=32)
    quantile = compute("quantile", inputs, params={"alpha": 0.5})
    mae = compute("mae", inputs)
    assert quantile.value == pytest.approx(0.5 * mae.value, rel=1e-15)
    np.testing.assert_allclose(quantile.gradients["pred"], 0.5 * mae.gradients["pred"], rtol=1e-15)


def test_quantile_alpha_range():
    for alpha in (0.0, 1.0):  # allowed, as scikit-learn's Interval(0, 1, closed="both")
        compute("quantile", [1.0], [2.0], params={"alpha": alpha})
    with pytest.raises(ParameterError, match="alpha must be >= 0 and <= 1, got 1.5"):
        compute("quantile", [1.0], [2.0], params={"alpha": 1.5})
