"""The report of `losscli compute`: one dict (the JSON contract), rendered four ways.

JSON contract (``--format json``), rows 1-based data rows of the input files::

    {"loss": "mse", "value": 2304.1875, "reduction": "mean", "n": 4, "weight_total": 4.0,
     "params": {...every resolved parameter...}, "inputs": {"pred": "preds.csv", ...},
     "rows_omitted": 0,
     "gradient": {"input": "pred", "l2_norm": ..., "mean": ..., "max_abs": ..., "max_abs_row": 4,
                  "max_abs_position": [], "zero_share": ..., "top_rows": [{"row": 4, "l2_norm": ..., "loss": ...}]},
     "gate": null | {"fail_above": ..., "fail_below": ..., "passed": true, "reason": null},
     "groups": [{"group": "a", "n": ..., "weight_total": ..., "value": ...}, ...]   (with --group-by only)}

With ``--reduction none`` "value" is the list of per-sample values (nested for [N, D] or [B, T]).
"""

from __future__ import annotations

import numpy as np
from rich.console import Console

from .common import csv_text, format_number, markdown_table, print_rows, rich_table, to_json

SUMMARY_COLUMNS = ("field", "value")
TOP_COLUMNS = ("row", "gradient_l2", "loss", "loss_share")
GROUP_COLUMNS = ("group", "n", "weight_total", "value")
MAX_TABLE_ROWS = 50
VALUE_DIGITS = 10


def report(result, sources: dict[str, str], gate: dict | None, per_sample_values=None) -> dict:
    """The JSON-ready report of one compute run (a :class:`losscli.stream.StreamResult`)."""
    gradient = result.gradient.as_dict()
    gradient["max_abs_row"] += 1
    gradient["top_rows"] = [
        {"row": item["row"] + 1, "l2_norm": item["l2_norm"], "loss": item["loss"],
         "loss_share": item["loss"] / result.total_loss if result.total_loss else None}
        for item in gradient["top_rows"]
    ]
    value = result.value if per_sample_values is None else per_sample_values.tolist()
    data = {
        "loss": result.spec.name, "value": value, "reduction": result.reduction, "n": result.aggregate.count,
        "weight_total": result.aggregate.weight_total, "params": _plain(result.params), "inputs": sources,
        "rows_omitted": result.rows_omitted, "gradient": {"input": result.gradient_input, **gradient},
        "gate": gate,
    }
    if result.groups is not None:
        data["groups"] = [{"group": group.label, "n": group.n, "weight_total": group.aggregate.weight_total,
                           "value": group.value} for group in result.groups]
    return data


def _plain(params: dict) -> dict:
    """Parameters as JSON values: vector parameters (tuples) as lists."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in params.items()}


def summary_rows(data: dict) -> list[dict]:
    gradient = data["gradient"]
    params = ", ".join(f"{key}={format_number(value)}" for key, value in data["params"].items()) or "(none)"
    value = format_number(data["value"], VALUE_DIGITS) if data["reduction"] != "none" else "(per sample)"
    rows = [("loss", data["loss"]), ("value", value),
            ("reduction", data["reduction"]), ("n", data["n"]), ("weight total", data["weight_total"]),
            ("params", params), ("rows omitted", data["rows_omitted"]),
            (f"gradient d/d{gradient['input']}: L2 norm", gradient["l2_norm"]),
            ("gradient mean", gradient["mean"]),
            ("gradient max |g|", f"{format_number(gradient['max_abs'])} (row {gradient['max_abs_row']})"),
            ("gradient zero share", gradient["zero_share"])]
    if data["gate"]:
        rows.append(("gate", "passed" if data["gate"]["passed"] else f"FAILED: {data['gate']['reason']}"))
    return [{"field": field, "value": value} for field, value in rows]


def per_sample_rows(values) -> tuple[list[dict], list[str]]:
    array = np.asarray(values, dtype=float)
    flat = array.reshape(array.shape[0], -1) if array.ndim > 1 else array[:, None]
    names = ["loss"] if flat.shape[1] == 1 else [f"loss_{i + 1}" for i in range(flat.shape[1])]
    rows = [{"row": index + 1, **dict(zip(names, map(float, row), strict=True))} for index, row in enumerate(flat)]
    return rows, ["row", *names]


def print_report(console: Console, data: dict, fmt: str) -> None:
    if fmt == "json":
        console.out(to_json(data))
        return
    if data["reduction"] == "none":
        rows, columns = per_sample_rows(data["value"])
        if fmt == "table" and len(rows) > MAX_TABLE_ROWS:
            console.print(f"(first {MAX_TABLE_ROWS} of {len(rows)} rows; --per-sample FILE writes all)")
            rows = rows[:MAX_TABLE_ROWS]
        print_rows(console, rows, columns, fmt, title=f"{data['loss']} per sample")
        return
    groups = _group_rows(data)
    if fmt == "csv" and groups:
        console.out(csv_text(groups, GROUP_COLUMNS), end="")
        return
    if fmt == "csv":
        gradient = data["gradient"]
        row = {"loss": data["loss"], "value": data["value"], "reduction": data["reduction"], "n": data["n"],
               "weight_total": data["weight_total"], "gradient_l2_norm": gradient["l2_norm"],
               "gradient_max_abs": gradient["max_abs"], "gradient_max_abs_row": gradient["max_abs_row"],
               "gradient_zero_share": gradient["zero_share"]}
        row.update({f"param_{key}": value for key, value in data["params"].items()})
        console.out(csv_text([row], list(row)), end="")
        return
    top = data["gradient"]["top_rows"]
    if fmt == "markdown":
        console.out(f"### {data['loss']} = {format_number(data['value'], VALUE_DIGITS)}\n")
        console.out(markdown_table(summary_rows(data), SUMMARY_COLUMNS))
        if groups:
            console.out(f"\nPer {data['loss']} group:\n")
            console.out(markdown_table(groups, GROUP_COLUMNS))
        if top:
            console.out("\nRows with the largest gradient:\n")
            console.out(markdown_table([_top_row(item) for item in top], TOP_COLUMNS))
        return
    console.print(rich_table(summary_rows(data), SUMMARY_COLUMNS, title=f"{data['loss']} = "
                             f"{format_number(data['value'], VALUE_DIGITS)}"))
    if groups:
        console.print(rich_table(groups, GROUP_COLUMNS, title="Per group"))
    if top:
        console.print(rich_table([_top_row(item) for item in top], TOP_COLUMNS,
                                 title="Rows with the largest gradient (the samples that drive training)"))


def _group_rows(data: dict) -> list[dict]:
    """One row per --group-by slice, then the overall value as group "(all)"."""
    if not data.get("groups"):
        return []
    overall = {"group": "(all)", "n": data["n"], "weight_total": data["weight_total"], "value": data["value"]}
    return [*data["groups"], overall]


def _top_row(item: dict) -> dict:
    return {"row": item["row"], "gradient_l2": item["l2_norm"], "loss": item["loss"],
            "loss_share": item["loss_share"]}
