"""A JSON-lines history of compute runs (``losscli compute --log FILE.jsonl``) and its trend.

One line per run::

    {"time": "2025-01-02T03:04:05.678Z", "losscli": "0.1.0", "loss": "huber", "params": {"delta": 1.0},
     "reduction": "mean", "value": 23.96875, "n": 4, "weight_total": 4.0, "rows_omitted": 0,
     "gate": {...}                        (only with --fail-above / --fail-below)
     "groups": [...]                      (only with --group-by)
     "inputs": {"pred": {"path": "preds.csv", "bytes": 24, "mtime": "2025-01-01T00:00:00Z"}, ...}}

``bytes`` and ``mtime`` are null for stdin and URLs; a directory or glob adds ``files`` and sums
the bytes of its files (mtime of the newest). A NaN or infinite value is written as null with
"value_nonfinite": "nan" | "inf" | "-inf", as in ``--format json``; ``label`` is kept when given.
No printing here: the CLI renders :func:`trend`.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from datetime import datetime, timezone

from . import __version__
from .errors import LossCliError
from .io.writers import append_line
from .render.common import json_ready

SPARK_BARS = "▁▂▃▄▅▆▇█"
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def append_log(path: str, report: dict) -> dict:
    """Append one run (the report dict of `losscli compute`) to the log at ``path``; return the record.

    The line is appended whole or not at all (see :func:`losscli.io.append_line`).
    """
    record = log_record(report)
    append_line(path, encode_record(record))
    return record


def encode_record(record: dict) -> bytes:
    """One history record as a strict JSON line (a non-finite value as null + value_nonfinite)."""
    if not isinstance(record["value"], numbers.Real):
        raise LossCliError("--log records one value per run: use --reduction mean or sum, not none")
    text = json.dumps(json_ready(record), allow_nan=False, ensure_ascii=False, default=_json_scalar)
    return (text + "\n").encode("utf-8")


def log_record(report: dict) -> dict:
    """The history record of one compute report: what was computed, on what, when."""
    record = {"time": _iso_utc(datetime.now(timezone.utc), "milliseconds"), "losscli": __version__}
    for key in ("loss", "params", "reduction", "value", "n", "weight_total", "rows_omitted"):
        record[key] = report.get(key)
    for key in ("label", "gate", "groups"):
        if report.get(key):
            record[key] = report[key]
    record["inputs"] = {name: input_file(source) for name, source in report["inputs"].items()}
    return record


def input_file(source: str) -> dict:
    """An input's path, size in bytes and modification time (summed/newest over a directory or glob)."""
    entry = {"path": source, "bytes": None, "mtime": None}
    if source == "-" or "://" in source:
        return entry
    from .io.batches import expand_paths

    try:
        paths = expand_paths(source)
        stats = [os.stat(path) for path in paths]
    except (LossCliError, OSError):
        return entry
    entry["bytes"] = sum(stat.st_size for stat in stats)
    entry["mtime"] = _iso_utc(datetime.fromtimestamp(max(stat.st_mtime for stat in stats), timezone.utc))
    if paths != [source]:
        entry["files"] = len(paths)
    return entry


def read_history(path: str) -> list[dict]:
    """Every record of a log, in file order; blank lines are skipped."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise LossCliError(f"no such log file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LossCliError(f"cannot read the log {path}: {getattr(error, 'strerror', None) or error}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            records.append(_parse_record(line, f"{path}:{number}"))
    return records


def _parse_record(line: str, where: str) -> dict:
    """One log line as a record whose fields have the types the history shows, or one line
    naming what is wrong (a hand-edited or foreign log must not end in a traceback)."""
    try:
        record = json.loads(line)
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4300 digits
        why = error.msg if isinstance(error, json.JSONDecodeError) else "a number of more than 4300 digits"
        raise LossCliError(f"{where}: expected one JSON object per line, got invalid JSON ({why})") from None
    if not isinstance(record, dict) or not isinstance(record.get("loss"), str):
        raise LossCliError(f"{where}: expected a losscli --log record with a \"loss\", got {_excerpt(line)}")
    value = record.get("value")
    if value is None and record.get("value_nonfinite") in NON_FINITE:
        value = record["value_nonfinite"]
    record["value"] = _logged_number(value, "value", where)
    for key, kind, check in RECORD_FIELDS:
        if record.get(key) is not None and not check(record[key]):
            raise LossCliError(f"{where}: expected {kind} as \"{key}\", got {_excerpt(json.dumps(record[key]))}")
    return record


def _logged_number(value, key: str, where: str) -> float:
    """A number as logged: a JSON number within a double's range, or "nan", "inf", "-inf" (as
    value_nonfinite, or as the value itself in logs written before strict JSON)."""
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    if not isinstance(value, bool) and isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer of 309 digits or more
            raise LossCliError(f"{where}: expected \"{key}\" within the range of a double, "
                               f"got {_excerpt(str(value))}") from None
    raise LossCliError(f"{where}: expected a number as \"{key}\", got {_excerpt(json.dumps(value))}")


def _is_gate(gate) -> bool:
    bounds = (gate.get("fail_above"), gate.get("fail_below")) if isinstance(gate, dict) else ()
    return (isinstance(gate, dict) and isinstance(gate.get("passed"), bool)
            and all(bound is None or _is_number(bound) for bound in bounds))


def _is_number(value) -> bool:
    """A finite JSON number within a double's range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


# (field, what it must be, check) for the optional fields the history shows
RECORD_FIELDS = (
    ("time", "an ISO 8601 time text", lambda time: isinstance(time, str)),
    ("params", "an object of parameter values", lambda params: isinstance(params, dict)),
    ("gate", "an object with \"passed\" true or false and numeric bounds", _is_gate),
)


def trend(records: list[dict], loss: str | None = None, last: int | None = None) -> dict:
    """What `losscli history` shows, JSON-ready.

    ``runs``: per run (``run`` = 1-based position in the log) its time, loss, params, value, the
    change vs the previous run of the same loss (None for a loss's first run) and the gate;
    ``series``: per loss the number of runs, last, min and max value and the sparkline;
    ``sparklines``: loss -> sparkline; ``records``: the shown records as logged.
    ``loss`` keeps only that loss's runs; ``last`` keeps the last N runs (changes still compare
    with the run before, shown or not).
    """
    previous: dict[str, float] = {}
    runs = []
    for position, record in enumerate(records, start=1):
        name, value = record["loss"], float(record["value"])
        change = value - previous[name] if name in previous else None
        previous[name] = value
        if loss is None or name == loss:
            runs.append({"run": position, "time": record.get("time"), "loss": name,
                         "params": record.get("params") or {}, "value": value, "change": change,
                         "gate": record.get("gate"), "label": record.get("label")})
    if last is not None:
        runs = runs[-last:] if last > 0 else []
    series = [_series(name, [run["value"] for run in runs if run["loss"] == name])
              for name in dict.fromkeys(run["loss"] for run in runs)]
    return {"runs": runs, "series": series, "sparklines": {item["loss"]: item["sparkline"] for item in series},
            "records": [records[run["run"] - 1] for run in runs]}


def _series(name: str, values: list[float]) -> dict:
    finite = [value for value in values if math.isfinite(value)]
    return {"loss": name, "runs": len(values), "last": values[-1],
            "min": min(finite) if finite else None, "max": max(finite) if finite else None,
            "sparkline": sparkline(values)}


def sparkline(values: list[float]) -> str:
    """One bar per value, ▁ (the minimum) to █ (the maximum), linearly scaled and rounded.

    A constant series is flat (all ▁); NaN and ±inf are shown as a space and left out of the scale.
    """
    finite = [value for value in values if math.isfinite(value)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    top = len(SPARK_BARS) - 1
    bars = []
    for value in values:
        if not math.isfinite(value):
            bars.append(" ")
        elif high == low:
            bars.append(SPARK_BARS[0])
        else:
            # round half up: 1, 2, 3 -> 0, 3.5 -> 4, 7
            bars.append(SPARK_BARS[math.floor((value - low) / (high - low) * top + 0.5)])
    return "".join(bars)


def _iso_utc(moment: datetime, timespec: str = "seconds") -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def _json_scalar(value):
    """NumPy scalars (an engine may hand them over) as Python numbers."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
