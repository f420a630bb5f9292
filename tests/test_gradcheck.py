"""The gradient checker as a library: verdicts, per-element tolerances, modes, kinks, scales.

Built-in losses are checked through ``losscli.gradcheck``; broken variants are the registered
spec with one change (dataclasses.replace), so every failure below has a known cause.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import losscli
from losscli import checker
from losscli.checker import differences as diff
from losscli.checker import methods, run
from losscli.errors import InputError, ParameterError


def scaled_gradient(name: str, factor: float):
    """The registered loss with every gradient multiplied by ``factor`` (1.01 = 1 % too large)."""
    spec = losscli.get_loss(name)

    def gradient(*inputs, **params):
        return {key: factor * value for key, value in spec.gradient(*inputs, **params).items()}

    return dataclasses.replace(spec, gradient=gradient)


def with_gradient(name: str, gradient):
    return dataclasses.replace(losscli.get_loss(name), gradient=gradient)


def batch_centred_mse():
    """A loss that couples rows: squared residuals after subtracting the batch's mean residual."""
    spec = losscli.get_loss("mse")

    def forward(pred, target):
        residual = pred - target
        return (residual - residual.mean()) ** 2

    def gradient(pred, target):
        centred = (pred - target) - (pred - target).mean()
        # d/dŷ_j Σ_i c_i² = 2 c_j - (2/N) Σ_i c_i, and Σ_i c_i = 0
        return {"pred": 2.0 * centred - 2.0 * centred.mean()}

    return dataclasses.replace(spec, name="batch_centred_mse", forward=forward, gradient=gradient)


def regression_inputs(scale: float, rows: int = 50, seed: int = 0):
    """Predictions and targets of magnitude ``scale`` (residuals of the same magnitude)."""
    rng = np.random.default_rng(seed)
    return {"pred": scale * rng.normal(size=rows), "target": scale * rng.normal(size=rows)}


# --- every built-in loss -------------------------------------------------------------------------

@pytest.mark.parametrize("spec", losscli.LOSSES, ids=lambda spec: spec.name)
def test_every_builtin_loss_passes_in_full_row_batched_mode(spec):
    result = losscli.gradcheck(spec)
    assert result.passed, result
    assert result.differentiated == "sum of per-sample losses"
    assert [check.name for check in result.inputs] == list(spec.differentiable_inputs)
    sample = spec.sample(np.random.default_rng(0), checker.DEFAULT_SIZE, spec.resolve_params())
    for check in result.inputs:
        # Every element judged by the row-batched path: compared, or a zero gradient below noise.
        assert check.method == "full" and check.failed == 0
        assert check.checked + check.below_noise + check.kinks == sample[check.name].size
        assert check.checked > 0


def test_check_all_covers_the_registry_in_order():
    results = checker.check_all(settings=checker.Settings(size=5))
    assert [result.loss for result in results] == list(losscli.names())
    assert all(result.passed for result in results)


# --- wrong gradients fail at every size ----------------------------------------------------------

@pytest.mark.parametrize("mode", ["full", "auto"])
@pytest.mark.parametrize("size", [10, 1000, pytest.param(100_000, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", ["mse", "softmax_cross_entropy", "triplet"])
def test_one_percent_too_large_fails_at_every_size(name, size, mode):
    result = losscli.gradcheck(scaled_gradient(name, 1.01), size=size, mode=mode)
    assert not result.passed
    for check in result.inputs:
        assert check.method == "full" and not check.passed
        # Summed loss: the worst element is exactly 1 % off, whatever the size.
        assert check.worst[0].ratio == pytest.approx(1.01, rel=1e-6)
        # |a - n| / max(|a|, |n|) = 0.01/1.01, plus rounding on the tiniest of 500,000 elements
        assert check.max_rel_error == pytest.approx(0.01 / 1.01, rel=0.02)
        assert check.failed == check.checked


@pytest.mark.parametrize("name", [spec.name for spec in losscli.LOSSES])
def test_one_percent_too_large_fails_for_every_loss(name):
    assert not losscli.gradcheck(scaled_gradient(name, 1.01), size=10).passed


def test_sign_flip_and_missing_factor_two_fail_with_the_ratio():
    flip = losscli.gradcheck(with_gradient("mse", lambda pred, target: {"pred": -2.0 * (pred - target)}))
    half = losscli.gradcheck(with_gradient("mse", lambda pred, target: {"pred": pred - target}))
    assert not flip.passed and not half.passed
    assert flip.inputs[0].worst[0].ratio == pytest.approx(-1.0)
    assert half.inputs[0].worst[0].ratio == pytest.approx(0.5)
    assert flip.inputs[0].failed == half.inputs[0].failed == 100


def test_numeric_values_are_the_central_differences_of_the_per_sample_losses():
    # mse at pred 3, target 1: d/dŷ (ŷ - y)² = 2·2 = 4, and the central difference of a quadratic is exact.
    element = losscli.gradcheck("mse", {"pred": [3.0], "target": [1.0]}).inputs[0].worst[0]
    assert element.numeric == pytest.approx(4.0, rel=1e-9)
    assert (element.analytic, element.index, element.inputs) == (4.0, (0,), {"pred": 3.0, "target": 1.0})


def test_a_failing_report_points_at_the_branch():
    # Huber (δ = 1) whose linear branch is 1 % too steep: only rows with |residual| > 1 fail,
    # and the worst elements' inputs show it.
    spec = losscli.get_loss("huber")

    def gradient(pred, target, delta):
        residual = pred - target
        return {"pred": np.where(np.abs(residual) <= delta, residual, 1.01 * delta * np.sign(residual))}

    result = losscli.gradcheck(dataclasses.replace(spec, gradient=gradient), params={"delta": 1.0})
    (check,) = result.inputs
    sample = spec.sample(np.random.default_rng(0), 100, {"delta": 1.0})
    outside = int(np.sum(np.abs(sample["pred"] - sample["target"]) > 1.0))
    assert check.failed == outside and 0 < outside < 100
    for element in check.worst:
        assert not element.passed and element.ratio == pytest.approx(1.01)
        assert abs(element.inputs["pred"] - element.inputs["target"]) > 1.0


# --- issue 12: a check that cannot be trusted must not pass --------------------------------------

SCALES = [1e-6, 1e-3, 1.0, 1e3, 1e6, 1e8]


@pytest.mark.parametrize("scale", SCALES)
def test_correct_gradients_pass_and_broken_ones_fail_at_every_scale(scale):
    arrays = regression_inputs(scale)
    assert losscli.gradcheck("mse", arrays).passed
    for factor in (1.01, -1.0, 0.5):  # 1 % too large, sign flip, missing factor 2
        result = losscli.gradcheck(scaled_gradient("mse", factor), arrays)
        assert not result.passed and result.inputs[0].failed == 50, (scale, factor)


def test_a_sign_disagreement_beyond_noise_fails_whatever_rtol():
    result = losscli.gradcheck(scaled_gradient("mse", -1.0), regression_inputs(1e8), rtol=5.0)
    assert not result.passed and result.inputs[0].worst[0].ratio == pytest.approx(-1.0)


def test_one_outlier_does_not_hide_a_zero_gradient_elsewhere():
    # A gradient that is right at the outlier (residual 1e6) and 0 on every other row.
    arrays = regression_inputs(1.0, rows=20)
    arrays["pred"][7] = arrays["target"][7] + 1e6

    def gradient(pred, target):
        residual = pred - target
        return {"pred": np.where(np.abs(residual) > 1e3, 2 * residual, 0.0)}

    check = losscli.gradcheck(with_gradient("mse", gradient), arrays).inputs[0]
    assert check.failed == 19 and check.worst[0].analytic == 0.0


def test_a_non_finite_analytic_element_fails():
    def gradient(pred, target):
        values = 2 * (pred - target)
        values[4] = np.nan
        return {"pred": values}

    check = losscli.gradcheck(with_gradient("mse", gradient), size=10).inputs[0]
    assert (check.passed, check.failed, check.worst[0].index) == (False, 1, (4,))


def test_huber_with_a_huge_delta_is_checked_at_its_scale():
    # δ = 1e12: every residual is in the quadratic branch, gradient = residual (up to 1e12).
    check = losscli.gradcheck("huber", params={"delta": 1e12}).inputs[0]
    assert check.passed and check.checked == 100
    assert abs(check.worst[0].ratio - 1) < 1e-6
    broken = losscli.gradcheck(scaled_gradient("huber", 1.01), params={"delta": 1e12})
    assert not broken.passed


def test_a_step_that_does_not_move_the_input_is_an_error():
    message = r"--eps 1e-300 is too small for pred: x \+ h rounds to x at pred\[0\] = "
    with pytest.raises(checker.GradcheckError, match=message):
        losscli.gradcheck("mse", eps=1e-300)


def test_a_step_drowned_in_rounding_noise_is_an_error():
    # h = 1e-14·|x|: a difference of losses ~|x|² carries rounding ~1e-16·|x|², i.e. ~1 % of the slope.
    message = r"cannot resolve rtol on .* \(rounding noise: --eps 1e-14 is too small\)"
    with pytest.raises(checker.GradcheckError, match=message):
        losscli.gradcheck("logcosh", eps=1e-14)


def test_nothing_compared_is_an_error_not_a_pass():
    # mae with every prediction on its target: every element is at the kink of |ŷ - y|.
    target = np.linspace(-1.0, 1.0, 10)
    with pytest.raises(checker.GradcheckError, match="0 elements of pred checked: 10 at a kink"):
        losscli.gradcheck("mae", {"pred": target.copy(), "target": target})


# --- kinks --------------------------------------------------------------------------------------

def _mae_inputs_with_zero_residuals(rows=50, zeros=(3, 7, 11)):
    rng = np.random.default_rng(1)
    target = rng.normal(size=rows)
    pred = target + rng.choice([-1.0, 1.0], rows) * rng.uniform(0.1, 2.0, rows)
    pred[list(zeros)] = target[list(zeros)]
    return {"pred": pred, "target": target}


def test_mae_at_zero_residual_is_a_kink_not_a_failure():
    check = losscli.gradcheck("mae", _mae_inputs_with_zero_residuals()).inputs[0]
    assert check.passed
    assert (check.checked, check.kinks) == (47, 3)


def test_wrong_gradient_at_smooth_points_still_fails_next_to_kinks():
    check = losscli.gradcheck(scaled_gradient("mae", 1.01), _mae_inputs_with_zero_residuals()).inputs[0]
    assert not check.passed
    assert (check.kinks, check.failed, abs(check.worst[0].analytic)) == (3, 47, pytest.approx(1.01))


def test_a_value_outside_the_one_sided_slopes_at_a_kink_fails():
    wrong = with_gradient("mae", lambda pred, target: {"pred": np.where(pred == target, 5.0, np.sign(pred - target))})
    check = losscli.gradcheck(wrong, _mae_inputs_with_zero_residuals()).inputs[0]
    assert not check.passed
    assert (check.kinks, check.failed, check.worst[0].index, check.worst[0].analytic) == (0, 3, (3,), 5.0)


def test_an_asymmetric_hinge_at_its_kink_is_skipped():
    # max(0, ŷ - y) at ŷ = y: slopes 0 (left) and 1 (right), central difference 1/2, analytic 0.
    spec = dataclasses.replace(losscli.get_loss("mae"), forward=lambda pred, target: np.maximum(0.0, pred - target),
                               gradient=lambda pred, target: {"pred": (pred > target).astype(float)})
    check = losscli.gradcheck(spec, _mae_inputs_with_zero_residuals()).inputs[0]
    assert check.passed and check.kinks == 3


def test_strong_curvature_is_not_mistaken_for_a_kink():
    # 1000·ŷ² at ŷ = 1e-4: slope 0.2, curvature 2000; the curvature-cancelling test must call it
    # smooth, so 1 % fails.
    square = dataclasses.replace(losscli.get_loss("mse"), forward=lambda pred, target: 1000.0 * pred**2,
                                 gradient=lambda pred, target: {"pred": 2000.0 * pred})
    point = {"pred": np.full(4, 1e-4), "target": np.zeros(4)}
    good = losscli.gradcheck(square, point).inputs[0]
    assert good.passed and good.kinks == 0
    wrong = dataclasses.replace(square, gradient=lambda pred, target: {"pred": 1.01 * 2000.0 * pred})
    bad = losscli.gradcheck(wrong, point).inputs[0]
    assert not bad.passed and bad.kinks == 0


def test_differences_of_hand_computed_values():
    moves = np.array([-2.0, -1.0, 1.0, 2.0])
    # |x| at 0 with h = 1: f(-2..2) = 2, 1, 0, 1, 2 -> slopes -1 and 1, jump 2·2 - (1 - (-1)) = 2.
    kink = diff.differences(np.array([2.0, 1.0, 0.0, 1.0, 2.0]), moves, np.asarray(0.0), per_row=False)
    assert (kink.numeric, kink.left, kink.right, kink.kink_size) == (0.0, -1.0, 1.0, 2.0)
    # x² at 1 with h = 1: f = 1, 0, 1, 4, 9 -> central (4 - 0)/2 = 2, jump 2·(3 - 1) - (4 - 0) = 0,
    # drift 2 - (9 - 1)/4 = 0, fourth difference 1 - 0 + 6 - 16 + 9 = 0: no rounding seen.
    smooth = diff.differences(np.array([1.0, 0.0, 1.0, 4.0, 9.0]), moves, np.asarray(4.0), per_row=False)
    assert (smooth.numeric, smooth.left, smooth.right, smooth.kink_size, smooth.drift) == (2.0, 1.0, 3.0, 0.0, 0.0)
    assert smooth.noise == 2 * diff.ROUNDING * 4.0 / 2  # 2σ / 2h with σ = 8ε·|f|


def test_steps_follow_each_elements_magnitude():
    point = np.array([0.0, 1e-3, 2.0, -1e8])
    # mean |x| = (0 + 1e-3 + 2 + 1e8) / 4 ≈ 2.5e7 is the floor near 0
    floor = 2.50000005e7
    np.testing.assert_allclose(diff.steps(point, 1e-6), 1e-6 * np.array([floor, floor, floor, 1e8]))
    np.testing.assert_array_equal(diff.steps(np.zeros(3), 1e-6), np.full(3, 1e-6))


# --- modes --------------------------------------------------------------------------------------

def test_directional_mode_catches_one_percent():
    good = losscli.gradcheck("mse", size=10_000, mode="directional", directions=3)
    bad = losscli.gradcheck(scaled_gradient("mse", 1.01), size=10_000, mode="directional", directions=3)
    assert good.passed and good.inputs[0].method == "directional" and good.inputs[0].checked == 3
    assert not bad.passed and bad.inputs[0].worst[0].ratio == pytest.approx(1.01, rel=1e-6)


def test_auto_switches_to_directional_above_the_limit(monkeypatch):
    monkeypatch.setattr(run, "FULL_MODE_LIMIT", 50)
    result = losscli.gradcheck("softmax_cross_entropy", size=20)  # 100 elements
    assert result.passed and result.method == "directional"
    assert losscli.gradcheck("mse", size=20).method == "full"


def test_row_batched_equals_one_element_at_a_time():
    spec = losscli.get_loss("softmax_cross_entropy")
    arrays = spec.sample(np.random.default_rng(3), 6, {"smoothing": 0.0})

    def per_sample(values):
        return spec.forward(values["logits"], values["target"], smoothing=0.0)

    batched = methods.row_batched(per_sample, arrays, "logits", 1e-6)
    single = methods.one_at_a_time(per_sample, arrays, "logits", 1e-6)
    # one-at-a-time differences of the summed loss (≈ 28) carry ulp(28)/h ≈ 2e-9 of rounding
    np.testing.assert_allclose(batched.numeric, single.numeric, rtol=1e-7, atol=1e-8)


def test_losses_that_couple_rows_fall_back_to_one_element_at_a_time(monkeypatch):
    coupled = batch_centred_mse()
    arrays = coupled.sample(np.random.default_rng(0), 10, {})
    assert not methods.rows_independent(lambda values: coupled.forward(values["pred"], values["target"]),
                                        arrays, "pred", 1e-6)
    result = losscli.gradcheck(coupled, size=30)
    assert result.passed and result.method == "full, per element"
    broken = dataclasses.replace(coupled, gradient=lambda pred, target: {
        "pred": 1.01 * coupled.gradient(pred, target)["pred"]})
    assert not losscli.gradcheck(broken, size=30).passed
    monkeypatch.setattr(run, "ELEMENTWISE_LIMIT", 20)
    assert losscli.gradcheck(coupled, size=30).method == "directional"


# --- settings and inputs ------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"eps": 0.0}, "--eps must be > 0"), ({"atol": -1.0}, "--atol must be >= 0"),
    ({"directions": 0}, "--directions must be >= 1"), ({"mode": "fast"}, "unknown mode 'fast'"),
    ({"seed": -1}, "--seed must be >= 0, got -1"),
])
def test_bad_settings_are_parameter_errors(options, message):
    with pytest.raises(ParameterError, match=message):
        losscli.gradcheck("mse", **options)


def test_given_inputs_are_validated():
    with pytest.raises(InputError, match="expected probabilities in"):
        losscli.gradcheck("bce", {"pred": [0.5, 1.5], "target": [0.0, 1.0]})


def test_params_reach_the_loss():
    result = losscli.gradcheck("huber", params={"delta": 0.3}, size=50)
    assert result.passed and result.inputs[0].kinks == 0
