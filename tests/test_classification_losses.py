"""bce and bce_logits (losscli/losses/classification.py): hand values, pos_weight, identities,
the clip and huge logits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from loss_cases import CASES, assert_finite, sample
from test_gradients import check_all_inputs

from losscli import InputError, compute, get_loss


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


def test_bce_logits_equals_bce_of_sigmoid():
    logits = np.linspace(-5, 5, 11)
    target = (np.arange(11) % 2).astype(float)
    probs = 1 / (1 + np.exp(-logits))
    assert compute("bce_logits", logits, target).value == pytest.approx(compute("bce", probs, target).value, rel=1e-12)


@pytest.mark.filterwarnings("error")
def test_bce_logits_huge_logits():
    # softplus(1e4) - 1e4 = 0 for y = 1; softplus(1e4) = 1e4 for y = 0; mean (0 + 0 + 1e4 + 1e4) / 4
    result = compute("bce_logits", [1e4, -1e4, 1e4, -1e4], [1.0, 0.0, 0.0, 1.0])
    assert result.value == 5000.0
    np.testing.assert_array_equal(result.gradients["logits"], [0.0, 0.0, 0.25, -0.25])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["bce", "focal"])
def test_probability_losses_at_exact_zero_and_one(name):
    # p = 0 or 1 is clipped to [eps, 1 - eps]: confidently wrong costs -ln(eps) ≈ 34.5 at p = 0, and
    # -ln(1 - (1 - eps)) ≈ 34.4 at p = 1 (1 - 1e-15 rounds to 1 - 1.11e-15 in float64)
    result = compute(name, [0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0])
    assert_finite(result)
    if name == "bce":
        expected = -(math.log(1e-15) + math.log(1.0 - (1.0 - 1e-15))) / 4
        assert result.value == pytest.approx(expected, rel=1e-12)


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


def test_pos_weight_one_changes_nothing():
    inputs, _ = sample("bce_logits", 10, rows=16)
    plain, ones = compute("bce_logits", inputs), compute("bce_logits", inputs, params={"pos_weight": 1.0})
    assert ones.value == plain.value
    np.testing.assert_array_equal(ones.gradients["logits"], plain.gradients["logits"])


def test_vector_length_errors_for_pos_weight_and_alpha():
    with pytest.raises(InputError, match=r"pos_weight: expected 1 value or 2 \(one per column of logits\), got 3"):
        compute("bce_logits", np.zeros((4, 2)), np.ones((4, 2)), params={"pos_weight": "1,2,3"})
    with pytest.raises(InputError, match="pos_weight: expected 1 value or 1"):
        compute("bce_logits", np.zeros(4), np.ones(4), params={"pos_weight": "1,2,3,4"})
    with pytest.raises(InputError, match=r"alpha: expected 1 value or 3 \(one per class\), got 2"):
        compute("softmax_focal", np.zeros((2, 3)), [0, 1], params={"alpha": "0.5,0.5"})


def test_pos_weight_per_column_matches_reference_and_finite_differences():
    inputs, _ = sample("bce_logits", 21, rows=12)
    inputs = {key: array.reshape(4, 3) for key, array in inputs.items()}
    params = get_loss("bce_logits").resolve_params({"pos_weight": "0.5,2,3"})
    assert compute("bce_logits", inputs, params=params).value == pytest.approx(
        CASES["bce_logits"].naive(*inputs.values(), **params), rel=1e-13)
    check_all_inputs(get_loss("bce_logits"), inputs, params, "mean")
