"""CSV text (a whole file, or a block of one with the header line in front) into a :class:`Table`.

Small plain texts go through :mod:`~losscli.io.smallcsv` (no pyarrow import); everything else,
every error included, through Arrow's reader here. Either way a text gives the same numbers
and the same messages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence

from .arrow import batch_values, extra_columns
from .mapped import MappedBlock
from .smallcsv import small_csv_table
from .sniff import header_text, row_lines
from .table import FileError, Table, csv_column_names, format_location, placed_lines


def csv_table(source: str, data: bytes, header: bool, extra: Sequence[str] = ()) -> Table:
    """The Table of a whole CSV text; with ``header`` its first line holds the column names."""
    return csv_block(source, data, header, extra)[0]


def csv_block(source: str, data: bytes, header: bool, extra: Sequence[str] = (), *, first_row: int = 0,
              line_offset: int = 0, columns: Sequence[str] | None = None, booleans: Collection[str] = (),
              threads: bool = False) -> tuple[Table, int, frozenset[str]]:
    """(The Table of ``data``, the number of lines of ``data``, its numeric columns of true and
    false cells), for a block of a streamed file.

    first_row: the file's row of the block's first data row; line_offset: what to add to a
    line of ``data`` to make it a line of the file; columns: the first block's numeric columns,
    which this one keeps (see :func:`~losscli.io.arrow.batch_values`), and booleans: those of
    them that held true and false; threads: parse with Arrow's thread pool.
    """
    header_lines = 1 if header else 0
    if line_offset == first_row and columns is None:
        table = small_csv_table(source, data, header, extra)
        if table is not None:
            return table, _line_count(data), frozenset()
    arrow_table, lines, line_count = _parse_with_lines(source, data, header, line_offset, threads, columns, booleans)
    arrow_table = arrow_table.rename_columns(csv_column_names(arrow_table.column_names, header))
    lines = placed_lines(lines, arrow_table.num_rows, header_lines, first_row, line_offset)
    first_line = header_lines + 1
    _check_utf8(arrow_table, source, first_row, first_line, lines)
    names, values, skipped = batch_values(arrow_table, source, columns, first_row=first_row, first_line=first_line,
                                          lines=lines)
    table = Table(source, names, values, header_lines, "csv", skipped, first_row,
                  extra_columns(arrow_table, extra, source), lines)
    return table, line_count, _boolean_columns(arrow_table, names)


def _parse_with_lines(source: str, data: bytes, header: bool, line_offset: int, threads: bool,
                      numeric: Sequence[str] | None = None, booleans: Collection[str] = ()):
    """(Arrow's table of ``data``, the line of ``data`` each row is on (None: consecutive lines),
    the number of lines of ``data``).

    A text without quotes is first parsed keeping blank lines as rows of missing cells: if a
    column has only numbers and no missing cell, it had no blank line, so every row is on its
    own line (known without counting lines, a tenth of the parse time; text columns, such as
    ids, may be there too). ``numeric``: the columns earlier blocks found numeric, parsed as
    float64 without type inference (a quarter of the parse time), those in ``booleans`` as
    true/false; a cell that is not a number sends the block back to the inferring parse, whose
    messages name it.
    """
    header_lines = 1 if header else 0
    body = data.find(b"\n") + 1 if header else 0
    if data.find(b'"', body) < 0 and not data.startswith((b"\n", b"\r")):
        table = None
        if numeric:
            table = parse_csv(source, data, header, line_offset=line_offset, keep_blank_lines=True, threads=threads,
                              floats=numeric, booleans=booleans)
        if table is None:
            table = parse_csv(source, data, header, line_offset=line_offset, keep_blank_lines=True, threads=threads)
        if table is not None and any(_numbers_only(column) for column in table.columns):
            return table, None, table.num_rows + header_lines
    data = bytes(data) if isinstance(data, MappedBlock) else data  # counting lines needs the bytes
    table = parse_csv(source, data, header, line_offset=line_offset, threads=threads)
    line_count = _line_count(data)
    return table, None if line_count == table.num_rows + header_lines else row_lines(data, header), line_count


def parse_csv(source: str, data: bytes, header: bool, *, retry: bool = True, line_offset: int = 0,
              keep_blank_lines: bool = False, threads: bool = False, floats: Sequence[str] = (),
              booleans: Collection[str] = ()):
    """Arrow's table of CSV ``data``. Integer columns of a text with hex-looking cells ('0x1a',
    which Arrow reads as 26) are read as text, so a hex cell is never a number.
    ``keep_blank_lines``: parse blank lines as rows, and return None instead of failing.
    ``floats``: columns parsed as float64 without inference (with keep_blank_lines only), but
    those also in ``booleans`` as true/false."""
    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    # One thread for files read whole (they are small): pyarrow's CSV thread pool occasionally
    # aborted the process at exit then ("terminate called without an active exception").
    options = arrow_csv.ReadOptions(autogenerate_column_names=not header, use_threads=threads)
    text = data
    if isinstance(data, MappedBlock):  # Arrow reads the mapped body in place, told the header's names
        text = pa.py_buffer(data.body)
        if data.header:
            options.column_names = _header_names(data.header)
    parse = arrow_csv.ParseOptions(ignore_empty_lines=not keep_blank_lines)
    typed = arrow_csv.ConvertOptions(column_types={name: pa.bool_() if name in booleans else pa.float64()
                                                   for name in floats})
    if floats and _first_line_cells(data) == len(floats):
        # Every column is typed: only an empty cell is missing ('nan' parses as NaN). Another
        # marker ('NA') fails the parse, which the caller redoes with Arrow's defaults. Checking
        # cells against the markers takes a tenth of the parse.
        typed.null_values = [""]
    try:
        table = arrow_csv.read_csv(pa.BufferReader(text), read_options=options, parse_options=parse,
                                   convert_options=typed)
        table.column_names  # noqa: B018 -- decodes the names: a header that is not UTF-8 fails here
        hex_columns = _hex_suspects(table, data)
        if hex_columns:
            as_text = arrow_csv.ConvertOptions(column_types=dict.fromkeys(hex_columns, pa.string()))
            table = arrow_csv.read_csv(pa.BufferReader(text), read_options=options, parse_options=parse,
                                       convert_options=as_text)
        return table
    except UnicodeDecodeError:  # column names that are not UTF-8
        header_text(source, data)
        raise
    except pa.ArrowInvalid as error:
        if keep_blank_lines:
            return None
        message = str(error).removeprefix("CSV parse error: ")
    except OSError as error:
        raise FileError(source, f"cannot read: {error}") from None
    if not message.startswith("Empty CSV file"):
        raise FileError(source, _csv_problem(message, line_offset))
    # Arrow rejects a text whose only line lacks a final newline ("1,2", or a bare header).
    if not data.removeprefix(b"\xef\xbb\xbf").strip() or not retry:
        raise FileError(source, "empty file (no header, no data rows)")
    return parse_csv(source, data + b"\n", header, retry=False, line_offset=line_offset, threads=threads)


@functools.lru_cache(maxsize=4)
def _header_names(header: bytes) -> list[str]:
    """The column names Arrow reads from a header line."""
    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    return arrow_csv.read_csv(pa.BufferReader(header)).column_names


def _first_line_cells(data: bytes) -> int | None:
    """The cells of the first line of ``data`` (None if it holds a quote)."""
    end = data.find(b"\n")
    first_line = data if end < 0 else data[:end]
    return None if b'"' in first_line else first_line.count(b",") + 1


def _boolean_columns(arrow_table, names: Sequence[str]) -> frozenset[str]:
    import pyarrow as pa

    return frozenset(name for name, column in zip(arrow_table.column_names, arrow_table.columns, strict=True)
                     if name in names and pa.types.is_boolean(column.type))


def _numbers_only(column) -> bool:
    """A column of numbers (true/false, read as 1/0, included) without a missing cell."""
    import pyarrow as pa

    kind = column.type
    return (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)) \
        and not column.null_count


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + (not data.endswith(b"\n"))


def _hex_suspects(table, data: bytes) -> list[str]:
    """The integer columns that may hold hex cells (only if '0x' or '0X' occurs at all)."""
    import pyarrow as pa

    integers = [field.name for field in table.schema if pa.types.is_integer(field.type)]
    # find() of one byte is a memchr; looking for '0x' directly is slow in a text of digits
    if not integers or (data.find(b"x") < 0 and data.find(b"X") < 0):
        return []
    return integers if b"0x" in data or b"0X" in data else []


def _check_utf8(arrow_table, source: str, first_row: int, first_line: int, lines) -> None:
    """FileError naming the first cell that is not UTF-8 text (Arrow reads a column holding
    one as binary)."""
    import pyarrow as pa

    for name, column in zip(arrow_table.column_names, arrow_table.columns, strict=True):
        if not pa.types.is_binary(column.type):
            continue
        for row, cell in enumerate(column.to_pylist()):
            try:
                (cell or b"").decode("utf-8")
            except UnicodeDecodeError as error:
                line = first_line + first_row + row if lines is None else int(lines[row])
                raise FileError(source, f"not UTF-8 text: {cell[:40]!r} (byte {cell[error.start]:#04x})",
                                where=format_location(column=name, row=first_row + row, line=line),
                                hint="save the file as UTF-8") from None


def _csv_problem(arrow_message: str, line_offset: int) -> str:
    # Arrow's "Row #3" counts lines of the text it parsed (header included): call it a line of
    # the file, as our messages do.
    detail = arrow_message.splitlines()[0]
    where, detail = re.match(r"^(?:Row #(\d+): )?(.*)$", detail).groups()
    detail = detail if len(detail) <= 200 else detail[:200] + "..."
    line = f"line {int(where) + line_offset}: " if where else ""
    return f"not a valid CSV file: {line}{detail[:1].lower()}{detail[1:]}"
