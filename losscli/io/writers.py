"""Writers for per-sample and gradient outputs: .csv, .parquet or .npy, written atomically."""

from __future__ import annotations

import contextlib
import os
import secrets
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
        raise FileError(path, f"cannot write: {error.strerror or error}") from None


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
    temporary = _temporary_file(path, "tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _temporary_file(path: str, suffix: str) -> str:
    """Create an empty, uniquely named file next to ``path`` and return its name."""
    if os.path.isdir(path):
        raise FileError(path, "is a directory, expected a file name to write")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileError(path, f"cannot write: directory {directory} does not exist")
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.{suffix}")
    # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask decide, as for open().
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return temporary


def check_output_path(output: str, inputs: Sequence[str]) -> None:
    """Refuse to write ``output`` over one of ``inputs`` (same path or same file via a link)."""
    if output == "-":
        return
    target = os.path.realpath(output)
    for source in inputs:
        if source == "-":
            continue
        same = os.path.realpath(source) == target
        if not same and os.path.exists(output) and os.path.exists(source):
            same = os.path.samefile(output, source)
        if same:
            raise FileError(output, f"refusing to overwrite the input file {source}",
                            hint="write the output to another path")


STREAM_CHUNK_ROWS = 1 << 18


class ArrayStreamWriter:
    """Rows written batch by batch, in constant memory; the file appears only at :meth:`finish`.

    Batches go to a raw float64 scratch file next to ``path``; finish(scale) converts it to
    the format of the extension (multiplying by ``scale``: the gradient of a mean is known only
    once every batch is in) through a temporary name and a rename. Used as a context manager,
    an exception removes every scratch file and leaves no output.
    """

    def __init__(self, path: str, column_names: Sequence[str] | None = None):
        self.path, self.column_names = path, column_names
        self.kind = file_format(path)
        self.rows, self.row_shape = 0, None
        self._scratch = _temporary_file(path, "raw")
        self._handle = open(self._scratch, "wb")  # closed in finish() or abort()

    def __enter__(self) -> ArrayStreamWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None:
            self.abort()

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.float64)
        if self.row_shape is None:
            self.row_shape = rows.shape[1:]
        self._handle.write(rows.tobytes())
        self.rows += rows.shape[0]

    def finish(self, scale: float = 1.0, column_names: Sequence[str] | None = None) -> None:
        self._handle.close()
        self.column_names = column_names or self.column_names
        shape = (self.rows, *(self.row_shape or ()))
        raw = np.memmap(self._scratch, dtype=np.float64, mode="r", shape=shape) if self.rows else np.empty(shape)
        try:
            with _atomic(self.path) as temporary:
                _write_chunks(temporary, self.kind, raw, scale, self.column_names)
        except OSError as error:
            raise FileError(self.path, f"cannot write: {error.strerror or error}") from None
        finally:
            del raw
            self.abort()

    def abort(self) -> None:
        self._handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self._scratch)


def _write_chunks(path: str, kind: str, raw: np.ndarray, scale: float, column_names) -> None:
    """raw·scale to ``path`` chunk by chunk: an .npy header then data, or Arrow CSV/Parquet writers."""
    chunks = (raw[start:start + STREAM_CHUNK_ROWS] * scale for start in range(0, max(raw.shape[0], 1),
                                                                               STREAM_CHUNK_ROWS))
    if kind == "npy":
        with open(path, "wb") as handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f8", "fortran_order": False, "shape": raw.shape})
            for chunk in chunks:
                handle.write(np.ascontiguousarray(chunk).tobytes())
        return
    import pyarrow as pa

    width = int(np.prod(raw.shape[1:], dtype=np.int64))
    names = list(column_names) if column_names is not None else [f"column_{i + 1}" for i in range(width)]
    schema = pa.schema([(name, pa.float64()) for name in names])
    if kind == "parquet":
        import pyarrow.parquet as pq

        writer = pq.ParquetWriter(path, schema)
    else:
        import pyarrow.csv as arrow_csv

        writer = arrow_csv.CSVWriter(path, schema)
    with writer:
        for chunk in chunks:
            matrix = chunk.reshape(chunk.shape[0], -1)
            writer.write_table(pa.Table.from_arrays([pa.array(matrix[:, i]) for i in range(width)], schema=schema))
