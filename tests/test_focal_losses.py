"""focal, focal_logits and softmax_focal (losscli/losses/focal.py): hand values, identities with
the cross-entropies, stability.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from loss_cases import assert_finite, sample

from losscli import compute, get_loss


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


def test_focal_gamma0_alpha_half_is_half_bce():
    inputs, _ = sample(get_loss("focal"), 6, rows=32)
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


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_gradient_finite_at_clipping(gamma):
    # (1 - p_t)^(γ - 1) with γ < 1 stays finite because clipping keeps 1 - p_t >= eps
    assert_finite(compute("focal", [0.0, 1.0, 0.5], [0.0, 1.0, 1.0], params={"gamma": gamma}))


# logits whose softmax is (1, 2, 5)/8: log p = ln(1/8), ln(2/8), ln(5/8)
LOGITS_1_2_5 = [0.0, math.log(2.0), math.log(5.0)]


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


@pytest.mark.parametrize("soft", [False, True])
def test_focal_logits_gamma0_no_alpha_is_bce_logits(soft):
    inputs, _ = sample("focal_logits", 1, rows=32)
    if soft:
        inputs["target"] = np.random.default_rng(2).uniform(0.0, 1.0, 32)
    focal = compute("focal_logits", inputs, params={"gamma": 0.0, "alpha": -1.0})
    bce = compute("bce_logits", inputs)
    assert focal.value == pytest.approx(bce.value, rel=1e-14)
    np.testing.assert_allclose(focal.gradients["logits"], bce.gradients["logits"], rtol=1e-13, atol=1e-300)


def test_softmax_focal_gamma0_alpha1_is_softmax_cross_entropy():
    inputs, _ = sample("softmax_focal", 3, rows=16)
    for alpha in ((), 1.0, (1.0,) * 5):
        focal = compute("softmax_focal", inputs, params={"gamma": 0.0, "alpha": alpha})
        plain = compute("softmax_cross_entropy", inputs)
        assert focal.value == pytest.approx(plain.value, rel=1e-14)
        np.testing.assert_allclose(focal.gradients["logits"], plain.gradients["logits"], rtol=1e-13, atol=1e-16)


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
