"""Loss values: hand-derived numbers, the naive references, identities, reductions, stability."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference import REFERENCES

import losscli
from losscli import ParameterError, compute, get_loss
from losscli.spec import Domain

SPEC_IDS = [spec.name for spec in losscli.LOSSES]
SEEDS = (0, 1, 2)
SAMPLE_ROWS = 8


def _sample(spec, seed, params=None, n=SAMPLE_ROWS):
    params = spec.resolve_params(params)
    return spec.sample(np.random.default_rng(seed), n, params), params


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _one_hot(ids, num_classes):
    return np.eye(num_classes)[np.asarray(ids, dtype=int)]


# --- hand-derived values --------------------------------------------------------------------

# The seed's outlier example (compare_mse_mae): residuals pred - true are 0.5, 0.5, 0.5, -96.
OUTLIER_TRUE = [1.0, 2.0, 3.0, 100.0]
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


def test_bce_by_hand():
    # p = 0.5, y = 1 -> ln 2;  p = 0.25, y = 0 -> -ln 0.75 = ln(4/3);  mean = ln(8/3) / 2
    value = compute("bce", [0.5, 0.25], [1.0, 0.0]).value
    assert value == pytest.approx(math.log(8 / 3) / 2, rel=1e-14)


def test_bce_gradient_by_hand():
    # (p - y) / (p(1 - p)) / N: (0.5 - 1)/0.25/2 = -1;  0.25/0.1875/2 = 2/3
    grad = compute("bce", [0.5, 0.25], [1.0, 0.0]).gradients["pred"]
    np.testing.assert_allclose(grad, [-1.0, 2 / 3], rtol=1e-14)


def test_bce_logits_by_hand():
    # x = 0 -> σ = ½ -> ln 2 whatever y;  x = ln 3, y = 1 -> σ = 3/4 -> ln(4/3)
    value = compute("bce_logits", [0.0, math.log(3.0)], [0.0, 1.0]).value
    assert value == pytest.approx((math.log(2.0) + math.log(4 / 3)) / 2, rel=1e-14)


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


def test_focal_by_hand():
    # α = 0.25, γ = 2.  p = 0.9, y = 1: p_t = 0.9, α_t = 0.25 -> 0.25·0.1²·(-ln 0.9) = 0.0025·ln(10/9)
    #                   p = 0.9, y = 0: p_t = 0.1, α_t = 0.75 -> 0.75·0.9²·(-ln 0.1) = 0.6075·ln 10
    value = compute("focal", [0.9, 0.9], [1.0, 0.0]).value
    expected = (0.0025 * math.log(10 / 9) + 0.6075 * math.log(10.0)) / 2
    assert value == pytest.approx(expected, rel=1e-13)


def test_focal_easy_example_is_down_weighted_100x():
    # The seed: with γ = 2 an easy example (p_t = 0.9) costs (1 - 0.9)² = 1/100 of its cross-entropy
    # (α = 0.5 on both sides, so focal = ½·0.01·CE and plain BCE = CE).
    focal = compute("focal", [0.9], [1.0], params={"alpha": 0.5, "gamma": 2.0}).value
    bce = compute("bce", [0.9], [1.0]).value
    assert focal / (0.5 * bce) == pytest.approx(0.01, rel=1e-12)


def test_contrastive_by_hand():
    # x1 = (0, 0), x2 = (3, 4): d = 5.  Label 1 (same class) -> ½·25 = 12.5;
    # label 0 with margin 6 -> ½·(6 - 5)² = 0.5;  mean 6.5.  Label 0 with margin 1 -> 0 (beyond the margin).
    x1 = [[0.0, 0.0], [0.0, 0.0]]
    x2 = [[3.0, 4.0], [3.0, 4.0]]
    assert compute("contrastive", x1, x2, [1.0, 0.0], params={"margin": 6.0}).value == 6.5
    assert compute("contrastive", x1[:1], x2[:1], [0.0], params={"margin": 1.0}).value == 0.0


def test_contrastive_gradient_by_hand():
    # label 1: ∂/∂x1 ½d² = x1 - x2 = (-3, -4), /N with N = 1;  ∂/∂x2 = (3, 4)
    result = compute("contrastive", [[0.0, 0.0]], [[3.0, 4.0]], [1.0])
    np.testing.assert_allclose(result.gradients["x1"], [[-3.0, -4.0]])
    np.testing.assert_allclose(result.gradients["x2"], [[3.0, 4.0]])


def test_triplet_by_hand():
    # a = 0; row 1: d(a,p) = 5, d(a,n) = 10 -> max(0, 5 - 10 + 0.2) = 0;
    # row 2: d(a,p) = 10, d(a,n) = 5 -> 10 - 5 + 0.2 = 5.2;  mean 2.6
    anchor = [[0.0, 0.0], [0.0, 0.0]]
    positive = [[3.0, 4.0], [6.0, 8.0]]
    negative = [[6.0, 8.0], [3.0, 4.0]]
    result = compute("triplet", anchor, positive, negative)
    assert result.value == pytest.approx(2.6, rel=1e-15)
    # active row 2: ∂/∂p = (p - a)/d_ap = (0.6, 0.8), ∂/∂n = (a - n)/d_an = (-0.6, -0.8), /N = 2
    np.testing.assert_allclose(result.gradients["positive"], [[0.0, 0.0], [0.3, 0.4]])
    np.testing.assert_allclose(result.gradients["negative"], [[0.0, 0.0], [-0.3, -0.4]])
    np.testing.assert_allclose(result.gradients["anchor"], [[0.0, 0.0], [0.0, 0.0]], atol=1e-15)


def test_infonce_by_hand():
    # q = (1, 0), keys (1, 0), (0, 1), (-1, 0), τ = 0.5: similarities 2, 0, -2, positive 0
    # -> ln(e² + 1 + e⁻²) - 2
    query = [[1.0, 0.0]]
    keys = [[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]]
    value = compute("infonce", query, keys, params={"temperature": 0.5}).value
    assert value == pytest.approx(math.log(math.exp(2) + 1 + math.exp(-2)) - 2, rel=1e-14)
    # positive_idx 2 picks similarity -2: ln(e² + 1 + e⁻²) + 2
    value = compute("infonce", query, keys, params={"temperature": 0.5, "positive_idx": 2}).value
    assert value == pytest.approx(math.log(math.exp(2) + 1 + math.exp(-2)) + 2, rel=1e-14)


def test_infonce_identical_keys_give_log_k():
    # all K = 5 keys equal: every similarity the same, softmax uniform -> ln 5
    query = np.array([[0.6, 0.8]])
    keys = np.tile(query[:, None, :], (1, 5, 1))
    assert compute("infonce", query, keys).value == pytest.approx(math.log(5.0), rel=1e-14)


@pytest.mark.parametrize("vocab", [2, 7, 50])
def test_uniform_logits_give_perplexity_vocab(vocab):
    # softmax of equal logits is 1/V for every token: NLL ln V, perplexity V
    logits = np.full((2, 3, vocab), 1.7)
    targets = np.arange(6).reshape(2, 3) % vocab
    assert compute("lm_nll", logits, targets).value == pytest.approx(math.log(vocab), rel=1e-14)
    assert compute("perplexity", logits, targets).value == pytest.approx(vocab, rel=1e-13)


def test_perplexity_by_hand():
    # token 1: logits (0, ln 3) -> p(target 1) = 3/4;  token 2: logits (0, 0) -> p = 1/2
    # mean NLL = (ln 4/3 + ln 2) / 2 -> PPL = sqrt(8/3)
    logits = [[0.0, math.log(3.0)], [0.0, 0.0]]
    assert compute("perplexity", logits, [1, 0]).value == pytest.approx(math.sqrt(8 / 3), rel=1e-14)


# --- the naive references -------------------------------------------------------------------

def _reference(name):
    if name not in REFERENCES:
        pytest.fail(f"loss {name!r} has no naive reference: add one to tests/reference.py (REFERENCES)")
    return REFERENCES[name]


# Non-default parameters checked against the references as well as the defaults.
REFERENCE_PARAMS = {
    "huber": [{"delta": 0.5}, {"delta": 3.0}],
    "bce": [{"eps": 0.1}],
    "focal": [{"gamma": 0.5}, {"gamma": 3.0, "alpha": 0.7}, {"gamma": 0.0}],
    "softmax_cross_entropy": [{"smoothing": 0.2}],
    "label_smoothing": [{"smoothing": 0.3}, {"smoothing": 1.0}],
    "contrastive": [{"margin": 2.0}],
    "triplet": [{"margin": 1.0}],
    "infonce": [{"positive_idx": 2, "temperature": 0.5}, {"temperature": 0.01}],
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("spec", losscli.LOSSES, ids=SPEC_IDS)
def test_matches_naive_reference(spec, seed):
    reference = _reference(spec.name)
    for overrides in [{}, *REFERENCE_PARAMS.get(spec.name, [])]:
        inputs, params = _sample(spec, seed, overrides)
        value = compute(spec, inputs, params=overrides).value
        expected = reference(*inputs.values(), **params)
        assert value == pytest.approx(expected, rel=1e-12), f"{spec.name} {overrides}: {value} vs reference {expected}"


CLASS_LOSSES = ("cross_entropy", "softmax_cross_entropy", "label_smoothing")


@pytest.mark.parametrize("name", CLASS_LOSSES)
def test_probability_targets_match_naive_reference(name):
    spec = get_loss(name)
    inputs, params = _sample(spec, 3)
    scores = next(iter(inputs.values()))
    soft = np.random.default_rng(4).dirichlet(np.ones(scores.shape[1]), scores.shape[0])
    assert compute(spec, scores, soft).value == pytest.approx(_reference(name)(scores, soft, **params), rel=1e-12)


LABELLED = [spec for spec in losscli.LOSSES if spec.inputs[-1].domain is Domain.LABEL]


@pytest.mark.parametrize("spec", LABELLED, ids=lambda spec: spec.name)
def test_soft_labels_match_naive_reference(spec):
    inputs, params = _sample(spec, 23)
    label_name = spec.input_names[-1]
    inputs[label_name] = np.random.default_rng(24).uniform(0.0, 1.0, inputs[label_name].shape)
    expected = _reference(spec.name)(*inputs.values(), **params)
    assert compute(spec, inputs).value == pytest.approx(expected, rel=1e-12)


ELEMENTWISE = [spec for spec in losscli.LOSSES if all(inp.shapes == (("...",),) for inp in spec.inputs)]


@pytest.mark.parametrize("spec", ELEMENTWISE, ids=lambda spec: spec.name)
def test_two_column_inputs_match_naive_reference(spec):
    inputs, params = _sample(spec, 25)
    inputs = {name: array.reshape(4, 2) for name, array in inputs.items()}
    expected = _reference(spec.name)(*inputs.values(), **params)
    assert compute(spec, inputs).value == pytest.approx(expected, rel=1e-12)


def test_reference_catalogue_is_exactly_the_registry():
    assert set(REFERENCES) == set(losscli.names()), "tests/reference.py REFERENCES must cover every registered loss"


def test_lm_losses_accept_flattened_tokens():
    # [B, T, V] and the same tokens flattened to [B·T, V] give the same mean
    inputs, _ = _sample(get_loss("lm_nll"), 5)
    logits, targets = inputs["logits"], inputs["targets"]
    flat = compute("lm_nll", logits.reshape(-1, logits.shape[-1]), targets.ravel()).value
    assert flat == pytest.approx(compute("lm_nll", logits, targets).value, rel=1e-14)


def test_regression_accepts_two_column_rows():
    # [N, D] elementwise: the mean runs over all N·D elements, as torch's mse_loss does
    pred = np.array([[1.0, 2.0], [3.0, 5.0]])
    target = np.zeros((2, 2))
    assert compute("mse", pred, target).value == (1 + 4 + 9 + 25) / 4
    assert compute("mse", pred, target).n == 4


# --- identities -----------------------------------------------------------------------------

def test_focal_gamma0_alpha_half_is_half_bce():
    inputs, _ = _sample(get_loss("focal"), 6, n=32)
    pred, target = inputs["pred"], inputs["target"]
    focal = compute("focal", pred, target, params={"gamma": 0.0, "alpha": 0.5})
    bce = compute("bce", pred, target)
    assert focal.value == pytest.approx(0.5 * bce.value, rel=1e-14)
    np.testing.assert_allclose(focal.gradients["pred"], 0.5 * bce.gradients["pred"], rtol=1e-14)


def test_focal_gamma0_alpha_half_is_half_bce_for_soft_labels():
    rng = np.random.default_rng(7)
    pred, target = rng.uniform(0.05, 0.95, 16), rng.uniform(0.0, 1.0, 16)
    focal = compute("focal", pred, target, params={"gamma": 0.0, "alpha": 0.5}).value
    assert focal == pytest.approx(0.5 * compute("bce", pred, target).value, rel=1e-14)


def test_huber_with_huge_delta_is_half_mse():
    inputs, _ = _sample(get_loss("mse"), 8, n=32)
    huber = compute("huber", *inputs.values(), params={"delta": 1e9})
    mse = compute("mse", *inputs.values())
    assert huber.value == pytest.approx(0.5 * mse.value, rel=1e-14)
    np.testing.assert_allclose(huber.gradients["pred"], 0.5 * mse.gradients["pred"], rtol=1e-14)


def test_huber_with_tiny_delta_is_delta_times_mae():
    # δ(|a| - ½δ) -> δ·|a| as δ -> 0 (every residual here is at least 0.1)
    inputs, _ = _sample(get_loss("mae"), 9, n=32)
    delta = 1e-6
    huber = compute("huber", *inputs.values(), params={"delta": delta}).value
    mae = compute("mae", *inputs.values()).value
    assert huber == pytest.approx(delta * (mae - 0.5 * delta), rel=1e-12)


def test_perplexity_is_exp_of_lm_nll():
    inputs, _ = _sample(get_loss("lm_nll"), 10)
    nll = compute("lm_nll", *inputs.values())
    ppl = compute("perplexity", *inputs.values())
    assert ppl.value == pytest.approx(math.exp(nll.value), rel=1e-14)
    # chain rule: d exp(L) = exp(L)·dL
    np.testing.assert_allclose(ppl.gradients["logits"], ppl.value * nll.gradients["logits"], rtol=1e-13)
    none = compute("perplexity", *inputs.values(), reduction="none").value
    np.testing.assert_allclose(none, np.exp(compute("lm_nll", *inputs.values(), reduction="none").value), rtol=1e-14)


def test_label_smoothing_zero_is_softmax_cross_entropy():
    inputs, _ = _sample(get_loss("softmax_cross_entropy"), 11)
    smoothed = compute("label_smoothing", *inputs.values(), params={"smoothing": 0.0})
    plain = compute("softmax_cross_entropy", *inputs.values())
    assert smoothed.value == plain.value
    np.testing.assert_array_equal(smoothed.gradients["logits"], plain.gradients["logits"])


def test_label_smoothing_default_equals_softmax_cross_entropy_with_smoothing():
    inputs, _ = _sample(get_loss("softmax_cross_entropy"), 12)
    assert (compute("label_smoothing", *inputs.values()).value
            == compute("softmax_cross_entropy", *inputs.values(), params={"smoothing": 0.1}).value)


def test_cross_entropy_of_softmax_equals_softmax_cross_entropy():
    inputs, _ = _sample(get_loss("softmax_cross_entropy"), 13, n=16)
    logits, target = inputs["logits"], inputs["target"]
    on_probs = compute("cross_entropy", _softmax(logits), target).value
    on_logits = compute("softmax_cross_entropy", logits, target).value
    assert on_probs == pytest.approx(on_logits, rel=1e-12)


def test_lm_nll_equals_softmax_cross_entropy_of_flattened_tokens():
    inputs, _ = _sample(get_loss("lm_nll"), 14)
    logits, targets = inputs["logits"], inputs["targets"]
    flat = compute("softmax_cross_entropy", logits.reshape(-1, logits.shape[-1]), targets.ravel())
    assert compute("lm_nll", logits, targets).value == pytest.approx(flat.value, rel=1e-14)


@pytest.mark.parametrize("name", CLASS_LOSSES)
def test_class_id_targets_equal_one_hot_targets(name):
    spec = get_loss(name)
    inputs, _ = _sample(spec, 15, n=16)
    scores, ids = inputs.values()
    by_ids = compute(spec, scores, ids)
    by_rows = compute(spec, scores, _one_hot(ids, scores.shape[1]))
    assert by_ids.value == pytest.approx(by_rows.value, rel=1e-14)
    np.testing.assert_allclose(by_ids.per_sample, by_rows.per_sample, rtol=1e-14)
    grad_name = spec.inputs[0].name
    np.testing.assert_allclose(by_ids.gradients[grad_name], by_rows.gradients[grad_name], rtol=1e-13, atol=1e-16)


def test_bce_logits_equals_bce_of_sigmoid():
    logits = np.linspace(-5, 5, 11)
    target = (np.arange(11) % 2).astype(float)
    probs = 1 / (1 + np.exp(-logits))
    assert compute("bce_logits", logits, target).value == pytest.approx(compute("bce", probs, target).value, rel=1e-12)


def test_contrastive_label_convention():
    # label 1 = same class is pulled together: the loss grows with distance;
    # label 0 = different class costs nothing beyond the margin and most at distance 0.
    near, far = [[0.0, 0.1]], [[0.0, 3.0]]
    origin = [[0.0, 0.0]]
    assert compute("contrastive", origin, near, [1.0]).value < compute("contrastive", origin, far, [1.0]).value
    assert compute("contrastive", origin, near, [0.0]).value > compute("contrastive", origin, far, [0.0]).value == 0.0


# --- reductions -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [spec for spec in losscli.LOSSES if "sum" in spec.reductions], ids=lambda s: s.name)
def test_sum_is_mean_times_n(spec):
    inputs, params = _sample(spec, 16)
    mean = compute(spec, inputs, params=params)
    total = compute(spec, inputs, params=params, reduction="sum")
    assert total.value == pytest.approx(mean.value * mean.n, rel=1e-13)
    assert total.n == mean.n == mean.per_sample.size
    for name, grad in total.gradients.items():
        np.testing.assert_allclose(grad, mean.gradients[name] * mean.n, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("spec", losscli.LOSSES, ids=SPEC_IDS)
def test_weighted_mean_is_weighted_sum_over_weight_total(spec):
    inputs, params = _sample(spec, 17)
    unweighted = compute(spec, inputs, params=params, reduction="none")
    per_sample = unweighted.per_sample
    weights = np.random.default_rng(18).uniform(0.0, 3.0, per_sample.shape[0])
    weighted = compute(spec, inputs, params=params, weights=weights)
    # a sample's weight applies to each of its elements / tokens
    numerator = denominator = 0.0
    for row in range(per_sample.shape[0]):
        for loss in np.atleast_1d(per_sample[row]).ravel():
            numerator += weights[row] * loss
            denominator += weights[row]
    expected = numerator / denominator
    if spec.transform is not None:
        expected = spec.transform.function(expected)
    assert weighted.value == pytest.approx(expected, rel=1e-12)


def test_weighted_mean_by_hand():
    # squared errors 1, 4, 9 with weights 1, 0, 3: (1 + 27) / 4 = 7
    assert compute("mse", [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], weights=[1.0, 0.0, 3.0]).value == 7.0
    # sum with weights: Σ w·l = 28
    assert compute("mse", [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], weights=[1.0, 0.0, 3.0], reduction="sum").value == 28.0


@pytest.mark.parametrize("spec", losscli.LOSSES, ids=SPEC_IDS)
def test_none_returns_per_sample_values(spec):
    inputs, params = _sample(spec, 19)
    result = compute(spec, inputs, params=params, reduction="none")
    assert isinstance(result.value, np.ndarray)
    first = next(iter(inputs.values()))
    elementwise = spec.inputs[0].shapes == (("...",),)
    expected_shape = first.shape if elementwise else first.shape[:-1]
    assert result.value.shape == expected_shape
    # the per-sample values average to the reference's mean (before the transform: exp for
    # perplexity, sqrt for rmse, which "none" applies to each value)
    expected_mean = REFERENCES[spec.name](*inputs.values(), **params)
    if spec.transform is None:
        assert np.mean(result.value) == pytest.approx(expected_mean, rel=1e-12)
    else:
        np.testing.assert_array_equal(result.value, spec.transform.function(result.per_sample))
        assert spec.transform.function(np.mean(result.per_sample)) == pytest.approx(expected_mean, rel=1e-12)


def test_none_by_hand():
    result = compute("mse", OUTLIER_PRED, OUTLIER_TRUE, reduction="none")
    np.testing.assert_array_equal(result.value, [0.25, 0.25, 0.25, 9216.0])
    # each sample's own gradient 2(ŷ - y)
    np.testing.assert_array_equal(result.gradients["pred"], [1.0, 1.0, 1.0, -192.0])


def test_perplexity_rejects_sum():
    inputs, _ = _sample(get_loss("perplexity"), 20)
    with pytest.raises(ParameterError, match="perplexity supports reductions mean, none, not 'sum'"):
        compute("perplexity", inputs, reduction="sum")


def test_unknown_reduction_rejected():
    with pytest.raises(ParameterError, match="unknown reduction 'median'"):
        compute("mse", [1.0], [0.0], reduction="median")


# --- numerical stability --------------------------------------------------------------------

def _assert_finite(result):
    assert np.all(np.isfinite(result.value)), f"{result.spec.name}: value {result.value}"
    for name, grad in result.gradients.items():
        assert np.all(np.isfinite(grad)), f"{result.spec.name}: non-finite gradient for {name}"


@pytest.mark.filterwarnings("error")
def test_bce_logits_huge_logits():
    # softplus(1e4) - 1e4 = 0 for y = 1; softplus(1e4) = 1e4 for y = 0; mean (0 + 0 + 1e4 + 1e4) / 4
    result = compute("bce_logits", [1e4, -1e4, 1e4, -1e4], [1.0, 0.0, 0.0, 1.0])
    assert result.value == 5000.0
    np.testing.assert_array_equal(result.gradients["logits"], [0.0, 0.0, 0.25, -0.25])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["softmax_cross_entropy", "label_smoothing", "lm_nll"])
def test_softmax_losses_huge_logits(name):
    # log-softmax: row 1 (0, -2e4, -1e4), row 2 (-2e4, 0, -1e4); target class 1 in both
    # no smoothing: (2e4 + 0) / 2 = 1e4
    # smoothing s = 0.1, C = 3: row 1 (0.9 + s/3)·2e4 + (s/3)·1e4 = 19000, row 2 (s/3)·3e4 = 1000; mean 1e4 again
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    result = compute(name, logits, [1, 1])
    _assert_finite(result)
    assert result.value == pytest.approx(1e4, rel=1e-12)
    if name != "label_smoothing":
        np.testing.assert_array_equal(result.gradients["logits"], [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["softmax_cross_entropy", "label_smoothing"])
def test_softmax_losses_huge_logits_soft_targets(name):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    _assert_finite(compute(name, logits, [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]))


@pytest.mark.filterwarnings("error")
def test_perplexity_huge_logits():
    # targets at the ±1e4 logits' argmax: every token is certain, NLL 0, perplexity exactly 1
    logits = np.array([[[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]]])
    result = compute("perplexity", logits, [[0, 1]])
    assert result.value == 1.0
    _assert_finite(result)
    # one wrong token out of 2000: mean NLL 2e4 / 2000 = 10, PPL e^10, still finite
    logits = np.tile(np.array([1e4, -1e4]), (2000, 1))
    targets = np.zeros(2000)
    targets[0] = 1
    result = compute("perplexity", logits, targets)
    assert result.value == pytest.approx(math.exp(10.0), rel=1e-12)
    _assert_finite(result)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_infonce_low_temperature(scale):
    # τ = 0.01 with unit vectors (similarities up to 100) and with norm-100 vectors (up to 1e6)
    inputs, _ = _sample(get_loss("infonce"), 21)
    result = compute("infonce", inputs["query"] * scale, inputs["keys"] * scale, params={"temperature": 0.01})
    _assert_finite(result)
    assert result.value >= 0.0


@pytest.mark.filterwarnings("error")
def test_infonce_low_temperature_by_hand():
    # q = k₊ = (1, 0), the other key (-1, 0), τ = 0.01: similarities 100 and -100
    # -> loss = ln(1 + e^-200) ≈ e^-200, gradient w.r.t. the negative key = softmax weight·q/τ ≈ e^-200·100
    result = compute("infonce", [[1.0, 0.0]], [[[1.0, 0.0], [-1.0, 0.0]]], params={"temperature": 0.01})
    assert result.value == pytest.approx(math.exp(-200.0), rel=1e-12)
    _assert_finite(result)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_regression_huge_residuals(name):
    pred = np.array([1e6, -1e6, 0.5])
    target = np.array([0.0, 0.0, 0.0])
    result = compute(name, pred, target)
    _assert_finite(result)
    expected = {"mse": (2e12 + 0.25) / 3, "mae": (2e6 + 0.5) / 3, "huber": (2 * (1e6 - 0.5) + 0.125) / 3}[name]
    assert result.value == pytest.approx(expected, rel=1e-15)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["bce", "focal"])
def test_probability_losses_at_exact_zero_and_one(name):
    # p = 0 or 1 is clipped to [eps, 1 - eps]: confidently wrong costs -ln(eps) ≈ 34.5 at p = 0, and
    # -ln(1 - (1 - eps)) ≈ 34.4 at p = 1 (1 - 1e-15 rounds to 1 - 1.11e-15 in float64)
    result = compute(name, [0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0])
    _assert_finite(result)
    if name == "bce":
        expected = -(math.log(1e-15) + math.log(1.0 - (1.0 - 1e-15))) / 4
        assert result.value == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("error")
def test_cross_entropy_with_zero_probabilities():
    result = compute("cross_entropy", [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [1, 1])
    _assert_finite(result)
    assert result.value == pytest.approx(-math.log(1e-15) / 2, rel=1e-6)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_gradient_finite_at_clipping(gamma):
    # (1 - p_t)^(γ - 1) with γ < 1 stays finite because clipping keeps 1 - p_t >= eps
    _assert_finite(compute("focal", [0.0, 1.0, 0.5], [0.0, 1.0, 1.0], params={"gamma": gamma}))


@pytest.mark.filterwarnings("error")
def test_embedding_losses_at_zero_distance():
    # coincident points: d = 0, where ∂d/∂x is undefined; the gradient must stay finite, not NaN
    points = np.array([[1.0, 2.0], [3.0, 4.0]])
    _assert_finite(compute("contrastive", points, points.copy(), [1.0, 0.0]))
    _assert_finite(compute("triplet", points, points.copy(), points.copy()))
    # contrastive with label 0 at d = 0 costs ½m²
    assert compute("contrastive", points, points.copy(), [0.0, 0.0], params={"margin": 2.0}).value == 2.0


@pytest.mark.filterwarnings("error")
def test_embedding_losses_large_coordinates():
    rng = np.random.default_rng(22)
    a, b, c = (rng.normal(0, 1e6, (4, 3)) for _ in range(3))
    _assert_finite(compute("contrastive", a, b, [1.0, 0.0, 1.0, 0.0]))
    _assert_finite(compute("triplet", a, b, c))
