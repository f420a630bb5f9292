"""Messages that point at the truth, across commands: an option given twice is an error, a
command suggests only options it has, and the overall "(all)" row is never confused with a
group of that name."""

from __future__ import annotations

import os

import numpy as np
import pytest
from support import SAMPLES, assert_bad_input, run, run_program

PRED, TARGET, EVAL = SAMPLES / "outliers_pred.csv", SAMPLES / "outliers_target.csv", SAMPLES / "eval.parquet"


# --- a parameter or a column given twice --------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("compare", "mse", "huber", PRED, TARGET),
    ("fit", SAMPLES / "regression_outliers.csv", "--target", "y", "--loss", "mse,huber"),
    ("plot", "mse", "huber", "--out", "-"),
], ids=["compare", "fit", "plot"])
def test_a_parameter_given_qualified_and_plain_is_given_twice(args):
    # Before: huber.delta=1 was silently replaced by delta=2.
    result = run(*args, "-p", "huber.delta=1", "-p", "delta=2")
    assert (result.exit_code, result.stdout) == (2, "")
    # fit first names its features on stderr; the error is the last line
    assert result.stderr.splitlines()[-1] == "Error: -p huber.delta is given twice: give it once"


@pytest.mark.parametrize("args", [
    ("compare", "mse", "huber", PRED, TARGET),
    ("gradcheck", "huber"),
    ("fit", SAMPLES / "regression_outliers.csv", "--target", "y", "--loss", "huber"),
    ("plot", "huber", "--out", "-"),
], ids=["compare", "gradcheck", "fit", "plot"])
def test_the_same_parameter_twice_is_an_error(args):
    assert_bad_input(run(*args, "-p", "delta=1", "-p", "delta=2"), "-p delta is given twice: give it once")


def test_the_same_column_twice_is_an_error_in_compare():
    assert_bad_input(run("compare", "mse", "mae", EVAL, "--col", "pred=yhat", "--col", "pred=y", "--col", "target=y"),
                     "--col pred is given twice ('yhat' and 'y'): give it once")


# --- fit and plot suggest only their own options -------------------------------------------------

@pytest.fixture
def table(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,y\n1,2,3\n2,1,5\n3,1,4\n4,4,9\n")
    return path


@pytest.mark.parametrize(("option", "value", "example"), [("--features", "a,,b", "--features a,b,c"),
                                                          ("--target", "", "--target y")])
def test_fit_with_an_empty_column_name_names_its_own_option(table, option, value, example):
    # Before: "(e.g. --col pred=yhat or a,b,c)", an option of compute
    args = ["fit", table, "--target", "y", option, value] if option == "--features" else ["fit", table, option, value]
    message = assert_bad_input(run(*args), f"{option} '{value}' has an empty column name (e.g. {example})")
    assert "--col" not in message


def test_fit_of_an_npy_array_asks_for_named_columns(tmp_path):
    # Before: "give the input as its own .npy file", which fit cannot take
    np.save(tmp_path / "x.npy", np.ones((4, 3)))
    message = assert_bad_input(run("fit", tmp_path / "x.npy", "--target", "column_3"),
                               "fit needs named columns for --target and --features: give a .csv or .parquet file")
    assert "own .npy" not in message


def test_plot_out_onto_a_parameter_file_through_a_link_is_refused(tmp_path):
    alpha = tmp_path / "alpha.csv"
    alpha.write_text("a\n0.25\n")
    os.symlink(alpha, tmp_path / "curves.png")
    assert_bad_input(run("plot", "focal", "-p", f"alpha={alpha}", "--out", tmp_path / "curves.png"),
                     "--out", "refusing to overwrite the input file")
    assert alpha.read_text() == "a\n0.25\n"


# --- the (all) row appears once -----------------------------------------------------------------

@pytest.mark.parametrize("command", [("compute", "mse"), ("compare", "mse", "mae")], ids=["compute", "compare"])
@pytest.mark.parametrize("label", ["(all)", "(missing)"])
def test_a_group_named_like_the_overall_row_is_told_apart(tmp_path, command, label):
    # rows 1 and 3 are in a group literally named "(all)" (or "(missing)"), row 2 in b;
    # squared (and absolute) errors 0, 1, 0
    data = tmp_path / "data.csv"
    data.write_text(f"p,t,g\n1,1,{label}\n2,3,b\n3,3,{label}\n")
    result = run(*command, data, "--col", "pred=p", "--col", "target=t", "--group-by", "g", "--format", "csv")
    assert result.exit_code == 0, result.output
    header, *rows = [line.split(",") for line in result.stdout.splitlines()]
    groups = [row[header.index("group")] for row in rows]
    assert groups == [f"'{label}'", "b", "(all)"]


# --- usage errors: one line, like every other bad input -----------------------------------------

@pytest.mark.parametrize(("args", "fragments"), [
    (("compute", "mse", "--bogus"), ("No such option: --bogus", "(see losscli compute -h)")),
    (("compute",), ("Missing argument 'loss'", "(see losscli compute -h)")),
    (("gradcheck", "focal", "--size", "abc"), ("'--size'", "'abc'", "(see losscli gradcheck -h)")),
    (("bogus",), ("No such command 'bogus'", "(see losscli -h)")),
], ids=["unknown-option", "missing-argument", "bad-value", "unknown-command"])
def test_a_usage_error_is_one_line_naming_the_help_to_read(args, fragments):
    # Before: Click's four lines (usage, "Try ... -h", a blank line, the error).
    result = run_program(*args)
    assert (result.returncode, result.stdout) == (2, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_bare_losscli_still_shows_the_help():
    result = run_program()
    assert result.returncode == 2 and result.stderr.startswith("Usage: losscli [OPTIONS] COMMAND")
