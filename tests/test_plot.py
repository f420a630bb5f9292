"""Tests for losscli.plot and the text plot: curve values, parameter sweeps, errors, the PNG."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from losscli.errors import LossCliError
from losscli.plot import expand_params, loss_curves, save_image
from losscli.render.textplot import curves_text, text_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_regression_curves_are_the_formulas():
    curves = loss_curves(["mse", "mae", "huber"], points=7)
    assert curves.axis == "residual"
    np.testing.assert_allclose(curves.x, [-3, -2, -1, 0, 1, 2, 3])
    mse, mae, huber = curves.curves
    np.testing.assert_allclose(mse.loss, curves.x**2)
    np.testing.assert_allclose(mse.gradient, 2 * curves.x)
    np.testing.assert_allclose(mae.gradient, np.sign(curves.x))
    # Huber δ=1: ½a² inside, |a| - ½ outside; gradient clip(a, -1, 1).
    np.testing.assert_allclose(huber.loss, [2.5, 1.5, 0.5, 0, 0.5, 1.5, 2.5])
    np.testing.assert_allclose(huber.gradient, np.clip(curves.x, -1, 1))
    assert [curve.label for curve in curves.curves] == ["mse", "mae", "huber"]


def test_probability_curves_and_gamma_sweep():
    curves = loss_curves(["bce", "focal"], {"focal.gamma": "0,2", "alpha": "1"}, x_range="0.5,0.9", points=2)
    assert curves.axis == "probability"
    labels = [curve.label for curve in curves.curves]
    assert labels == ["bce", "focal (gamma=0, alpha=1)", "focal (gamma=2, alpha=1)"]
    bce, focal_0, focal_2 = curves.curves
    np.testing.assert_allclose(bce.loss, -np.log([0.5, 0.9]))
    np.testing.assert_allclose(bce.gradient, -1 / np.array([0.5, 0.9]))  # d/dp of -log p
    np.testing.assert_allclose(focal_0.loss, bce.loss)  # γ = 0 and α = 1: BCE
    np.testing.assert_allclose(focal_2.loss, (1 - np.array([0.5, 0.9])) ** 2 * bce.loss)


def test_logit_losses_share_the_probability_axis():
    curves = loss_curves(["bce_logits"], x_range="0.2,0.8", points=3)
    # Loss at logit(p_t) with target 1 is -log p_t; its gradient w.r.t. the logit is p_t - 1.
    np.testing.assert_allclose(curves.curves[0].loss, -np.log([0.2, 0.5, 0.8]))
    np.testing.assert_allclose(curves.curves[0].gradient, [-0.8, -0.5, -0.2])
    assert curves.curves[0].label == "bce_logits [∂/∂logits]"


def test_expand_params():
    assert expand_params({"gamma": "1,2", "alpha": "0.5"}) == [{"gamma": "1", "alpha": "0.5"},
                                                               {"gamma": "2", "alpha": "0.5"}]
    assert expand_params({}) == [{}]


def test_plot_errors():
    with pytest.raises(LossCliError, match="cannot draw regression and classification losses on one axis"):
        loss_curves(["mse", "bce"])
    with pytest.raises(LossCliError, match="plot draws regression and binary losses, not cross_entropy"):
        loss_curves(["cross_entropy"])
    with pytest.raises(LossCliError, match="--range expects a < b"):
        loss_curves(["mse"], x_range="3,-3")
    with pytest.raises(LossCliError, match="--range expects two numbers"):
        loss_curves(["mse"], x_range="3")
    with pytest.raises(LossCliError, match=r"must lie within \[0, 1\]"):
        loss_curves(["bce"], x_range="0.5,2")
    with pytest.raises(LossCliError, match="parameter gamma must be >= 0, got -1"):
        loss_curves(["focal"], {"gamma": "2,-1"})


def test_text_plot_draws_the_curves():
    text = curves_text(loss_curves(["mse", "mae"]))
    lines = text.splitlines()
    # Loss chart: MSE reaches 9 at both ends of [-3, 3], drawn with '*' in the top row.
    assert lines[0] == "loss"
    assert lines[1].startswith("9 |*") and lines[1].endswith("*")
    assert "* mse   o mae" in lines
    # Gradient chart: 2a from -6 to 6 with a zero line, MAE's ±1 in between.
    start = lines.index("gradient")
    assert lines[start + 1].startswith(" 6 |") and lines[start + 1].endswith("*")
    assert any(line.startswith(" 0 |") and "-" in line for line in lines[start:])
    assert sum(line.count("o") for line in lines[start:]) >= 32
    assert "residual  ŷ - y" in text


def test_text_chart_of_a_line():
    x = np.linspace(0, 1, 5)
    chart = text_chart(x, [("rising", x)], title="t", x_label="x", width=5, height=5).splitlines()
    # A diagonal: one marker per row, from bottom-left to top-right.
    assert chart[1:6] == ["1 |    *", "  |   * ", "  |  *  ", "  | *   ", "0 |*    "]
    assert chart[-1] == "* rising"


def test_png_is_written_and_decodable(tmp_path):
    image = pytest.importorskip("matplotlib.image")
    path = tmp_path / "losses.png"
    save_image(loss_curves(["mse", "mae", "huber"]), str(path))
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000
    pixels = image.imread(str(path))
    assert pixels.shape[:2] == (540, 1320)  # 11 × 4.5 inches at 120 dpi
    assert pixels.std() > 0.05  # not a blank canvas


def test_image_without_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(LossCliError, match=r"pip install 'losscli\[plot\]'"):
        save_image(loss_curves(["mse"]), str(tmp_path / "x.png"))


def test_image_suffix_is_checked(tmp_path):
    with pytest.raises(LossCliError, match=r"expected a \.png, \.svg or \.pdf file, or - for a text plot"):
        save_image(loss_curves(["mse"]), str(tmp_path / "x.txt"))
