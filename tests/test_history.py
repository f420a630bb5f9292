"""`losscli compute --log FILE.jsonl` and `losscli history` (issue 8), and the sparkline.

The runs use the seed's outlier example, sample_data/outliers_*.csv: residuals ŷ - y are
0.5, 0.5, 0.5, -96. Huber with δ is ½a² for |a| <= δ, else δ(|a| - ½δ), so the mean is
(3·0.125 + δ(96 - δ/2)) / 4:
    δ = 1: (0.375 + 95.5) / 4 = 23.96875
    δ = 2: (0.375 + 190) / 4  = 47.59375   change +23.625
    δ = 4: (0.375 + 376) / 4  = 94.09375   change +46.5
MAE is (0.5·3 + 96) / 4 = 24.375. The sparkline of the three Huber values scales
(v - 23.96875) / 70.125 · 7 and rounds half up: 0, 2.358 -> 2, 7, i.e. "▁▃█".
"""

from __future__ import annotations

import json
import math
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from support import assert_bad_input, run

import losscli
from losscli.errors import LossCliError
from losscli.history import append_log, read_history, sparkline, trend

ROOT = Path(__file__).resolve().parents[1]
PRED = ROOT / "sample_data" / "outliers_pred.csv"
TARGET = ROOT / "sample_data" / "outliers_target.csv"
EVAL = ROOT / "sample_data" / "eval.parquet"

HUBER = {1: 23.96875, 2: 47.59375, 4: 94.09375}  # hand-derived in the module docstring
MAE = 24.375

def compute_logged(log: Path, *args) -> dict:
    """Run compute with --log and --format json; the report it printed."""
    result = run("compute", *args, "--log", log, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def huber_log(tmp_path) -> tuple[Path, list[dict]]:
    """A log of three Huber runs (δ = 1, 2, 4) on the outlier example; the printed reports."""
    log = tmp_path / "runs.jsonl"
    reports = [compute_logged(log, "huber", PRED, TARGET, "-p", f"delta={delta}") for delta in HUBER]
    return log, reports


# --- compute --log --------------------------------------------------------------------------


def test_each_compute_run_appends_one_json_line_with_what_it_printed(huber_log):
    log, reports = huber_log
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert [record["value"] for record in records] == list(HUBER.values())
    for record, printed in zip(records, reports, strict=True):
        for key in ("loss", "params", "reduction", "value", "n", "weight_total", "rows_omitted"):
            assert record[key] == printed[key], key
        assert record["losscli"] == losscli.__version__
        assert "gate" not in record and "groups" not in record
    assert [record["params"] for record in records] == [{"delta": 1.0}, {"delta": 2.0}, {"delta": 4.0}]
    assert (records[0]["loss"], records[0]["n"], records[0]["weight_total"]) == ("huber", 4, 4.0)


def test_the_record_time_is_utc_iso_8601(huber_log):
    log, _ = huber_log
    before = datetime.now(timezone.utc)
    time = json.loads(log.read_text(encoding="utf-8").splitlines()[0])["time"]
    assert time.endswith("Z")
    moment = datetime.fromisoformat(time[:-1] + "+00:00")
    assert moment.utcoffset().total_seconds() == 0
    assert abs((before - moment).total_seconds()) < 3600  # written by this test run, not a fixed string


def test_the_record_holds_the_inputs_paths_sizes_and_mtimes(huber_log):
    log, _ = huber_log
    inputs = json.loads(log.read_text(encoding="utf-8").splitlines()[0])["inputs"]
    assert list(inputs) == ["pred", "target"]
    assert inputs["pred"]["path"] == str(PRED) and inputs["target"]["path"] == str(TARGET)
    # "pred\n1.5\n2.5\n3.5\n4\n" is 5 + 4 + 4 + 4 + 2 = 19 bytes; "target\n1\n2\n3\n100\n" is 7 + 2 + 2 + 2 + 4 = 17
    assert (inputs["pred"]["bytes"], inputs["target"]["bytes"]) == (19, 17)
    assert inputs["pred"]["bytes"] == os.path.getsize(PRED)
    mtime = datetime.fromtimestamp(os.stat(PRED).st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert inputs["pred"]["mtime"] == mtime


def test_stdin_is_logged_without_a_size(tmp_path):
    log = tmp_path / "runs.jsonl"
    result = run("compute", "mae", "-", TARGET, "--log", log, "-q", input=PRED.read_text())
    assert result.exit_code == 0, result.output
    record = read_history(str(log))[0]
    assert record["value"] == MAE
    assert record["inputs"]["pred"] == {"path": "-", "bytes": None, "mtime": None}


def test_a_failed_gate_is_logged_with_its_verdict(tmp_path):
    log = tmp_path / "runs.jsonl"
    result = run("compute", "mae", PRED, TARGET, "--fail-above", 20, "--log", log, "-q")
    assert result.exit_code == 1
    record = read_history(str(log))[0]
    assert record["value"] == MAE
    assert record["gate"]["passed"] is False
    assert record["gate"]["failed"] == ["mae = 24.375 is above --fail-above 20"]
    assert [(check["option"], check["limit"], check["value"]) for check in record["gate"]["checks"]] == [
        ("--fail-above", "20", MAE)]


def test_groups_are_logged_as_printed(tmp_path):
    log = tmp_path / "runs.jsonl"
    printed = compute_logged(log, "mae", EVAL, "--col", "pred=yhat", "--col", "target=y", "--group-by", "segment")
    record = read_history(str(log))[0]
    assert record["groups"] == printed["groups"] and len(record["groups"]) >= 2
    # one file holds both inputs: both name it, with its size
    assert record["inputs"]["pred"] == record["inputs"]["target"]
    assert record["inputs"]["pred"]["bytes"] == os.path.getsize(EVAL)


def test_a_directory_input_sums_its_shards(tmp_path):
    shards = tmp_path / "preds"
    shards.mkdir()
    (shards / "a.csv").write_text("pred\n1.5\n2.5\n")
    (shards / "b.csv").write_text("pred\n3.5\n4\n")
    log = tmp_path / "runs.jsonl"
    assert compute_logged(log, "mae", shards, TARGET)["value"] == MAE
    entry = read_history(str(log))[0]["inputs"]["pred"]
    # "pred\n1.5\n2.5\n" is 13 bytes, "pred\n3.5\n4\n" 11
    assert (entry["path"], entry["bytes"], entry["files"]) == (str(shards), 24, 2)


@pytest.mark.parametrize(("where", "why"), [("missing-dir/runs.jsonl", "cannot write: directory"),
                                            (".", "is a directory")])
def test_an_unwritable_log_path_is_bad_input_before_any_output(tmp_path, where, why):
    log = tmp_path / where
    result = run("compute", "mae", PRED, TARGET, "--log", log, "--per-sample", tmp_path / "loss.csv")
    assert_bad_input(result, str(log), why)
    assert sorted(tmp_path.iterdir()) == []


def test_per_sample_values_are_not_logged(tmp_path):
    log = tmp_path / "runs.jsonl"
    result = run("compute", "mae", PRED, TARGET, "--reduction", "none", "--log", log)
    assert_bad_input(result, "--log", "--reduction")
    assert not log.exists()  # the check comes before the file is opened


def test_a_line_cut_short_by_another_writer_stays_on_its_own_line(tmp_path):
    log = tmp_path / "runs.jsonl"
    log.write_text('{"loss": "mae", "val')
    compute_logged(log, "mae", PRED, TARGET)
    lines = log.read_text().splitlines()
    assert lines[0] == '{"loss": "mae", "val' and json.loads(lines[1])["value"] == MAE


def test_concurrent_appends_never_interleave(tmp_path):
    log = tmp_path / "runs.jsonl"
    report = {"loss": "mse", "value": 1.0, "reduction": "mean", "n": 4, "weight_total": 4.0, "params": {},
              "rows_omitted": 0, "inputs": {"pred": str(PRED)}, "gate": None,
              "groups": [{"group": f"g{i}", "n": 1, "weight_total": 1.0, "value": 1.0} for i in range(200)]}

    def append_many():
        for _ in range(25):
            append_log(str(log), report)

    threads = [threading.Thread(target=append_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = read_history(str(log))  # raises on a broken line
    assert len(records) == 200 and all(len(record["groups"]) == 200 for record in records)


def test_nan_values_round_trip_as_strict_json(tmp_path):
    log = tmp_path / "runs.jsonl"
    report = {"loss": "mse", "value": math.nan, "reduction": "mean", "n": 4, "weight_total": 4.0, "params": {},
              "rows_omitted": 0, "inputs": {"pred": "-"}, "gate": None}
    append_log(str(log), report)
    assert '"value": null, "value_nonfinite": "nan"' in log.read_text()
    assert math.isnan(read_history(str(log))[0]["value"])
    # a log written before strict JSON spelled it as a string: still read
    log.write_text(log.read_text().replace('null, "value_nonfinite": "nan"', '"inf"'))
    assert read_history(str(log))[0]["value"] == math.inf


# --- losscli history -------------------------------------------------------------------------


def test_history_table_shows_each_run_its_change_and_the_sparkline(huber_log):
    log, _ = huber_log
    result = run("history", log, "--no-time")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Runs",
        "┏━━━━━┳━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━┳━━━━━━┓",
        "┃ run ┃ loss  ┃ params  ┃ value    ┃ change  ┃ gate ┃",
        "┡━━━━━╇━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━╇━━━━━━┩",
        "│ 1   │ huber │ delta=1 │ 23.96875 │         │      │",
        "│ 2   │ huber │ delta=2 │ 47.59375 │ +23.625 │      │",
        "│ 3   │ huber │ delta=4 │ 94.09375 │ +46.5   │      │",
        "└─────┴───────┴─────────┴──────────┴─────────┴──────┘",
        "Trend per loss (oldest to newest)",
        "┏━━━━━━━┳━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━┓",
        "┃ loss  ┃ runs ┃ last     ┃ min      ┃ max      ┃ trend ┃",
        "┡━━━━━━━╇━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━┩",
        "│ huber │ 3    │ 94.09375 │ 23.96875 │ 94.09375 │ ▁▃█   │",
        "└───────┴──────┴──────────┴──────────┴──────────┴───────┘",
    ]


def test_history_table_shows_the_time_of_each_run_to_the_second(huber_log):
    log, _ = huber_log
    times = [record["time"] for record in read_history(str(log))]
    result = run("history", log)
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[2]
    assert "┃ time " in header
    # '2025-01-02T03:04:05.678Z' shows as '2025-01-02 03:04:05Z' (the table may wrap it at the space)
    for time in times:
        date, clock = time[:-1].split("T")
        assert date in result.stdout and clock.split(".")[0] + "Z" in result.stdout


def test_history_csv_is_the_runs_at_full_precision(huber_log):
    log, _ = huber_log
    result = run("history", log, "--format", "csv", "--no-time")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "run,loss,params,value,change,gate\n"
        "1,huber,delta=1,23.96875,,\n"
        "2,huber,delta=2,47.59375,23.625,\n"
        "3,huber,delta=4,94.09375,46.5,\n"
    )


def test_history_markdown_has_the_runs_and_the_sparkline(huber_log):
    log, _ = huber_log
    result = run("history", log, "--format", "markdown", "--no-time")
    assert result.exit_code == 0, result.output
    assert "| 2 | huber | delta=2 | 47.59375 | +23.625 |  |" in result.stdout
    assert "| huber | 3 | 94.09375 | 23.96875 | 94.09375 | ▁▃█ |" in result.stdout


def test_history_json_has_the_records_runs_and_sparklines(huber_log):
    log, _ = huber_log
    result = run("history", log, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["records"] == [json.loads(line) for line in log.read_text().splitlines()]
    assert data["sparklines"] == {"huber": "▁▃█"}
    assert [run["change"] for run in data["runs"]] == [None, 23.625, 46.5]
    assert data["series"] == [{"loss": "huber", "runs": 3, "last": 94.09375, "min": 23.96875, "max": 94.09375,
                               "sparkline": "▁▃█"}]


def test_history_loss_filter_keeps_changes_per_loss(huber_log):
    log, _ = huber_log
    compute_logged(log, "mae", PRED, TARGET, "--fail-above", 30)
    compute_logged(log, "huber", PRED, TARGET, "-p", "delta=1")  # back to 23.96875: change -70.125
    data = json.loads(run("history", log, "--format", "json").stdout)
    assert [(run["run"], run["loss"], run["change"]) for run in data["runs"]] == [
        (1, "huber", None), (2, "huber", 23.625), (3, "huber", 46.5), (4, "mae", None), (5, "huber", -70.125)]
    assert data["sparklines"] == {"huber": "▁▃█▁", "mae": "▁"}
    assert data["runs"][3]["gate"]["passed"] is True

    mae_only = run("history", log, "--loss", "l1", "--format", "csv", "--no-time")  # an alias of mae
    assert mae_only.stdout == "run,loss,params,value,change,gate\n4,mae,,24.375,,passed (--fail-above 30)\n"
    table = run("history", log, "--loss", "huber", "--no-time").stdout
    assert "│ 5   │ huber │ delta=1 │ 23.96875 │ -70.125 │" in table and " mae " not in table


def test_history_last_keeps_the_change_against_a_hidden_run(huber_log):
    log, _ = huber_log
    result = run("history", log, "--last", 2, "--format", "json")
    data = json.loads(result.stdout)
    assert [(run["run"], run["change"]) for run in data["runs"]] == [(2, 23.625), (3, 46.5)]
    assert data["sparklines"] == {"huber": "▁█"}  # the sparkline spans the shown runs
    assert [record["value"] for record in data["records"]] == [47.59375, 94.09375]


def test_history_loss_that_was_never_logged_is_bad_input(huber_log):
    log, _ = huber_log
    assert_bad_input(run("history", log, "--loss", "mae"), str(log), "huber", "'mae'")
    assert_bad_input(run("history", log, "--loss", "no_such_loss"), "no_such_loss")


def test_a_malformed_line_names_the_file_and_line(huber_log):
    log, _ = huber_log
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0], "", lines[1][:40], lines[2]]) + "\n")  # line 3 cut short
    assert_bad_input(run("history", log), f"{log}:3", "expected one JSON object per line")


@pytest.mark.parametrize(("line", "fragment"), [
    ('["mse", 1.0]', 'with a "loss"'),
    ('{"value": 1.0}', 'with a "loss"'),
    ('{"loss": "mse", "value": "high"}', 'expected a number as "value", got "high"'),
    ('{"loss": "mse"}', 'expected a number as "value", got null'),
])
def test_a_record_without_loss_or_value_is_malformed(tmp_path, line, fragment):
    log = tmp_path / "runs.jsonl"
    log.write_text('{"loss": "mse", "value": 1.0}\n' + line + "\n")
    assert_bad_input(run("history", log), f"{log}:2", fragment)


DIGITS_300, DIGITS_400 = "9" * 300, "9" * 400  # 1e300 is a double; 1e400 is beyond the largest, 1.8e308


@pytest.mark.parametrize("output_format", ["table", "csv", "markdown", "json"])
@pytest.mark.parametrize(("field", "fragment"), [
    ('"params": [1]', 'expected an object of parameter values as "params", got [1]'),
    ('"gate": 7', 'expected an object with "passed" true or false and numeric bounds as "gate", got 7'),
    ('"gate": {"passed": 1}', '"gate", got {"passed": 1}'),
    (f'"gate": {{"passed": true, "fail_above": {DIGITS_400}}}', '"gate", got {"passed": true'),
    ('"time": 5', 'expected an ISO 8601 time text as "time", got 5'),
    (f'"value": {DIGITS_400}', 'expected "value" within the range of a double, got 999'),
    (f'"value": {"9" * 5000}', "invalid JSON (a number of more than 4300 digits)"),
])
def test_malformed_fields_are_one_line_in_every_format(tmp_path, field, fragment, output_format):
    # Before: AttributeError or OverflowError tracebacks from the table and CSV renderers.
    log = tmp_path / "runs.jsonl"
    record = '{"loss": "mse", "value": 1.0, ' + field + "}" if '"value"' not in field else \
        '{"loss": "mse", ' + field + "}"
    log.write_text('{"loss": "mse", "value": 1.0}\n' + record + "\n")
    assert_bad_input(run("history", log, "--format", output_format), f"{log}:2", fragment)


def test_long_but_representable_numbers_are_shown(tmp_path):
    log = tmp_path / "runs.jsonl"
    log.write_text(f'{{"loss": "mse", "value": {DIGITS_300}, "params": {{"delta": {DIGITS_400}}}}}\n')
    for output_format in ("table", "csv", "markdown", "json"):
        result = run("history", log, "--format", output_format, "--no-time")
        assert result.exit_code == 0, result.output
    data = json.loads(run("history", log, "--format", "json").stdout)
    assert data["runs"][0]["value"] == float(DIGITS_300)


def test_a_missing_log_is_bad_input(tmp_path):
    assert_bad_input(run("history", tmp_path / "none.jsonl"), "no such log file", str(tmp_path / "none.jsonl"))


def test_an_empty_log_has_no_runs(tmp_path):
    log = tmp_path / "runs.jsonl"
    log.write_text("")
    result = run("history", log, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"runs": [], "series": [], "sparklines": {}, "records": []}


def test_read_history_raises_the_project_error():
    with pytest.raises(LossCliError, match="no such log file"):
        read_history("/nonexistent/runs.jsonl")


# --- trend and sparkline ---------------------------------------------------------------------


def test_trend_changes_compare_with_the_previous_run_of_the_same_loss():
    records = [{"loss": "mse", "value": 1.0}, {"loss": "mae", "value": 5.0},
               {"loss": "mse", "value": 3.0}, {"loss": "mae", "value": 4.0}]
    data = trend(records)
    assert [run["change"] for run in data["runs"]] == [None, None, 2.0, -1.0]
    assert data["sparklines"] == {"mse": "▁█", "mae": "█▁"}
    assert [run["run"] for run in trend(records, loss="mae")["runs"]] == [2, 4]
    assert [run["run"] for run in trend(records, last=1)["runs"]] == [4]


@pytest.mark.parametrize(("values", "expected"), [
    ([1, 2, 3, 4, 5, 6, 7, 8], "▁▂▃▄▅▆▇█"),  # (v - 1)/7 · 7 = v - 1: one bar each
    ([8, 7, 6, 5, 4, 3, 2, 1], "█▇▆▅▄▃▂▁"),
    ([0, 1, 2], "▁▅█"),  # 1/2 · 7 = 3.5 rounds half up to 4
    ([0, 0.1, 10], "▁▁█"),  # 0.01 · 7 = 0.07 -> 0
    ([10, 13, 20], "▁▃█"),  # 3/10 · 7 = 2.1 -> 2
    ([5, 5, 5], "▁▁▁"),  # constant: flat
    ([2.5], "▁"),
    ([1, math.nan, 3], "▁ █"),  # NaN is a gap, left out of the scale
    ([math.nan, 4, 4], " ▁▁"),
    ([1, math.inf, 2], "▁ █"),
    ([math.nan], " "),
    ([], ""),
])
def test_sparkline(values, expected):
    assert sparkline(values) == expected
