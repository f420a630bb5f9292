"""`losscli crosscheck`: every convention side by side, each difference explained in words and numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from support import SAMPLES, assert_bad_input, run


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def extreme_bce(tmp_path):
    """p = 1 at y = 0 in row 1: every framework clips it differently (§2.13)."""
    return write(tmp_path, "p.csv", "p\n1\n0.9\n0.2\n"), write(tmp_path, "y.csv", "y\n0\n1\n0\n")


def crosscheck_json(*args):
    result = run("crosscheck", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_bce_values_and_reasons(extreme_bce):
    data = crosscheck_json("bce", *extreme_bce)
    entries = {entry["convention"]: entry for entry in data["conventions"]}
    assert list(entries) == ["torch", "keras", "sklearn", "xgboost", "lightgbm"]
    assert data["default"] == "torch" and entries["torch"]["default"]
    # row 1: torch's default clips at eps = 1e-15 (34.5396), Keras at 1 - 1e-7 in float32 (15.9424)
    others = -math.log(0.9) - math.log(0.8)
    torch_row = -math.log1p(-(1 - 1e-15))  # losscli clips p at 1 - eps, eps = 1e-15
    assert entries["torch"]["value"] == pytest.approx((torch_row + others) / 3, rel=1e-12)
    keras_row = -math.log(1 - float(np.float32(1 - 1e-7)))
    assert entries["keras"]["value"] == pytest.approx((keras_row + others) / 3, rel=1e-6)
    assert "row 1 contributes 15.9424 instead of 34.5396" in entries["keras"]["explanation"]
    assert any("clips p to [1e-7, 1 - 1e-7] in float32" in line for line in entries["keras"]["explanation"])
    assert "row 1 contributes 36.0437 instead of 34.5396" in entries["sklearn"]["explanation"]
    assert entries["keras"]["difference"] == pytest.approx(entries["keras"]["value"] - data["value"], rel=1e-12)


def test_weighted_mae_says_what_the_mean_divides_by(tmp_path):
    # §3.1: y = [1, 2], ŷ = [2, 3], w = [0, 1]
    table = write(tmp_path, "eval.csv", "yhat,y,w\n2,1,0\n3,2,1\n")
    data = crosscheck_json("mae", table, "--col", "pred=yhat", "--col", "target=y", "--weights", "w")
    entries = {entry["convention"]: entry for entry in data["conventions"]}
    assert entries["torch"]["value"] == 1.0 and entries["keras"]["value"] == 0.5
    assert "keras divides by N = 2 instead of Σw = 1" in entries["keras"]["explanation"]
    assert (entries["keras"]["divides_by"], entries["keras"]["weight_total"]) == ("N", 2.0)
    assert entries["sklearn"]["explanation"] == ["same value as the default"]
    text = run("crosscheck", "mae", table, "--col", "pred=yhat", "--col", "target=y", "--weights", "w").stdout
    assert "keras divides by N = 2 instead of Σw = 1" in text and "mae under each framework's convention" in text


def test_a_convention_that_rejects_the_inputs_says_why(tmp_path):
    pred, labels = write(tmp_path, "p.csv", "p\n0.8\n0.4\n"), write(tmp_path, "y.csv", "y\n0.3\n1\n")
    entries = {entry["convention"]: entry for entry in crosscheck_json("bce", pred, labels)["conventions"]}
    assert entries["sklearn"]["value"] is None
    assert "scikit-learn's log_loss takes class labels 0 or 1, got 0.3" in entries["sklearn"]["error"]
    # LightGBM reads 0.3 as a positive: row 1 costs -log 0.8
    assert "row 1 contributes 0.223144 instead of" in " ".join(entries["lightgbm"]["explanation"])


def test_parameters_and_inputs_that_a_framework_reads_otherwise():
    # torch's poisson_nll takes log-rates; Keras, XGBoost and LightGBM are given exp of them
    data = crosscheck_json("poisson_nll", SAMPLES / "counts_log_rate.csv", SAMPLES / "counts_target.csv")
    entries = {entry["convention"]: entry for entry in data["conventions"]}
    assert entries["keras"]["value"] == pytest.approx(entries["torch"]["value"], rel=1e-6)
    assert entries["xgboost"]["value"] > entries["torch"]["value"]  # it adds log(y!) >= 0
    huber = crosscheck_json("huber", SAMPLES / "outliers_pred.csv", SAMPLES / "outliers_target.csv", "-p", "delta=2")
    lightgbm = next(entry for entry in huber["conventions"] if entry["convention"] == "lightgbm")
    assert lightgbm["value"] == pytest.approx((3 * 0.125 + 2 * (96 - 1)) / 4, rel=1e-12)  # δ = 2 given


def test_json_is_strict_and_other_formats(tmp_path):
    pred, target = write(tmp_path, "p.csv", "p\n1\n110\n"), write(tmp_path, "y.csv", "y\n0\n100\n")
    result = run("crosscheck", "mape", pred, target, "--format", "json")
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    entries = {entry["convention"]: entry for entry in json.loads(result.stdout)["conventions"]}
    # XGBoost divides by y = 0: strict JSON has null and says why
    assert (entries["xgboost"]["value"], entries["xgboost"]["value_nonfinite"]) == (None, "inf")
    assert entries["keras"]["value"] == pytest.approx(100 * (1 / 1e-7 + 0.1) / 2, rel=1e-6)  # 5.0e8 (§2.8)
    assert entries["lightgbm"]["value"] == pytest.approx((1 + 0.1) / 2, rel=1e-12)
    markdown = run("crosscheck", "log_cosh", *(SAMPLES / name for name in ("outliers_pred.csv", "outliers_target.csv")),
                   "--format", "markdown").stdout
    assert markdown.startswith("### log_cosh under each framework's convention")
    assert "losscli (default)" in markdown  # torch has no log-cosh
    csv_text = run("crosscheck", "smooth_l1", SAMPLES / "outliers_pred.csv", SAMPLES / "outliers_target.csv",
                   "--format", "csv").stdout
    assert csv_text.splitlines()[0] == "convention,value,vs default,divides by"


def test_bad_input_is_one_line(tmp_path, extreme_bce):
    assert_bad_input(run("crosscheck", "bcee", *extreme_bce), "unknown loss 'bcee'")
    bad = write(tmp_path, "bad.csv", "p\n1.5\n0.9\n0.2\n")
    assert_bad_input(run("crosscheck", "bce", bad, extreme_bce[1]), "bad.csv", "expected probabilities in [0, 1]")


def test_multioutput_rmse_explains_the_per_column_average(tmp_path):
    """scikit-learn averages one RMSE per column: the explanation gives each column's value."""
    pred = write(tmp_path, "p.csv", "a,b\n1,10\n2,20\n3,30\n")
    target = write(tmp_path, "t.csv", "a,b\n1,13\n2,16\n4,30\n")
    entries = {entry["convention"]: entry for entry in crosscheck_json("rmse", pred, target)["conventions"]}
    column_a, column_b = math.sqrt(1 / 3), math.sqrt(25 / 3)
    assert entries["sklearn"]["value"] == pytest.approx((column_a + column_b) / 2, rel=1e-15)
    assert entries["losscli"]["value"] == pytest.approx(math.sqrt(26 / 6), rel=1e-15)
    lines = entries["sklearn"]["explanation"]
    assert any("one RMSE per column" in line for line in lines)
    assert any(f"({column_a:.6g}, {column_b:.6g})" in line and f"{math.sqrt(26 / 6):.6g}" in line for line in lines)


@pytest.mark.parametrize(("labels", "said"), [("1\n1\n1\n", "reads all 3 as -1"),
                                               ("-1\n0\n0\n", "reads 0 (the larger) as +1")])
def test_sklearn_hinge_explains_its_label_mapping(tmp_path, labels, said):
    scores = write(tmp_path, "s.csv", "s\n0.6\n1.2\n-1.0\n")
    target = write(tmp_path, "y.csv", "y\n" + labels)
    entries = {entry["convention"]: entry for entry in crosscheck_json("hinge", scores, target)["conventions"]}
    lines = entries["sklearn"]["explanation"]
    assert any(said in line for line in lines), lines
    assert any(line.startswith("row ") and "instead of" in line for line in lines), lines
