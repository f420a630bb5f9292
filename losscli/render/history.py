"""`losscli history`: the runs of a --log file as a table, and a sparkline per loss.

``data`` is :func:`losscli.history.trend`'s dict; JSON prints it whole (records as logged, the
runs with their changes, the per-loss series and sparklines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common import box_table, csv_text, format_number, markdown_table, to_json

if TYPE_CHECKING:
    from rich.console import Console

RUN_COLUMNS = ("run", "time", "label", "loss", "params", "value", "change", "gate")
SERIES_COLUMNS = ("loss", "runs", "last", "min", "max", "trend")
VALUE_DIGITS = 10


def print_history(console: Console, data: dict, fmt: str, *, show_time: bool = True) -> None:
    if fmt == "json":
        console.out(to_json(data))
        return
    labelled = any(run.get("label") for run in data["runs"])
    columns = [column for column in RUN_COLUMNS if (show_time or column != "time") and (labelled or column != "label")]
    if fmt == "csv":
        rows = [{**run, "params": _params_text(run["params"]), "gate": _gate_text(run["gate"])} for run in data["runs"]]
        console.out(csv_text(rows, columns), end="")
        return
    runs = [_run_row(run) for run in data["runs"]]
    series = [_series_row(item) for item in data["series"]]
    if fmt == "markdown":
        console.out("### Runs\n")
        console.out(markdown_table(runs, columns))
        console.out("\n### Trend per loss\n")
        console.out(markdown_table(series, SERIES_COLUMNS))
        return
    table = box_table(runs, columns, title="Runs")
    for column in table.columns:
        column.no_wrap = column.header in ("value", "change")  # a number stays on one line
    console.print(table)
    console.print(box_table(series, SERIES_COLUMNS, title="Trend per loss (oldest to newest)"))


def _run_row(run: dict) -> dict:
    change = run["change"]
    return {"run": run["run"], "time": _time_text(run["time"]), "label": run.get("label") or "", "loss": run["loss"],
            "params": _params_text(run["params"]), "value": format_number(run["value"], VALUE_DIGITS),
            "change": "" if change is None else _signed(change), "gate": _gate_text(run["gate"])}


def _series_row(item: dict) -> dict:
    return {"loss": item["loss"], "runs": item["runs"], "last": format_number(item["last"], VALUE_DIGITS),
            "min": format_number(item["min"], VALUE_DIGITS), "max": format_number(item["max"], VALUE_DIGITS),
            "trend": item["sparkline"]}


def _signed(change: float) -> str:
    text = format_number(change, VALUE_DIGITS)
    return text if text.startswith("-") or text == "nan" else f"+{text}"


def _time_text(time: str | None) -> str:
    """'2025-01-02T03:04:05.678Z' as '2025-01-02 03:04:05Z': to the second, and a narrow table
    wraps it between date and time."""
    if not time:
        return ""
    date, _, clock = time.partition("T")
    return f"{date} {clock.split('.')[0].rstrip('Z')}Z" if clock else time


def _params_text(params: dict) -> str:
    return ", ".join(f"{key}={format_number(value)}" for key, value in params.items())


def _gate_text(gate: dict | None) -> str:
    """'passed (--fail-above 30)', 'FAILED (--fail-below 0.1, --max-increase 2%)', or '' without a gate."""
    if not gate:
        return ""
    if "checks" in gate:
        limits = dict.fromkeys(f"{check['option']} {check['limit']}" for check in gate["checks"])
    else:  # logs written before gates had checks
        limits = [f"{sign} {format_number(gate[key])}" for key, sign in (("fail_below", ">="), ("fail_above", "<="))
                  if gate.get(key) is not None]
    return f"{'passed' if gate['passed'] else 'FAILED'}" + (f" ({', '.join(limits)})" if limits else "")
