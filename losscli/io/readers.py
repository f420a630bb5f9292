"""Readers: CSV, Parquet, .npy and CSV on stdin into a :class:`Table` of float64 values.

pyarrow is imported inside the functions that use it, so importing losscli stays light.
:func:`table_to_values` converts any Arrow table (a whole file now, one batch when streaming)
and locates bad cells with a row offset, so a batch reader can reuse it unchanged.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Sequence
from typing import TextIO

import numpy as np

from .table import STDIN, FileError, Table, format_location

FORMATS = {".csv": "csv", ".parquet": "parquet", ".npy": "npy"}
# A cell of a text column that counts as a number (after trimming); matches what Arrow parses.
NUMBER_PATTERN = r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)$"
# Cells read as missing (NaN), as pyarrow's CSV reader does for numeric columns.
MISSING_MARKERS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                   "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null")
# Index columns pandas stores in Parquet files; never an input.
PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")
NPY_MAGIC = b"\x93NUMPY"


def file_format(path: str) -> str:
    """"csv", "parquet" or "npy" from the extension (any case); anything else is an error."""
    kind = FORMATS.get(os.path.splitext(path)[1].lower())
    if kind is None:
        raise FileError(path, "unknown file extension", hint="supported: " + ", ".join(FORMATS))
    return kind


def read_table(path: str, *, header: bool = True, stdin: TextIO | None = None,
               extra: Sequence[str] = ()) -> Table:
    """Read the numeric columns of ``path`` ("-" = CSV from ``stdin``, default sys.stdin), and
    the ``extra`` columns by name as they are (text allowed)."""
    if path == "-":
        text = (sys.stdin if stdin is None else stdin).read()
        return _read_csv(STDIN, text.encode() if isinstance(text, str) else text, header, extra)
    check_exists(path)
    kind = file_format(path)
    check_readable(path)
    if kind == "npy":
        return _read_npy(path, extra)
    if kind == "parquet":
        return _read_parquet(path, extra)
    return _read_csv(path, path, header, extra)


def check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise FileError(path, "no such file", hint=_nearby(path))
    if os.path.isdir(path):
        raise FileError(path, "is a directory, expected a file", hint="supported: " + ", ".join(FORMATS))


def check_readable(path: str) -> None:
    """A readable, non-empty file; otherwise a FileError saying which."""
    try:
        with open(path, "rb") as handle:
            first = handle.read(1)
    except OSError as error:
        raise FileError(path, f"cannot read: {error.strerror or error}", hint="check the file permissions") from None
    if not first:
        raise FileError(path, "empty file (0 bytes)")


def _nearby(path: str) -> str | None:
    """'did you mean' among the files next to a missing path."""
    directory = os.path.dirname(path) or "."
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    close = difflib.get_close_matches(os.path.basename(path), names, n=1)
    return f"did you mean {os.path.join(os.path.dirname(path), close[0])!r}?" if close else None


def _read_csv(source: str, data: str | bytes, header: bool, extra: Sequence[str] = ()) -> Table:
    """CSV from a path (str) or from bytes; quirks (BOM, CRLF, quotes, spaces) handled by Arrow."""
    arrow_table = parse_csv(source, data, header)
    if arrow_table.num_rows == 0:
        raise FileError(source, "header only, no data rows" if header else "empty file")
    arrow_table = arrow_table.rename_columns(csv_column_names(arrow_table.column_names, header))
    header_lines = 1 if header else 0
    columns, values, skipped = table_to_values(arrow_table, source, first_line=header_lines + 1)
    return Table(source, columns, values, header_lines, "csv", skipped, extra=extra_columns(arrow_table, extra, source))


def csv_column_names(names: Sequence[str], header: bool) -> list[str]:
    """The header's names; column_1, column_2, ... without a header (and for blank names)."""
    return [name if header and name.strip() else f"column_{i + 1}" for i, name in enumerate(names)]


def parse_csv(source: str, data: str | bytes, header: bool, *, retry: bool = True, threads: bool = False):
    import io

    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    # One thread for files read whole (they are small): pyarrow's CSV thread pool occasionally
    # aborted the process at exit then ("terminate called without an active exception").
    options = arrow_csv.ReadOptions(autogenerate_column_names=not header, use_threads=threads)
    try:
        return arrow_csv.read_csv(io.BytesIO(data) if isinstance(data, bytes) else data, read_options=options)
    except pa.ArrowInvalid as error:
        message = str(error).removeprefix("CSV parse error: ")
    except OSError as error:
        raise FileError(source, f"cannot read: {error}") from None
    if not message.startswith("Empty CSV file"):
        raise FileError(source, _csv_problem(message))
    # Arrow rejects a file whose only line lacks a final newline ("1,2", or a bare header).
    content = data if isinstance(data, bytes) else _small_file_bytes(data)
    if content is None:
        raise FileError(source, _csv_problem(message))
    if not content.removeprefix(b"\xef\xbb\xbf").strip() or not retry:
        raise FileError(source, "empty file (no header, no data rows)")
    return parse_csv(source, content + b"\n", header, retry=False, threads=threads)


def _small_file_bytes(path: str, limit: int = 1 << 20) -> bytes | None:
    """The whole file if it is at most ``limit`` bytes (a one-line file), else None."""
    if os.path.getsize(path) > limit:
        return None
    with open(path, "rb") as handle:
        return handle.read()


def _csv_problem(arrow_message: str) -> str:
    # Arrow's "Row #3" counts file lines (header included): call it a line, as our messages do.
    detail = arrow_message.splitlines()[0]
    where, detail = re.match(r"^(?:Row #(\d+): )?(.*)$", detail).groups()
    detail = detail if len(detail) <= 200 else detail[:200] + "..."
    return f"not a valid CSV file: {f'line {where}: ' if where else ''}{detail[:1].lower()}{detail[1:]}"


def _read_parquet(path: str, extra: Sequence[str] = ()) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow_table = pq.ParquetFile(path).read()
    except pa.ArrowException as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FileError(path, f"not a valid Parquet file: {first_line}") from None
    except OSError as error:
        raise FileError(path, f"cannot read: {error}") from None
    if arrow_table.num_rows == 0:
        raise FileError(path, "no data rows")
    columns, values, skipped = table_to_values(arrow_table, path)
    return Table(path, columns, values, 0, "parquet", skipped, extra=extra_columns(arrow_table, extra, path))


def _read_npy(path: str, extra: Sequence[str] = ()) -> Table:
    if extra:
        raise FileError(path, f"an .npy array has no named columns (asked for {', '.join(map(repr, extra))})",
                        hint="use a CSV or Parquet file for id and group columns")
    with open(path, "rb") as handle:
        if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise FileError(path, "not a valid .npy file (no NumPy header)", hint="write it with numpy.save")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as error:
        raise FileError(path, f"not a valid .npy file: {error}") from None
    if array.dtype.kind not in "biuf":
        raise FileError(path, f"expected a numeric array, got dtype {array.dtype}")
    if array.ndim == 0 or array.size == 0:
        raise FileError(path, f"expected an array with at least one row, got shape {array.shape}")
    return Table(path, (), array.astype(np.float64, copy=False), 0, "npy")


def table_to_values(arrow_table, source: str, *, row_offset: int = 0,
                     first_line: int | None = None) -> tuple[tuple[str, ...], np.ndarray, tuple[str, ...]]:
    """(numeric column names, float64 [rows, columns], skipped column names) of an Arrow table.

    A column is numeric when every non-missing cell is a number; a column with no number at
    all (text, dates, all empty) is skipped; a column mixing both is an error naming the first
    bad cell. A file read only for its id or group columns may have no numeric column at all:
    an input that needs one says so (:func:`~losscli.io.table.as_input_array`).
    ``row_offset`` and ``first_line`` (the file line of row 0, CSV only) place that cell
    in the whole file when the table is one batch of it.
    """
    names, floats, skipped = [], [], []
    for name, column in zip(arrow_table.column_names, arrow_table.columns, strict=True):
        try:
            as_float = None if PANDAS_INDEX.match(name) else _column_to_float(column)
        except _BadCell as bad:
            row = row_offset + bad.row
            line = None if first_line is None else first_line + row
            raise FileError(source, f"expected a number, got {_cell_text(column, bad.row)}",
                            where=format_location(column=name, row=row, line=line),
                            hint="every cell of a numeric column must be a number or empty") from None
        if as_float is None:
            skipped.append(name)
        else:
            names.append(name)
            floats.append(as_float)
    return tuple(names), _fill_matrix(floats, arrow_table.num_rows), tuple(skipped)


class _BadCell(Exception):
    """A cell that is not a number in a column that has numbers (row within the column)."""

    def __init__(self, row: int):
        super().__init__(row)
        self.row = row


def _column_to_float(column):
    """float64 column (missing -> NaN), or None if no cell is a number; _BadCell if mixed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
            or pa.types.is_decimal(kind):
        return _as_float64(column)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    trimmed = pc.utf8_trim_whitespace(column)
    missing = pc.or_(pc.is_null(trimmed), pc.is_in(trimmed, value_set=pa.array(MISSING_MARKERS)))
    numeric = pc.fill_null(pc.match_substring_regex(trimmed, NUMBER_PATTERN, ignore_case=True), False)
    if not pc.any(numeric).as_py():
        return None
    first_bad = pc.index(pc.and_(pc.invert(missing), pc.invert(numeric)), True).as_py()
    if first_bad >= 0:
        raise _BadCell(first_bad)
    return _as_float64(pc.cast(pc.if_else(missing, pa.scalar(None, trimmed.type), trimmed), pa.float64()))


def _as_float64(column):
    import pyarrow as pa
    import pyarrow.compute as pc

    # safe=False: int64 beyond 2**53 rounds to the nearest double instead of raising.
    as_float = column.cast(pa.float64(), safe=False)
    return pc.fill_null(as_float, float("nan")) if as_float.null_count else as_float


def _cell_text(column, row: int) -> str:
    text = str(column[row].as_py())
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _fill_matrix(float_columns, rows: int) -> np.ndarray:
    """Copy float64 Arrow columns chunk by chunk into one [rows, columns] array.

    Column-major, so that a column (the usual input: one prediction column) is a contiguous
    view and needs no further copy.
    """
    values = np.empty((rows, len(float_columns)), dtype=np.float64, order="F")
    for index, column in enumerate(float_columns):
        start = 0
        for chunk in getattr(column, "chunks", [column]):  # ChunkedArray (table) or Array (batch)
            values[start:start + len(chunk), index] = _float_view(chunk)
            start += len(chunk)
    return values


def _float_view(chunk) -> np.ndarray:
    """A float64 Arrow array without nulls as a NumPy view of its data buffer.

    Arrow's own to_numpy imports pandas on first use (about 0.2 s), which start-up avoids.
    """
    if chunk.null_count == 0 and len(chunk):
        return np.frombuffer(chunk.buffers()[1], dtype=np.float64, count=len(chunk), offset=chunk.offset * 8)
    return chunk.to_numpy(zero_copy_only=False)


def extra_columns(arrow_table, names: Sequence[str], source: str) -> dict[str, np.ndarray]:
    """The columns ``names`` of an Arrow table or record batch as NumPy arrays, values as they
    are: integers as int64, other numbers as float64 (missing: NaN), anything else as objects
    (missing: None)."""
    found = {}
    for name in names:
        if name not in arrow_table.column_names:
            close = difflib.get_close_matches(name, arrow_table.column_names, n=1)
            hint = (f"did you mean {close[0]!r}? " if close else "") + "columns: " + ", ".join(arrow_table.column_names)
            raise FileError(source, f"no column {name!r}", hint=hint)
        found[name] = _as_numpy(arrow_table.column(name))
    return found


def _as_numpy(column) -> np.ndarray:
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_integer(kind) and not column.null_count:
        return _int_view(column.cast(pa.int64()))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _fill_matrix([_as_float64(column)], len(column))[:, 0].copy()
    return np.array(column.to_pylist(), dtype=object)


def _int_view(column) -> np.ndarray:
    """An int64 Arrow array or chunked array without nulls as one NumPy array."""
    chunks = getattr(column, "chunks", [column])
    return np.concatenate([np.zeros(0, dtype=np.int64), *(np.frombuffer(
        chunk.buffers()[1], dtype=np.int64, count=len(chunk), offset=chunk.offset * 8) for chunk in chunks)])
