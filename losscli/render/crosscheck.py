"""Rendering of cross-checks: one loss under every framework convention, side by side, with the
reasons each value differs from the default; and compute's --explain lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common import box_table, format_number, markdown_table, print_rows, to_json

if TYPE_CHECKING:
    from rich.console import Console

COLUMNS = ("convention", "value", "vs default", "divides by")
VALUE_DIGITS = 10


def _table_rows(data: dict) -> list[dict]:
    rows = []
    for entry in data["conventions"]:
        label = entry["convention"] + (" (default)" if entry["default"] else "")
        if entry["value"] is None:
            rows.append({"convention": label, "value": "—", "vs default": "rejects the inputs", "divides by": ""})
            continue
        difference = "" if entry["default"] else _difference(entry["value"], data["value"])
        divides = f"{entry['divides_by']} = {format_number(entry['weight_total'])}"
        rows.append({"convention": label, "value": format_number(entry["value"], VALUE_DIGITS),
                     "vs default": difference, "divides by": divides})
    return rows


def _difference(value: float, default: float) -> str:
    if value == default:
        return "same"
    relative = f" ({(value - default) / abs(default):+.3g})" if default else ""
    return f"{format_number(value - default)}{relative}"


def _explanations(data: dict) -> list[tuple[str, list[str]]]:
    """(convention and the call it stands for, its reasons), the default first."""
    return [(f"{entry['convention']}: {entry['api']}", entry["explanation"]) for entry in data["conventions"]]


def print_crosscheck(console: Console, data: dict, fmt: str) -> None:
    if fmt == "json":
        console.out(to_json(data))
        return
    rows = _table_rows(data)
    if fmt == "csv":
        print_rows(console, rows, COLUMNS, fmt)
        return
    title = f"{data['loss']} under each framework's convention" + (" (weighted)" if data["weighted"] else "")
    heading = f"Why each value differs from the default ({data['default']}):"
    if fmt == "markdown":
        console.out(f"### {title}\n\n{markdown_table(rows, COLUMNS)}\n\n{heading}\n")
        for framework, lines in _explanations(data):
            console.out(f"- **{framework}**: " + "; ".join(lines))
        return
    console.print(box_table(rows, COLUMNS, title=title))
    console.print(heading, markup=False)
    for framework, lines in _explanations(data):
        console.print(f"  {framework}", markup=False)
        for line in lines:
            console.print(f"    - {line}", markup=False)


def print_explanation(console: Console, framework: str, default: str, default_value: float, lines: list[str]) -> None:
    """compute --explain: the knobs that changed the value, after the report."""
    console.print(f"Under {framework} (the default, {default}, gives {format_number(default_value, VALUE_DIGITS)}):",
                  markup=False)
    for line in lines:
        console.print(f"  - {line}", markup=False)
