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
    if os.path.isdir(path):
        raise FileError(path, "is a directory, expected a file name to write")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileError(path, f"cannot write: directory {directory} does not exist")
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask decide, as for open().
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


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
