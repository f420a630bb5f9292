"""mse, mae, huber, rmse, msle and mape (losscli/losses/regression.py): hand-derived values with
their provenance, identities, domains and stability at large residuals.

The generic tests (references, gradients, properties, accuracy, torch) cover every loss through its
record in tests/cases/; this module holds what is specific to each. "scikit-learn docs" means the
Examples section of that function's docstring.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from loss_cases import assert_finite, compute_quietly, sample

from losscli import InputError, ParameterError, compute, get_loss

# The seed's outlier example (compare_mse_mae): residuals pred - true are 0.5, 0.5, 0.5, -96.
OUTLIER_TRUE = [1.0, 2.0, 3.0, 100.0]

LN2 = math.log(2.0)


OUTLIER_PRED = [1.5, 2.5, 3.5, 4.0]


def test_seed_outlier_example_mse():
    # (3·0.25 + 96²) / 4 = (0.75 + 9216) / 4
    assert compute("mse", OUTLIER_PRED, OUTLIER_TRUE).value == 2304.1875


def test_seed_outlier_example_mae():
    # (3·0.5 + 96) / 4 = 97.5 / 4
    assert compute("mae", OUTLIER_PRED, OUTLIER_TRUE).value == 24.375


def test_seed_outlier_example_huber():
    # delta 1: three residuals of 0.5 cost ½·0.25 each, the outlier 1·(96 - ½): (0.375 + 95.5) / 4
    assert compute("huber", OUTLIER_PRED, OUTLIER_TRUE, params={"delta": 1.0}).value == 23.96875


def test_seed_outlier_example_gradients():
    # MSE: 2(ŷ - y)/N = [1, 1, 1, -192]/4; MAE: sign/N; Huber(1): residual clipped to [-1, 1], /N
    result = compute("mse", OUTLIER_PRED, OUTLIER_TRUE)
    np.testing.assert_array_equal(result.gradients["pred"], [0.25, 0.25, 0.25, -48.0])
    result = compute("mae", OUTLIER_PRED, OUTLIER_TRUE)
    np.testing.assert_array_equal(result.gradients["pred"], [0.25, 0.25, 0.25, -0.25])
    result = compute("huber", OUTLIER_PRED, OUTLIER_TRUE)
    np.testing.assert_array_equal(result.gradients["pred"], [0.125, 0.125, 0.125, -0.25])


def test_huber_other_delta_by_hand():
    # delta 2, residuals 1 and 3: ½·1² = 0.5 and 2·(3 - 1) = 4, mean 2.25
    assert compute("huber", [1.0, 3.0], [0.0, 0.0], params={"delta": 2.0}).value == 2.25


def test_regression_accepts_two_column_rows():
    # [N, D] elementwise: the mean runs over all N·D elements, as torch's mse_loss does
    pred = np.array([[1.0, 2.0], [3.0, 5.0]])
    target = np.zeros((2, 2))
    assert compute("mse", pred, target).value == (1 + 4 + 9 + 25) / 4
    assert compute("mse", pred, target).n == 4


def test_huber_with_huge_delta_is_half_mse():
    inputs, _ = sample(get_loss("mse"), 8, rows=32)
    huber = compute("huber", *inputs.values(), params={"delta": 1e9})
    mse = compute("mse", *inputs.values())
    assert huber.value == pytest.approx(0.5 * mse.value, rel=1e-14)
    np.testing.assert_allclose(huber.gradients["pred"], 0.5 * mse.gradients["pred"], rtol=1e-14)


def test_huber_with_tiny_delta_is_delta_times_mae():
    # δ(|a| - ½δ) -> δ·|a| as δ -> 0 (every residual here is at least 0.1)
    inputs, _ = sample(get_loss("mae"), 9, rows=32)
    delta = 1e-6
    huber = compute("huber", *inputs.values(), params={"delta": delta}).value
    mae = compute("mae", *inputs.values()).value
    assert huber == pytest.approx(delta * (mae - 0.5 * delta), rel=1e-12)


def test_weighted_mean_by_hand():
    # squared errors 1, 4, 9 with weights 1, 0, 3: (1 + 27) / 4 = 7
    assert compute("mse", [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], weights=[1.0, 0.0, 3.0]).value == 7.0
    # sum with weights: Σ w·l = 28
    assert compute("mse", [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], weights=[1.0, 0.0, 3.0], reduction="sum").value == 28.0


def test_none_by_hand():
    result = compute("mse", OUTLIER_PRED, OUTLIER_TRUE, reduction="none")
    np.testing.assert_array_equal(result.value, [0.25, 0.25, 0.25, 9216.0])
    # each sample's own gradient 2(ŷ - y)
    np.testing.assert_array_equal(result.gradients["pred"], [1.0, 1.0, 1.0, -192.0])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_regression_huge_residuals(name):
    pred = np.array([1e6, -1e6, 0.5])
    target = np.array([0.0, 0.0, 0.0])
    result = compute(name, pred, target)
    assert_finite(result)
    expected = {"mse": (2e12 + 0.25) / 3, "mae": (2e6 + 0.5) / 3, "huber": (2 * (1e6 - 0.5) + 0.125) / 3}[name]
    assert result.value == pytest.approx(expected, rel=1e-15)


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
    result = compute_quietly("rmse", [1.0, 2.0], [1.0, 2.0])
    assert result.value == 0.0
    np.testing.assert_array_equal(result.gradients["pred"], [0.0, 0.0])


def test_rmse_is_sqrt_of_mse_also_weighted():
    inputs, _ = sample("mse", 3, rows=16)
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


@pytest.mark.parametrize(("name", "expected"), [
    ("rmse", 1e6),
    ("smooth_l1", 1e6 - 0.5),
    ("log_cosh", 1e6 - LN2),
    ("quantile", 0.5e6),
    ("mape", 1e6 / 3.0),
])
def test_residual_of_1e6(name, expected):
    result = compute_quietly(name, [1e6 + 3.0], [3.0])
    assert result.value == pytest.approx(expected, rel=1e-15)
    assert np.all(np.isfinite(result.gradients["pred"]))


def test_msle_of_a_millionfold_error():
    result = compute_quietly("msle", [1e6 - 1.0], [0.0])
    assert result.value == pytest.approx((6 * math.log(10)) ** 2, rel=1e-15)


@pytest.mark.parametrize("weights", [[1.0, 3.0, 0.5], [1e-3, 0.7, 0.1]], ids=["weights", "small-weights"])
@pytest.mark.parametrize("scale", [1e160, 1e-170, 1e-300, 1e-311, 1e-320, 5e-324, 1.0])
def test_rmse_mean_and_gradient_at_residuals_whose_squares_are_not_doubles(scale, weights):
    """The mean of squares is taken from the residuals (a ScaledSum of r²): RMSE and its gradient
    r_i·w_i/(Σw·RMSE) match a 50-digit reference where r² over- or underflows, and where the
    residuals are subnormal (the gradient factor 1/(Σw·RMSE) is then beyond the doubles, and
    w_i·2r_i would round to the subnormal grid: 0.001·2e-320 is 2e-323, 10% off, before the lift)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    residuals = np.array([1.0, -2.0, 3.5]) * scale
    weights = np.array(weights)
    result = compute("rmse", residuals, np.zeros(3), weights=weights)
    exact = mpmath.sqrt(sum(mpmath.mpf(w) * mpmath.mpf(r) ** 2 for r, w in zip(residuals, weights, strict=True))
                        / mpmath.mpf(weights.sum()))
    assert result.value == pytest.approx(float(exact), rel=1e-15, abs=5e-324)  # a subnormal RMSE: to its last unit
    expected = [float(mpmath.mpf(r) * w / (mpmath.mpf(weights.sum()) * exact)) for r, w in zip(residuals, weights,
                                                                                             strict=True)]
    np.testing.assert_allclose(result.gradients["pred"], expected, rtol=1e-15)


def test_gradient_of_tiny_weights_times_tiny_residuals():
    """Weights of 1e-75 (used as given) times ∂ℓ = 2r of 2e-250 are 2e-325, below the doubles:
    the mean's gradient 2r_i·w_i/Σw = r_i (N = 2) is a normal double and comes out exact,
    as with equal weights of 1 (before: -0.0 for both)."""
    residuals = np.array([1e-250, -3e-251])
    for weight in (1e-75, 1e-70, 1.0):
        result = compute("mse", residuals, np.zeros(2), weights=np.full(2, weight))
        np.testing.assert_allclose(result.gradients["pred"], residuals, rtol=4e-16)


def test_rmse_per_slice_at_residuals_whose_squares_are_not_doubles():
    """--group-by slices of rmse are rooted mean squares taken from the residuals too."""
    from losscli.groups import groups_of

    residuals = np.array([1e160, -3e160, 2e-170, 1e-170])
    labels = np.array(["big", "big", "tiny", "tiny"], dtype=object)
    groups = {group.label: group.value for group in groups_of(compute("rmse", residuals, np.zeros(4)), labels)}
    assert groups["big"] == pytest.approx(math.sqrt(5.0) * 1e160, rel=1e-15)  # √((1 + 9)/2)·1e160
    assert groups["tiny"] == pytest.approx(math.sqrt(2.5) * 1e-170, rel=1e-15)  # √((4 + 1)/2)·1e-170
