"""CLI tests for `losscli compute` (issue 3): every option and every bad-input case.

Expected values are derived by hand from the seed's outlier example, sample_data/outliers_*.csv:
predictions 1.5, 2.5, 3.5, 4.0 against targets 1, 2, 3, 100, so the residuals ŷ - y are
0.5, 0.5, 0.5, -96 and the squared errors 0.25, 0.25, 0.25, 9216 (sum 9216.75).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from support import LOSSCLI, assert_bad_input, program_env, run, run_program

import losscli
from losscli.registry import get_loss

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"
PRED = SAMPLES / "outliers_pred.csv"
TARGET = SAMPLES / "outliers_target.csv"
EVAL = SAMPLES / "eval.parquet"

# Hand-derived from the outlier example (see the module docstring).
SQUARED_ERRORS = [0.25, 0.25, 0.25, 9216.0]
MSE_MEAN = 9216.75 / 4  # 2304.1875
MSE_SUM = 9216.75
GRADIENT_OF_MEAN = [0.25, 0.25, 0.25, -48.0]  # 2(ŷ - y)/n with n = 4
GRADIENT_OF_SUM = [1.0, 1.0, 1.0, -192.0]  # 2(ŷ - y)

def compute_json(*args, input: str | None = None) -> dict:
    result = run("compute", *args, "--format", "json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def read_back(path: Path) -> tuple[list[str], np.ndarray]:
    """(value column names, values) of a file written by --per-sample or --gradient; a CSV or
    Parquet file starts with the column row = 1..N (checked here), an .npy file holds values alone."""
    if path.suffix == ".npy":
        return [], np.load(path)
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        names, columns = table.column_names, [table.column(i).to_numpy() for i in range(table.num_columns)]
    else:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
        names, columns = rows[0], [np.array([float(row[i]) for row in rows[1:]]) for i in range(len(rows[0]))]
    assert names[0] == "row" and columns[0].tolist() == list(range(1, len(columns[0]) + 1))
    return names[1:], np.column_stack(columns[1:])


def eval_columns() -> dict[str, np.ndarray]:
    table = pq.read_table(EVAL)
    return {name: table.column(name).to_numpy() for name in ("yhat", "y", "weight")}


# --- output formats and the JSON contract ---------------------------------------------------


def test_json_contract_on_the_outlier_example():
    data = compute_json("l2", PRED, TARGET)  # alias l2 resolves to mse
    assert {"loss", "value", "reduction", "n", "weight_total", "params", "inputs", "rows_omitted",
            "gradient", "gate"} <= set(data)
    assert data["loss"] == "mse"
    assert data["value"] == MSE_MEAN == 2304.1875
    assert (data["reduction"], data["n"], data["weight_total"], data["params"]) == ("mean", 4, 4.0, {})
    assert data["inputs"] == {"pred": str(PRED), "target": str(TARGET)}
    assert data["rows_omitted"] == 0 and data["gate"] is None
    gradient = data["gradient"]
    assert {"input", "l2_norm", "mean", "max_abs", "max_abs_row", "max_abs_position", "zero_share",
            "top_rows"} <= set(gradient)
    assert gradient["input"] == "pred"
    # gradient of the mean 2(ŷ - y)/4 = 0.25, 0.25, 0.25, -48
    assert gradient["l2_norm"] == pytest.approx(math.sqrt(3 * 0.25**2 + 48**2))
    assert gradient["mean"] == pytest.approx((3 * 0.25 - 48) / 4)  # -11.8125
    assert gradient["max_abs"] == 48.0 and gradient["max_abs_row"] == 4  # 1-based data row
    assert gradient["max_abs_position"] == [] and gradient["zero_share"] == 0.0
    top = gradient["top_rows"]
    assert [item["row"] for item in top] == [4, 1, 2, 3]
    assert top[0]["l2_norm"] == 48.0 and top[0]["loss"] == 9216.0
    assert top[0]["loss_share"] == pytest.approx(9216 / 9216.75)


def test_table_output_shows_value_gradient_summary_and_driving_rows():
    result = run("compute", "mse", PRED, TARGET)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("mse = 2304.1875\n")
    for text in ("48.002", "-11.8125", "48 (row 4)", "9216", "0.999919",
                 "Rows with the largest gradient"):
        assert text in result.stdout, text


def test_markdown_output_for_ci_summaries():
    result = run("compute", "mse", PRED, TARGET, "--format", "markdown")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "### mse = 2304.1875"
    assert "| value | 2304.1875 |" in lines
    assert "| gradient max \\|g\\| | 48 (row 4) |" in lines  # the pipe is escaped inside the cell
    assert "| 4 | 48 | 9216 | 0.999919 |" in lines


def test_csv_output_is_one_machine_readable_row():
    result = run("compute", "mse", PRED, TARGET, "--format", "csv")
    assert result.exit_code == 0, result.output
    [row] = csv_rows(result.stdout)
    assert float(row["value"]) == MSE_MEAN
    assert (row["loss"], row["reduction"], row["n"], row["gradient_max_abs_row"]) == ("mse", "mean", "4", "4")
    assert float(row["gradient_max_abs"]) == 48.0


# --- parameters ------------------------------------------------------------------------------


def test_default_parameters_are_resolved_in_json():
    params = compute_json("huber", PRED, TARGET)["params"]
    assert params["delta"] == 1.0  # huber's default δ
    assert set(params) == {param.name for param in get_loss("huber").params}


def test_param_sets_huber_delta():
    # delta=1: residual 0.5 -> ½·0.25 = 0.125 (three times); residual 96 -> 1·(96 - ½) = 95.5
    data = compute_json("huber", PRED, TARGET, "-p", "delta=1")
    assert data["value"] == pytest.approx((3 * 0.125 + 95.5) / 4)  # 23.96875
    # delta=100 keeps every residual quadratic: ½·(ŷ - y)², i.e. half the MSE
    data = compute_json("huber", PRED, TARGET, "--param", "delta=100")
    assert data["params"]["delta"] == 100.0
    assert data["value"] == pytest.approx(MSE_MEAN / 2)


def test_param_is_repeatable_focal_with_gamma_0_and_alpha_half_is_half_bce():
    probs = np.loadtxt(SAMPLES / "binary_probs.csv", skiprows=1)
    labels = np.loadtxt(SAMPLES / "binary_labels.csv", skiprows=1)
    bce = -np.mean([y * math.log(p) + (1 - y) * math.log(1 - p) for p, y in zip(probs, labels, strict=True)])
    # α_t = 0.5 for both classes and (1 - p_t)^0 = 1, so focal = 0.5·BCE
    data = compute_json("focal", SAMPLES / "binary_probs.csv", SAMPLES / "binary_labels.csv",
                        "-p", "gamma=0", "-p", "alpha=0.5")
    assert (data["params"]["alpha"], data["params"]["gamma"], data["params"]["eps"]) == (0.5, 0.0, 1e-15)
    assert set(data["params"]) == {param.name for param in get_loss("focal").params}
    assert data["value"] == pytest.approx(0.5 * bce, rel=1e-12)


# --- reduction -------------------------------------------------------------------------------


def test_reduction_sum_is_mean_times_n(tmp_path):
    gradient_file = tmp_path / "grad.npy"
    data = compute_json("mse", PRED, TARGET, "--reduction", "sum", "--gradient", gradient_file)
    assert data["reduction"] == "sum"
    assert data["value"] == MSE_SUM == MSE_MEAN * 4
    assert data["gradient"]["max_abs"] == 192.0  # 2·96
    np.testing.assert_array_equal(np.load(gradient_file), GRADIENT_OF_SUM)


def test_reduction_none_prints_per_sample_values_in_json_and_csv():
    data = compute_json("mse", PRED, TARGET, "--reduction", "none")
    assert data["reduction"] == "none" and data["value"] == SQUARED_ERRORS
    result = run("compute", "mse", PRED, TARGET, "--reduction", "none", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == "row,mse\n1,0.25\n2,0.25\n3,0.25\n4,9216.0\n"


def test_reduction_none_as_a_table():
    result = run("compute", "mse", PRED, TARGET, "--reduction", "none")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("mse per sample")
    assert "9216" in result.stdout


def test_reduction_none_of_a_two_column_input_gives_one_column_per_element():
    data = compute_json("mse", EVAL, "--col", "pred=yhat,y", "--col", "target=y,yhat", "--reduction", "none")
    columns = eval_columns()
    squared = (columns["yhat"] - columns["y"]) ** 2
    np.testing.assert_allclose(np.array(data["value"]), np.column_stack([squared, squared]), rtol=1e-12)


# --- weights ---------------------------------------------------------------------------------


# Weights 1, 2, 3, 0.5: Σw·ℓ = 0.25 + 0.5 + 0.75 + 0.5·9216 = 4609.5, Σw = 6.5.
WEIGHTED_MEAN = 4609.5 / 6.5  # 709.153846...


def test_weights_from_a_file(tmp_path):
    weights = write(tmp_path, "w.csv", "w\n1\n2\n3\n0.5\n")
    gradient_file = tmp_path / "grad.npy"
    data = compute_json("mse", PRED, TARGET, "--weights", weights, "--gradient", gradient_file)
    assert data["value"] == pytest.approx(WEIGHTED_MEAN, rel=1e-12)
    assert data["weight_total"] == 6.5 and data["n"] == 4
    # gradient of Σw·ℓ/Σw: w_i·2(ŷ_i - y_i)/Σw
    expected = np.array([1 * 1.0, 2 * 1.0, 3 * 1.0, 0.5 * -192.0]) / 6.5
    np.testing.assert_allclose(np.load(gradient_file), expected, rtol=1e-12)
    assert data["gradient"]["max_abs_row"] == 4


def test_weights_from_a_column_of_the_input_file(tmp_path):
    table = write(tmp_path, "all.csv", "pred,target,w\n1.5,1,1\n2.5,2,2\n3.5,3,3\n4.0,100,0.5\n")
    data = compute_json("mse", table, "--col", "pred=pred", "--col", "target=target", "--weights", "w")
    assert data["value"] == pytest.approx(WEIGHTED_MEAN, rel=1e-12)


def test_weights_column_of_eval_parquet_against_a_numpy_reference():
    columns = eval_columns()
    squared = (columns["yhat"] - columns["y"]) ** 2
    data = compute_json("mse", EVAL, "--col", "pred=yhat", "--col", "target=y", "--weights", "weight")
    assert data["value"] == pytest.approx(np.sum(columns["weight"] * squared) / np.sum(columns["weight"]), rel=1e-12)
    assert data["weight_total"] == pytest.approx(np.sum(columns["weight"]))


# --- output files ----------------------------------------------------------------------------


@pytest.mark.parametrize("extension", [".csv", ".parquet", ".npy"])
def test_per_sample_and_gradient_files(tmp_path, extension):
    per_sample, gradient = tmp_path / f"loss{extension}", tmp_path / f"grad{extension}"
    result = run("compute", "mse", PRED, TARGET, "--per-sample", per_sample, "--gradient", gradient, "--quiet")
    assert result.exit_code == 0, result.output
    loss_columns, loss_values = read_back(per_sample)
    grad_columns, grad_values = read_back(gradient)
    np.testing.assert_array_equal(loss_values.reshape(-1), SQUARED_ERRORS)
    np.testing.assert_array_equal(grad_values.reshape(-1), GRADIENT_OF_MEAN)  # 2(ŷ - y)/n
    if extension != ".npy":
        assert (loss_columns, grad_columns) == (["mse"], ["mse_grad_pred"])
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([per_sample.name, gradient.name])


def test_per_sample_file_of_two_column_losses_has_a_column_per_element(tmp_path):
    # Regression: a [N, 2] per-sample array used to crash the writer (one column name for two columns).
    per_sample = tmp_path / "loss.csv"
    result = run("compute", "mse", EVAL, "--col", "pred=yhat,y", "--col", "target=y,yhat", "--per-sample", per_sample)
    assert result.exit_code == 0, result.output
    columns, values = read_back(per_sample)
    squared = (eval_columns()["yhat"] - eval_columns()["y"]) ** 2
    assert columns == ["mse_1", "mse_2"]
    np.testing.assert_allclose(values, np.column_stack([squared, squared]), rtol=1e-12)


def test_per_sample_file_of_token_losses_keeps_the_batch_shape(tmp_path):
    per_sample = tmp_path / "tokens.npy"
    result = run("compute", "lm_nll", SAMPLES / "lm_logits.npy", SAMPLES / "lm_targets.npy",
                 "--per-sample", per_sample, "-q")
    assert result.exit_code == 0, result.output
    logits, targets = np.load(SAMPLES / "lm_logits.npy"), np.load(SAMPLES / "lm_targets.npy").astype(int)
    # naive reference: -log softmax(z)[x] token by token
    expected = [[math.log(sum(math.exp(z) for z in logits[b, t])) - logits[b, t, targets[b, t]]
                 for t in range(logits.shape[1])] for b in range(logits.shape[0])]
    np.testing.assert_allclose(np.load(per_sample), expected, rtol=1e-12)


# --- gates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("gate", "threshold", "exit_code"), [
    ("--fail-above", "2000", 1),
    ("--fail-above", "2304.1875", 0),  # equal is not above
    ("--fail-above", "3000", 0),
    ("--fail-below", "3000", 1),
    ("--fail-below", "2304.1875", 0),
    ("--fail-below", "2000", 0),
])
def test_gates(gate, threshold, exit_code):
    result = run("compute", "mse", PRED, TARGET, gate, threshold, "--format", "json")
    assert result.exit_code == exit_code, result.output
    verdict = json.loads(result.stdout)["gate"]
    assert verdict["passed"] is (exit_code == 0)
    [check] = verdict["checks"]
    assert (check["option"], float(check["limit"]), check["value"], check["group"]) == (
        gate, float(threshold), MSE_MEAN, None)
    if exit_code:
        direction = "above" if gate == "--fail-above" else "below"
        assert verdict["failed"] == [f"mse = 2304.1875 is {direction} {gate} {threshold}"]
        assert result.stderr == f"losscli: gate failed: mse = 2304.1875 is {direction} {gate} {threshold}\n"
    else:
        assert result.stderr == ""


def test_failed_gate_with_quiet_prints_nothing_and_exits_1():
    result = run("compute", "mse", PRED, TARGET, "--fail-above", "100", "--quiet")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "")


@pytest.mark.parametrize("gate", ["--fail-above", "--fail-below"])
def test_gates_need_a_single_value(gate):
    result = run("compute", "mse", PRED, TARGET, "--reduction", "none", gate, "1")
    assert_bad_input(result, "gates, --baseline and --log need a single value", "--reduction mean or sum")


# --- NaN policy ------------------------------------------------------------------------------


@pytest.fixture
def pred_with_nan(tmp_path):
    return write(tmp_path, "pred_nan.csv", "pred\n1.5\nnan\n3.5\n4.0\n")


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_nan_policy_raise_is_the_default_and_names_file_column_row(tmp_path, bad):
    pred = write(tmp_path, "pred_bad.csv", f"pred\n1.5\n{bad}\n3.5\n4.0\n")
    assert_bad_input(run("compute", "mse", pred, TARGET), "pred_bad.csv", "column 'pred'", "row 2", "line 3",
                     "expected finite values", "--nan-policy omit")


def test_nan_policy_omit_equals_computing_without_the_row(tmp_path, pred_with_nan):
    per_sample, gradient = tmp_path / "loss.csv", tmp_path / "grad.npy"
    data = compute_json("mse", pred_with_nan, TARGET, "--nan-policy", "omit",
                        "--per-sample", per_sample, "--gradient", gradient)
    # rows 1, 3, 4 remain: (0.25 + 0.25 + 9216) / 3
    assert data["value"] == pytest.approx((0.25 + 0.25 + 9216) / 3, rel=1e-12)
    assert (data["rows_omitted"], data["n"]) == (1, 3)
    assert data["gradient"]["max_abs_row"] == 4  # a row of the file, not of the filtered array
    without = compute_json("mse", write(tmp_path, "p3.csv", "pred\n1.5\n3.5\n4.0\n"),
                           write(tmp_path, "t3.csv", "target\n1\n3\n100\n"))
    assert data["value"] == without["value"]
    _, losses = read_back(per_sample)  # the omitted row stays, as NaN, so rows line up with the input
    np.testing.assert_array_equal(losses.reshape(-1), [0.25, np.nan, 0.25, 9216.0])
    np.testing.assert_allclose(np.load(gradient), [1 / 3, np.nan, 1 / 3, -64.0])  # 2(ŷ - y)/3


def test_nan_policy_propagate_gives_nan_and_exit_1(pred_with_nan):
    result = run("compute", "mse", pred_with_nan, TARGET, "--nan-policy", "propagate", "--format", "json")
    assert result.exit_code == 1
    assert result.stderr == "losscli: gate failed: mse = nan is not finite (--allow-nonfinite accepts it)\n"
    data = json.loads(result.stdout)  # strict JSON: null, and a field saying why
    assert (data["value"], data["value_nonfinite"], data["rows_omitted"]) == (None, "nan", 0)
    assert data["gate"]["failed"] == ["mse = nan is not finite (--allow-nonfinite accepts it)"]
    allowed = run("compute", "mse", pred_with_nan, TARGET, "--nan-policy", "propagate", "--allow-nonfinite")
    assert allowed.exit_code == 0, allowed.output


# --- quiet, columns, header, target format, stdin, top ---------------------------------------


def test_quiet_prints_nothing_but_still_writes_files(tmp_path):
    per_sample = tmp_path / "loss.npy"
    result = run("compute", "mse", PRED, TARGET, "--quiet", "--per-sample", per_sample)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    np.testing.assert_array_equal(np.load(per_sample), SQUARED_ERRORS)


@pytest.mark.parametrize("pred_selector", ["yhat", "yh*"])
def test_col_selects_inputs_from_one_parquet_file(pred_selector):
    columns = eval_columns()
    data = compute_json("mse", EVAL, "--col", f"pred={pred_selector}", "--col", "target=y")
    assert data["value"] == pytest.approx(np.mean((columns["yhat"] - columns["y"]) ** 2), rel=1e-12)
    assert data["n"] == 40
    assert data["inputs"] == {"pred": str(EVAL), "target": str(EVAL)}


def test_col_with_a_column_list():
    # pred = (yhat, y), target = (y, yhat): both elements of each row have error ±(yhat - y)
    columns = eval_columns()
    data = compute_json("mse", EVAL, "--col", "pred=yhat,y", "--col", "target=y,yhat")
    assert data["n"] == 80
    assert data["value"] == pytest.approx(np.mean((columns["yhat"] - columns["y"]) ** 2), rel=1e-12)


def test_col_pattern_selects_infonce_keys_from_one_file(tmp_path):
    query = np.loadtxt(SAMPLES / "infonce_query.csv", delimiter=",", skiprows=1)
    keys = np.loadtxt(SAMPLES / "infonce_keys.csv", delimiter=",", skiprows=1)
    header = ",".join([f"q{i}" for i in range(4)] + [f"key_{i}" for i in range(20)])
    lines = [header] + [",".join(repr(float(value)) for value in row) for row in np.hstack([query, keys])]
    combined = write(tmp_path, "both.csv", "\n".join(lines) + "\n")
    separate = compute_json("infonce", SAMPLES / "infonce_query.csv", SAMPLES / "infonce_keys.csv")
    data = compute_json("infonce", combined, "--col", "query=q*", "--col", "keys=key_*")
    assert data["value"] == pytest.approx(separate["value"], rel=1e-12)


def test_no_header_reads_the_first_line_as_data(tmp_path):
    pred = write(tmp_path, "p.csv", "1.5\n2.5\n3.5\n4.0\n")
    target = write(tmp_path, "t.csv", "1\n2\n3\n100\n")
    data = compute_json("mse", pred, target, "--no-header")
    assert (data["value"], data["n"]) == (MSE_MEAN, 4)
    # without --no-header the first line is a header: rows 2..4 remain, (0.25 + 0.25 + 9216) / 3
    data = compute_json("mse", pred, target)
    assert data["n"] == 3 and data["value"] == pytest.approx(9216.5 / 3)


def softmax_cross_entropy_reference() -> float:
    logits = np.loadtxt(SAMPLES / "multiclass_logits.csv", delimiter=",", skiprows=1)
    labels = np.loadtxt(SAMPLES / "multiclass_labels.csv", skiprows=1).astype(int)
    return float(np.mean([math.log(sum(math.exp(z) for z in row)) - row[label]
                          for row, label in zip(logits, labels, strict=True)]))


@pytest.mark.parametrize(("targets", "target_format"), [
    ("multiclass_labels.csv", None), ("multiclass_labels.csv", "index"),
    ("multiclass_onehot.csv", None), ("multiclass_onehot.csv", "onehot"),
])
def test_target_format_index_and_onehot_agree(targets, target_format):
    extra = ["--target-format", target_format] if target_format else []
    data = compute_json("softmax_cross_entropy", SAMPLES / "multiclass_logits.csv", SAMPLES / targets, *extra)
    assert data["value"] == pytest.approx(softmax_cross_entropy_reference(), rel=1e-12)


@pytest.mark.parametrize(("targets", "target_format", "message"), [
    ("multiclass_labels.csv", "onehot", "--target-format onehot expects one column per class"),
    ("multiclass_onehot.csv", "index", "--target-format index expects one column of class ids, got 3 columns"),
])
def test_target_format_mismatch_is_refused(targets, target_format, message):
    result = run("compute", "softmax_cross_entropy", SAMPLES / "multiclass_logits.csv", SAMPLES / targets,
                 "--target-format", target_format)
    assert_bad_input(result, targets, message)


def test_target_format_rejects_unknown_values():
    result = run("compute", "softmax_cross_entropy", SAMPLES / "multiclass_logits.csv",
                 SAMPLES / "multiclass_labels.csv", "--target-format", "bogus")
    assert result.exit_code == 2 and result.stdout == ""
    assert "'bogus' is not one of 'index', 'onehot'" in result.stderr


def test_stdin_dash_reads_csv():
    data = compute_json("mse", "-", TARGET, input=PRED.read_text())
    assert data["value"] == MSE_MEAN
    assert data["inputs"]["pred"] == "-"


def test_stdin_holding_every_input_with_col():
    data = compute_json("mse", "-", "--col", "pred=yhat", "--col", "target=y",
                        input="yhat,y\n1.5,1\n2.5,2\n3.5,3\n4.0,100\n")
    assert data["value"] == MSE_MEAN


@pytest.mark.parametrize(("top", "rows"), [("1", [4]), ("2", [4, 1]), ("0", [])])
def test_top_limits_the_listed_rows(top, rows):
    data = compute_json("mse", PRED, TARGET, "--top", top)
    assert [item["row"] for item in data["gradient"]["top_rows"]] == rows


def test_top_must_not_be_negative():
    result = run("compute", "mse", PRED, TARGET, "--top", "-1")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--top" in result.stderr


def test_version():
    result = run("--version")
    assert (result.exit_code, result.stdout) == (0, f"losscli {losscli.__version__}\n")


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_compute_help_lists_every_option_and_an_example(flag):
    result = run("compute", flag)
    assert result.exit_code == 0, result.output
    for option in ("--param", "-p", "--reduction", "--weights", "--col", "--no-header", "--target-format",
                   "--format", "--per-sample", "--gradient", "--fail-above", "--fail-below", "--nan-policy",
                   "--top", "--quiet"):
        assert option in result.stdout, option
    assert "Example:" in result.stdout


# --- real-world CSV quirks -------------------------------------------------------------------


@pytest.mark.parametrize(("pred", "target", "expected"), [
    (b"\xef\xbb\xbfpred\n1.5\n2.5\n3.5\n4.0\n", b"target\n1\n2\n3\n100\n", MSE_MEAN),  # UTF-8 BOM
    (b"pred\r\n1.5\r\n2.5\r\n3.5\r\n4.0\r\n", b"target\r\n1\r\n2\r\n3\r\n100\r\n", MSE_MEAN),  # CRLF
    (b"pred\n1.5\n2.5\n3.5\n4.0", b"target\n1\n2\n3\n100", MSE_MEAN),  # no final newline
    (b"pred\n1.5e0\n25e-1\n0.35E1\n4.0e+00\n", b"target\n1e0\n2.0\n3\n1e2\n", MSE_MEAN),  # scientific notation
    (b'"pred"\n"1.5"\n"2.5"\n"3.5"\n"4.0"\n', b'target\n"1"\n"2"\n"3"\n"100"\n', MSE_MEAN),  # quoted numbers
    # integer-looking columns: residuals 1, 1, 1, -96 -> (3 + 9216) / 4
    (b"pred\n2\n3\n4\n4\n", b"target\n1\n2\n3\n100\n", 9219 / 4),
    (b'\xef\xbb\xbf"pred"\r\n"1.5"\r\n2.5e0\r\n3.5\r\n4', b"target\n1\n2\n3\n100\n", MSE_MEAN),  # all at once
], ids=["bom", "crlf", "no-final-newline", "scientific", "quoted", "integers", "combined"])
def test_csv_quirks_are_accepted(tmp_path, pred, target, expected):
    data = compute_json("mse", write(tmp_path, "pred.csv", pred), write(tmp_path, "target.csv", target))
    assert data["value"] == pytest.approx(expected, rel=1e-15)
    assert data["n"] == 4


# --- bad input: exit 2 and one line naming the file, column or row ---------------------------


def test_missing_file(tmp_path):
    assert_bad_input(run("compute", "mse", tmp_path / "nope.csv", TARGET), "nope.csv", "no such file")


def test_directory_instead_of_a_file(tmp_path):
    assert_bad_input(run("compute", "mse", tmp_path, TARGET), str(tmp_path), "is a directory")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file(tmp_path):
    pred = write(tmp_path, "locked.csv", PRED.read_bytes())
    pred.chmod(0)
    try:
        assert_bad_input(run("compute", "mse", pred, TARGET), "locked.csv", "cannot read")
    finally:
        pred.chmod(0o644)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file"),
    (b"pred\n", "header only, no data rows"),
    (b"pred", "header only, no data rows"),
])
def test_empty_and_header_only_files(tmp_path, content, message):
    assert_bad_input(run("compute", "mse", write(tmp_path, "pred.csv", content), TARGET), "pred.csv", message)


def test_unknown_extension(tmp_path):
    pred = write(tmp_path, "pred.txt", PRED.read_bytes())
    assert_bad_input(run("compute", "mse", pred, TARGET), "pred.txt", "unknown file extension", ".parquet")


@pytest.mark.parametrize("content", [b"not parquet at all", EVAL.read_bytes()[:600]], ids=["garbage", "truncated"])
def test_corrupt_parquet(tmp_path, content):
    broken = write(tmp_path, "broken.parquet", content)
    assert_bad_input(run("compute", "mse", broken, "--col", "pred=yhat", "--col", "target=y"),
                     "broken.parquet", "not a valid Parquet file")


def test_non_numeric_cell_is_named(tmp_path):
    pred = write(tmp_path, "pred.csv", "pred\n1.5\nabc\n3.5\n4.0\n")
    assert_bad_input(run("compute", "mse", pred, TARGET), "pred.csv", "column 'pred'", "row 2", "line 3",
                     "expected a number, got 'abc'")


def test_row_count_mismatch_gives_both_counts(tmp_path):
    pred = write(tmp_path, "pred3.csv", "pred\n1.5\n2.5\n3.5\n")
    assert_bad_input(run("compute", "mse", pred, TARGET), "row-count mismatch", "target has 4 rows",
                     "pred has 3", "pred3.csv", "outliers_target.csv")


def test_inner_dimension_mismatch(tmp_path):
    anchor = write(tmp_path, "anchor.csv", "a,b,c\n1,2,3\n4,5,6\n")
    positive = write(tmp_path, "positive.csv", "a,b\n1,2\n4,5\n")
    negative = write(tmp_path, "negative.csv", "a,b,c\n1,2,4\n4,5,7\n")
    assert_bad_input(run("compute", "triplet", anchor, positive, negative), "inner-dimension mismatch",
                     "positive has D=2", "anchor has D=3", "positive.csv")


def test_keys_not_a_multiple_of_the_query_width(tmp_path):
    keys = write(tmp_path, "keys18.csv", "\n".join(",".join(line.split(",")[:18]) for line in
                                                   (SAMPLES / "infonce_keys.csv").read_text().splitlines()) + "\n")
    assert_bad_input(run("compute", "infonce", SAMPLES / "infonce_query.csv", keys), "keys18.csv",
                     "groups of D=4 columns", "got 18 columns")


@pytest.mark.parametrize(("loss", "preds", "hint"), [
    ("bce", SAMPLES / "binary_logits.csv", "looks like logits: use bce_logits"),
    ("focal", SAMPLES / "binary_logits.csv", "looks like logits: use focal_logits"),
])
def test_probabilities_outside_0_1_look_like_logits(loss, preds, hint):
    # binary_logits.csv row 2 is 1.7638 (row 1, 0.292, is a valid probability)
    assert_bad_input(run("compute", loss, preds, SAMPLES / "binary_labels.csv"), "binary_logits.csv",
                     "row 2", "expected probabilities in [0, 1], got 1.7638", hint)


def test_class_probabilities_outside_0_1_suggest_softmax_cross_entropy():
    result = run("compute", "cross_entropy", SAMPLES / "multiclass_logits.csv", SAMPLES / "multiclass_labels.csv")
    assert_bad_input(result, "multiclass_logits.csv", "column 'logit_0'", "row 1", "got -0.6225",
                     "looks like logits: use softmax_cross_entropy")


@pytest.mark.parametrize(("label", "row"), [("2", "row 2"), ("-1", "row 2")])
def test_binary_labels_outside_0_1(tmp_path, label, row):
    pred = write(tmp_path, "p.csv", "p\n0.5\n0.7\n")
    labels = write(tmp_path, "labels.csv", f"y\n0\n{label}\n")
    assert_bad_input(run("compute", "bce", pred, labels), "labels.csv", "column 'y'", row,
                     f"expected labels in [0, 1], got {label}")


def test_soft_labels_are_accepted(tmp_path):
    pred = write(tmp_path, "p.csv", "p\n0.5\n0.7\n")
    labels = write(tmp_path, "labels.csv", "y\n0.3\n1\n")
    # row 1: -(0.3·ln 0.5 + 0.7·ln 0.5) = ln 2; row 2: -ln 0.7
    data = compute_json("bce", pred, labels)
    assert data["value"] == pytest.approx((math.log(2) - math.log(0.7)) / 2, rel=1e-12)


@pytest.mark.parametrize(("last", "message"), [
    ("3", "expected class ids in [0, 2] for 3 classes, got 3"),
    ("-1", "expected class ids in [0, 2] for 3 classes, got -1"),
    ("1.5", "expected integer class ids, got 1.5"),
])
def test_class_ids_out_of_range_negative_or_fractional(tmp_path, last, message):
    ids = write(tmp_path, "ids.csv", "class_id\n" + "1\n" * 11 + f"{last}\n")
    result = run("compute", "softmax_cross_entropy", SAMPLES / "multiclass_logits.csv", ids)
    assert_bad_input(result, "ids.csv", "column 'class_id'", "row 12", "line 13", message)


def test_one_hot_rows_must_sum_to_1_for_cross_entropy(tmp_path):
    lines = (SAMPLES / "multiclass_onehot.csv").read_text().splitlines()
    lines[2] = "1,1,0"  # data row 2
    onehot = write(tmp_path, "onehot.csv", "\n".join(lines) + "\n")
    result = run("compute", "cross_entropy", SAMPLES / "multiclass_probs.csv", onehot)
    assert_bad_input(result, "onehot.csv", "row 2", "line 3", "summing to 1, got 2")


def test_unknown_loss_suggests_the_closest_name():
    assert_bad_input(run("compute", "msee", PRED, TARGET), "unknown loss 'msee'", "did you mean 'mse'?")


def test_unknown_parameter_lists_the_valid_ones():
    assert_bad_input(run("compute", "focal", SAMPLES / "binary_probs.csv", SAMPLES / "binary_labels.csv",
                         "-p", "beta=1"), "unknown parameter 'beta' for focal", "valid: alpha, gamma, eps")
    assert_bad_input(run("compute", "mse", PRED, TARGET, "-p", "delta=1"), "unknown parameter 'delta'",
                     "valid: none")


@pytest.mark.parametrize(("loss", "files", "param", "message"), [
    ("huber", (PRED, TARGET), "delta=-1", "parameter delta must be > 0, got -1"),
    ("huber", (PRED, TARGET), "delta=abc", "parameter delta expects a number, got 'abc'"),
    ("huber", (PRED, TARGET), "delta", "expected -p KEY=VALUE, got 'delta'"),
    ("infonce", (SAMPLES / "infonce_query.csv", SAMPLES / "infonce_keys.csv"), "temperature=0",
     "parameter temperature must be > 0, got 0"),
    ("infonce", (SAMPLES / "infonce_query.csv", SAMPLES / "infonce_keys.csv"), "temperature=-0.5",
     "parameter temperature must be > 0, got -0.5"),
    ("infonce", (SAMPLES / "infonce_query.csv", SAMPLES / "infonce_keys.csv"), "positive_idx=1.5",
     "parameter positive_idx expects an integer"),
    ("focal", (SAMPLES / "binary_probs.csv", SAMPLES / "binary_labels.csv"), "gamma=-1",
     "parameter gamma must be >= 0, got -1"),
    ("focal", (SAMPLES / "binary_probs.csv", SAMPLES / "binary_labels.csv"), "alpha=1.5",
     "parameter alpha must be >= 0 and <= 1, got 1.5"),
])
def test_bad_parameter_values(loss, files, param, message):
    assert_bad_input(run("compute", loss, *files, "-p", param), message)


@pytest.mark.parametrize(("loss", "files", "message"), [
    ("mse", (PRED,), "mse takes 2 inputs (pred target): give 2 files, or one file with --col for each input"),
    ("mse", (PRED, TARGET, TARGET), "mse takes 2 inputs (pred target), got 3 files"),
    ("triplet", (PRED, TARGET), "triplet takes 3 inputs (anchor positive negative), got 2 files"),
])
def test_wrong_number_of_inputs(loss, files, message):
    assert_bad_input(run("compute", loss, *files), message)


def test_col_for_an_input_the_loss_does_not_have():
    assert_bad_input(run("compute", "mse", EVAL, "--col", "pred=yhat", "--col", "target=y", "--col", "foo=y"),
                     "--col foo=y", "no input 'foo'", "inputs: pred, target")


@pytest.mark.parametrize("option", ["--per-sample", "--gradient"])
def test_output_path_equal_to_an_input_is_refused(tmp_path, option):
    pred = write(tmp_path, "pred.csv", PRED.read_bytes())
    before = pred.read_bytes()
    assert_bad_input(run("compute", "mse", pred, TARGET, option, pred), "refusing to overwrite the input file")
    assert_bad_input(run("compute", "mse", pred, TARGET, option, tmp_path / "." / "pred.csv"),
                     "refusing to overwrite")
    assert pred.read_bytes() == before


def test_output_path_equal_to_the_weights_file_is_refused(tmp_path):
    weights = write(tmp_path, "w.csv", "w\n1\n1\n1\n1\n")
    assert_bad_input(run("compute", "mse", PRED, TARGET, "--weights", weights, "--per-sample", weights),
                     "w.csv", "refusing to overwrite")
    assert weights.read_text() == "w\n1\n1\n1\n1\n"


def test_unknown_output_extension_fails_before_any_file_is_written(tmp_path):
    # Regression: --per-sample used to be written before --gradient's bad extension was noticed.
    per_sample = tmp_path / "loss.csv"
    result = run("compute", "mse", PRED, TARGET, "--per-sample", per_sample, "--gradient", tmp_path / "grad.txt")
    assert_bad_input(result, "grad.txt", "unknown file extension")
    assert list(tmp_path.iterdir()) == []


def test_per_sample_and_gradient_to_the_same_file_is_refused(tmp_path):
    # Regression: the gradient silently overwrote the per-sample losses.
    result = run("compute", "mse", PRED, TARGET, "--per-sample", tmp_path / "out.csv",
                 "--gradient", tmp_path / "." / "out.csv")
    assert_bad_input(result, "--per-sample and --gradient both write", "out.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [("-", "-"), ("-", TARGET, "--weights", "-")], ids=["two-inputs", "input-and-weights"])
def test_two_inputs_from_stdin_are_refused(args):
    # Regression: "mse - -" used to read stdin once and compare the file with itself (mse = 0).
    result = run("compute", "mse", *args, input=PRED.read_text())
    assert_bad_input(result, "only one input can be read from stdin ('-')")


@pytest.mark.parametrize(("content", "message"), [
    ("w\n1\n2\n3\n", "weights has 3 rows"),
    ("w\n1\n-2\n3\n1\n", "row 2"),
    ("w\n0\n0\n0\n0\n", "the sample weights sum to zero"),
])
def test_bad_weights(tmp_path, content, message):
    weights = write(tmp_path, "weights.csv", content)
    line = assert_bad_input(run("compute", "mse", PRED, TARGET, "--weights", weights), message)
    if "sum to zero" not in message:
        assert "weights.csv" in line


def test_weights_file_with_several_columns():
    assert_bad_input(run("compute", "mse", PRED, TARGET, "--weights", SAMPLES / "multiclass_logits.csv"),
                     "multiclass_logits.csv", "--weights needs one column of sample weights, got 3")


def test_reduction_a_loss_does_not_support():
    result = run("compute", "perplexity", SAMPLES / "lm_logits.npy", SAMPLES / "lm_targets.npy", "--reduction", "sum")
    assert_bad_input(result, "perplexity supports reductions mean, none, not 'sum'")


# --- the program as a real process (python -m losscli; stdout a pipe) --------------------------


def shell(command: str) -> subprocess.CompletedProcess:
    """A shell step in which `losscli` is this interpreter's package under test."""
    define = f'losscli() {{ "{sys.executable}" -m losscli "$@"; }}; '
    return subprocess.run(["bash", "-c", define + command], capture_output=True, text=True, env=program_env(),
                          timeout=60)


@pytest.mark.slow
def test_program_reads_stdin_through_a_pipe():
    completed = shell(f"cat {PRED} | losscli compute mse - {TARGET} --reduction none --format csv")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "row,mse\n1,0.25\n2,0.25\n3,0.25\n4,9216.0\n"
    assert completed.stderr == ""


@pytest.mark.slow
def test_program_bad_input_is_one_line_without_traceback(tmp_path):
    completed = run_program("compute", "mse", tmp_path / "missing.csv", TARGET)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    assert completed.stderr.count("\n") == 1 and "missing.csv: no such file" in completed.stderr


@pytest.mark.slow
def test_program_gate_exit_code_in_a_shell_step():
    completed = shell(f"losscli compute mse {PRED} {TARGET} --fail-above 100 --quiet; echo \"exit $?\"")
    assert completed.stdout == "exit 1\n"


def test_installed_console_script_and_python_dash_m_agree():
    """The console script pip installs next to this interpreter runs the same package."""
    script = Path(sys.executable).parent / "losscli"
    for command in ([str(script)], list(LOSSCLI)):
        completed = subprocess.run([*command, "--version"], capture_output=True, text=True, env=program_env(),
                                   timeout=60)
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout == f"losscli {losscli.__version__}\n"


def test_line_number_counts_blank_lines(tmp_path):
    pred = write(tmp_path, "pred.csv", "pred\n1.5\n\n2.5\nabc\n4.0\n")  # 'abc': data row 3, file line 5
    assert_bad_input(run("compute", "mse", pred, TARGET), "row 3 (line 5): expected a number, got 'abc'")


def test_a_hex_cell_is_not_a_number_whatever_its_neighbours(tmp_path):
    among_integers = write(tmp_path, "ints.csv", "pred\n0x10\n2\n3\n4\n")
    among_floats = write(tmp_path, "floats.csv", "pred\n0x10\n2.5\n3.5\n4\n")
    for path in (among_integers, among_floats):
        assert_bad_input(run("compute", "mse", path, TARGET),
                         "column 'pred', row 1 (line 2): expected a number, got '0x10'")
