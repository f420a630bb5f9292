"""Shared writers: one list of rows rendered as a box table, Markdown, CSV or JSON."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .boxtable import BoxTable, Column

if TYPE_CHECKING:
    from rich.console import Console


def snake_case(name: str) -> str:
    """A column name in the one naming scheme of every output: lower case, words joined by '_'
    ("Customer ID" -> "customer_id")."""
    return re.sub(r"[^0-9a-z]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name)).lower()).strip("_") or "column"


def format_number(value: Any, digits: int = 6) -> str:
    """Numbers with ``digits`` significant digits; everything else as str."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.{digits}g}"
    return str(value)


def to_json(data: Any) -> str:
    """Strict JSON: a NaN or infinite number is null, and a key holding one gets a sibling
    "<key>_nonfinite" saying which ("nan", "inf", "-inf"); in a list it is null alone."""
    import json

    return json.dumps(json_ready(data), indent=2, ensure_ascii=False, allow_nan=False)


def json_ready(data: Any) -> Any:
    """``data`` with every non-finite float as None (and its "<key>_nonfinite" sibling)."""
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, Mapping):
        safe = {}
        for key, value in data.items():
            safe[key] = json_ready(value)
            if isinstance(value, float) and not math.isfinite(value):
                safe[f"{key}_nonfinite"] = str(value)
        return safe
    if isinstance(data, list | tuple):
        return [json_ready(value) for value in data]
    return data


def box_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str | None = None) -> BoxTable:
    """The rows as a box table (drawn by :mod:`losscli.render.boxtable`, in rich's style)."""
    return BoxTable([Column(column) for column in columns],
                    [[format_number(row.get(column)) for column in columns] for row in rows], title)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    def cell(value):
        return format_number(value).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(column)) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV with full precision (repr of floats), for machines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(column) is None else row.get(column) for column in columns])
    return buffer.getvalue()


def print_rows(console: Console, rows, columns, fmt: str, title: str | None = None) -> None:
    """Render ``rows`` in one of table / markdown / csv / json."""
    if fmt == "table":
        console.print(box_table(rows, columns, title))
    elif fmt == "markdown":
        console.print((f"**{title}**\n\n" if title else "") + markdown_table(rows, columns), markup=False)
    elif fmt == "csv":
        console.out(csv_text(rows, columns), end="")
    else:
        console.out(to_json([{column: row.get(column) for column in columns} for row in rows]))
