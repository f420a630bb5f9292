"""Output that survives a pipe: every command, run as a program whose stdout is a pipe and with no
COLUMNS (a CI log), prints tables whose cells never fold: one line per row, every number whole."""

from __future__ import annotations

import re

import pytest
from support import FIXTURES, SAMPLES, run_program

PRED, TARGET = SAMPLES / "outliers_pred.csv", SAMPLES / "outliers_target.csv"
# A number cut after its exponent's 'e' (3.19e-1 / 0 on the next line), as the CI log showed.
CUT_NUMBER = re.compile(r"[0-9][eE][-+]?\s*[│|]")


def table_rows(text: str) -> list[list[str]]:
    """The cells of every body line of every rich table in ``text``."""
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]


def assert_no_folded_cell(text: str) -> None:
    rows = table_rows(text)
    assert rows, text
    # Every table's first column names the row (a loss, a field, a group, a run): a continuation
    # line of a folded row is the only way to get an empty first cell.
    folded = [row for row in rows if not row[0]]
    assert folded == [], f"folded rows: {folded}\n{text}"
    assert not CUT_NUMBER.search(text), text


COMMANDS = {
    "gradcheck --all": ["gradcheck", "--all"],
    "gradcheck focal": ["gradcheck", "focal"],
    "list": ["list"],
    "describe infonce": ["describe", "infonce"],
    "compute": ["compute", "tweedie", SAMPLES / "claims_pred.csv", SAMPLES / "claims_target.csv"],
    "compute --group-by": ["compute", "huber", SAMPLES / "eval.parquet", "--col", "pred=yhat", "--col", "target=y",
                           "--group-by", "segment"],
    "compute --reduction none": ["compute", "softmax_cross_entropy", SAMPLES / "multiclass_logits.csv",
                                 SAMPLES / "multiclass_labels.csv", "--reduction", "none"],
    "compare": ["compare", "mse", "mae", "huber", "log_cosh", "quantile", PRED, TARGET],
    "compare --group-by": ["compare", "mse", "mae", SAMPLES / "eval.parquet", "--col", "pred=yhat", "--col",
                           "target=y", "--group-by", "segment"],
    "fit": ["fit", SAMPLES / "regression_outliers.csv", "--target", "y", "--true-weights", "1.5,-2,0.5"],
    "demo": ["demo", "outliers"],
    "crosscheck": ["crosscheck", "bce", SAMPLES / "binary_probs.csv", SAMPLES / "binary_labels.csv"],
    "gradcheck user code": ["gradcheck", f"{FIXTURES / 'seed_losses.py'}:HuberLoss", "--like", "huber"],
}


@pytest.mark.slow
@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_piped_tables_never_fold(args):
    completed = run_program(*args)
    assert completed.returncode == 0, completed.stderr
    assert_no_folded_cell(completed.stdout)


@pytest.mark.slow
def test_history_tables_never_fold(tmp_path):
    log = tmp_path / "log.jsonl"
    for delta in ("1", "2.123456789"):
        assert run_program("compute", "huber", PRED, TARGET, "-p", f"delta={delta}", "--log", log,
                           "--quiet").returncode == 0
    completed = run_program("history", log)
    assert completed.returncode == 0, completed.stderr
    assert_no_folded_cell(completed.stdout)


@pytest.mark.slow
def test_width_and_columns_lay_tables_out_without_folding_cells():
    """--width N and COLUMNS narrow a table by wrapping text between words; a cell wider than
    that keeps its width (the line gets longer) rather than folding."""
    natural = run_program("list")
    narrow = run_program("list", "--width", "60")
    columns = run_program("list", env={"COLUMNS": "60", "PATH": "/usr/bin:/bin"})
    assert max(map(len, natural.stdout.splitlines())) > 200
    for completed in (narrow, columns):
        assert completed.returncode == 0, completed.stderr
        lines = completed.stdout.splitlines()
        assert max(map(len, lines)) < 200  # laid out narrower...
        names = [row[0] for row in table_rows(completed.stdout) if row[0]]
        assert "softmax_cross_entropy" in names and "label_smoothing" in names  # ...but no name is cut


def test_the_fold_detector_sees_a_folded_table():
    folded = "│ 3.19e-  │ x │\n│ 1       │   │\n"
    with pytest.raises(AssertionError):
        assert_no_folded_cell(folded)
    assert_no_folded_cell("│ mse │ 3.19e-1 │\n")
