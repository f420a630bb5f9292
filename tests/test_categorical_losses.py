"""cross_entropy, softmax_cross_entropy, label_smoothing and kl_div (losscli/losses/categorical.py):
hand values, identities, torch's class weights and ignore_index, errors and stability.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from loss_cases import CASES, assert_finite, sample
from support import SAMPLES, run

import losscli
from losscli import InputError, ParameterError, compute, get_loss
from losscli.spec import Domain

# torch's class weights and ignore_index: the losses with both parameters, and those taking class ids (not tokens)
WITH_CLASS_OPTIONS = tuple(spec.name for spec in losscli.LOSSES if {"weight", "ignore_index"} <= set(spec.defaults()))
CLASS_WEIGHTED = tuple(name for name in WITH_CLASS_OPTIONS if get_loss(name).inputs[-1].domain is Domain.CLASS_TARGET)


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _one_hot(ids, num_classes):
    return np.eye(num_classes)[np.asarray(ids, dtype=int)]


def test_cross_entropy_by_hand():
    # -ln p at the true class: rows pick 0.7 and 0.5 -> -(ln 0.7 + ln 0.5) / 2 = -ln(0.35) / 2
    pred = [[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]]
    assert compute("cross_entropy", pred, [0, 2]).value == pytest.approx(-math.log(0.35) / 2, rel=1e-14)


def test_cross_entropy_soft_targets_by_hand():
    # one row p = (½, ¼, ¼), target (½, ½, 0): -(½ ln ½ + ½ ln ¼) = 1.5 ln 2
    value = compute("cross_entropy", [[0.5, 0.25, 0.25]], [[0.5, 0.5, 0.0]]).value
    assert value == pytest.approx(1.5 * math.log(2.0), rel=1e-14)


def test_softmax_cross_entropy_by_hand():
    # logits (0, ln 2, ln 5) -> softmax (1, 2, 5)/8; class 1 -> -ln(2/8) = ln 4
    logits = [[0.0, math.log(2.0), math.log(5.0)]]
    assert compute("softmax_cross_entropy", logits, [1]).value == pytest.approx(math.log(4.0), rel=1e-14)
    # gradient softmax - onehot = (1/8, 2/8 - 1, 5/8)
    grad = compute("softmax_cross_entropy", logits, [1]).gradients["logits"]
    np.testing.assert_allclose(grad, [[0.125, -0.75, 0.625]], rtol=1e-14)


def test_label_smoothing_by_hand():
    # same logits, class 2, s = 0.1, C = 3: y' = (s/3, s/3, 0.9 + s/3), log p = ln(1/8), ln(2/8), ln(5/8)
    # loss = -(s/3)·ln(1·2·5 / 8³) - 0.9·ln(5/8) = (0.1/3)·ln 51.2 + 0.9·ln 1.6
    logits = [[0.0, math.log(2.0), math.log(5.0)]]
    expected = (0.1 / 3) * math.log(51.2) + 0.9 * math.log(1.6)
    assert compute("label_smoothing", logits, [2]).value == pytest.approx(expected, rel=1e-13)


def test_label_smoothing_uniform_logits_give_log_classes():
    # softmax of equal logits is uniform, so any target distribution costs ln C (here C = 4)
    value = compute("label_smoothing", np.zeros((3, 4)), [0, 1, 3], params={"smoothing": 0.3}).value
    assert value == pytest.approx(math.log(4.0), rel=1e-14)


def test_label_smoothing_zero_is_softmax_cross_entropy():
    inputs, _ = sample(get_loss("softmax_cross_entropy"), 11)
    smoothed = compute("label_smoothing", *inputs.values(), params={"smoothing": 0.0})
    plain = compute("softmax_cross_entropy", *inputs.values())
    assert smoothed.value == plain.value
    np.testing.assert_array_equal(smoothed.gradients["logits"], plain.gradients["logits"])


def test_label_smoothing_default_equals_softmax_cross_entropy_with_smoothing():
    inputs, _ = sample(get_loss("softmax_cross_entropy"), 12)
    assert (compute("label_smoothing", *inputs.values()).value
            == compute("softmax_cross_entropy", *inputs.values(), params={"smoothing": 0.1}).value)


def test_cross_entropy_of_softmax_equals_softmax_cross_entropy():
    inputs, _ = sample(get_loss("softmax_cross_entropy"), 13, rows=16)
    logits, target = inputs["logits"], inputs["target"]
    on_probs = compute("cross_entropy", _softmax(logits), target).value
    on_logits = compute("softmax_cross_entropy", logits, target).value
    assert on_probs == pytest.approx(on_logits, rel=1e-12)


@pytest.mark.parametrize("name", CLASS_WEIGHTED)
def test_class_id_targets_equal_one_hot_targets(name):
    spec = get_loss(name)
    inputs, _ = sample(spec, 15, rows=16)
    scores, ids = inputs.values()
    by_ids = compute(spec, scores, ids)
    by_rows = compute(spec, scores, _one_hot(ids, scores.shape[1]))
    assert by_ids.value == pytest.approx(by_rows.value, rel=1e-14)
    np.testing.assert_allclose(by_ids.per_sample, by_rows.per_sample, rtol=1e-14)
    grad_name = spec.inputs[0].name
    np.testing.assert_allclose(by_ids.gradients[grad_name], by_rows.gradients[grad_name], rtol=1e-13, atol=1e-16)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["softmax_cross_entropy", "label_smoothing", "lm_nll"])
def test_softmax_losses_huge_logits(name):
    # log-softmax: row 1 (0, -2e4, -1e4), row 2 (-2e4, 0, -1e4); target class 1 in both
    # no smoothing: (2e4 + 0) / 2 = 1e4
    # smoothing s = 0.1, C = 3: row 1 (0.9 + s/3)·2e4 + (s/3)·1e4 = 19000, row 2 (s/3)·3e4 = 1000; mean 1e4 again
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    result = compute(name, logits, [1, 1])
    assert_finite(result)
    assert result.value == pytest.approx(1e4, rel=1e-12)
    if name != "label_smoothing":
        np.testing.assert_array_equal(result.gradients["logits"], [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["softmax_cross_entropy", "label_smoothing"])
def test_softmax_losses_huge_logits_soft_targets(name):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    assert_finite(compute(name, logits, [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]))


@pytest.mark.filterwarnings("error")
def test_cross_entropy_with_zero_probabilities():
    result = compute("cross_entropy", [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [1, 1])
    assert_finite(result)
    assert result.value == pytest.approx(-math.log(1e-15) / 2, rel=1e-6)


# logits whose softmax is (1, 2, 5)/8: log p = ln(1/8), ln(2/8), ln(5/8)
LOGITS_1_2_5 = [0.0, math.log(2.0), math.log(5.0)]


def test_kl_div_by_hand():
    # y = (½, ½), q = (¼, ¾): ½ ln 2 + ½ ln(2/3) = ½ ln(4/3);  y = (1, 0), q = (½, ½): ln 2 (0·log 0 = 0)
    log_q = np.log([[0.25, 0.75], [0.5, 0.5]])
    result = compute("kl_div", log_q, [[0.5, 0.5], [1.0, 0.0]])
    assert result.value == pytest.approx((0.5 * math.log(4 / 3) + math.log(2.0)) / 2, rel=1e-14)
    # -y / N, exactly 0 where y = 0
    np.testing.assert_array_equal(result.gradients["log_pred"], [[-0.25, -0.25], [-0.5, 0.0]])


def test_softmax_cross_entropy_class_weights_by_hand():
    # rows pick p = 2/8 (class 1) and 5/8 (class 2); weight (1, 2, 3):
    # torch: (2·ln 4 + 3·ln 1.6) / (2 + 3)
    logits, target = [LOGITS_1_2_5, LOGITS_1_2_5], [1, 2]
    result = compute("softmax_cross_entropy", logits, target, params={"weight": (1.0, 2.0, 3.0)})
    assert result.value == pytest.approx((2 * math.log(4.0) + 3 * math.log(1.6)) / 5, rel=1e-14)
    assert result.aggregate.weight_total == 5.0  # the mean's denominator Σ w[y]
    # row 1: w_1·(softmax - onehot) / 5 = 2·(1/8, -6/8, 5/8) / 5
    np.testing.assert_allclose(result.gradients["logits"][0], [0.05, -0.3, 0.25], rtol=1e-14)
    # ignoring class 2 leaves row 1 alone: 2·ln 4 / 2 = ln 4, and row 2's gradient is 0
    ignored = compute("softmax_cross_entropy", logits, target, params={"weight": (1.0, 2.0, 3.0), "ignore_index": 2})
    assert ignored.value == pytest.approx(math.log(4.0), rel=1e-14)
    np.testing.assert_array_equal(ignored.gradients["logits"][1], [0.0, 0.0, 0.0])


def test_label_smoothing_with_class_weights_by_hand():
    # torch's formula, one row of class 2, s = 0.3, w = (1, 2, 3), -log p = ln 8, ln 4, ln 1.6:
    # [(1 - s)·3·ln 1.6 + (s/3)·(1·ln 8 + 2·ln 4 + 3·ln 1.6)] / w[2] = 3
    expected = (0.7 * 3 * math.log(1.6) + 0.1 * (math.log(8.0) + 2 * math.log(4.0) + 3 * math.log(1.6))) / 3
    value = compute("label_smoothing", [LOGITS_1_2_5], [2], params={"smoothing": 0.3, "weight": "1,2,3"}).value
    assert value == pytest.approx(expected, rel=1e-14)


def test_cross_entropy_class_weights_by_hand():
    # nll_loss(log p, weight (2, 1, 0.5)): rows pick 0.7 (class 0) and 0.5 (class 2)
    # -(2·ln 0.7 + 0.5·ln 0.5) / (2 + 0.5)
    pred = [[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]]
    value = compute("cross_entropy", pred, [0, 2], params={"weight": (2.0, 1.0, 0.5)}).value
    assert value == pytest.approx(-(2 * math.log(0.7) + 0.5 * math.log(0.5)) / 2.5, rel=1e-14)


def test_kl_div_of_identical_distributions_is_zero():
    target = np.random.default_rng(4).dirichlet(np.ones(5), 6)
    # log q = fl(log y) is not log y: the KL at those floats is log's rounding error, ±1e-17 (its digits are
    # checked against the 50-digit reference in test_accuracy.py); log_target compares the same floats: exactly 0
    assert abs(compute("kl_div", np.log(target), target).value) < 1e-16
    assert compute("kl_div", np.log(target), np.log(target), params={"log_target": True}).value == 0.0


def test_kl_div_log_target_agrees_with_probabilities():
    inputs, _ = sample("kl_div", 5, {"log_target": True}, rows=16)
    as_logs = compute("kl_div", inputs, params={"log_target": True})
    as_probs = compute("kl_div", inputs["log_pred"], np.exp(inputs["target"]))
    assert as_logs.value == pytest.approx(as_probs.value, rel=1e-13)
    np.testing.assert_allclose(as_logs.gradients["log_pred"], as_probs.gradients["log_pred"], rtol=1e-14)


def test_kl_div_is_cross_entropy_minus_entropy():
    # KL(y || q) = H(y, q) - H(y): cross_entropy on q = exp(log q) minus the target's entropy
    inputs, _ = sample("kl_div", 6, rows=16)
    log_q, y = inputs["log_pred"], inputs["target"]
    entropy = -np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0), axis=1).mean()
    cross = compute("cross_entropy", np.exp(log_q), y).value
    assert compute("kl_div", log_q, y).value == pytest.approx(cross - entropy, rel=1e-12)


@pytest.mark.parametrize("name", WITH_CLASS_OPTIONS)
def test_class_weights_all_one_change_nothing(name):
    inputs, params = sample(name, 9)
    classes = next(iter(inputs.values())).shape[-1]
    plain = compute(name, inputs)
    ones = compute(name, inputs, params={"weight": (1.0,) * classes})
    assert ones.value == plain.value
    for key, grad in plain.gradients.items():
        np.testing.assert_array_equal(ones.gradients[key], grad)


@pytest.mark.parametrize("weight", [(), (0.5, 1.0, 2.0, 3.0, 0.25)], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", CLASS_WEIGHTED)
def test_ignored_rows_are_left_out(name, weight):
    inputs, _ = sample(name, 11, rows=10)
    scores_name, target_name = inputs
    kept = np.ones(10, dtype=bool)
    kept[[1, 4, 5]] = False
    with_ignored = {**inputs, target_name: np.where(kept, inputs[target_name], -100.0)}
    params = {"weight": weight}
    ignored = compute(name, with_ignored, params=params)
    without = compute(name, {key: array[kept] for key, array in inputs.items()}, params=params)
    assert ignored.value == pytest.approx(without.value, rel=1e-14)
    assert ignored.aggregate.weight_total == pytest.approx(without.aggregate.weight_total, rel=1e-15)
    np.testing.assert_allclose(ignored.gradients[scores_name][kept], without.gradients[scores_name], rtol=1e-14)
    assert np.all(ignored.gradients[scores_name][~kept] == 0.0)
    assert np.all(ignored.per_sample[~kept] == 0.0)


def test_class_and_sample_weights_combine():
    # mean = Σ s_i·w[y_i]·ℓ_i / Σ s_i·w[y_i], ℓ_i the unweighted per-row loss
    inputs, _ = sample("softmax_cross_entropy", 13, rows=10)
    weight = np.array([0.5, 1.0, 2.0, 3.0, 0.25])
    sample_weights = np.random.default_rng(14).uniform(0.0, 2.0, 10)
    class_weight = weight[inputs["target"].astype(int)]
    plain = compute("softmax_cross_entropy", inputs, reduction="none").per_sample
    expected = np.sum(sample_weights * class_weight * plain) / np.sum(sample_weights * class_weight)
    value = compute("softmax_cross_entropy", inputs, params={"weight": tuple(weight)}, weights=sample_weights).value
    assert value == pytest.approx(expected, rel=1e-13)


def test_probability_targets_ignore_nothing_and_divide_by_n():
    # soft targets: torch applies w inside the sum and divides by N; ignore_index does not apply
    inputs, _ = sample("softmax_cross_entropy", 15, rows=6)
    soft = np.random.default_rng(16).dirichlet(np.ones(5), 6)
    result = compute("softmax_cross_entropy", inputs["logits"], soft, params={"weight": "1,2,3,4,5", "ignore_index": 0})
    assert result.aggregate.weight_total == 6.0
    expected = CASES["softmax_cross_entropy"].naive(inputs["logits"], soft, weight=(1, 2, 3, 4, 5))
    assert result.value == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("name", WITH_CLASS_OPTIONS)
def test_every_target_ignored_is_an_error(name):
    inputs, _ = sample(name, 17, rows=3)
    target_name = list(inputs)[1]
    inputs[target_name] = np.full_like(inputs[target_name], 2.0)
    with pytest.raises(InputError, match="every target equals ignore_index 2: no sample left") as error:
        compute(name, inputs, params={"ignore_index": 2})
    assert error.value.input_name == target_name
    inputs[target_name][:] = -100.0  # torch's default
    with pytest.raises(InputError, match="ignore_index -100"):
        compute(name, inputs)


@pytest.mark.parametrize("name", WITH_CLASS_OPTIONS)
def test_weight_length_must_match_the_classes(name):
    inputs, _ = sample(name, 18, rows=3)
    classes = next(iter(inputs.values())).shape[-1]
    with pytest.raises(InputError, match=f"expected {classes} class weights .* got 2"):
        compute(name, inputs, params={"weight": "1,2"})


def test_negative_class_weight_is_a_parameter_error():
    with pytest.raises(ParameterError, match="weight must be comma list or one-column file, each >= 0, got -1"):
        get_loss("softmax_cross_entropy").resolve_params({"weight": "1,-1,2"})


def test_kl_div_inputs_are_checked():
    with pytest.raises(InputError, match="expected log-probabilities <= 0, got 0.5") as error:
        compute("kl_div", [[0.5, -1.0]], [[0.5, 0.5]])
    assert "log_softmax" in str(error.value)
    with pytest.raises(InputError, match="summing to 1"):
        compute("kl_div", [[-1.0, -1.0]], [[0.5, 0.5]])  # e^-1 + e^-1 = 0.74
    with pytest.raises(InputError, match="summing to 1"):
        compute("kl_div", np.log([[0.5, 0.5]]), [[0.5, 0.7]])
    # with log_target the target must hold log-probabilities, not probabilities
    with pytest.raises(InputError, match="expected log-probabilities <= 0"):
        compute("kl_div", np.log([[0.5, 0.5]]), [[0.5, 0.5]], params={"log_target": True})


@pytest.mark.filterwarnings("error")
def test_kl_div_zero_targets_no_warning():
    # 0·log 0 = 0 without a divide-by-zero warning, in value and gradient
    result = compute("kl_div", np.log([[0.5, 0.5]]), [[0.0, 1.0]])
    assert result.value == pytest.approx(math.log(2.0), rel=1e-15)
    np.testing.assert_array_equal(result.gradients["log_pred"], [[0.0, -1.0]])


def test_cli_class_weights_and_ignore_index():
    files = [SAMPLES / "multiclass_logits.csv", SAMPLES / "multiclass_labels.csv"]
    result = run("compute", "softmax_cross_entropy", *files, "-p", "weight=1,2,3", "-p", "ignore_index=2",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    logits = np.loadtxt(files[0], delimiter=",", skiprows=1)
    labels = np.loadtxt(files[1], skiprows=1)
    expected = CASES["softmax_cross_entropy"].naive(logits, labels, weight=(1, 2, 3), ignore_index=2)
    assert data["value"] == pytest.approx(expected, rel=1e-13)
    assert data["params"]["weight"] == [1.0, 2.0, 3.0] and data["params"]["ignore_index"] == 2
    # 4 rows of class 0 (w 1) and 4 of class 1 (w 2) are kept; class 2 is ignored: Σ w[y] = 12
    assert data["weight_total"] == 12.0
    bad = run("compute", "softmax_cross_entropy", *files, "-p", "weight=1,2")
    assert bad.exit_code == 2
    assert "expected 3 class weights" in bad.output
