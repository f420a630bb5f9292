"""CLI tests for compare, fit, demo and plot: exact output, exit codes and one-line errors."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from support import run
from typer.testing import CliRunner

from losscli import demos
from losscli.cli import app


def assert_usage_error(result, message):
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.stderr


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def outlier_csv(tmp_path):
    path = tmp_path / "eval.csv"
    path.write_text("yhat,y\n1.5,1\n2.5,2\n3.5,3\n4.0,100\n")
    return path


def test_compare_without_inputs_runs_the_seed_example():
    result = run("compare", "mse", "mae", "huber")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Outlier example (targets 1, 2, 3, 100; predictions 1.5, 2.5, 3.5, 4.0)"
    assert "│ value                             │ 2304.1875 │ 24.375   │ 23.96875 │" in lines
    assert "│ top 1 of 4 rows: share of |grad|² │ 0.999919  │ 0.25     │ 0.571429 │" in lines
    assert "│   at row                          │ 4         │ 1        │ 4        │" in lines


def test_compare_json_rows_are_one_based():
    result = run("compare", "mse", "mae", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [item["loss"] for item in data] == ["mse", "mae"]
    assert data[0]["value"] == 2304.1875
    assert data[0]["gradient"]["max_abs_row"] == 4
    assert data[1]["influence"]["loss_share"] == pytest.approx(64 / 65)
    assert data[1]["influence"]["grad_share"] == pytest.approx(0.25)
    assert data[1]["influence"]["rows"][0] == {"row": 4, "contribution": 96.0,
                                               "loss_share": pytest.approx(64 / 65), "grad_share": 0.25}


def test_compare_files_with_columns_and_a_routed_parameter(outlier_csv):
    result = run("compare", "mse", "huber", outlier_csv, "--col", "pred=yhat", "--col", "target=y",
                 "-p", "huber.delta=2", "--top", "0.5", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout)
    assert [row["loss"] for row in rows] == ["mse", "huber"]
    assert float(rows[1]["value"]) == 47.59375  # (3·0.125 + 2·95)/4
    assert rows[1]["params"] == "delta=2"
    assert rows[0]["top_k"] == "2"
    assert float(rows[0]["top_loss_share"]) == pytest.approx(9216.25 / 9216.75)


def test_compare_usage_errors(outlier_csv):
    assert_usage_error(run("compare", "bce", "focal", "-p", "eps=0.1"),
                       "parameter 'eps' is ambiguous: bce, focal all take it")
    assert_usage_error(run("compare", "mse", "bce"),
                       "cannot compare mse and bce on the same inputs: input pred is real for mse")
    assert_usage_error(run("compare", "mse", "hubr", outlier_csv),
                       "no such input file 'hubr', and unknown loss 'hubr'; did you mean 'huber'?")
    assert_usage_error(run("compare", "nope"), "unknown loss 'nope'")
    assert_usage_error(run("compare", "mse", "--top", "0"), "--top must be a fraction in (0, 1], got 0")
    assert_usage_error(run("compare", "mse", outlier_csv), "mse takes 2 inputs (pred target)")


def test_compare_locates_bad_values_in_files(tmp_path):
    path = tmp_path / "probs.csv"
    path.write_text("p,y\n0.2,1\n1.7,0\n")
    result = run("compare", "bce", "focal", path, "--col", "pred=p", "--col", "target=y")
    assert_usage_error(result, "expected probabilities in [0, 1], got 1.7")
    assert "probs.csv: column 'p', row 2 (line 3)" in result.stderr


@pytest.fixture
def regression_csv(tmp_path):
    features, target = demos.regression_data(outliers=True)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([features, target]), delimiter=",", header="a,b,c,y", comments="",
               fmt="%.17g")
    return path


def test_fit_json_matches_the_demo(regression_csv):
    result = run("fit", regression_csv, "--target", "y", "--loss", "mse,mae,huber",
                 "--true-weights", "1.5,-2,0.5", "--format", "json")
    assert result.exit_code == 0, result.output
    fits = {item["loss"]: item for item in json.loads(result.stdout)}
    assert list(fits["mae"]["weights"]) == ["a", "b", "c"]
    assert fits["mae"]["converged"] is True and fits["mae"]["method"] == "irls"
    assert fits["mae"]["weight_error"]["max_error"] == pytest.approx(0.0216421, rel=1e-5)
    assert fits["huber"]["weight_error"]["l2_error"] == pytest.approx(0.0861829, rel=1e-5)
    assert fits["mse"]["weight_error"]["max_error"] > 1.8


def test_fit_table_and_feature_selection(regression_csv):
    result = run("fit", regression_csv, "-t", "y", "--features", "a,c", "--loss", "mse")
    assert result.exit_code == 0, result.output
    assert "│ w a " in result.stdout and "│ w c " in result.stdout and "│ w b " not in result.stdout


def test_fit_usage_errors(regression_csv):
    assert_usage_error(run("fit", regression_csv, "--target", "z"), "no column 'z'")
    assert_usage_error(run("fit", regression_csv, "--target", "y", "--true-weights", "1,2"),
                       "--true-weights has 2 values for 3 features (a, b, c)")
    assert_usage_error(run("fit", regression_csv, "--target", "y", "--true-weights", "1,x,2"),
                       "--true-weights expects comma-separated numbers")
    assert_usage_error(run("fit", regression_csv, "--target", "y", "--features", "a,y"),
                       "the target 'y' is also among the --features")
    assert_usage_error(run("fit", regression_csv, "--target", "y", "--loss", "bce"), "expected labels in [0, 1]")


def test_fit_warns_when_not_converged(regression_csv):
    result = run("fit", regression_csv, "--target", "y", "--loss", "mae", "--max-iter", "2")
    assert result.exit_code == 0
    assert "warning: mae did not converge in 2 iterations" in result.stderr
    assert "│ iterations │ 2 (not converged) │" in result.stdout


def test_demo_outliers_and_focal():
    outliers = run("demo", "outliers", "--format", "csv")
    assert outliers.exit_code == 0, outliers.output
    assert [float(row["value"]) for row in csv_rows(outliers.stdout)] == [2304.1875, 24.375, 23.96875]
    focal = run("demo", "focal")
    assert focal.exit_code == 0, focal.output
    assert "│ focal gamma=2 │ 0.25    │ 0.01    │ 0.0001   │" in focal.stdout.splitlines()


def test_demo_regression_as_printed():
    result = run("demo", "regression")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "│ max |w - w_true| │ 1.86096     │ 0.0216421   │ 0.0714387   │" in lines
    assert "│ ||w - w_true||   │ 1.98108     │ 0.0272881   │ 0.0861829   │" in lines
    data = json.loads(run("demo", "regression", "--format", "json").stdout)
    assert [(item["dataset"], item["loss"]) for item in data][3:] == [
        ("outliers", "mse"), ("outliers", "mae"), ("outliers", "huber")]


def test_plot_text_and_image(tmp_path):
    text = run("plot", "mse", "mae", "huber", "--out", "-")
    assert text.exit_code == 0, text.output
    assert "* mse   o mae   + huber" in text.stdout and text.stdout.startswith("loss\n9 |*")
    assert_usage_error(run("plot", "mse", "--out", tmp_path / "x.txt"), "expected a .png, .svg or .pdf file")
    assert_usage_error(run("plot", "mse", "bce", "--out", "-"), "cannot draw regression and classification")
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    image = run("plot", "bce", "focal", "-p", "focal.gamma=0,2,5", "--range", "0.1,1", "--out", path)
    assert image.exit_code == 0, image.output
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 20_000


@pytest.mark.parametrize("command", ["compare", "fit", "demo", "plot"])
def test_help_ends_with_examples(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and f"\n      losscli {command} " in result.stdout


def test_compare_group_by_gives_each_loss_per_slice_and_overall():
    import json as json_module

    import pyarrow.parquet as pq

    import losscli

    result = CliRunner().invoke(app, ["compare", "mse", "mae", "sample_data/eval.parquet", "--col", "pred=yhat",
                                      "--col", "target=y", "--group-by", "segment", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json_module.loads(result.stdout)
    table = pq.read_table("sample_data/eval.parquet")
    pred, target = table.column("yhat").to_numpy(), table.column("y").to_numpy()
    segment = table.column("segment").to_numpy()
    rows = {row["group"]: row for row in data["groups"]}
    for label in ("0", "1", "2"):
        mask = segment == int(label)
        assert rows[label]["n"] == int(mask.sum())
        for loss in ("mse", "mae"):
            alone = losscli.compute(loss, pred[mask], target[mask]).value
            assert rows[label][loss] == pytest.approx(alone, rel=1e-12)
    assert rows["(all)"]["mse"] == pytest.approx(float(np.mean((pred - target) ** 2)), rel=1e-12)
    assert [item["loss"] for item in data["losses"]] == ["mse", "mae"]
