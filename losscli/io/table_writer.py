"""A table of named columns written batch by batch: row numbers, ids, per-sample losses, gradients.

Rows arrive in batches of named blocks: a block is an array [rows, ...] of numbers (float64)
or of text, and every block of a batch has the same rows. A block with one value per row is one
column named after the block; k values per row are columns ``name_1`` .. ``name_k`` (or the
names given at :meth:`TableWriter.finish`). Batches go to an Arrow IPC scratch file next to the
output, in constant memory; :meth:`TableWriter.finish` scales the blocks that need a factor
known only at the end (the gradient of a mean needs the final Σw; a batch may keep a block in
units of its own, 2^-exponent, given to :meth:`TableWriter.append`) and writes the file in the
format its extension names, under a temporary name; :meth:`TableWriter.commit` renames it into
place. Until then the output path is untouched; :meth:`TableWriter.discard` removes every
scratch file. See :class:`losscli.outputs.OutputSet` for several files committed together.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .readers import file_format
from .table import FileError
from .writers import cannot_write, temporary_file


class TableWriter:
    """One output table: :meth:`append` batches, :meth:`finish` once, then :meth:`commit` or
    :meth:`discard`. ``shapes``: each block's shape per row, from the first batch."""

    def __init__(self, path: str):
        self.path, self.kind = path, file_format(path)  # an unknown extension fails before any work
        self.rows = 0
        self.shapes: dict[str, tuple[int, ...]] = {}
        self._exponents: list[Mapping[str, int]] = []  # per batch, the blocks kept in units 2^-exponent
        self._scratch: str | None = temporary_file(path, "raw")
        self._stream = None  # the Arrow IPC writer, opened with the first batch's schema
        self._staged: str | None = None

    def append(self, exponents: Mapping[str, int] | None = None, /, **blocks: np.ndarray) -> None:
        """Add the rows of one batch: ``name=array`` per block, arrays [rows, ...]; ``exponents``:
        blocks whose values are in units of 2^-exponent (see :meth:`finish`)."""
        import pyarrow as pa

        if not self.shapes:
            self.shapes = {name: np.shape(values)[1:] for name, values in blocks.items()}
        arrays = [_arrow_block(self.path, self.kind, name, blocks[name], self.shapes[name]) for name in self.shapes]
        batch = pa.RecordBatch.from_arrays(arrays, names=list(self.shapes))
        try:
            if self._stream is None:
                self._stream = pa.ipc.new_stream(self._scratch, batch.schema)
            self._stream.write_batch(batch)
        except OSError as error:
            raise cannot_write(self.path, error) from None
        self.rows += batch.num_rows
        self._exponents.append(exponents or {})

    def finish(self, scales: Mapping[str, float | Callable[[int], Any]] | None = None,
               names: Mapping[str, Sequence[str] | None] | None = None) -> None:
        """Write the whole table to a temporary file next to the output: each block times
        ``scales[block]`` (default 1), or times ``scales[block](exponent)`` for a batch that
        appended it in units of 2^-exponent (0 if it gave none); columns named by
        ``names[block]`` (default: see module)."""
        self._close_stream()
        self._staged = temporary_file(self.path, "tmp")
        try:
            _write_table(self._staged, self.kind, self._chunks(scales or {}), self._columns(names or {}),
                         self.rows, self.shapes)
        except OSError as error:
            raise cannot_write(self.path, error) from None
        finally:
            self._remove("_scratch")

    def commit(self) -> None:
        """Put the finished file in place (a rename: the old file, if any, stays until then)."""
        if self._staged is None:
            raise RuntimeError(f"{self.path}: commit before finish")
        try:
            os.replace(self._staged, self.path)
        except OSError as error:
            raise cannot_write(self.path, error) from None
        self._staged = None

    def discard(self) -> None:
        """Remove the scratch and temporary files; the output path is left as it was."""
        self._close_stream()
        self._remove("_scratch")
        self._remove("_staged")

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()

    def _remove(self, attribute: str) -> None:
        path = getattr(self, attribute)
        setattr(self, attribute, None)
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _columns(self, names: Mapping[str, Sequence[str] | None]) -> list[str]:
        columns = []
        for block, shape in self.shapes.items():
            width = int(np.prod(shape, dtype=np.int64))
            given = list(names.get(block) or [])
            default = [block] if width == 1 else [f"{block}_{i + 1}" for i in range(width)]
            if given and len(given) != width:
                raise ValueError(f"{len(given)} column names for the {width} columns of {block}")
            columns += given or default
        return columns

    def _chunks(self, scales: Mapping[str, float]):
        """The scratch file's batches as {block: values [rows, width] (numbers scaled) or text}."""
        if not self.shapes:
            return
        import pyarrow as pa

        with pa.memory_map(self._scratch) as source:
            for batch, exponents in zip(pa.ipc.open_stream(source), self._exponents, strict=True):
                yield {name: _block_values(batch.column(name), self.shapes[name],
                                           _scale_of(scales.get(name, 1.0), exponents.get(name, 0)))
                       for name in self.shapes}


def _scale_of(scale, exponent: int):
    return scale(exponent) if callable(scale) else scale


def _arrow_block(path: str, kind: str, name: str, values, shape: tuple[int, ...]):
    """One block of a batch as an Arrow column: float64 (a fixed-size list for k > 1 per row) or text."""
    import pyarrow as pa

    values = np.asarray(values)
    if values.shape[1:] != shape:
        raise ValueError(f"block {name}: rows of shape {values.shape[1:]}, earlier batches had {shape}")
    if values.dtype.kind in "OUSiub":
        if kind == "npy" or shape:
            what = "text" if values.dtype.kind in "OUS" else "integers"
            raise FileError(path, f"column {name} holds {what}: write a .csv or .parquet file, not .npy")
        if values.dtype.kind in "iub":  # row numbers and integer ids stay integers
            return pa.array(values.astype(np.int64))
        return pa.array([None if value is None else str(value) for value in values], type=pa.string())
    flat = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    width = int(np.prod(shape, dtype=np.int64))
    return pa.array(flat) if not shape else pa.FixedSizeListArray.from_arrays(pa.array(flat), width)


def _block_values(column, shape: tuple[int, ...], scale):
    import pyarrow as pa

    if pa.types.is_string(column.type) or pa.types.is_integer(column.type):
        return column
    width = int(np.prod(shape, dtype=np.int64))
    flat = column.flatten() if shape else column
    values = flat.to_numpy(zero_copy_only=False).reshape(-1, width)
    if not isinstance(scale, np.ndarray) and scale == 1.0:  # an array scale: one per column
        return values
    return values * scale


def _write_table(path: str, kind: str, chunks, columns: list[str], rows: int, shapes) -> None:
    """The chunks to ``path``: an .npy header then data (one block keeps its shape per row,
    several are side by side), or Arrow's CSV/Parquet writers (CSV: the shortest text that reads
    back to the same double)."""
    if kind == "npy":
        only = next(iter(shapes.values())) if len(shapes) == 1 else (len(columns),)
        with open(path, "wb") as handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f8", "fortran_order": False, "shape": (rows, *only)})
            for chunk in chunks:
                handle.write(np.ascontiguousarray(np.hstack(list(chunk.values()))).tobytes())
        return
    import pyarrow as pa

    tables = (_arrow_chunk(chunk, columns) for chunk in chunks)
    first = next(tables, None)
    schema = pa.schema([(name, pa.float64()) for name in columns]) if first is None else first.schema
    with contextlib.ExitStack() as stack:
        if kind == "parquet":
            import pyarrow.parquet as pq

            writer = stack.enter_context(pq.ParquetWriter(path, schema))
        else:
            import pyarrow.csv as arrow_csv

            handle = stack.enter_context(open(path, "wb"))
            # the header unquoted, as every CSV losscli writes (Arrow would quote each name)
            handle.write((",".join(schema.names) + "\n").encode("utf-8"))
            writer = stack.enter_context(arrow_csv.CSVWriter(
                handle, schema, write_options=arrow_csv.WriteOptions(include_header=False)))
        for table in itertools.chain([] if first is None else [first], tables):
            writer.write_table(table)


def _arrow_chunk(chunk: Mapping[str, object], columns: list[str]):
    """{block: [rows, width] numbers or a text column} as an Arrow table with one column per value."""
    import pyarrow as pa

    arrays = []
    for values in chunk.values():
        if isinstance(values, np.ndarray):
            arrays += [pa.array(values[:, i]) for i in range(values.shape[1])]
        else:
            arrays.append(values)
    return pa.Table.from_arrays(arrays, names=columns)
