"""Rendering of loss comparisons: losses side by side (one column each), CSV rows or JSON.

Rows are shown 1-based (the data row of the input file), as in `losscli compute`; the library
(:mod:`losscli.compare`) counts from 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .common import format_number, print_rows, to_json

if TYPE_CHECKING:
    from rich.console import Console

CSV_COLUMNS = ["loss", "params", "value", "grad_l2", "max_abs_grad", "max_grad_row",
               "top_k", "top_loss_share", "top_grad_share", "top_rows"]
SHOWN_ROWS = 3
VALUE_DIGITS = 10


def params_text(params: dict) -> str:
    """"delta=1" (empty for a loss without parameters)."""
    return ", ".join(f"{key}={format_number(value)}" for key, value in params.items())


def side_by_side(records: Sequence[dict], header_key: str, metrics: Sequence[tuple[str, str]],
                 corner: str = "") -> tuple[list[dict], list[str]]:
    """Transpose records (one per loss) into rows of metrics with one column per record.

    metrics: (key in each record, label of the row). Returns (rows, columns) for print_rows.
    """
    headers = [str(record[header_key]) for record in records]
    if len(set(headers)) != len(headers):
        headers = [f"{header} ({index + 1})" for index, header in enumerate(headers)]
    rows = [{corner: label, **{header: record.get(key) for header, record in zip(headers, records, strict=True)}}
            for key, label in metrics]
    return rows, [corner, *headers]


def comparison_record(item) -> dict:
    """One flat record per loss (the CSV row): value, gradient size, the top rows' shares."""
    where, stats = item.max_gradient()
    spread = item.influence
    max_row = str(stats.max_row + 1) + ("" if len(item.gradient) == 1 else f" ({where})")
    return {
        "loss": item.name, "params": params_text(item.result.params), "value": item.result.value,
        "grad_l2": item.gradient_l2, "max_abs_grad": stats.max_abs, "max_grad_row": max_row, "top_k": spread.k,
        "top_loss_share": spread.loss_share, "top_grad_share": spread.grad_share,
        "top_rows": " ".join(str(row.row + 1) for row in spread.rows[:SHOWN_ROWS]),
    }


def comparison_dict(item) -> dict:
    """Everything about one compared loss as plain data (the JSON output; rows 1-based)."""
    where, stats = item.max_gradient()
    spread = item.influence
    inputs = {}
    for name, summary in item.gradient.items():
        data = summary.as_dict()
        data["max_abs_row"] += 1
        data["top_rows"] = [{"row": entry["row"] + 1, "l2_norm": entry["l2_norm"]} for entry in data["top_rows"]]
        inputs[name] = data
    return {
        "loss": item.name, "params": item.result.params, "value": item.result.value, "n": item.n,
        "gradient": {"l2_norm": item.gradient_l2, "max_abs": stats.max_abs, "max_abs_row": stats.max_row + 1,
                     "max_abs_input": where, "inputs": inputs},
        "influence": {"top": spread.top, "k": spread.k, "loss_share": spread.loss_share,
                      "grad_share": spread.grad_share,
                      "rows": [{"row": row.row + 1, "contribution": row.loss, "loss_share": row.loss_share,
                                "grad_share": row.grad_share} for row in spread.rows]},
    }


def _metrics(item) -> list[tuple[str, str]]:
    k = item.influence.k
    rows = item.rows
    return [("params", "params"), ("value", "value"), ("grad_l2", "gradient L2 norm"),
            ("max_abs_grad", "max |gradient|"), ("max_grad_row", "  at row"),
            ("top_loss_share", f"top {k} of {rows} rows: share of loss"),
            ("top_grad_share", f"top {k} of {rows} rows: share of |grad|²"),
            ("top_rows", "rows of largest loss")]


def print_comparison(console: Console, comparisons: Sequence, fmt: str, title: str | None = None,
                     groups: dict[str, list] | None = None) -> None:
    """The comparison in ``fmt``: losses as columns for table/markdown, one row per loss for CSV.

    With ``groups`` (per loss, its --group-by values): JSON is {"losses": [...], "groups": [...]},
    CSV the per-group rows only (with the overall "(all)" row), table/markdown both tables.
    """
    rows = group_rows(comparisons, groups) if groups else None
    if fmt == "json":
        losses = [comparison_dict(item) for item in comparisons]
        console.out(to_json(losses if rows is None else {"losses": losses, "groups": rows}))
        return
    group_columns = ["group", "n", *(item.name for item in comparisons)]
    if fmt == "csv":
        if rows is not None:
            print_rows(console, rows, group_columns, fmt)
        else:
            print_rows(console, [comparison_record(item) for item in comparisons], CSV_COLUMNS, fmt)
        return
    records = [comparison_record(item) for item in comparisons]
    for record in records:
        record["value"] = format_number(record["value"], VALUE_DIGITS)
    side_rows, columns = side_by_side(records, "loss", _metrics(comparisons[0]), corner="")
    print_rows(console, side_rows, columns, fmt, title)
    if rows is not None:
        print_rows(console, rows, group_columns, fmt, "Per group")


def group_rows(comparisons: Sequence, per_loss: dict[str, list]) -> list[dict]:
    """One row per --group-by slice (n and every loss's value), then the overall "(all)" row."""
    first = next(iter(per_loss.values()))
    rows = [{"group": group.label, "n": group.n, **{name: groups[i].value for name, groups in per_loss.items()}}
            for i, group in enumerate(first)]
    overall = {"group": "(all)", "n": comparisons[0].n, **{item.name: item.result.value for item in comparisons}}
    return [*rows, overall]
