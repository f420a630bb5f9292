"""losscli.gradcheck and losscli.usercode as a library: verdicts, modes, kinks and the 1/N blind spot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli import gradcheck as checker
from losscli import usercode
from losscli.errors import InputError, LossCliError, ParameterError

FIXTURES = Path(__file__).parent / "fixtures"
SEED_FILE = FIXTURES / "seed_losses.py"
BROKEN_FILE = FIXTURES / "broken_losses.py"


def scaled_gradient(name: str, factor: float):
    """The registered loss with every gradient multiplied by ``factor`` (1.01 = 1 % too large)."""
    spec = losscli.get_loss(name)

    def gradient(*inputs, **params):
        return {key: factor * value for key, value in spec.gradient(*inputs, **params).items()}

    return dataclasses.replace(spec, gradient=gradient)


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


# --- every built-in loss -------------------------------------------------------------------------

@pytest.mark.parametrize("spec", losscli.LOSSES, ids=lambda spec: spec.name)
def test_every_builtin_loss_passes_in_full_row_batched_mode(spec):
    result = checker.gradcheck(spec)
    assert result.passed, result
    assert result.differentiated == "sum of per-sample losses"
    assert [check.name for check in result.inputs] == list(spec.differentiable_inputs)
    sample = spec.sample(np.random.default_rng(0), checker.DEFAULT_SIZE, spec.resolve_params())
    for check in result.inputs:
        # Every element checked by the row-batched path, none mistaken for a kink.
        assert (check.method, check.checked, check.kinks) == ("full", sample[check.name].size, 0)
        assert check.max_abs_error < 1e-4


def test_check_all_covers_the_registry_in_order():
    results = checker.check_all(size=5)
    assert [result.loss for result in results] == list(losscli.names())
    assert all(result.passed for result in results)


# --- wrong gradients fail at every size ----------------------------------------------------------

@pytest.mark.parametrize("mode", ["full", "auto"])
@pytest.mark.parametrize("size", [10, 1000, 100_000])
@pytest.mark.parametrize("name", ["mse", "softmax_cross_entropy", "triplet"])
def test_one_percent_too_large_fails_at_every_size(name, size, mode):
    result = checker.gradcheck(scaled_gradient(name, 1.01), size=size, mode=mode)
    assert not result.passed
    for check in result.inputs:
        assert check.method == "full"
        assert not check.passed
        # Summed loss: the worst element is exactly 1 % off, whatever the size.
        assert check.analytic == pytest.approx(1.01 * check.numeric, rel=1e-6)
        assert check.max_rel_error == pytest.approx(0.01, rel=0.05)  # 1 %, plus rounding on tiny entries


@pytest.mark.parametrize("name", [spec.name for spec in losscli.LOSSES])
def test_one_percent_too_large_fails_for_every_loss(name):
    assert not checker.gradcheck(scaled_gradient(name, 1.01), size=10).passed


def test_sign_flip_and_missing_factor_two_fail_with_the_values_side_by_side():
    spec = losscli.get_loss("mse")
    flipped = dataclasses.replace(spec, gradient=lambda pred, target: {"pred": -2.0 * (pred - target)})
    halved = dataclasses.replace(spec, gradient=lambda pred, target: {"pred": pred - target})
    flip = checker.gradcheck(flipped).inputs[0]
    half = checker.gradcheck(halved).inputs[0]
    assert not flip.passed and not half.passed
    assert flip.analytic == pytest.approx(-flip.numeric)
    assert half.analytic == pytest.approx(0.5 * half.numeric)
    assert flip.max_rel_error == pytest.approx(2.0) and half.max_rel_error == pytest.approx(0.5)


def test_numeric_values_are_the_central_differences_of_the_per_sample_losses():
    # mse at pred 3, target 1: d/dŷ (ŷ - y)² = 2·2 = 4, and the central difference of a quadratic is exact.
    result = checker.gradcheck("mse", {"pred": [3.0], "target": [1.0]})
    assert result.inputs[0].numeric == pytest.approx(4.0, abs=1e-8)
    assert result.inputs[0].analytic == 4.0


# --- kinks --------------------------------------------------------------------------------------

def _mae_inputs_with_zero_residuals(rows=50, zeros=(3, 7, 11)):
    rng = np.random.default_rng(1)
    target = rng.normal(size=rows)
    pred = target + rng.choice([-1.0, 1.0], rows) * rng.uniform(0.1, 2.0, rows)
    pred[list(zeros)] = target[list(zeros)]
    return {"pred": pred, "target": target}


def test_mae_at_zero_residual_is_a_kink_not_a_failure():
    check = checker.gradcheck("mae", _mae_inputs_with_zero_residuals()).inputs[0]
    assert check.passed
    assert (check.checked, check.kinks) == (47, 3)


def test_wrong_gradient_at_smooth_points_still_fails_next_to_kinks():
    check = checker.gradcheck(scaled_gradient("mae", 1.01), _mae_inputs_with_zero_residuals()).inputs[0]
    assert not check.passed
    assert (check.kinks, abs(check.analytic)) == (3, pytest.approx(1.01))


def test_a_value_outside_the_one_sided_slopes_at_a_kink_fails():
    spec = losscli.get_loss("mae")
    wrong = dataclasses.replace(spec, gradient=lambda pred, target: {
        "pred": np.where(pred == target, 5.0, np.sign(pred - target))})
    check = checker.gradcheck(wrong, _mae_inputs_with_zero_residuals()).inputs[0]
    assert not check.passed
    assert (check.kinks, check.worst_index, check.analytic) == (0, (3,), 5.0)


def test_an_asymmetric_hinge_at_its_kink_is_skipped():
    # max(0, ŷ - y) at ŷ = y: slopes 0 (left) and 1 (right), central difference 1/2, analytic 0.
    spec = dataclasses.replace(losscli.get_loss("mae"), forward=lambda pred, target: np.maximum(0.0, pred - target),
                               gradient=lambda pred, target: {"pred": (pred > target).astype(float)})
    check = checker.gradcheck(spec, _mae_inputs_with_zero_residuals()).inputs[0]
    assert check.passed and check.kinks == 3


def test_strong_curvature_is_not_mistaken_for_a_kink():
    # 1000·ŷ² at ŷ = 1e-4: slope 0.2, curvature 2000, so right - left slopes = 2000·h = 2e-3, ten
    # times the tolerance; the curvature-cancelling test must still call it smooth, so 1 % fails.
    square = dataclasses.replace(losscli.get_loss("mse"), forward=lambda pred, target: 1000.0 * pred**2,
                                 gradient=lambda pred, target: {"pred": 2000.0 * pred})
    point = {"pred": np.full(4, 1e-4), "target": np.zeros(4)}
    good = checker.gradcheck(square, point).inputs[0]
    assert good.passed and good.kinks == 0
    wrong = dataclasses.replace(square, gradient=lambda pred, target: {"pred": 1.01 * 2000.0 * pred})
    bad = checker.gradcheck(wrong, point).inputs[0]
    assert not bad.passed and bad.kinks == 0


def test_differences_of_hand_computed_values():
    # |x| at 0 with h = 1: f(-2..2) = 2, 1, 0, 1, 2 -> slopes -1 and 1, jump 2·2 - (2 + 2)/2 = 2.
    kink = checker.differences(np.array([2.0, 1.0, 0.0, 1.0, 2.0]), 1.0)
    assert (kink.numeric, kink.left, kink.right, kink.kink_size) == (0.0, -1.0, 1.0, 2.0)
    # x² at 1 with h = 1: f = 1, 0, 1, 4, 9 -> central (4 - 0)/2 = 2, jump 2·(3 - 1) - (9 - 2 + 1)/2 = 0.
    smooth = checker.differences(np.array([1.0, 0.0, 1.0, 4.0, 9.0]), 1.0)
    assert (smooth.numeric, smooth.left, smooth.right, smooth.kink_size) == (2.0, 1.0, 3.0, 0.0)


# --- modes --------------------------------------------------------------------------------------

def test_directional_mode_catches_one_percent():
    good = checker.gradcheck("mse", size=10_000, mode="directional", directions=3)
    bad = checker.gradcheck(scaled_gradient("mse", 1.01), size=10_000, mode="directional", directions=3)
    assert good.passed and good.inputs[0].method == "directional" and good.inputs[0].checked == 3
    assert not bad.passed
    assert bad.inputs[0].analytic == pytest.approx(1.01 * bad.inputs[0].numeric, rel=1e-6)


def test_auto_switches_to_directional_above_the_limit(monkeypatch):
    monkeypatch.setattr(checker, "FULL_MODE_LIMIT", 50)
    result = checker.gradcheck("softmax_cross_entropy", size=20)  # 100 elements
    assert result.passed and result.method == "directional"
    assert checker.gradcheck("mse", size=20).method == "full"


def test_row_batched_equals_one_element_at_a_time():
    spec = losscli.get_loss("softmax_cross_entropy")
    arrays = spec.sample(np.random.default_rng(3), 6, {"smoothing": 0.0})

    def per_sample(values):
        return spec.forward(values["logits"], values["target"], smoothing=0.0)

    batched = checker.row_batched(per_sample, arrays, "logits", 1e-6)
    single = checker.one_at_a_time(lambda values: float(per_sample(values).sum()), arrays, "logits", 1e-6)
    # one-at-a-time differences of the summed loss (≈ 28) carry ulp(28)/h ≈ 2e-9 of rounding
    np.testing.assert_allclose(batched.numeric, single.numeric, rtol=1e-7, atol=1e-8)


def test_losses_that_couple_rows_fall_back_to_one_element_at_a_time(monkeypatch):
    coupled = batch_centred_mse()
    assert not checker.rows_independent(checker_per_sample(coupled), coupled.sample(
        np.random.default_rng(0), 10, {}), "pred", 1e-6)
    result = checker.gradcheck(coupled, size=30)
    assert result.passed and result.method == "full, per element"
    broken = dataclasses.replace(coupled, gradient=lambda pred, target: {
        "pred": 1.01 * coupled.gradient(pred, target)["pred"]})
    assert not checker.gradcheck(broken, size=30).passed
    monkeypatch.setattr(checker, "ELEMENTWISE_LIMIT", 20)
    assert checker.gradcheck(coupled, size=30).method == "directional"


def checker_per_sample(spec):
    return lambda values: spec.forward(values["pred"], values["target"])


# --- settings and inputs ------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"eps": 0.0}, "--eps must be > 0"), ({"atol": -1.0}, "--atol must be >= 0"),
    ({"directions": 0}, "--directions must be >= 1"), ({"mode": "fast"}, "unknown mode 'fast'"),
])
def test_bad_settings_are_parameter_errors(options, message):
    with pytest.raises(ParameterError, match=message):
        checker.gradcheck("mse", **options)


def test_given_inputs_are_validated():
    with pytest.raises(InputError, match="expected probabilities in"):
        checker.gradcheck("bce", {"pred": [0.5, 1.5], "target": [0.0, 1.0]})


def test_params_reach_the_loss():
    result = checker.gradcheck("huber", params={"delta": 0.3}, size=50)
    assert result.passed and result.inputs[0].kinks == 0


# --- users' own code ----------------------------------------------------------------------------

SEED_CLASSES = [("MSELoss", "mse"), ("MAELoss", "mae"), ("HuberLoss", "huber"), ("BinaryCrossEntropyLoss", "bce"),
                ("CrossEntropyLoss", "cross_entropy"), ("SoftmaxCrossEntropyLoss", "softmax_cross_entropy")]


@pytest.mark.parametrize("class_name, like", SEED_CLASSES)
def test_seed_classes_pass(class_name, like):
    user = usercode.load_user_loss(f"{SEED_FILE}:{class_name}")
    arrays = usercode.borrow_inputs(like, size=40)
    result = usercode.check_user_loss(user, arrays, checker.Settings())
    assert result.passed, result
    assert result.inputs[0].checked == arrays[next(iter(arrays))].size


@pytest.mark.parametrize("size", [10, 1000, 100_000])
def test_user_gradient_one_percent_too_large_fails_at_every_size(size):
    settings = checker.Settings(size=size)
    arrays = usercode.borrow_inputs("mse", size=size)
    good = usercode.check_user_loss(usercode.load_user_loss(f"{BROKEN_FILE}:mse_loss,mse_grad"), arrays, settings)
    bad = usercode.check_user_loss(
        usercode.load_user_loss(f"{BROKEN_FILE}:mse_loss,mse_grad_one_percent_too_large"), arrays, settings)
    assert good.passed and not bad.passed
    assert bad.inputs[0].method == ("directional" if size > checker.ELEMENTWISE_LIMIT else "full, per element")
    assert bad.inputs[0].analytic == pytest.approx(1.01 * bad.inputs[0].numeric, rel=1e-5)


def test_borrowed_class_targets_become_one_hot_or_integer_ids():
    onehot = usercode.borrow_inputs("cross_entropy", size=4, seed=2)
    ids = usercode.borrow_inputs("cross_entropy", size=4, seed=2, target_format="index")
    assert onehot["target"].shape == (4, 5) and ids["target"].dtype == np.int64
    np.testing.assert_array_equal(onehot["target"].argmax(axis=1), ids["target"])
    np.testing.assert_array_equal(onehot["target"].sum(axis=1), np.ones(4))


@pytest.mark.parametrize("text, expected", [
    ("mse", False), ("softmax-ce", False), ("my.py:Loss", True), ("dir/my.py:f,g", True), ("my.py", True)])
def test_user_code_is_told_apart_from_loss_names(text, expected):
    assert usercode.is_user_code(text) is expected


def test_init_values_are_python_literals():
    assert usercode.parse_init(["delta=2", "eps=1e-7", "name=plain text"]) == {
        "delta": 2, "eps": 1e-7, "name": "plain text"}
    with pytest.raises(LossCliError, match="expected --init KEY=VALUE"):
        usercode.parse_init(["delta"])


def test_user_exception_names_file_and_line():
    user = usercode.load_user_loss(f"{FIXTURES / 'raising_losses.py'}:RaisesInBackward")
    with pytest.raises(usercode.UserCodeError) as raised:
        usercode.check_user_loss(user, usercode.borrow_inputs("mse", size=5), checker.Settings())
    assert str(raised.value).startswith(f"{FIXTURES / 'raising_losses.py'}:20: AttributeError:")
    assert "\n" not in str(raised.value)


def test_user_code_gets_copies_of_the_inputs():
    arrays = usercode.borrow_inputs("mse", size=5)
    before = {name: value.copy() for name, value in arrays.items()}
    usercode.check_user_loss(usercode.load_user_loss(f"{SEED_FILE}:MSELoss"), arrays, checker.Settings())
    for name, value in arrays.items():
        np.testing.assert_array_equal(value, before[name])
