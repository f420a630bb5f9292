"""Issue 6's regression and likelihood losses: hand values with their provenance, identities,
domains, stability at extreme inputs, and gradients under non-default parameters.

The generic tests (tests/test_losses.py, test_gradients.py, test_properties.py) cover these losses
through the registry and tests/reference_regression_more.py; this module holds what is specific to
each. "scikit-learn docs" below means the Examples section of that function's docstring.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_gradients import check_all_inputs

from losscli import InputError, ParameterError, compute, get_loss
from losscli.checking import gradcheck
from losscli.spec import Domain

LN2, LN3 = math.log(2.0), math.log(3.0)


def _sample(name, seed, params=None, rows=8):
    spec = get_loss(name)
    resolved = spec.resolve_params(params)
    return spec.sample(np.random.default_rng(seed), rows, resolved), resolved


def _quietly(*args, **kwargs):
    """compute() with every warning (numpy's overflow, divide and invalid included) turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return compute(*args, **kwargs)


# --- rmse -----------------------------------------------------------------------------------

SK_TRUE, SK_PRED = [3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]  # scikit-learn's regression examples


def test_rmse_scikit_learn_example():
    # scikit-learn docs, mean_squared_error(..., squared=False) = 0.612...: residuals -0.5, 0.5, 0, 1
    # -> mean square (0.25 + 0.25 + 0 + 1) / 4 = 0.375
    result = compute("rmse", SK_PRED, SK_TRUE)
    assert result.value == pytest.approx(math.sqrt(0.375), rel=1e-15)
    assert f"{result.value:.3f}" == "0.612"
    # chain rule: r_i / (N·RMSE)
    np.testing.assert_allclose(result.gradients["pred"], np.array([-0.5, 0.5, 0.0, 1.0]) / (4 * math.sqrt(0.375)),
                               rtol=1e-15)


def test_rmse_none_is_the_absolute_error_per_element():
    result = compute("rmse", SK_PRED, SK_TRUE, reduction="none")
    np.testing.assert_array_equal(result.value, [0.5, 0.5, 0.0, 1.0])
    # d|r|/dŷ = sign(r), 0 at r = 0 (not 0/0)
    np.testing.assert_array_equal(result.gradients["pred"], [-1.0, 1.0, 0.0, 1.0])


def test_rmse_of_a_perfect_prediction_has_zero_gradient():
    result = _quietly("rmse", [1.0, 2.0], [1.0, 2.0])
    assert result.value == 0.0
    np.testing.assert_array_equal(result.gradients["pred"], [0.0, 0.0])


def test_rmse_is_sqrt_of_mse_also_weighted():
    inputs, _ = _sample("mse", 3, rows=16)
    weights = np.random.default_rng(4).uniform(0.1, 2.0, 16)
    for w in (None, weights):
        rmse = compute("rmse", inputs, weights=w)
        mse = compute("mse", inputs, weights=w)
        assert rmse.value == pytest.approx(math.sqrt(mse.value), rel=1e-15)
        # d sqrt(L) = dL / (2 sqrt L)
        np.testing.assert_allclose(rmse.gradients["pred"], mse.gradients["pred"] / (2 * rmse.value), rtol=1e-14)


def test_rmse_has_no_sum():
    with pytest.raises(ParameterError, match="rmse supports reductions mean, none, not 'sum'"):
        compute("rmse", [1.0], [0.0], reduction="sum")


# --- smooth_l1 ------------------------------------------------------------------------------

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
    inputs, _ = _sample("huber", 5, {"delta": delta}, rows=32)
    huber = compute("huber", inputs, params={"delta": delta})
    smooth = compute("smooth_l1", inputs, params={"beta": delta})
    assert huber.value == pytest.approx(delta * smooth.value, rel=1e-14)
    np.testing.assert_allclose(huber.gradients["pred"], delta * smooth.gradients["pred"], rtol=1e-14)


def test_smooth_l1_beta_must_be_positive():
    with pytest.raises(ParameterError, match="beta must be > 0, got 0"):
        compute("smooth_l1", [1.0], [0.0], params={"beta": 0.0})


# --- log_cosh -------------------------------------------------------------------------------

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
    result = _quietly("log_cosh", [residual], [0.0])
    assert result.value == pytest.approx(abs(residual) - LN2, rel=1e-15)
    assert result.gradients["pred"][0] == math.copysign(1.0, residual)


def test_log_cosh_is_continuous_at_its_switch():
    # the two formulas meet at |r| = 20: neighbours across it differ by slope·step, tanh(20) ≈ 1
    below, above = np.nextafter(20.0, 0.0), 20.0
    values = compute("log_cosh", [below, above], [0.0, 0.0], reduction="none").value
    assert values[1] - values[0] == pytest.approx(above - below, rel=1e-3)


# --- quantile -------------------------------------------------------------------------------

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
    inputs, _ = _sample("mae", 6, rows=32)
    quantile = compute("quantile", inputs, params={"alpha": 0.5})
    mae = compute("mae", inputs)
    assert quantile.value == pytest.approx(0.5 * mae.value, rel=1e-15)
    np.testing.assert_allclose(quantile.gradients["pred"], 0.5 * mae.gradients["pred"], rtol=1e-15)


def test_quantile_alpha_range():
    for alpha in (0.0, 1.0):  # allowed, as scikit-learn's Interval(0, 1, closed="both")
        compute("quantile", [1.0], [2.0], params={"alpha": alpha})
    with pytest.raises(ParameterError, match="alpha must be >= 0 and <= 1, got 1.5"):
        compute("quantile", [1.0], [2.0], params={"alpha": 1.5})


# --- msle -----------------------------------------------------------------------------------

def test_msle_scikit_learn_examples():
    # scikit-learn docs: y_true [3, 5, 2.5, 7], y_pred [2.5, 5, 4, 8] -> 0.039...
    # by hand: (ln(3.5/4))² + 0 + (ln(5/3.5))² + (ln(9/8))², over 4
    value = compute("msle", [2.5, 5.0, 4.0, 8.0], [3.0, 5.0, 2.5, 7.0]).value
    expected = (math.log(3.5 / 4) ** 2 + math.log(5 / 3.5) ** 2 + math.log(9 / 8) ** 2) / 4
    assert value == pytest.approx(expected, rel=1e-14)
    assert f"{value:.3f}" == "0.040" and str(value).startswith("0.039")
    # two outputs: 0.044... overall, raw_values [0.00462428, 0.08377444] per column
    result = compute("msle", [[0.5, 2], [1, 2.5], [8, 8]], [[0.5, 1], [1, 2], [7, 6]], reduction="none")
    np.testing.assert_allclose(result.value.mean(axis=0), [0.00462428, 0.08377444], atol=5e-9)
    assert str(result.value.mean()).startswith("0.044")


def test_msle_gradient_by_hand():
    # ŷ = e - 1, y = 0: 2(1 - 0)/e
    result = compute("msle", [math.e - 1.0], [0.0])
    assert result.value == pytest.approx(1.0, rel=1e-15)
    assert result.gradients["pred"][0] == pytest.approx(2.0 / math.e, rel=1e-15)


def test_msle_accepts_values_above_minus_one_only():
    # > -1, as scikit-learn >= 1.5: log1p(-0.5) = -ln 2
    assert compute("msle", [-0.5], [0.0]).value == pytest.approx(LN2**2, rel=1e-15)
    with pytest.raises(InputError, match="expected values > -1, got -1") as error:
        compute("msle", [0.5, 1.0], [2.0, -1.0])
    assert (error.value.input_name, error.value.row) == ("target", 1)
    with pytest.raises(InputError, match="expected values > -1, got -3"):
        compute("msle", [-3.0], [2.0])


# --- mape -----------------------------------------------------------------------------------

def test_mape_scikit_learn_examples():
    # scikit-learn docs: 0.3273...; by hand (0.5/3 + 0.5/0.5 + 0/2 + 1/7)/4 = 55/168
    assert compute("mape", SK_PRED, SK_TRUE).value == pytest.approx(55 / 168, rel=1e-15)
    # two outputs: 0.5515...; by hand (1 + 1 + 0 + 1 + 1/7 + 1/6)/6
    value = compute("mape", [[0, 2], [-1, 2], [8, -5]], [[0.5, 1], [-1, 1], [7, -6]]).value
    assert value == pytest.approx((3 + 1 / 7 + 1 / 6) / 6, rel=1e-15)
    # a zero target divides by float64's eps: scikit-learn docs print 112589990684262.48
    value = compute("mape", [1.2, 0.1, 2.4, 8.0], [1.0, 0.0, 2.4, 7.0]).value
    assert value == pytest.approx(112589990684262.48, rel=1e-15)


def test_mape_is_a_fraction_and_its_gradient():
    # 110 predicted for 100: 10 % -> 0.1 (not 10); gradient sign(ŷ - y)/|y| = 1/100; y < 0 uses |y|
    result = compute("mape", [110.0, -90.0], [100.0, -100.0])
    assert result.value == pytest.approx(0.1, rel=1e-15)
    np.testing.assert_allclose(result.gradients["pred"], [0.005, 0.005], rtol=1e-15)


# --- poisson_nll ----------------------------------------------------------------------------

def test_poisson_nll_log_input_by_hand():
    # log-rate 0, y = 2: e⁰ - 2·0 = 1;  log-rate ln 2, y = 3: 2 - 3 ln 2
    result = compute("poisson_nll", [0.0, LN2], [2.0, 3.0])
    assert result.value == pytest.approx((1.0 + 2.0 - 3 * LN2) / 2, rel=1e-15)
    # exp(ŷ) - y: -1 and -1, /N
    np.testing.assert_allclose(result.gradients["pred"], [-0.5, -0.5], rtol=1e-15)


def test_poisson_nll_rate_input_by_hand():
    # rate 2, y = 3: 2 - 3·ln(2 + 1e-8);  gradient 1 - 3/(2 + 1e-8)
    result = compute("poisson_nll", [2.0], [3.0], params={"log_input": False})
    assert result.value == pytest.approx(2.0 - 3.0 * math.log(2.0 + 1e-8), rel=1e-15)
    assert result.gradients["pred"][0] == pytest.approx(1.0 - 3.0 / (2.0 + 1e-8), rel=1e-15)


def test_poisson_nll_full_adds_stirling_for_targets_above_one():
    # y = 3: + 3 ln 3 - 3 + ½ ln(6π);  y = 1 and y = 0: + 0 (torch masks y <= 1)
    plain = compute("poisson_nll", [0.5, 0.5, 0.5], [3.0, 1.0, 0.0], reduction="none").value
    full = compute("poisson_nll", [0.5, 0.5, 0.5], [3.0, 1.0, 0.0], params={"full": True}, reduction="none").value
    np.testing.assert_allclose(full - plain, [3 * LN3 - 3 + 0.5 * math.log(6 * math.pi), 0.0, 0.0], rtol=1e-14)
    # Stirling is close to the truth: log 3! = ln 6 ≈ 1.792, the approximation 1.764 (1.5 % low)
    assert 3 * LN3 - 3 + 0.5 * math.log(6 * math.pi) == pytest.approx(math.log(6.0), rel=0.02)


def test_poisson_nll_at_log_rates_of_700():
    # e^700 ≈ 1.01e304 is finite; e^-700 ≈ 1e-304 does not underflow to a warning
    result = _quietly("poisson_nll", [700.0, -700.0], [1.0, 5.0], params={"full": True}, reduction="none")
    stirling_5 = 5 * math.log(5) - 5 + 0.5 * math.log(10 * math.pi)
    np.testing.assert_allclose(result.value, [math.exp(700) - 700, math.exp(-700) + 3500 + stirling_5], rtol=1e-15)
    np.testing.assert_allclose(result.gradients["pred"], [math.exp(700) - 1, math.exp(-700) - 5], rtol=1e-15)


def test_poisson_nll_beyond_exp_range_is_inf_without_warning():
    # a log-rate of 710 is a rate beyond float64: the honest loss is inf
    result = _quietly("poisson_nll", [710.0], [1.0])
    assert result.value == math.inf


def test_poisson_nll_domains():
    with pytest.raises(InputError, match="expected values >= 0, got -1") as error:
        compute("poisson_nll", [0.0, 0.0], [2.0, -1.0])
    assert (error.value.input_name, error.value.row) == ("target", 1)
    with pytest.raises(InputError, match=r"expected rates >= 0 \(log_input is false\), got -0.5") as error:
        compute("poisson_nll", [1.0, -0.5], [1.0, 1.0], params={"log_input": False})
    assert (error.value.input_name, error.value.row) == ("pred", 1)
    # a negative log-rate is fine
    compute("poisson_nll", [-0.5], [1.0])


def test_poisson_nll_bool_parameters_from_strings():
    assert get_loss("poisson_nll").resolve_params({"log_input": "false", "full": "yes"}) == {
        "log_input": False, "full": True, "eps": 1e-8}
    with pytest.raises(ParameterError, match="log_input expects true or false"):
        get_loss("poisson_nll").resolve_params({"log_input": "maybe"})


# --- gaussian_nll ---------------------------------------------------------------------------

def test_gaussian_nll_by_hand():
    # ŷ = 1, y = 3, σ² = 2: ½(ln 2 + 4/2);  ∂/∂ŷ = -2/2 = -1;  ∂/∂σ² = ½(1/2 - 4/4) = -0.25
    result = compute("gaussian_nll", [1.0], [3.0], [2.0])
    assert result.value == pytest.approx(0.5 * (LN2 + 2.0), rel=1e-15)
    assert result.gradients["pred"][0] == -1.0
    assert result.gradients["var"][0] == -0.25
    # full adds ½ ln 2π: the exact normal log-density
    full = compute("gaussian_nll", [1.0], [3.0], [2.0], params={"full": True}).value
    density = math.exp(-((3.0 - 1.0) ** 2) / (2 * 2.0)) / math.sqrt(2 * math.pi * 2.0)
    assert full == pytest.approx(-math.log(density), rel=1e-15)


def test_gaussian_nll_variance_at_the_residual_square_is_optimal():
    # ∂/∂σ² = 0 at σ² = (ŷ - y)²: the loss is minimised by an honest variance
    result = compute("gaussian_nll", [1.0], [3.0], [4.0])
    assert result.gradients["var"][0] == 0.0


def test_gaussian_nll_clamps_small_variances_with_zero_gradient():
    # σ² = 0 and 1e-9 are clamped to eps = 1e-6: ½(ln 1e-6 + 1/1e-6); the clamped loss is flat in σ²
    result = _quietly("gaussian_nll", [1.0, 1.0], [0.0, 0.0], [0.0, 1e-9], reduction="none")
    np.testing.assert_allclose(result.value, 0.5 * (math.log(1e-6) + 1e6), rtol=1e-15)
    np.testing.assert_array_equal(result.gradients["var"], [0.0, 0.0])
    np.testing.assert_allclose(result.gradients["pred"], [1e6, 1e6], rtol=1e-15)


def test_gaussian_nll_domains_and_shapes():
    with pytest.raises(InputError, match="expected values >= 0, got -0.1") as error:
        compute("gaussian_nll", [0.0, 0.0], [1.0, 1.0], [1.0, -0.1])
    assert (error.value.input_name, error.value.row) == ("var", 1)
    # one variance per row against two columns (torch's homoscedastic broadcasting) is not supported
    with pytest.raises(InputError, match="var"):
        compute("gaussian_nll", np.zeros((3, 2)), np.zeros((3, 2)), np.ones(3))


def test_gaussian_nll_at_residuals_of_1e6():
    result = _quietly("gaussian_nll", [1e6, -1e6], [0.0, 0.0], [1.0, 1e4], reduction="none")
    np.testing.assert_allclose(result.value, [0.5e12, 0.5 * (math.log(1e4) + 1e8)], rtol=1e-15)
    np.testing.assert_allclose(result.gradients["var"], [0.5 * (1 - 1e12), 0.5 * (1e-4 - 1e4)], rtol=1e-15)


# --- tweedie --------------------------------------------------------------------------------

def test_tweedie_power_1_is_twice_the_poisson_deviance_by_hand():
    # scikit-learn docs: y [2, 0, 1, 4], ŷ [0.5, 0.5, 2, 2] -> 1.4260...; by hand 2(y ln(y/ŷ) - y + ŷ):
    # 2(2 ln 4 - 1.5), 2·0.5 (0·ln 0 = 0), 2(ln ½ + 1), 2(4 ln 2 - 2)
    value = compute("tweedie", [0.5, 0.5, 2.0, 2.0], [2.0, 0.0, 1.0, 4.0], params={"power": 1}).value
    expected = (2 * (4 * LN2 - 1.5) + 1.0 + 2 * (1 - LN2) + 2 * (4 * LN2 - 2)) / 4
    assert value == pytest.approx(expected, rel=1e-15)
    assert str(value).startswith("1.4260")


def test_tweedie_power_1_is_twice_the_poisson_nll_gap_to_the_saturated_model():
    # deviance = 2·(NLL(ŷ) - NLL(ŷ = y)), with poisson_nll on rates
    inputs, _ = _sample("tweedie", 7, {"power": 1.0}, rows=16)
    pred, target = inputs["pred"], inputs["target"]
    params = {"log_input": False, "eps": 1e-300}
    nll = compute("poisson_nll", pred, target, params=params, reduction="none").value
    saturated = compute("poisson_nll", target, target, params=params, reduction="none").value
    deviance = compute("tweedie", pred, target, params={"power": 1.0}, reduction="none")
    np.testing.assert_allclose(deviance.value, 2 * (nll - saturated), rtol=1e-12, atol=1e-14)


def test_tweedie_power_2_gamma_examples():
    # scikit-learn docs, mean_gamma_deviance: y [2, 0.5, 1, 4], ŷ [0.5, 0.5, 2, 2] -> 1.0568...
    # by hand 2(ln(ŷ/y) + y/ŷ - 1): 2(ln ¼ + 3), 0, 2(ln 2 - ½), 2(ln ½ + 1)
    value = compute("tweedie", [0.5, 0.5, 2.0, 2.0], [2.0, 0.5, 1.0, 4.0], params={"power": 2}).value
    assert value == pytest.approx((2 * (3 - 2 * LN2) + 2 * (LN2 - 0.5) + 2 * (1 - LN2)) / 4, rel=1e-15)
    assert str(value).startswith("1.0568")
    # scikit-learn user guide: power 2 sees only relative error, [1.0] vs [1.5] and [100] vs [150] both 0.14...
    small = compute("tweedie", [1.5], [1.0], params={"power": 2}).value
    large = compute("tweedie", [150.0], [100.0], params={"power": 2}).value
    assert small == pytest.approx(large, rel=1e-13) and str(small).startswith("0.14")


def test_tweedie_general_power_by_hand():
    # p = 1.5, y = 1, ŷ = 1.5: 2(1/((-½)(½)) - 1.5^(-½)/(-½) + 1.5^(½)/½) = 2(-4 + 2/√1.5 + 2√1.5)
    result = compute("tweedie", [1.5], [1.0], params={"power": 1.5})
    assert result.value == pytest.approx(2 * (-4 + 2 / math.sqrt(1.5) + 2 * math.sqrt(1.5)), rel=1e-14)
    # 2(ŷ - y)·ŷ^(-p) = 2·0.5·1.5^(-1.5)
    assert result.gradients["pred"][0] == pytest.approx(1.5**-1.5, rel=1e-15)


@pytest.mark.parametrize("power", [1.0, 1.3, 1.5, 1.8, 2.0])
def test_tweedie_scales_as_c_to_the_2_minus_p(power):
    # the unit deviance is homogeneous: d(c·y, c·ŷ) = c^(2-p)·d(y, ŷ)
    inputs, _ = _sample("tweedie", 8, {"power": power}, rows=16)
    base = compute("tweedie", inputs, params={"power": power}).value
    scaled = compute("tweedie", {k: 7.0 * v for k, v in inputs.items()}, params={"power": power}).value
    assert scaled == pytest.approx(7.0 ** (2 - power) * base, rel=1e-12)


@pytest.mark.parametrize(("power", "limit"), [(1.0 + 1e-7, 1.0), (2.0 - 1e-7, 2.0)])
def test_tweedie_general_formula_tends_to_poisson_and_gamma(power, limit):
    inputs, _ = _sample("tweedie", 9, {"power": 2.0}, rows=16)  # targets > 0 for both ends
    near = compute("tweedie", inputs, params={"power": power}).value
    at = compute("tweedie", inputs, params={"power": limit}).value
    assert near == pytest.approx(at, rel=1e-5)


def test_tweedie_domains():
    with pytest.raises(InputError, match="expected values > 0, got 0") as error:
        compute("tweedie", [1.0, 0.0], [1.0, 1.0])
    assert (error.value.input_name, error.value.row) == ("pred", 1)
    with pytest.raises(InputError, match=r"expected targets > 0 \(power 2, Gamma\), got 0"):
        compute("tweedie", [1.0, 2.0], [1.0, 0.0], params={"power": 2})
    with pytest.raises(ParameterError, match="power must be >= 1 and <= 2, got 3"):
        compute("tweedie", [1.0], [1.0], params={"power": 3})
    # zero targets are fine below power 2: y = 0 costs 2ŷ^(2-p)/(2-p)
    value = compute("tweedie", [4.0], [0.0], params={"power": 1.5}).value
    assert value == pytest.approx(2 * 4.0**0.5 / 0.5, rel=1e-15)


def test_tweedie_extreme_inputs_stay_finite():
    result = _quietly("tweedie", [1e-200, 1e200, 1e-200], [1e6, 0.0, 0.0], params={"power": 1.5}, reduction="none")
    assert np.all(np.isfinite(result.value)) and np.all(np.isfinite(result.gradients["pred"]))


# --- stability at residuals of 1e6 ----------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("rmse", 1e6),
    ("smooth_l1", 1e6 - 0.5),
    ("log_cosh", 1e6 - LN2),
    ("quantile", 0.5e6),
    ("mape", 1e6 / 3.0),
])
def test_residual_of_1e6(name, expected):
    result = _quietly(name, [1e6 + 3.0], [3.0])
    assert result.value == pytest.approx(expected, rel=1e-15)
    assert np.all(np.isfinite(result.gradients["pred"]))


def test_msle_of_a_millionfold_error():
    result = _quietly("msle", [1e6 - 1.0], [0.0])
    assert result.value == pytest.approx((6 * math.log(10)) ** 2, rel=1e-15)


# --- generators and gradients under other parameters ----------------------------------------

def test_samples_stay_away_from_kinks_and_clamps():
    rng = np.random.default_rng(11)
    for name in ("rmse", "quantile"):
        sample = get_loss(name).sample(rng, 500, get_loss(name).defaults())
        assert np.all(np.abs(sample["pred"] - sample["target"]) >= 0.1 - 1e-12), name
    mape = get_loss("mape").sample(rng, 500, {})
    assert np.all(np.abs(mape["target"]) >= 0.5)
    assert np.all(np.abs(mape["pred"] - mape["target"]) >= 0.05 * np.abs(mape["target"]) - 1e-12)
    for beta in (0.3, 1.0, 4.0):
        sample = get_loss("smooth_l1").sample(rng, 500, {"beta": beta})
        assert np.all(np.abs(np.abs(sample["pred"] - sample["target"]) - beta) >= 0.1 * beta - 1e-12)
    gaussian = get_loss("gaussian_nll").sample(rng, 500, {"full": False, "eps": 0.1})
    assert np.all(gaussian["var"] >= 0.2 + 0.2)


PARAM_VARIANTS = [
    ("smooth_l1", {"beta": 0.3}), ("smooth_l1", {"beta": 4.0}),
    ("quantile", {"alpha": 0.1}), ("quantile", {"alpha": 0.95}),
    ("poisson_nll", {"log_input": False}), ("poisson_nll", {"full": True}),
    ("poisson_nll", {"log_input": False, "full": True, "eps": 1e-3}),
    ("gaussian_nll", {"full": True}), ("gaussian_nll", {"eps": 0.05}),
    ("tweedie", {"power": 1.0}), ("tweedie", {"power": 1.2}), ("tweedie", {"power": 1.9}), ("tweedie", {"power": 2.0}),
]
VARIANT_IDS = [f"{name}-" + "-".join(f"{k}={v}" for k, v in params.items()) for name, params in PARAM_VARIANTS]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("name", "params"), PARAM_VARIANTS, ids=VARIANT_IDS)
def test_gradients_under_other_parameters(name, params, reduction):
    inputs, resolved = _sample(name, 12, params, rows=5)
    check_all_inputs(get_loss(name), inputs, resolved, reduction)
    weights = np.random.default_rng(13).uniform(0.2, 2.0, 5)
    if reduction != "none":
        check_all_inputs(get_loss(name), inputs, resolved, reduction, weights)


@pytest.mark.parametrize(("name", "params"), PARAM_VARIANTS, ids=VARIANT_IDS)
def test_gradcheck_passes_under_other_parameters(name, params):
    result = gradcheck(name, params=params)
    assert result.passed, result
    assert all(check.kinks == 0 for check in result.inputs)


def test_two_column_gaussian_nll_gradients():
    inputs, resolved = _sample("gaussian_nll", 14, rows=8)
    inputs = {key: value.reshape(4, 2) for key, value in inputs.items()}
    check_all_inputs(get_loss("gaussian_nll"), inputs, resolved, "mean")


# --- properties over each input's domain ----------------------------------------------------

NAMES = ("rmse", "smooth_l1", "log_cosh", "quantile", "msle", "mape", "poisson_nll", "gaussian_nll", "tweedie")
# Values drawn per domain. Positive values stop at 1e-6 (tweedie's gradient 2(ŷ - y)/ŷ² would overflow
# at ŷ = 1e-300); log-rates stay within ±700, where exp is finite (beyond it poisson_nll is inf).
BOUNDS = {Domain.REAL: (-1e3, 1e3), Domain.NONNEGATIVE: (0.0, 1e3), Domain.POSITIVE: (1e-6, 1e3),
          Domain.ABOVE_MINUS_ONE: (-1.0 + 1e-12, 1e3)}
MAY_BE_NEGATIVE = {"poisson_nll", "gaussian_nll"}


@st.composite
def domain_case(draw, name):
    spec = get_loss(name)
    variants = [{}] + [params for loss, params in PARAM_VARIANTS if loss == name]
    params = spec.resolve_params(draw(st.sampled_from(variants)))
    shape = draw(st.sampled_from([(3,), (2, 2)]))
    inputs = {}
    for input_spec in spec.inputs:
        low, high = BOUNDS[input_spec.domain]
        if name == "poisson_nll" and input_spec.name == "pred":
            low, high = (-700.0, 700.0) if params["log_input"] else (0.0, 1e3)
        if name == "tweedie" and input_spec.name == "target" and params["power"] == 2.0:
            low = BOUNDS[Domain.POSITIVE][0]
        elements = st.floats(low, high, allow_nan=False, allow_infinity=False)
        inputs[input_spec.name] = draw(hnp.arrays(np.float64, shape, elements=elements))
    return inputs, params


@pytest.mark.parametrize("name", NAMES)
def test_finite_values_and_gradients_over_the_domain(name):
    spec = get_loss(name)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=domain_case(name))
    def run(case):
        inputs, params = case
        for reduction in spec.reductions:
            result = _quietly(spec, inputs, params=params, reduction=reduction)
            assert np.all(np.isfinite(result.value)), f"{name} {params} {reduction}: {result.value}"
            for key, grad in result.gradients.items():
                assert np.all(np.isfinite(grad)), f"{name} {params} {reduction}: gradient for {key}"
        if name not in MAY_BE_NEGATIVE:
            assert np.all(compute(spec, inputs, params=params, reduction="none", gradient=False).value >= 0.0)

    run()


@pytest.mark.parametrize("name", [name for name in NAMES if name not in MAY_BE_NEGATIVE])
def test_zero_loss_and_gradient_at_a_perfect_prediction(name):
    inputs, params = _sample(name, 15)
    result = compute(name, inputs["pred"], inputs["pred"], params=params)  # pred: inside both domains
    assert result.value == 0.0
    np.testing.assert_array_equal(result.gradients["pred"], 0.0)
