"""Small, plain CSV text read with the standard library and NumPy: no pyarrow import.

For files under about a megabyte, importing pyarrow costs more than everything else a command
does. This reader handles the plain case only — UTF-8, no quotes, no blank lines, the same
number of fields on every line, every column all numbers or all plain text — and gives exactly
what the Arrow reader gives for it (column types inferred as Arrow infers them, values parsed
with correct rounding as Arrow parses them). Anything else returns None, and the caller reads
the text with Arrow, which also words every error; so numbers, messages and error locations
are the same either way (``tests/test_io.py`` compares the two on generated files).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .arrow import MISSING_MARKERS, NUMBER_PATTERN
from .coded import CodedColumn
from .table import Table, csv_column_names, no_column

SMALL_CSV_BYTES = 1 << 20
INT64 = (-(1 << 63), (1 << 63) - 1)
INTEGER = re.compile(r"-?[0-9]+")  # what Arrow infers as int64 (no '+', no spaces)
DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # what it parses as a double
NUMBER = re.compile(NUMBER_PATTERN, re.IGNORECASE)
BOOLEAN = {"true", "false"}
MISSING = frozenset(MISSING_MARKERS)


def small_csv_table(source: str, data: bytes, header: bool, extra: Sequence[str]) -> Table | None:
    """The Table of a small plain CSV text, or None if it is not plain (see the module)."""
    header_lines = 1 if header else 0
    rows = _plain_rows(data, header_lines)
    if rows is None:
        return None
    body = rows[header_lines:]
    if not body or any(len(cells) != len(rows[0]) for cells in rows):
        return None
    names = csv_column_names(rows[0], header)
    columns = [_column(cells) for cells in zip(*body, strict=True)]
    if any(column is None for column in columns):
        return None
    numeric = [index for index, (kind, _) in enumerate(columns) if kind in ("int", "float")]
    values = np.empty((len(body), len(numeric)), dtype=np.float64, order="F")
    for position, index in enumerate(numeric):
        values[:, position] = columns[index][1]
    kept = {}
    for name in extra:
        if name not in names:
            raise no_column(source, name, names)
        kept[name] = CodedColumn.encode(columns[names.index(name)][1])
    return Table(source, tuple(names[i] for i in numeric), values, header_lines, "csv",
                 tuple(name for index, name in enumerate(names) if index not in numeric), extra=kept)


def _plain_rows(data: bytes, header_lines: int) -> list[list[str]] | None:
    """The lines of ``data`` split at commas, or None if the text is not plain."""
    if len(data) > SMALL_CSV_BYTES or b'"' in data:
        return None
    data = data.replace(b"\r\n", b"\n")
    if b"\r" in data:
        return None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) <= header_lines or "" in lines:
        return None
    return [line.split(",") for line in lines]


def _column(cells: Sequence[str]) -> tuple[str, np.ndarray] | None:
    """(Arrow's type: "int", "float", "text" or "null"; the values as Arrow gives them), or
    None when Arrow might infer something this reader does not mimic (booleans, dates, numbers
    with spaces or in hex, text mixed with numbers)."""
    present = [cell for cell in cells if cell not in MISSING]
    if not present:
        return "null", np.full(len(cells), None, dtype=object)
    if all(INTEGER.fullmatch(cell) for cell in present) and all(INT64[0] <= int(cell) <= INT64[1] for cell in present):
        return ("int", np.array([int(cell) for cell in cells], dtype=np.int64)) if len(present) == len(cells) \
            else ("float", _floats(cells, int))
    if all(DECIMAL.fullmatch(cell) for cell in present):
        return "float", _floats(cells, float)
    # Arrow's text columns count 'nan' (a missing marker) as a number: text with one is an error
    if all(_plain_text(cell) for cell in present) and not any(NUMBER.match(cell.strip()) for cell in cells):
        text = np.empty(len(cells), dtype=object)
        text[:] = cells  # in a text column Arrow keeps empty and 'NA' cells as they are
        return "text", text
    return None


def _floats(cells: Sequence[str], parse) -> np.ndarray:
    """float64 of number cells, NaN for missing ones; int cells through int, as Arrow casts int64."""
    return np.array([np.nan if cell in MISSING else float(parse(cell)) for cell in cells], dtype=np.float64)


def _plain_text(cell: str) -> bool:
    """True for a cell Arrow can only read as text: not a number, boolean, date or time."""
    stripped = cell.strip()
    return bool(stripped) and not NUMBER.match(stripped) and stripped.lower() not in BOOLEAN \
        and stripped[0] not in "0123456789+-." and cell == stripped
