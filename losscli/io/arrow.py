"""Arrow tables (a whole file, or one batch of it) as float64 values and coded label columns.

pyarrow is imported inside the functions, so importing losscli stays light.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .coded import CodedColumn, concat_columns
from .table import FileError, format_location, no_column

# A cell of a text column that counts as a number (after trimming); matches what Arrow parses.
NUMBER_PATTERN = r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)$"
# Cells read as missing (NaN), as pyarrow's CSV reader does for numeric columns.
MISSING_MARKERS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                   "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null")
# Index columns pandas stores in Parquet files; never an input.
PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


def table_to_values(arrow_table, source: str, *, row_offset: int = 0, first_line: int | None = None,
                    lines: np.ndarray | None = None) -> tuple[tuple[str, ...], np.ndarray, tuple[str, ...]]:
    """(numeric column names, float64 [rows, columns], skipped column names) of an Arrow table.

    A column is numeric when every non-missing cell is a number; a column with no number at
    all (text, dates, all empty) is skipped; a column mixing both is an error naming the first
    bad cell. A file read only for its id or group columns may have no numeric column at all:
    an input that needs one says so (:func:`~losscli.io.table.as_input_array`).
    ``row_offset`` places the table's row 0 in the whole file when the table is one batch of
    it; the file line of the table's row r is ``lines[r]`` if given, else
    ``first_line + row_offset + r`` (``first_line``: the line of the file's first data row; CSV only).
    """
    names, floats, skipped = [], [], []
    for name, column in zip(arrow_table.column_names, arrow_table.columns, strict=True):
        try:
            as_float = None if PANDAS_INDEX.match(name) else _column_to_float(column)
        except _BadCell as bad:
            line = None if first_line is None else first_line + row_offset + bad.row if lines is None \
                else int(lines[bad.row])
            raise FileError(source, f"expected a number, got {_cell_text(column, bad.row)}",
                            where=format_location(column=name, row=row_offset + bad.row, line=line),
                            hint="every cell of a numeric column must be a number or empty") from None
        if as_float is None:
            skipped.append(name)
        else:
            names.append(name)
            floats.append(as_float)
    return tuple(names), _fill_matrix(floats, arrow_table.num_rows), tuple(skipped)


def batch_values(arrow_table, source: str, names: Sequence[str] | None, *, first_row: int = 0,
                 first_line: int | None = None, lines: np.ndarray | None = None):
    """(numeric column names, float64 values, skipped columns) of one batch of a streamed file;
    ``names``: the first batch's numeric columns, which later batches keep (an empty cell in
    all of a batch's rows is NaN; text in such a column is an error). None: this is the first."""
    selected = arrow_table if names is None else arrow_table.select(list(names))
    found, values, skipped = table_to_values(selected, source, row_offset=first_row, first_line=first_line,
                                             lines=lines)
    if names is None or found == tuple(names):
        return found, values, skipped
    full = np.full((arrow_table.num_rows, len(names)), np.nan)
    for name in names:
        if name in found:
            full[:, names.index(name)] = values[:, found.index(name)]
        elif arrow_table.column(name).null_count != arrow_table.num_rows:
            raise FileError(source, f"column {name!r} holds text from row {first_row + 1} on, expected numbers")
    return tuple(names), full, skipped


class _BadCell(Exception):
    """A cell that is not a number in a column that has numbers (row within the column)."""

    def __init__(self, row: int):
        super().__init__(row)
        self.row = row


def _column_to_float(column):
    """A numeric column (a float64 one for text and decimals; missing -> null, NaN in
    :func:`_fill_matrix`), or None if no cell is a number; _BadCell if mixed."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return column  # read from its buffers by _fill_matrix
    if pa.types.is_decimal(kind):
        return column.cast(pa.float64(), safe=False)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    import pyarrow.compute as pc  # only here: its import takes 0.07 s

    trimmed = pc.utf8_trim_whitespace(column)
    missing = pc.or_(pc.is_null(trimmed), pc.is_in(trimmed, value_set=_strings(MISSING_MARKERS)))
    numeric = pc.fill_null(pc.match_substring_regex(trimmed, NUMBER_PATTERN, ignore_case=True), _scalar(False))
    if not pc.any(numeric).as_py():
        return None
    first_bad = pc.index(pc.and_(pc.invert(missing), pc.invert(numeric)), _scalar(True)).as_py()
    if first_bad >= 0:
        raise _BadCell(first_bad)
    return pc.cast(pc.if_else(missing, pa.nulls(1, trimmed.type)[0], trimmed), pa.float64())


# pa.array() and pa.scalar() of Python objects import pandas (0.3 s) on first use: Arrow values
# that a reader needs are made from buffers instead.
def _scalar(value: bool | int):
    """An Arrow bool or int64 scalar."""
    import pyarrow as pa

    if isinstance(value, bool):
        return pa.Array.from_buffers(pa.bool_(), 1, [None, pa.py_buffer(bytes([value]))])[0]
    return pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(np.array([value], dtype=np.int64).tobytes())])[0]


def _strings(values: Sequence[str]):
    """An Arrow string array."""
    import pyarrow as pa

    encoded = [value.encode() for value in values]
    offsets = np.concatenate([[0], np.cumsum([len(value) for value in encoded])]).astype(np.int32)
    return pa.Array.from_buffers(pa.string(), len(values), [None, pa.py_buffer(offsets.tobytes()),
                                                            pa.py_buffer(b"".join(encoded))])


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
            values[start:start + len(chunk), index] = _float_values(chunk)
            start += len(chunk)
    return values


# Arrow's numeric types as NumPy's, by Arrow's name for them
_NUMPY_TYPES = {"int8": "i1", "int16": "i2", "int32": "i4", "int64": "i8", "uint8": "u1", "uint16": "u2",
                "uint32": "u4", "uint64": "u8", "halffloat": "f2", "float": "f4", "double": "f8"}


def _float_values(chunk) -> np.ndarray:
    """A numeric or boolean Arrow array as float64 values, NaN where a cell is missing, read
    from its buffers (a view for float64 without missing cells). Integers beyond 2**53 round to
    the nearest double.

    Arrow's own cast and to_numpy would import pyarrow.compute (0.07 s) and pandas (0.2 s).
    """
    count, offset = len(chunk), chunk.offset
    if not count:
        return np.zeros(0)
    validity, data = chunk.buffers()[:2]
    kind = str(chunk.type)
    if kind == "bool":
        values = _bits(data, offset, count).astype(np.float64)
    else:
        dtype = np.dtype(_NUMPY_TYPES[kind])
        values = np.frombuffer(data, dtype=dtype, count=count, offset=offset * dtype.itemsize)
        if dtype != np.float64 or chunk.null_count:
            values = values.astype(np.float64)
    if chunk.null_count:
        values[~_bits(validity, offset, count)] = np.nan
    return values


def _bits(buffer, offset: int, count: int) -> np.ndarray:
    """Bits offset .. offset + count of an Arrow bitmap (least significant first) as booleans."""
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), count=offset + count, bitorder="little")
    return bits[offset:].astype(bool)


def extra_columns(arrow_table, names: Sequence[str], source: str) -> dict[str, CodedColumn]:
    """The columns ``names`` of an Arrow table or record batch, values as they are, coded
    (:class:`~losscli.io.coded.CodedColumn`): integers as int64, other numbers as float64
    (missing: NaN), anything else as objects (missing: None)."""
    found = {}
    for name in names:
        if name not in arrow_table.column_names:
            raise no_column(source, name, arrow_table.column_names)
        found[name] = coded_column(arrow_table.column(name))
    return found


def coded_column(column) -> CodedColumn:
    """An Arrow array or chunked array as a CodedColumn, chunk by chunk (Arrow's hash-based
    dictionary encoding; a dictionary column is renumbered in order of first appearance)."""
    chunks = getattr(column, "chunks", [column])
    pieces = [_coded_chunk(chunk, _value_kind(column)) for chunk in chunks if len(chunk)]
    if not pieces:
        return CodedColumn(np.zeros(0, dtype=np.int64), np.zeros(0))
    return pieces[0] if len(pieces) == 1 else concat_columns(pieces)


def _coded_chunk(chunk, kind: str) -> CodedColumn:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(chunk.type):
        return CodedColumn(np.zeros(len(chunk), dtype=np.int64), _numpy_values([None], kind))
    if not pa.types.is_dictionary(chunk.type):
        chunk = pc.dictionary_encode(chunk, null_encoding="encode")
    dictionary, indices = chunk.dictionary.to_pylist(), chunk.indices.cast(pa.int64())
    if indices.null_count:  # a null cell of a dictionary column: one more value, None
        indices = pc.fill_null(indices, _scalar(len(dictionary)))
        dictionary.append(None)
    order = _int64_view(pc.unique(indices))  # the dictionary entries used, in order of first appearance
    rank = np.zeros(len(dictionary), dtype=np.int64)
    rank[order] = np.arange(order.size)
    return CodedColumn(rank[_int64_view(indices)], _numpy_values([dictionary[i] for i in order], kind))


def _int64_view(array) -> np.ndarray:
    """An int64 Arrow array without nulls as a NumPy view of its data buffer."""
    return np.frombuffer(array.buffers()[1], dtype=np.int64, count=len(array), offset=array.offset * 8)


def _value_kind(column) -> str:
    """"int", "float" or "object": how a column's values are kept (ints with a missing cell
    become floats, as pandas does)."""
    import pyarrow as pa

    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_integer(kind):
        return "float" if column.null_count else "int"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "float"
    return "object"


def _numpy_values(values: list, kind: str) -> np.ndarray:
    if kind == "int":
        return np.array(values, dtype=np.int64)
    if kind == "float":
        return np.array([np.nan if value is None else float(value) for value in values], dtype=np.float64)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array
