"""Writing files without ever leaving half of one: whole arrays (.csv, .parquet or .npy) through a
temporary name and a rename, and lines appended to a log in one write or not at all. Tables
written batch by batch are in :mod:`losscli.io.table_writer`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

import numpy as np

from .readers import file_format
from .table import FileError


def write_array(path: str, array: np.ndarray, column_names: Sequence[str] | None = None) -> None:
    """Write ``array`` to ``path`` in the format its extension names, never leaving a partial file.

    CSV and Parquet: a 1-D array is one column, a 2-D array one column per column, anything
    larger is flattened row-wise to [rows, -1]. Columns are named ``column_names`` (default
    column_1, column_2, ...). .npy keeps the shape.
    """
    kind = file_format(path)
    array = np.asarray(array, dtype=np.float64)
    try:
        with _atomic(path) as temporary:
            if kind == "npy":
                with open(temporary, "wb") as handle:
                    np.save(handle, array)
            else:
                _write_columns(temporary, kind, _as_matrix(array), column_names)
    except OSError as error:
        raise cannot_write(path, error) from None


def cannot_write(path: str, error: OSError) -> FileError:
    """The one-line error for a failed write ("No space left on device", "Permission denied")."""
    # the C library's words, not Arrow's wrapping of them ("Error writing bytes ... [errno 28] ...")
    reason = os.strerror(error.errno) if error.errno else error.strerror or str(error)
    return FileError(path, f"cannot write: {reason}")


def _as_matrix(array: np.ndarray) -> np.ndarray:
    if array.ndim == 0:
        return array.reshape(1, 1)
    return array.reshape(array.shape[0], -1)


def _write_columns(path: str, kind: str, matrix: np.ndarray, column_names: Sequence[str] | None) -> None:
    import pyarrow as pa

    names = list(column_names) if column_names is not None else [f"column_{i + 1}" for i in range(matrix.shape[1])]
    if len(names) != matrix.shape[1]:
        raise ValueError(f"{len(names)} column names for {matrix.shape[1]} columns")
    arrow_table = pa.Table.from_arrays([pa.array(matrix[:, i]) for i in range(matrix.shape[1])], names=names)
    if kind == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(arrow_table, path)
    else:
        import pyarrow.csv as arrow_csv

        # Arrow prints the shortest text that reads back to the same double.
        arrow_csv.write_csv(arrow_table, path)


@contextlib.contextmanager
def _atomic(path: str) -> Iterator[str]:
    """A temporary path next to ``path``, renamed onto it if the block succeeds, else removed."""
    temporary = temporary_file(path, "tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def temporary_file(path: str, suffix: str) -> str:
    """Create an empty, uniquely named file next to ``path`` (same file system: a rename puts it
    in place) and return its name; a directory that cannot be written is a FileError."""
    directory = check_writable(path)
    import secrets  # on first use: its import costs start-up that runs writing nothing do not need

    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.{suffix}")
    try:
        # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask decide, as for open().
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as error:
        raise cannot_write(path, error) from None
    return temporary


def check_writable(path: str) -> str:
    """Refuse a path that names a directory or lies in a directory that does not exist (before
    anything is computed); return the directory."""
    if os.path.isdir(path):
        raise FileError(path, "is a directory, expected a file name to write")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileError(path, f"cannot write: directory {directory} does not exist")
    return directory


def append_line(path: str, line: bytes) -> int:
    """Append ``line`` (ending in a newline) to ``path`` whole or not at all; return the offset
    it starts at.

    One ``os.write`` on an ``O_APPEND`` descriptor, so concurrent writers do not interleave; a
    short write (disk full, file size limit) is truncated back, so the file never ends in half
    a line. A file that does not end in a newline (cut short by someone else) gets one first.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as error:
        raise cannot_write(path, error) from None
    try:
        size = os.fstat(descriptor).st_size
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            line = b"\n" + line
        written = os.write(descriptor, line)
        end = os.lseek(descriptor, 0, os.SEEK_CUR)
        if written != len(line):
            truncate_from(descriptor, end - written, end)
            raise FileError(path, f"cannot write: wrote {written} of {len(line)} bytes (disk full or file too large)")
    except OSError as error:
        raise cannot_write(path, error) from None
    finally:
        os.close(descriptor)
    return end - len(line)


def truncate_from(descriptor: int, start: int, end: int) -> None:
    """Cut the file back to ``start`` if it still ends at ``end`` (no one appended since)."""
    if os.fstat(descriptor).st_size == end:
        os.ftruncate(descriptor, start)
