"""The report of `losscli compute`: one dict per loss (the JSON contract), rendered five ways.

JSON contract (``--format json``) of one loss; rows are 1-based data rows of the input files::

    {"loss": "mse", "value": 2304.1875, "reduction": "mean", "n": 4, "weight_total": 4.0,
     "params": {...every resolved parameter...}, "inputs": {"pred": "preds.csv", ...},
     "rows_omitted": 0, "label": null,
     "gradient": {"input": "pred", "l2_norm": ..., "mean": ..., "max_abs": ..., "max_abs_row": 4,
                  "max_abs_position": [], "zero_share": ...,
                  "top_rows": [{"row": 4, "l2_norm": ..., "loss": ..., "loss_share": ...,
                                "ids": {"id": "a17"}}]},        ("ids" with --id only)
     "gate": null | {"passed": false, "failed": ["mae [group 2] = 1.92 is above --fail-above 1.5"],
                     "checks": [{"option": "--fail-above", "limit": "1.5", "loss": "mae", "group": "2",
                                 "value": 1.92, "baseline": null, "change": null, "passed": false}, ...]},
     "groups": [{"group": "a", "n": ..., "weight_total": ..., "value": ...}, ...]   (with --group-by only)}

Several losses (``compute mse,mae``) give ``{"passed": ..., "losses": [one such object per loss]}``.
With ``--reduction none`` "value" is the list of per-sample values (nested for [N, D] or [B, T]).
A NaN or infinite number is written as null, with a sibling "<key>_nonfinite": "nan" | "inf" | "-inf".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .common import box_table, csv_text, format_number, markdown_table, print_rows, to_json

if TYPE_CHECKING:
    from rich.console import Console

SUMMARY_COLUMNS = ("field", "value")
TOP_COLUMNS = ("row", "gradient_l2", "loss", "loss_share")
GROUP_COLUMNS = ("group", "n", "weight_total", "value")
MAX_TABLE_ROWS = 50
VALUE_DIGITS = 10


def report(result, sources: dict[str, str], gate: dict | None, per_sample_values=None,
           label: str | None = None, ids: dict | None = None) -> dict:
    """The JSON-ready report of one loss of a compute run (a :class:`losscli.stream.StreamResult`);
    with per-sample values (reduction none), their rows' ``ids`` as "ids": {column: [values]}."""
    gradient = result.gradient.as_dict()
    gradient["max_abs_row"] += 1
    gradient["top_rows"] = [
        {**item, "row": item["row"] + 1, "loss_share": item["loss"] / result.total_loss if result.total_loss else None}
        for item in gradient["top_rows"]
    ]
    value = result.value if per_sample_values is None else per_sample_values.tolist()
    data = {
        "loss": result.spec.name, "value": value, "reduction": result.reduction, "n": result.aggregate.count,
        "weight_total": result.aggregate.weight_total, "params": _plain(result.params), "inputs": sources,
        "rows_omitted": result.rows_omitted, "label": label, "gradient": {"input": result.gradient_input, **gradient},
        "gate": gate,
    }
    if per_sample_values is not None and ids:
        data["ids"] = {name: np.asarray(values).tolist() for name, values in ids.items()}
    if result.groups is not None:
        data["groups"] = [{"group": group.label, "n": group.n, "weight_total": group.aggregate.weight_total,
                           "value": group.value} for group in result.groups]
    return data


def _plain(params: dict) -> dict:
    """Parameters as JSON values: vector parameters (tuples) as lists."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in params.items()}


def print_reports(console: Console, reports: list[dict], fmt: str) -> None:
    """Every loss's report in one output: one JSON document, one CSV, or one section per loss."""
    if fmt == "json":
        single = reports[0] if len(reports) == 1 else {
            "passed": all(data["gate"] is None or data["gate"]["passed"] for data in reports), "losses": reports}
        console.out(to_json(single))
    elif fmt == "value":
        console.out("\n".join(_value_lines(data) for data in reports))
    elif fmt == "csv":
        console.out(_csv(reports), end="")
    else:
        for data in reports:
            print_report(console, data, fmt)


def _value_lines(data: dict) -> str:
    """The value alone: full precision, one number per line (one per sample for reduction none)."""
    values = np.ravel(np.asarray(data["value"], dtype=np.float64))
    return "\n".join(repr(float(value)) for value in values)


def _csv(reports: list[dict]) -> str:
    """One row per loss (or per loss and slice with --group-by), the naming of every CSV output."""
    if reports[0]["reduction"] == "none":
        rows, columns = per_sample_rows(reports)
        return csv_text(rows, columns)
    if any(data.get("groups") for data in reports):
        rows = [{"loss": data["loss"], **row} for data in reports for row in _group_rows(data)]
        return csv_text(rows, ["loss", *GROUP_COLUMNS, *(["gate"] if any(data["gate"] for data in reports) else [])])
    rows = []
    for data in reports:
        gradient = data["gradient"]
        row = {"loss": data["loss"], "value": data["value"], "reduction": data["reduction"], "n": data["n"],
               "weight_total": data["weight_total"], "gradient_l2_norm": gradient["l2_norm"],
               "gradient_max_abs": gradient["max_abs"], "gradient_max_abs_row": gradient["max_abs_row"],
               "gradient_zero_share": gradient["zero_share"]}
        if data["gate"] is not None:
            row["gate"] = "passed" if data["gate"]["passed"] else "failed"
        rows.append({**row, **{f"param_{key}": value for key, value in data["params"].items()}})
    columns = list(dict.fromkeys(column for row in rows for column in row))
    return csv_text(rows, columns)


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
    if data.get("label"):
        rows.insert(1, ("label", data["label"]))
    if data["gate"]:
        failed = data["gate"]["failed"]
        rows.append(("gate", "passed" if not failed else f"FAILED: {failed[0]}"
                     + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else "")))
    return [{"field": field, "value": value} for field, value in rows]


def per_sample_rows(reports: list[dict]) -> tuple[list[dict], list[str]]:
    """Per-sample values of every loss side by side: row, the id columns, then a column per loss
    ({loss}_1.. per element when a row has several)."""
    columns: dict[str, np.ndarray] = {}
    for data in reports:
        array = np.asarray(data["value"], dtype=float)
        flat = array.reshape(array.shape[0], -1) if array.ndim > 1 else array[:, None]
        names = [data["loss"]] if flat.shape[1] == 1 else [f"{data['loss']}_{i + 1}" for i in range(flat.shape[1])]
        columns.update({name: flat[:, index] for index, name in enumerate(names)})
    ids = reports[0].get("ids", {})
    rows = [{"row": index + 1, **{name: values[index] for name, values in ids.items()},
             **{name: float(values[index]) for name, values in columns.items()}}
            for index in range(len(next(iter(columns.values()))))]
    return rows, ["row", *ids, *columns]


def print_report(console: Console, data: dict, fmt: str) -> None:
    """One loss as box tables (or Markdown): summary, slices, rows with the largest gradient."""
    if data["reduction"] == "none":
        rows, columns = per_sample_rows([data])
        if fmt == "table" and len(rows) > MAX_TABLE_ROWS:
            console.print(f"(first {MAX_TABLE_ROWS} of {len(rows)} rows; --per-sample FILE writes all)")
            rows = rows[:MAX_TABLE_ROWS]
        print_rows(console, rows, columns, fmt, title=f"{data['loss']} per sample")
        return
    groups = _group_rows(data)
    group_columns = [*GROUP_COLUMNS, *(["gate"] if data["gate"] else [])]
    top = [_top_row(item) for item in data["gradient"]["top_rows"]]
    top_columns = _top_columns(data)
    title = f"{data['loss']} = {format_number(data['value'], VALUE_DIGITS)}"
    if fmt == "markdown":
        console.out(f"### {title}\n")
        console.out(markdown_table(summary_rows(data), SUMMARY_COLUMNS))
        if groups:
            console.out(f"\nPer {data['loss']} group:\n")
            console.out(markdown_table(groups, group_columns))
        if top:
            console.out("\nRows with the largest gradient:\n")
            console.out(markdown_table(top, top_columns))
        return
    console.print(box_table(summary_rows(data), SUMMARY_COLUMNS, title=title))
    if groups:
        console.print(box_table(groups, group_columns, title="Per group"))
    if top:
        console.print(box_table(top, top_columns,
                                 title="Rows with the largest gradient (the samples that drive training)"))


def _group_rows(data: dict) -> list[dict]:
    """One row per --group-by slice, then the overall value as group "(all)"; with gates, each
    slice's verdict."""
    if not data.get("groups"):
        return []
    overall = {"group": "(all)", "n": data["n"], "weight_total": data["weight_total"], "value": data["value"]}
    rows = [dict(item) for item in data["groups"]] + [overall]
    if data["gate"]:
        for row in rows:
            group = None if row["group"] == "(all)" else row["group"]
            failed = [check["option"] for check in data["gate"]["checks"]
                      if check["group"] == group and not check["passed"]]
            row["gate"] = "FAILED " + ", ".join(dict.fromkeys(failed)) if failed else "passed"
    return rows


def _top_columns(data: dict) -> tuple[str, ...]:
    ids = [name for item in data["gradient"]["top_rows"][:1] for name in item.get("ids", {})]
    return ("row", *ids, *TOP_COLUMNS[1:])


def _top_row(item: dict) -> dict:
    return {"row": item["row"], **item.get("ids", {}), "gradient_l2": item["l2_norm"], "loss": item["loss"],
            "loss_share": item["loss_share"]}
