"""The in-memory result of reading a file, and how errors point back into it.

A :class:`Table` holds a file's numeric columns as one float64 array plus what is needed to
name a cell in a message: the file, the column names and the line the first data row is on.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InputError, LossCliError
from .coded import concat_columns

STDIN = "<stdin>"


class FileError(LossCliError):
    """A file that cannot be read or written, or a cell that is not a number.

    ``str(error)`` is one line: "SOURCE: [WHERE: ]MESSAGE[ (HINT)]".
    """

    def __init__(self, source: str, message: str, *, where: str = "", hint: str | None = None):
        self.source = source
        self.where = where
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = ": ".join(part for part in (self.source, self.where, self.message) if part)
        return f"{text} ({self.hint})" if self.hint else text


@dataclass(frozen=True, eq=False)
class Table:
    """Numeric columns of one input file.

    values: float64, [rows, columns] for CSV and Parquet; an .npy array keeps its own shape.
    header_lines: lines before the first data row (1 for CSV with a header, else 0).
    format: "csv", "parquet" or "npy". skipped_columns: columns read but not numeric (text,
    dates, all empty), so a selection naming one can say why it is missing. first_row: the row
    of the file that values[0] is (non-zero for a batch of a streamed file). extra: columns
    asked for by name and kept as they are (ids, group labels; text allowed), one value per row,
    as NumPy arrays or :class:`~losscli.io.coded.CodedColumn` s. lines: the file line of each
    row when rows are not simply on consecutive lines after the header (blank lines, quoted
    line breaks); None: row r of the file is on line header_lines + r + 1.
    """

    source: str
    columns: tuple[str, ...]
    values: np.ndarray
    header_lines: int = 0
    format: str = "csv"
    skipped_columns: tuple[str, ...] = ()
    first_row: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)
    lines: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])

    def slice(self, start: int, stop: int) -> Table:
        """Rows start..stop of this table (values and extra columns), placed in the file."""
        return replace(self, values=self.values[start:stop], first_row=self.first_row + start,
                       extra={name: column[start:stop] for name, column in self.extra.items()},
                       lines=None if self.lines is None else self.lines[start:stop])


def format_location(*, column: str | None = None, row: int | None = None, line: int | None = None) -> str:
    """"column 'yhat', row 7 (line 8)": ``row`` is a 0-based index, shown as the 1-based data row
    (as in every report of losscli); ``line`` is the 1-based file line."""
    parts = [] if column is None else [f"column {column!r}"]
    if row is not None:
        parts.append(f"row {row + 1}" + ("" if line is None else f" (line {line})"))
    return ", ".join(parts)


def line_of(table: Table, row: int) -> int | None:
    """The 1-based file line of row ``row`` of the table (CSV only)."""
    if table.format != "csv":
        return None
    return int(table.lines[row]) if table.lines is not None else table.header_lines + table.first_row + row + 1


def csv_column_names(names: Sequence[str], header: bool) -> list[str]:
    """The header's names; column_1, column_2, ... without a header (and for blank names)."""
    return [name if header and name.strip() else f"column_{i + 1}" for i, name in enumerate(names)]


def placed_lines(lines: np.ndarray | None, rows: int, header_lines: int, first_row: int,
                 line_offset: int) -> np.ndarray | None:
    """:attr:`Table.lines` of a block of CSV text: ``lines`` (the text's own line of each row,
    None when rows are on consecutive lines after the header) plus ``line_offset`` (what makes a
    line of the text a line of the file); None when rows are simply on consecutive lines of the
    file (the block's offset equals its first row)."""
    if lines is None and line_offset == first_row:
        return None
    if lines is None:
        lines = np.arange(rows) + header_lines + 1
    return lines + line_offset


def no_column(source: str, name: str, columns: Sequence[str]) -> FileError:
    """The error for a column asked for by name that the file does not have."""
    close = difflib.get_close_matches(name, columns, n=1)
    return FileError(source, f"no column {name!r}",
                     hint=(f"did you mean {close[0]!r}? " if close else "") + "columns: " + ", ".join(columns))


def select_columns(table: Table, selector: str) -> Table:
    """The columns named by ``selector``: "yhat", "a,b,c" or a pattern such as "emb_*"."""
    if table.format == "npy":
        raise FileError(table.source, "cannot select columns of an .npy array",
                        hint="give the input as its own .npy file, or use a CSV or Parquet file")
    indices: list[int] = []
    for part in (part.strip() for part in selector.split(",")):
        for index in _match(table, part):
            if index in indices:
                raise FileError(table.source, f"column {table.columns[index]!r} is selected twice in {selector!r}")
            indices.append(index)
    consecutive = indices == list(range(indices[0], indices[0] + len(indices)))
    values = table.values[:, indices[0]:indices[0] + len(indices)] if consecutive else table.values[:, indices]
    return replace(table, columns=tuple(table.columns[i] for i in indices), values=values)


def _match(table: Table, part: str) -> list[int]:
    """Indices of the columns one selector part names (file order for a pattern)."""
    if not part:
        raise FileError(table.source, "empty column name in the selection", hint="e.g. --col pred=yhat or a,b,c")
    if any(char in part for char in "*?["):
        found = [i for i, name in enumerate(table.columns) if fnmatch.fnmatchcase(name, part)]
        if not found:
            raise FileError(table.source, f"no numeric column matches {part!r}", hint=_available(table))
        return found
    found = [i for i, name in enumerate(table.columns) if name == part]
    if len(found) > 1:
        raise FileError(table.source, f"column name {part!r} appears {len(found)} times",
                        hint="rename the duplicates or select by pattern")
    if found:
        return found
    if part in table.skipped_columns:
        raise FileError(table.source, f"column {part!r} is not numeric (text, dates or all empty)",
                        hint=_available(table))
    close = difflib.get_close_matches(part, table.columns, n=1)
    hint = (f"did you mean {close[0]!r}? " if close else "") + _available(table)
    raise FileError(table.source, f"no column {part!r}", hint=hint)


def _available(table: Table) -> str:
    return "numeric columns: " + ", ".join(table.columns) if table.columns else "no column holds numbers"


def as_input_array(table: Table) -> np.ndarray:
    """One column -> [rows]; several -> [rows, columns]; an .npy array as it is."""
    if table.format == "npy":
        return table.values
    if table.values.shape[1] == 0:
        raise FileError(table.source, f"no numeric columns (found: {', '.join(table.skipped_columns) or 'none'})",
                        hint="input columns must hold numbers; text columns such as ids are skipped")
    if table.values.shape[1] == 1:
        return np.ascontiguousarray(table.values[:, 0])  # a view of column-major values
    return np.ascontiguousarray(table.values)  # rows contiguous, for row-wise losses


def describe_location(error: InputError, table: Table) -> str:
    """One line naming the file, column and row of a library :class:`InputError`.

    ``table`` must be the table the failing array came from (after :func:`select_columns`);
    the error's column index is the position within the (flattened) row, i.e. the CSV column.
    """
    if table.format == "npy":
        where = _npy_location(error, table.values.shape, table.first_row)
    else:
        column = _column_name(error.column, table.columns)
        line = None if error.row is None else line_of(table, error.row)
        where = format_location(column=column, row=None if error.row is None else table.first_row + error.row,
                                line=line)
    return str(FileError(table.source, error.message, where=where, hint=error.hint))


def _column_name(index: int | None, columns: tuple[str, ...]) -> str | None:
    if index is None:
        return columns[0] if len(columns) == 1 else None
    return columns[index] if 0 <= index < len(columns) else f"#{index}"


def _npy_location(error: InputError, shape: tuple[int, ...], first_row: int = 0) -> str:
    if error.row is None:
        return ""
    row = format_location(row=first_row + error.row)
    if error.column is None or len(shape) < 2:
        return row
    if len(shape) == 2:
        return f"{row}, column {error.column + 1}"
    if not 0 <= error.column < int(np.prod(shape[1:])):
        return f"{row}, position {error.column + 1}"
    inner = np.unravel_index(error.column, shape[1:])
    return "element [" + ", ".join(str(int(i)) for i in (first_row + error.row, *inner)) + "] (0-based index)"


def concat_tables(tables: Sequence[Table]) -> Table:
    """Consecutive batches of one input (a file, or the shards of a directory) as one table."""
    if len(tables) == 1:
        return tables[0]
    first = tables[0]
    sources = list(dict.fromkeys(table.source for table in tables))
    source = first.source if len(sources) == 1 else f"{first.source} (+ {len(sources) - 1} more shards)"
    lines = None
    if any(table.lines is not None for table in tables):
        lines = np.concatenate([np.arange(table.rows) + (line_of(table, 0) or 0) if table.lines is None
                                else table.lines for table in tables])
    return replace(first, source=source, values=np.concatenate([table.values for table in tables]),
                   extra={name: concat_columns([table.extra[name] for table in tables]) for name in first.extra},
                   lines=lines)
