"""Issue 6's classification and margin losses and options: hand values, identities, class weights,
ignore_index, pos_weight, errors, naive references with non-default options, finite differences."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from reference_classification_more import REFERENCES_CLASSIFICATION_MORE as REFERENCES
from test_gradients import check_all_inputs
from typer.testing import CliRunner

from losscli import InputError, ParameterError, compute, get_loss
from losscli.cli.app import app

# logits whose softmax is (1, 2, 5)/8: log p = ln(1/8), ln(2/8), ln(5/8)
LOGITS_1_2_5 = [0.0, math.log(2.0), math.log(5.0)]
CE_FAMILY = ("cross_entropy", "softmax_cross_entropy", "label_smoothing")


def _sample(name, seed, params=None, n=8):
    spec = get_loss(name)
    resolved = spec.resolve_params(params)
    return spec.sample(np.random.default_rng(seed), n, resolved), resolved


# --- hand-derived values --------------------------------------------------------------------

def test_hinge_by_hand():
    # y·x = 2, 0.5, 0.5, -2 -> max(0, 1 - y·x) = 0, 0.5, 0.5, 2: mean 0.75; squared 0, ¼, ¼, 4: mean 1.125
    scores, labels = [2.0, 0.5, -0.5, 1.0], [1.0, 1.0, -1.0, -1.0]
    hinge = compute("hinge", scores, labels)
    assert hinge.value == 0.75
    # -y where y·x < 1, over N = 4
    np.testing.assert_array_equal(hinge.gradients["scores"], [0.0, -0.25, 0.25, 0.25])
    squared = compute("squared_hinge", scores, labels)
    assert squared.value == 1.125
    # -2y·max(0, 1 - y·x) / 4 = 0, -2·0.5/4, 2·0.5/4, 2·2/4
    np.testing.assert_array_equal(squared.gradients["scores"], [0.0, -0.25, 0.25, 1.0])


def test_cosine_by_hand():
    # x1 = (1, 0) against (1, 1), (1, 1), (0, 1): cos = 1/√2, 1/√2, 0; margin 0.5
    # y = 1: 1 - 1/√2;  y = -1: 1/√2 - 0.5;  y = -1 at cos 0 < margin: 0.  Sum 0.5, mean 1/6
    # (torch's 1e-12 under the square roots moves cos by ~1e-12 relative, hence rel=1e-11)
    x1 = [[1.0, 0.0]] * 3
    x2 = [[1.0, 1.0], [1.0, 1.0], [0.0, 1.0]]
    result = compute("cosine", x1, x2, [1.0, -1.0, -1.0], params={"margin": 0.5})
    assert result.value == pytest.approx(1 / 6, rel=1e-11)
    # row 1: -∂cos/∂x1 = -(x2/(|x1||x2|) - cos·x1/|x1|²) = -((1, 1)/√2 - (1, 0)/√2) = (0, -1/√2); / N = 3
    # row 2 (active, y = -1): +∂cos/∂x1 = (0, 1/√2) / 3;  row 3 (inactive): 0
    expected = np.array([[0.0, -1.0], [0.0, 1.0], [0.0, 0.0]]) / math.sqrt(2.0) / 3
    # the zeros are ~1e-13 off: cos·x1/(|x1|² + 1e-12) does not quite cancel x2/r's first component
    np.testing.assert_allclose(result.gradients["x1"], expected, rtol=1e-11, atol=1e-12)


def test_kl_div_by_hand():
    # y = (½, ½), q = (¼, ¾): ½ ln 2 + ½ ln(2/3) = ½ ln(4/3);  y = (1, 0), q = (½, ½): ln 2 (0·log 0 = 0)
    log_q = np.log([[0.25, 0.75], [0.5, 0.5]])
    result = compute("kl_div", log_q, [[0.5, 0.5], [1.0, 0.0]])
    assert result.value == pytest.approx((0.5 * math.log(4 / 3) + math.log(2.0)) / 2, rel=1e-14)
    # -y / N, exactly 0 where y = 0
    np.testing.assert_array_equal(result.gradients["log_pred"], [[-0.25, -0.25], [-0.5, 0.0]])


def test_focal_logits_by_hand():
    # torchvision, α = 0.25, γ = 2.  x = 0, y = 1: p_t = ½, BCE ln 2, α_t = ¼ -> ¼·¼·ln 2 = ln 2 / 16
    # x = ln 3, y = 0: p = ¾, p_t = ¼, BCE = -ln ¼ = 2 ln 2, α_t = ¾ -> ¾·(¾)²·2 ln 2 = 54/64 ln 2
    # mean = (4/64 + 54/64)·ln 2 / 2 = 29/64·ln 2
    value = compute("focal_logits", [0.0, math.log(3.0)], [1.0, 0.0]).value
    assert value == pytest.approx(29 / 64 * math.log(2.0), rel=1e-14)


def test_softmax_focal_by_hand():
    # class 2: p_t = 5/8, γ = 2 -> (3/8)²·(-ln(5/8)) = 9/64·ln 1.6; α = 0.5 for class 2 halves it
    assert compute("softmax_focal", [LOGITS_1_2_5], [2]).value == pytest.approx(9 / 64 * math.log(1.6), rel=1e-14)
    value = compute("softmax_focal", [LOGITS_1_2_5], [2], params={"alpha": "1,1,0.5"}).value
    assert value == pytest.approx(9 / 128 * math.log(1.6), rel=1e-14)


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


def test_bce_logits_pos_weight_by_hand():
    # x = 0: y = 1 costs p_w·ln 2 = 3 ln 2, y = 0 costs ln 2; mean 2 ln 2
    result = compute("bce_logits", [0.0, 0.0], [1.0, 0.0], params={"pos_weight": 3.0})
    assert result.value == pytest.approx(2 * math.log(2.0), rel=1e-15)
    # (1-y)·σ(x) - p_w·y·σ(-x), / N = 2: (-3·½, ½) / 2
    np.testing.assert_array_equal(result.gradients["logits"], [-0.75, 0.25])


def test_pos_weight_per_column_by_hand():
    # two label columns, pos_weight (1, 4), all logits 0 and all labels 1: ln 2·(1 + 4)·2 rows / 4 elements
    value = compute("bce_logits", np.zeros((2, 2)), np.ones((2, 2)), params={"pos_weight": "1,4"}).value
    assert value == pytest.approx(2.5 * math.log(2.0), rel=1e-15)


# --- identities -----------------------------------------------------------------------------

@pytest.mark.parametrize("soft", [False, True])
def test_focal_logits_gamma0_no_alpha_is_bce_logits(soft):
    inputs, _ = _sample("focal_logits", 1, n=32)
    if soft:
        inputs["target"] = np.random.default_rng(2).uniform(0.0, 1.0, 32)
    focal = compute("focal_logits", inputs, params={"gamma": 0.0, "alpha": -1.0})
    bce = compute("bce_logits", inputs)
    assert focal.value == pytest.approx(bce.value, rel=1e-14)
    np.testing.assert_allclose(focal.gradients["logits"], bce.gradients["logits"], rtol=1e-13, atol=1e-300)


def test_softmax_focal_gamma0_alpha1_is_softmax_cross_entropy():
    inputs, _ = _sample("softmax_focal", 3, n=16)
    for alpha in ((), 1.0, (1.0,) * 5):
        focal = compute("softmax_focal", inputs, params={"gamma": 0.0, "alpha": alpha})
        plain = compute("softmax_cross_entropy", inputs)
        assert focal.value == pytest.approx(plain.value, rel=1e-14)
        np.testing.assert_allclose(focal.gradients["logits"], plain.gradients["logits"], rtol=1e-13, atol=1e-16)


def test_kl_div_of_identical_distributions_is_zero():
    target = np.random.default_rng(4).dirichlet(np.ones(5), 6)
    assert compute("kl_div", np.log(target), target).value == 0.0
    assert compute("kl_div", np.log(target), np.log(target), params={"log_target": True}).value == 0.0


def test_kl_div_log_target_agrees_with_probabilities():
    inputs, _ = _sample("kl_div", 5, {"log_target": True}, n=16)
    as_logs = compute("kl_div", inputs, params={"log_target": True})
    as_probs = compute("kl_div", inputs["log_pred"], np.exp(inputs["target"]))
    assert as_logs.value == pytest.approx(as_probs.value, rel=1e-13)
    np.testing.assert_allclose(as_logs.gradients["log_pred"], as_probs.gradients["log_pred"], rtol=1e-14)


def test_kl_div_is_cross_entropy_minus_entropy():
    # KL(y || q) = H(y, q) - H(y): cross_entropy on q = exp(log q) minus the target's entropy
    inputs, _ = _sample("kl_div", 6, n=16)
    log_q, y = inputs["log_pred"], inputs["target"]
    entropy = -np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0), axis=1).mean()
    cross = compute("cross_entropy", np.exp(log_q), y).value
    assert compute("kl_div", log_q, y).value == pytest.approx(cross - entropy, rel=1e-12)


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_hinge_zero_one_labels_equal_signed_labels(name):
    inputs, _ = _sample(name, 7, n=16)
    zero_one = (inputs["target"] + 1.0) / 2.0
    signed = compute(name, inputs)
    mapped = compute(name, inputs["scores"], zero_one)
    assert mapped.value == signed.value
    np.testing.assert_array_equal(mapped.gradients["scores"], signed.gradients["scores"])


def test_cosine_zero_labels_equal_minus_one():
    inputs, params = _sample("cosine", 8, {"margin": 0.2}, n=16)
    zero = {**inputs, "labels": np.where(inputs["labels"] < 0, 0.0, 1.0)}
    assert compute("cosine", zero, params=params).value == compute("cosine", inputs, params=params).value


@pytest.mark.parametrize("name", [*CE_FAMILY, "lm_nll", "perplexity"])
def test_class_weights_all_one_change_nothing(name):
    inputs, params = _sample(name, 9)
    classes = next(iter(inputs.values())).shape[-1]
    plain = compute(name, inputs)
    ones = compute(name, inputs, params={"weight": (1.0,) * classes})
    assert ones.value == plain.value
    for key, grad in plain.gradients.items():
        np.testing.assert_array_equal(ones.gradients[key], grad)


def test_pos_weight_one_changes_nothing():
    inputs, _ = _sample("bce_logits", 10, n=16)
    plain, ones = compute("bce_logits", inputs), compute("bce_logits", inputs, params={"pos_weight": 1.0})
    assert ones.value == plain.value
    np.testing.assert_array_equal(ones.gradients["logits"], plain.gradients["logits"])


# --- ignore_index ----------------------------------------------------------------------------

@pytest.mark.parametrize("weight", [(), (0.5, 1.0, 2.0, 3.0, 0.25)], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", CE_FAMILY)
def test_ignored_rows_are_left_out(name, weight):
    inputs, _ = _sample(name, 11, n=10)
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


@pytest.mark.parametrize("name", ["lm_nll", "perplexity"])
def test_ignored_tokens_are_left_out(name):
    # padding tokens (id 0 here) are left out: the same as the flattened kept tokens alone
    inputs, _ = _sample(name, 12, n=4)
    logits, targets = inputs["logits"], inputs["targets"]
    kept = targets != 0
    ignored = compute(name, logits, targets, params={"ignore_index": 0})
    without = compute(name, logits[kept], targets[kept])
    assert ignored.value == pytest.approx(without.value, rel=1e-14)
    np.testing.assert_allclose(ignored.gradients["logits"][kept], without.gradients["logits"], rtol=1e-13)
    assert np.all(ignored.gradients["logits"][~kept] == 0.0)


def test_class_and_sample_weights_combine():
    # mean = Σ s_i·w[y_i]·ℓ_i / Σ s_i·w[y_i], ℓ_i the unweighted per-row loss
    inputs, _ = _sample("softmax_cross_entropy", 13, n=10)
    weight = np.array([0.5, 1.0, 2.0, 3.0, 0.25])
    sample_weights = np.random.default_rng(14).uniform(0.0, 2.0, 10)
    class_weight = weight[inputs["target"].astype(int)]
    plain = compute("softmax_cross_entropy", inputs, reduction="none").per_sample
    expected = np.sum(sample_weights * class_weight * plain) / np.sum(sample_weights * class_weight)
    value = compute("softmax_cross_entropy", inputs, params={"weight": tuple(weight)}, weights=sample_weights).value
    assert value == pytest.approx(expected, rel=1e-13)


def test_probability_targets_ignore_nothing_and_divide_by_n():
    # soft targets: torch applies w inside the sum and divides by N; ignore_index does not apply
    inputs, _ = _sample("softmax_cross_entropy", 15, n=6)
    soft = np.random.default_rng(16).dirichlet(np.ones(5), 6)
    result = compute("softmax_cross_entropy", inputs["logits"], soft, params={"weight": "1,2,3,4,5", "ignore_index": 0})
    assert result.aggregate.weight_total == 6.0
    expected = REFERENCES["softmax_cross_entropy"](inputs["logits"], soft, weight=(1, 2, 3, 4, 5))
    assert result.value == pytest.approx(expected, rel=1e-13)


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [*CE_FAMILY, "lm_nll", "perplexity"])
def test_every_target_ignored_is_an_error(name):
    inputs, _ = _sample(name, 17, n=3)
    target_name = list(inputs)[1]
    inputs[target_name] = np.full_like(inputs[target_name], 2.0)
    with pytest.raises(InputError, match="every target equals ignore_index 2: no sample left") as error:
        compute(name, inputs, params={"ignore_index": 2})
    assert error.value.input_name == target_name
    inputs[target_name][:] = -100.0  # torch's default
    with pytest.raises(InputError, match="ignore_index -100"):
        compute(name, inputs)


@pytest.mark.parametrize("name", [*CE_FAMILY, "lm_nll"])
def test_weight_length_must_match_the_classes(name):
    inputs, _ = _sample(name, 18, n=3)
    classes = next(iter(inputs.values())).shape[-1]
    with pytest.raises(InputError, match=f"expected {classes} class weights .* got 2"):
        compute(name, inputs, params={"weight": "1,2"})


def test_negative_class_weight_is_a_parameter_error():
    with pytest.raises(ParameterError, match="weight must be comma list or one-column file, each >= 0, got -1"):
        get_loss("softmax_cross_entropy").resolve_params({"weight": "1,-1,2"})


def test_vector_length_errors_for_pos_weight_and_alpha():
    with pytest.raises(InputError, match=r"pos_weight: expected 1 value or 2 \(one per column of logits\), got 3"):
        compute("bce_logits", np.zeros((4, 2)), np.ones((4, 2)), params={"pos_weight": "1,2,3"})
    with pytest.raises(InputError, match="pos_weight: expected 1 value or 1"):
        compute("bce_logits", np.zeros(4), np.ones(4), params={"pos_weight": "1,2,3,4"})
    with pytest.raises(InputError, match=r"alpha: expected 1 value or 3 \(one per class\), got 2"):
        compute("softmax_focal", np.zeros((2, 3)), [0, 1], params={"alpha": "0.5,0.5"})


def test_signed_labels_are_checked():
    with pytest.raises(InputError, match=r"expected labels \+1 or -1 \(or 1 and 0\), got 2") as error:
        compute("hinge", [0.5, 0.5], [1.0, 2.0])
    assert (error.value.input_name, error.value.row) == ("target", 1)
    with pytest.raises(InputError, match="expected labels"):
        compute("cosine", np.ones((2, 2)), np.ones((2, 2)), [1.0, 0.5])


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


# --- naive references with non-default options, and finite differences ------------------------

OPTION_CASES = [
    ("softmax_cross_entropy", {"weight": (0.5, 1.0, 2.0, 3.0, 0.25)}),
    ("softmax_cross_entropy", {"ignore_index": 2}),
    ("softmax_cross_entropy", {"weight": (0.5, 1.0, 2.0, 3.0, 0.25), "ignore_index": 1, "smoothing": 0.2}),
    ("label_smoothing", {"weight": (2.0, 1.0, 0.0, 1.0, 4.0), "ignore_index": 3}),
    ("cross_entropy", {"weight": (0.5, 1.0, 2.0, 3.0, 0.25), "ignore_index": 0}),
    ("lm_nll", {"weight": (1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 0.1), "ignore_index": 6}),
    ("perplexity", {"weight": (1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 0.1), "ignore_index": 6}),
    ("bce_logits", {"pos_weight": 2.5}),
    ("focal_logits", {"alpha": -1.0, "gamma": 0.5}),
    ("focal_logits", {"alpha": 0.7, "gamma": 3.0}),
    ("softmax_focal", {"alpha": (0.25, 0.5, 1.0, 2.0, 0.75), "gamma": 1.5}),
    ("softmax_focal", {"alpha": 0.25, "gamma": 0.5}),
    ("kl_div", {"log_target": True}),
    ("cosine", {"margin": 0.5}),
    ("cosine", {"margin": -0.4}),
]
OPTION_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in params.items())}" for name, params in OPTION_CASES]


@pytest.mark.parametrize(("name", "params"), OPTION_CASES, ids=OPTION_IDS)
def test_options_match_naive_reference(name, params):
    for seed in (0, 1, 2):
        inputs, resolved = _sample(name, seed, params, n=12)
        expected = REFERENCES[name](*inputs.values(), **resolved)
        assert compute(name, inputs, params=params).value == pytest.approx(expected, rel=1e-12)


GRADIENT_CASES = [pytest.param(name, params, reduction, id=f"{case_id}-{reduction}")
                  for (name, params), case_id in zip(OPTION_CASES, OPTION_IDS, strict=True)
                  for reduction in ("mean", "sum") if reduction in get_loss(name).reductions]


@pytest.mark.parametrize(("name", "params", "reduction"), GRADIENT_CASES)
def test_options_gradient_matches_finite_differences(name, params, reduction):
    inputs, resolved = _sample(name, 3, params, n=6)
    check_all_inputs(get_loss(name), inputs, resolved, reduction)


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "label_smoothing", "cross_entropy"])
def test_weighted_probability_targets_gradient(name):
    inputs, resolved = _sample(name, 19, {"weight": (0.5, 1.0, 2.0, 3.0, 0.25)}, n=5)
    inputs["target"] = np.random.default_rng(20).dirichlet(np.ones(5), 5)
    check_all_inputs(get_loss(name), inputs, resolved, "mean")
    assert compute(name, inputs, params=resolved).value == pytest.approx(
        REFERENCES[name](*inputs.values(), **resolved), rel=1e-12)


def test_pos_weight_per_column_matches_reference_and_finite_differences():
    inputs, _ = _sample("bce_logits", 21, n=12)
    inputs = {key: array.reshape(4, 3) for key, array in inputs.items()}
    params = get_loss("bce_logits").resolve_params({"pos_weight": "0.5,2,3"})
    assert compute("bce_logits", inputs, params=params).value == pytest.approx(
        REFERENCES["bce_logits"](*inputs.values(), **params), rel=1e-13)
    check_all_inputs(get_loss("bce_logits"), inputs, params, "mean")


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_zero_one_labels_gradient(name):
    inputs, resolved = _sample(name, 22, n=8)
    inputs["target"] = (inputs["target"] > 0).astype(float)
    check_all_inputs(get_loss(name), inputs, resolved, "mean")


# --- numerical stability --------------------------------------------------------------------

@pytest.mark.filterwarnings("error")
def test_focal_logits_huge_logits():
    # x = ±1e4: σ underflows to 0; a confident right answer costs 0, a confident wrong one α_t·1e4
    result = compute("focal_logits", [1e4, -1e4, 1e4, -1e4], [1.0, 0.0, 0.0, 1.0])
    assert result.value == pytest.approx((0.75 * 1e4 + 0.25 * 1e4) / 4, rel=1e-15)
    assert np.all(np.isfinite(result.gradients["logits"]))
    # wrong ones: slope (1-y)σ(x) - yσ(-x) = ±1 times α_t, / N
    np.testing.assert_array_equal(result.gradients["logits"], [0.0, 0.0, 0.75 / 4, -0.25 / 4])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_softmax_focal_near_certain_rows(gamma):
    # p_t rounds to 1 (1 - p_t = 0): loss 0 and gradient 0 — no 0/0 in log p_t / (1 - p_t)
    result = compute("softmax_focal", [[1e4, -1e4, 0.0], [0.0, 50.0, 0.0]], [0, 1], params={"gamma": gamma})
    assert result.value == pytest.approx(0.0, abs=1e-20)
    assert np.all(np.isfinite(result.gradients["logits"]))


@pytest.mark.filterwarnings("error")
def test_kl_div_zero_targets_no_warning():
    # 0·log 0 = 0 without a divide-by-zero warning, in value and gradient
    result = compute("kl_div", np.log([[0.5, 0.5]]), [[0.0, 1.0]])
    assert result.value == pytest.approx(math.log(2.0), rel=1e-15)
    np.testing.assert_array_equal(result.gradients["log_pred"], [[0.0, -1.0]])


# --- through the CLI --------------------------------------------------------------------------

def test_cli_class_weights_and_ignore_index():
    runner = CliRunner()
    files = ["sample_data/multiclass_logits.csv", "sample_data/multiclass_labels.csv"]
    result = runner.invoke(app, ["compute", "softmax_cross_entropy", *files, "-p", "weight=1,2,3",
                                 "-p", "ignore_index=2", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    logits = np.loadtxt(files[0], delimiter=",", skiprows=1)
    labels = np.loadtxt(files[1], skiprows=1)
    expected = REFERENCES["softmax_cross_entropy"](logits, labels, weight=(1, 2, 3), ignore_index=2)
    assert data["value"] == pytest.approx(expected, rel=1e-13)
    assert data["params"]["weight"] == [1.0, 2.0, 3.0] and data["params"]["ignore_index"] == 2
    # 4 rows of class 0 (w 1) and 4 of class 1 (w 2) are kept; class 2 is ignored: Σ w[y] = 12
    assert data["weight_total"] == 12.0
    bad = runner.invoke(app, ["compute", "softmax_cross_entropy", *files, "-p", "weight=1,2"])
    assert bad.exit_code == 2
    assert "expected 3 class weights" in bad.output
