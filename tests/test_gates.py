"""CI gates: thresholds on every slice, baselines, several losses in one read, --label, --id,
--format value and strict JSON on non-finite values (issue 13)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from support import SAMPLES, assert_bad_input, run

from losscli.errors import LossCliError
from losscli.gates import Baseline, Limit, check_run

PRED, TARGET = SAMPLES / "outliers_pred.csv", SAMPLES / "outliers_target.csv"
EVAL = SAMPLES / "eval.parquet"
COLUMNS = ("--col", "pred=yhat", "--col", "target=y")


@pytest.fixture(scope="module")
def eval_table():
    return pq.read_table(EVAL).to_pandas()


def mae_by_segment(frame) -> dict[str, float]:
    """The reference: MAE of each segment and overall, straight from the table."""
    error = (frame["yhat"] - frame["y"]).abs()
    return {str(int(segment)): float(part.mean()) for segment, part in error.groupby(frame["segment"])} | {
        "(all)": float(error.mean())}


def test_a_threshold_applies_to_every_slice(eval_table):
    expected = mae_by_segment(eval_table)
    failing = sorted(group for group, value in expected.items() if value > 1.5)
    assert "(all)" in failing and len(failing) < len(expected)  # some slices pass, some fail
    result = run("compute", "mae", EVAL, *COLUMNS, "--group-by", "segment", "--fail-above", "1.5", "--format", "json")
    assert result.exit_code == 1
    gate = json.loads(result.stdout)["gate"]
    failed_groups = sorted("(all)" if check["group"] is None else check["group"]
                           for check in gate["checks"] if not check["passed"])
    assert failed_groups == failing
    lines = result.stderr.splitlines()
    assert len(lines) == len(failing)
    assert f"losscli: gate failed: mae [group 0] = {expected['0']:.10g} is above --fail-above 1.5" in lines


def test_fail_below_is_per_slice_too(eval_table):
    lowest = min(mae_by_segment(eval_table).values())
    passing = run("compute", "mae", EVAL, *COLUMNS, "--group-by", "segment", "--fail-below", str(lowest * 0.99))
    failing = run("compute", "mae", EVAL, *COLUMNS, "--group-by", "segment", "--fail-below", str(lowest * 1.01))
    assert (passing.exit_code, failing.exit_code) == (0, 1)
    assert len(failing.stderr.splitlines()) == 1  # only the lowest slice is below


@pytest.fixture
def worse(tmp_path, eval_table):
    """The eval predictions 0.05 further from the targets in segment 1 only."""
    frame = eval_table.copy()
    shift = np.where(frame["segment"] == 1, 0.05 * np.sign(frame["yhat"] - frame["y"]), 0.0)
    frame["yhat"] = frame["yhat"] + shift
    path = tmp_path / "worse.parquet"
    frame.to_parquet(path)
    return path, mae_by_segment(frame)


@pytest.mark.parametrize("source", ["json", "log"])
def test_baseline_gates_compare_with_a_previous_run(tmp_path, worse, eval_table, source):
    before = mae_by_segment(eval_table)
    path, after = worse
    baseline = tmp_path / ("main.json" if source == "json" else "main.jsonl")
    args = ("--format", "json") if source == "json" else ("--log", baseline, "--quiet")
    first = run("compute", "mae", EVAL, *COLUMNS, "--group-by", "segment", *args)
    assert first.exit_code == 0, first.output
    if source == "json":
        baseline.write_text(first.stdout)
    change = after["(all)"] - before["(all)"]
    # absolute: passes with room, fails when the limit is below the change
    ok = run("compute", "mae", path, *COLUMNS, "--baseline", baseline, "--max-increase", str(change * 1.5))
    assert ok.exit_code == 0, ok.output
    bad = run("compute", "mae", path, *COLUMNS, "--baseline", baseline, "--max-increase", str(change / 2))
    assert bad.exit_code == 1
    assert bad.stderr == (f"losscli: gate failed: mae = {after['(all)']:.10g} vs baseline {before['(all)']:.10g}: "
                          f"{change:+.4g} ({100 * change / before['(all)']:+.4g}%) exceeds --max-increase "
                          f"{change / 2:.15g}\n")
    # a percentage, per slice: segment 1 moved by much more than the overall value
    segment_change = (after["1"] - before["1"]) / before["1"]
    overall_change = change / before["(all)"]
    limit = f"{100 * (segment_change + overall_change) / 2}%"
    sliced = run("compute", "mae", path, *COLUMNS, "--group-by", "segment", "--baseline", baseline,
                 "--max-increase", limit, "--format", "json")
    assert sliced.exit_code == 1
    failed = [check for check in json.loads(sliced.stdout)["gate"]["checks"] if not check["passed"]]
    assert [(check["group"], check["baseline"], check["value"]) for check in failed] == [
        ("1", pytest.approx(before["1"]), pytest.approx(after["1"]))]


def test_max_decrease_and_baseline_usage_errors(tmp_path):
    baseline = tmp_path / "base.json"
    baseline.write_text(run("compute", "mae", PRED, TARGET, "--format", "json").stdout)
    same = run("compute", "mae", PRED, TARGET, "--baseline", baseline, "--max-decrease", "0")
    assert same.exit_code == 0, same.output
    assert_bad_input(run("compute", "mae", PRED, TARGET, "--max-increase", "1"), "give --baseline FILE")
    assert_bad_input(run("compute", "mae", PRED, TARGET, "--baseline", baseline), "--max-increase or --max-decrease")
    assert_bad_input(run("compute", "mse", PRED, TARGET, "--baseline", baseline, "--max-increase", "1"),
                     "no run of mse")
    assert_bad_input(run("compute", "mae", PRED, TARGET, "--fail-above", "huber=1"), "huber is not among the losses")
    aliased = run("compute", "mae", PRED, TARGET, "--fail-above", "l1=20")  # l1 is mae: 24.375 > 20
    assert aliased.exit_code == 1 and "mae = 24.375 is above --fail-above 20" in aliased.stderr
    assert_bad_input(run("compute", "mae", PRED, TARGET, "--fail-above", "2%"), "--fail-above expects [LOSS=]a number")


def test_limits_in_the_library():
    """check_run: thresholds per slice; change limits absolute and relative; NaN never passes."""
    limits = [Limit.parse("fail_above", "2"), Limit.parse("max_increase", "mae=10%")]
    checks = check_run(limits, "mae", 1.0, {"a": 3.0, "b": float("nan")}, Baseline(0.95, {"a": 2.0, "b": 1.0}, "x"))
    verdicts = {(check.limit.kind, check.group): check.passed for check in checks}
    assert verdicts == {("fail_above", None): True, ("fail_above", "a"): False, ("fail_above", "b"): False,
                        ("max_increase", None): True,  # +0.05 <= 10% of 0.95
                        ("max_increase", "a"): False,  # +1.0 > 0.2
                        ("max_increase", "b"): False}  # NaN
    # mae's limit does not apply to mse; the bare one does (and fails: 5 > 2)
    assert [(check.limit.kind, check.passed) for check in check_run(limits, "mse", 5.0)] == [("fail_above", False)]
    with pytest.raises(LossCliError, match="give --baseline"):
        check_run([Limit.parse("max_decrease", "1")], "mae", 1.0)


def test_several_losses_read_the_input_once_with_per_loss_gates():
    """stdin can be read once: three losses from one '-' prove one pass; each equals its own run."""
    text = PRED.read_text()
    together = run("compute", "mse,mae,huber", "-", TARGET, "--format", "json", "--fail-above", "mae=30",
                   "--fail-above", "100", input=text)
    assert together.exit_code == 1
    data = json.loads(together.stdout)
    assert [item["loss"] for item in data["losses"]] == ["mse", "mae", "huber"]
    assert [item["value"] for item in data["losses"]] == [2304.1875, 24.375, 23.96875]
    assert data["passed"] is False
    assert together.stderr == "losscli: gate failed: mse = 2304.1875 is above --fail-above 100\n"
    assert [item["gate"]["passed"] for item in data["losses"]] == [False, True, True]
    assert [len(item["gate"]["checks"]) for item in data["losses"]] == [1, 2, 1]


def test_several_losses_as_csv_value_and_per_sample(tmp_path):
    csv = run("compute", "mse,mae", PRED, TARGET, "--format", "csv")
    assert csv.stdout.splitlines()[1:] == ["mse,2304.1875,mean,4,4.0,48.001953085265185,48.0,4,0.0",
                                           "mae,24.375,mean,4,4.0,0.5,0.25,1,0.0"]
    value = run("compute", "mse,mae,huber", PRED, TARGET, "-p", "delta=2", "--format", "value")
    assert value.stdout == "2304.1875\n24.375\n47.59375\n"  # huber with δ = 2 (README: 47.59375)
    none = run("compute", "mse,mae", PRED, TARGET, "--reduction", "none", "--format", "csv")
    assert none.stdout == "row,mse,mae\n1,0.25,0.5\n2,0.25,0.5\n3,0.25,0.5\n4,9216.0,96.0\n"


def test_label_is_logged_and_shown_by_history(tmp_path):
    log = tmp_path / "runs.jsonl"
    assert run("compute", "mae", PRED, TARGET, "--log", log, "--label", "abc123", "-q").exit_code == 0
    assert json.loads(log.read_text())["label"] == "abc123"
    history = run("history", log, "--format", "csv", "--no-time")
    assert history.stdout == "run,label,loss,params,value,change,gate\n1,abc123,mae,,24.375,,\n"


def test_ids_join_top_rows_back_to_the_users_rows(tmp_path):
    path = tmp_path / "eval.csv"
    path.write_text("key,yhat,y\nk-a,1.5,1\nk-b,2.5,2\nk-c,3.5,3\nk-d,4.0,100\n")
    data = json.loads(run("compute", "mse", path, *COLUMNS, "--id", "key", "--format", "json").stdout)
    assert [(item["row"], item["ids"]) for item in data["gradient"]["top_rows"]] == [
        (4, {"key": "k-d"}), (1, {"key": "k-a"}), (2, {"key": "k-b"}), (3, {"key": "k-c"})]
    table = run("compute", "mse", path, *COLUMNS, "--id", "key").stdout
    assert "│ 4   │ k-d │ 48" in table


def test_top_rows_break_ties_by_loss():
    """MAE's gradient is ±1/N everywhere: the rows listed are those of largest loss, not rows 1-5."""
    data = json.loads(run("compute", "mae", EVAL, *COLUMNS, "--format", "json").stdout)
    frame = pq.read_table(EVAL).to_pandas()
    by_loss = (frame["yhat"] - frame["y"]).abs().to_numpy()
    assert [item["row"] for item in data["gradient"]["top_rows"]] == list(np.argsort(-by_loss, kind="stable")[:5] + 1)


def test_an_infinite_value_is_null_in_strict_json_and_exits_1(tmp_path):
    pred = tmp_path / "pred.csv"
    pred.write_text("p\n1e200\n0\n")
    target = tmp_path / "target.csv"
    target.write_text("t\n-1e200\n0\n")
    result = run("compute", "mse", pred, target, "--format", "json")
    assert result.exit_code == 1
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    data = json.loads(result.stdout)
    assert (data["value"], data["value_nonfinite"]) == (None, "inf")
    assert result.stderr == "losscli: gate failed: mse = inf is not finite (--allow-nonfinite accepts it)\n"


def test_ids_and_row_join_per_sample_and_gradient_files_back(tmp_path):
    """--id carries the user's ids into every per-row output; row (1-based) is always there; names
    are snake_case and headers unquoted."""
    path = tmp_path / "eval.csv"
    path.write_text("Customer ID,yhat,y\nk-a,1.5,1\nk-b,2.5,2\nk-c,3.5,3\nk-d,4.0,100\n")
    per_sample, gradient = tmp_path / "out.csv", tmp_path / "grad.csv"
    result = run("compute", "mse,mae", path, *COLUMNS, "--id", "Customer ID", "--per-sample", per_sample,
                 "--gradient", gradient, "--quiet")
    assert result.exit_code == 0, result.output
    # squared errors 0.25, 0.25, 0.25, 9216 and absolute errors 0.5, 0.5, 0.5, 96 (residuals 0.5, 0.5, 0.5, -96)
    assert per_sample.read_text() == ('row,customer_id,mse,mae\n1,"k-a",0.25,0.5\n2,"k-b",0.25,0.5\n'
                                      '3,"k-c",0.25,0.5\n4,"k-d",9216,96\n')
    # gradients of the means: 2r/4 and sign(r)/4
    assert gradient.read_text().splitlines() == ["row,customer_id,mse_grad_yhat,mae_grad_yhat",
                                                 '1,"k-a",0.25,0.25', '2,"k-b",0.25,0.25', '3,"k-c",0.25,0.25',
                                                 '4,"k-d",-48,-0.25']
    printed = run("compute", "mse", path, *COLUMNS, "--id", "Customer ID", "--reduction", "none", "--format", "csv")
    assert printed.stdout.splitlines()[:2] == ["row,customer_id,mse", "1,k-a,0.25"]
