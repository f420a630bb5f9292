"""Readers: CSV, Parquet, .npy and CSV on stdin into a :class:`Table` of float64 values.

pyarrow is imported inside the functions that use it, so importing losscli stays light.
Standard input and anything that is not a regular file (a named pipe, ``<(command)``) is read
once, whole: opening it a second time would lose what the first read took.
"""

from __future__ import annotations

import difflib
import errno
import io
import os
import stat
import sys
from collections.abc import Sequence
from typing import BinaryIO, TextIO

import numpy as np

from .arrow import extra_columns, table_to_values
from .csvread import csv_table
from .sniff import check_text
from .table import STDIN, FileError, Table

FORMATS = {".csv": "csv", ".parquet": "parquet", ".npy": "npy"}
NPY_MAGIC = b"\x93NUMPY"


def file_format(path: str) -> str:
    """"csv", "parquet" or "npy" from the extension (any case); anything else is an error."""
    kind = FORMATS.get(os.path.splitext(path)[1].lower())
    if kind is None:
        raise FileError(path, "unknown file extension", hint="supported: " + ", ".join(FORMATS))
    return kind


def read_table(path: str, *, header: bool = True, stdin: TextIO | BinaryIO | None = None,
               extra: Sequence[str] = ()) -> Table:
    """Read the numeric columns of ``path`` ("-" = CSV from ``stdin``, default sys.stdin), and
    the ``extra`` columns by name as they are (text allowed)."""
    if path == "-":
        return _read_bytes(STDIN, "csv", read_stdin(stdin), header, extra)
    check_exists(path)
    if is_stream(path):  # a pipe: CSV unless its name says otherwise, as stdin
        return _read_bytes(path, FORMATS.get(os.path.splitext(path)[1].lower(), "csv"), _read_once(path), header, extra)
    kind = file_format(path)
    check_readable(path)
    if kind == "npy":
        return _read_npy(path, extra)
    if kind == "parquet":
        return _read_parquet(path, extra)
    return _read_bytes(path, kind, _read_once(path), header, extra)


def is_stream(path: str) -> bool:
    """True for an existing path that is not a regular file or a directory (a FIFO, a device,
    /dev/fd/N of a process substitution): it can be read only once."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def read_stdin(stdin: TextIO | BinaryIO | None = None) -> bytes:
    """Everything on standard input as bytes (text streams are encoded back as UTF-8)."""
    stream = sys.stdin if stdin is None else stdin
    if stream is None:
        raise FileError(STDIN, "standard input is closed", hint="pipe the CSV in, e.g. python predict.py | losscli ...")
    try:
        data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
    except (OSError, ValueError) as error:
        raise FileError(STDIN, f"cannot read standard input: {getattr(error, 'strerror', None) or error}") from None
    return data.encode("utf-8", errors="surrogateescape") if isinstance(data, str) else data


def _read_once(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise FileError(path, f"cannot read: {error.strerror or error}", hint="check the file permissions") from None


def _read_bytes(source: str, kind: str, data: bytes, header: bool, extra: Sequence[str]) -> Table:
    """A whole file's content, read once (a file, stdin or a pipe)."""
    if kind == "npy":
        return _npy_table(source, data, extra)
    if kind == "parquet":
        return _read_parquet(source, extra, data)
    check_text(source, data)
    table = csv_table(source, data, header, extra)
    if table.rows == 0:
        raise FileError(source, "header only, no data rows" if header else "empty file")
    return table


def check_exists(path: str) -> None:
    """FileError unless ``path`` exists and is not a directory (a symbolic link loop and a
    broken link say so)."""
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise FileError(path, "symbolic link loop (the link leads back to itself)") from None
        if os.path.islink(path):
            raise FileError(path, f"broken symbolic link (to {os.readlink(path)!r}, which does not exist)") from None
        if error.errno == errno.ENOENT:
            raise FileError(path, "no such file", hint=_nearby(path)) from None
        raise FileError(path, f"cannot read: {error.strerror or error}") from None
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


def _read_parquet(path: str, extra: Sequence[str] = (), data: bytes | None = None) -> Table:
    import pyarrow as pa

    try:
        arrow_table = open_parquet(path, extra, data).read()
    except pa.ArrowException as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FileError(path, f"not a valid Parquet file: {first_line}") from None
    except OSError as error:
        raise FileError(path, f"cannot read: {error}") from None
    if arrow_table.num_rows == 0:
        raise FileError(path, "no data rows")
    columns, values, skipped = table_to_values(arrow_table, path)
    return Table(path, columns, values, 0, "parquet", skipped, extra=extra_columns(arrow_table, extra, path))


def open_parquet(path: str, extra: Sequence[str] = (), data: bytes | None = None, **options):
    """A pyarrow ParquetFile that reads the text columns among ``extra`` dictionary-encoded, as
    Parquet stores them (no string per row is made)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def source():
        return path if data is None else pa.BufferReader(data)

    parquet = pq.ParquetFile(source(), **options)
    schema = parquet.schema_arrow
    text = [name for name in extra if name in schema.names and (pa.types.is_string(schema.field(name).type)
                                                                or pa.types.is_large_string(schema.field(name).type))]
    return pq.ParquetFile(source(), read_dictionary=text, **options) if text else parquet


def _read_npy(path: str, extra: Sequence[str] = ()) -> Table:
    with open(path, "rb") as handle:
        if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise FileError(path, "not a valid .npy file (no NumPy header)", hint="write it with numpy.save")
    return _npy_table(path, path, extra)


def _npy_table(source: str, data: str | bytes, extra: Sequence[str] = ()) -> Table:
    """The Table of an .npy array: ``data`` is its path or its bytes."""
    if extra:
        raise FileError(source, f"an .npy array has no named columns (asked for {', '.join(map(repr, extra))})",
                        hint="use a CSV or Parquet file for id and group columns")
    try:
        array = np.load(io.BytesIO(data) if isinstance(data, bytes) else data, allow_pickle=False)
    except (ValueError, EOFError, OSError) as error:
        raise FileError(source, f"not a valid .npy file: {error}") from None
    if array.dtype.kind not in "biuf":
        raise FileError(source, f"expected a numeric array, got dtype {array.dtype}")
    if array.ndim == 0 or array.size == 0:
        raise FileError(source, f"expected an array with at least one row, got shape {array.shape}")
    return Table(source, (), array.astype(np.float64, copy=False), 0, "npy")
