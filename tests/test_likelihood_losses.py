"""poisson_nll, gaussian_nll and tweedie (losscli/losses/likelihood.py, tweedie.py): hand values with their
provenance, identities, domains and stability.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from loss_cases import compute_quietly, sample

from losscli import InputError, ParameterError, compute, get_loss

LN2, LN3 = math.log(2.0), math.log(3.0)


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
    result = compute_quietly("poisson_nll", [700.0, -700.0], [1.0, 5.0], params={"full": True}, reduction="none")
    stirling_5 = 5 * math.log(5) - 5 + 0.5 * math.log(10 * math.pi)
    np.testing.assert_allclose(result.value, [math.exp(700) - 700, math.exp(-700) + 3500 + stirling_5], rtol=1e-15)
    np.testing.assert_allclose(result.gradients["pred"], [math.exp(700) - 1, math.exp(-700) - 5], rtol=1e-15)


def test_poisson_nll_beyond_exp_range_is_inf_without_warning():
    # a log-rate of 710 is a rate beyond float64: the honest loss is inf
    result = compute_quietly("poisson_nll", [710.0], [1.0])
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
    result = compute_quietly("gaussian_nll", [1.0, 1.0], [0.0, 0.0], [0.0, 1e-9], reduction="none")
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
    result = compute_quietly("gaussian_nll", [1e6, -1e6], [0.0, 0.0], [1.0, 1e4], reduction="none")
    np.testing.assert_allclose(result.value, [0.5e12, 0.5 * (math.log(1e4) + 1e8)], rtol=1e-15)
    np.testing.assert_allclose(result.gradients["var"], [0.5 * (1 - 1e12), 0.5 * (1e-4 - 1e4)], rtol=1e-15)


def test_tweedie_power_1_is_twice_the_poisson_deviance_by_hand():
    # scikit-learn docs: y [2, 0, 1, 4], ŷ [0.5, 0.5, 2, 2] -> 1.4260...; by hand 2(y ln(y/ŷ) - y + ŷ):
    # 2(2 ln 4 - 1.5), 2·0.5 (0·ln 0 = 0), 2(ln ½ + 1), 2(4 ln 2 - 2)
    value = compute("tweedie", [0.5, 0.5, 2.0, 2.0], [2.0, 0.0, 1.0, 4.0], params={"power": 1}).value
    expected = (2 * (4 * LN2 - 1.5) + 1.0 + 2 * (1 - LN2) + 2 * (4 * LN2 - 2)) / 4
    assert value == pytest.approx(expected, rel=1e-15)
    assert str(value).startswith("1.4260")


def test_tweedie_power_1_is_twice_the_poisson_nll_gap_to_the_saturated_model():
    # deviance = 2·(NLL(ŷ) - NLL(ŷ = y)), with poisson_nll on rates
    inputs, _ = sample("tweedie", 7, {"power": 1.0}, rows=16)
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
    inputs, _ = sample("tweedie", 8, {"power": power}, rows=16)
    base = compute("tweedie", inputs, params={"power": power}).value
    scaled = compute("tweedie", {k: 7.0 * v for k, v in inputs.items()}, params={"power": power}).value
    assert scaled == pytest.approx(7.0 ** (2 - power) * base, rel=1e-12)


@pytest.mark.parametrize(("power", "limit"), [(1.0 + 1e-7, 1.0), (2.0 - 1e-7, 2.0)])
def test_tweedie_general_formula_tends_to_poisson_and_gamma(power, limit):
    inputs, _ = sample("tweedie", 9, {"power": 2.0}, rows=16)  # targets > 0 for both ends
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
    result = compute_quietly("tweedie", [1e-200, 1e200, 1e-200], [1e6, 0.0, 0.0], params={"power": 1.5},
                             reduction="none")
    assert np.all(np.isfinite(result.value)) and np.all(np.isfinite(result.gradients["pred"]))
