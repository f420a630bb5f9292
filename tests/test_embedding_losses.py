"""contrastive, triplet and infonce (losscli/losses/embedding.py): hand values, label convention,
stability at zero distance, large coordinates and low temperatures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from loss_cases import assert_finite, sample

from losscli import compute, get_loss


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


def test_contrastive_label_convention():
    # label 1 = same class is pulled together: the loss grows with distance;
    # label 0 = different class costs nothing beyond the margin and most at distance 0.
    near, far = [[0.0, 0.1]], [[0.0, 3.0]]
    origin = [[0.0, 0.0]]
    assert compute("contrastive", origin, near, [1.0]).value < compute("contrastive", origin, far, [1.0]).value
    assert compute("contrastive", origin, near, [0.0]).value > compute("contrastive", origin, far, [0.0]).value == 0.0


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_infonce_low_temperature(scale):
    # τ = 0.01 with unit vectors (similarities up to 100) and with norm-100 vectors (up to 1e6)
    inputs, _ = sample(get_loss("infonce"), 21)
    result = compute("infonce", inputs["query"] * scale, inputs["keys"] * scale, params={"temperature": 0.01})
    assert_finite(result)
    assert result.value >= 0.0


@pytest.mark.filterwarnings("error")
def test_infonce_low_temperature_by_hand():
    # q = k₊ = (1, 0), the other key (-1, 0), τ = 0.01: similarities 100 and -100
    # -> loss = ln(1 + e^-200) ≈ e^-200, gradient w.r.t. the negative key = softmax weight·q/τ ≈ e^-200·100
    result = compute("infonce", [[1.0, 0.0]], [[[1.0, 0.0], [-1.0, 0.0]]], params={"temperature": 0.01})
    assert result.value == pytest.approx(math.exp(-200.0), rel=1e-12)
    assert_finite(result)


@pytest.mark.filterwarnings("error")
def test_embedding_losses_at_zero_distance():
    # coincident points: d = 0, where ∂d/∂x is undefined; the gradient must stay finite, not NaN
    points = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert_finite(compute("contrastive", points, points.copy(), [1.0, 0.0]))
    assert_finite(compute("triplet", points, points.copy(), points.copy()))
    # contrastive with label 0 at d = 0 costs ½m²
    assert compute("contrastive", points, points.copy(), [0.0, 0.0], params={"margin": 2.0}).value == 2.0


@pytest.mark.filterwarnings("error")
def test_embedding_losses_large_coordinates():
    rng = np.random.default_rng(22)
    a, b, c = (rng.normal(0, 1e6, (4, 3)) for _ in range(3))
    assert_finite(compute("contrastive", a, b, [1.0, 0.0, 1.0, 0.0]))
    assert_finite(compute("triplet", a, b, c))
