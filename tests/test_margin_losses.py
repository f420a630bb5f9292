"""hinge, squared_hinge and cosine (losscli/losses/margin.py, cosine.py): hand values and label conventions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from loss_cases import sample

from losscli import InputError, compute


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


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_hinge_zero_one_labels_equal_signed_labels(name):
    inputs, _ = sample(name, 7, rows=16)
    zero_one = (inputs["target"] + 1.0) / 2.0
    signed = compute(name, inputs)
    mapped = compute(name, inputs["scores"], zero_one)
    assert mapped.value == signed.value
    np.testing.assert_array_equal(mapped.gradients["scores"], signed.gradients["scores"])


def test_cosine_zero_labels_equal_minus_one():
    inputs, params = sample("cosine", 8, {"margin": 0.2}, rows=16)
    zero = {**inputs, "labels": np.where(inputs["labels"] < 0, 0.0, 1.0)}
    assert compute("cosine", zero, params=params).value == compute("cosine", inputs, params=params).value


def test_signed_labels_are_checked():
    with pytest.raises(InputError, match=r"expected labels \+1 or -1 \(or 1 and 0\), got 2") as error:
        compute("hinge", [0.5, 0.5], [1.0, 2.0])
    assert (error.value.input_name, error.value.row) == ("target", 1)
    with pytest.raises(InputError, match="expected labels"):
        compute("cosine", np.ones((2, 2)), np.ones((2, 2)), [1.0, 0.5])


def test_cosine_of_parallel_rows_of_many_dimensions_is_exact(rng):
    # 1 - cos and the gradient of x2 = 4·x1 at norms 1e160 are below 1e-300 (ε/|x|² vanishes): exactly 0 from the
    # double-double path, in O(D) (an outer-product wedge would hold [rows, D, D] entries)
    x1 = rng.normal(size=(1000, 512)) * 1e160
    result = compute("cosine", x1, x1 * 4.0, np.ones(1000), reduction="none")
    assert np.all(result.value == 0.0)
    assert all(np.all(gradient == 0.0) for gradient in result.gradients.values())
