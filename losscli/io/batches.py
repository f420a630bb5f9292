"""Streaming readers: a CSV, Parquet or .npy input (a file, a directory of shards or a glob)
as consecutive :class:`Table` batches of bounded size, so memory does not grow with the file.

Files below STREAM_BYTES (and stdin) are read whole by :func:`read_table`, one batch; larger
ones in batches of about ``batch_rows`` rows. Each batch's ``first_row`` places it in its file,
so errors name the file's own row and line.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import numpy as np

from .arrow import batch_values, extra_columns
from .readers import FORMATS, check_exists, check_readable, file_format, is_stream, open_parquet, read_table
from .table import FileError, Table

DEFAULT_BATCH_ROWS = 1 << 20
BATCH_VALUES = 1 << 20  # values per batch across all columns (8 MiB of float64)
STREAM_BYTES = 32 << 20
CSV_BLOCK_BYTES = 8 << 20  # 8 MiB: 16 and 32 measured no faster at 10 M rows, with 80 and 200 MiB more RSS
LINE_PROBE_BYTES = 1 << 12  # read back from a block's end to find its last line end


def expand_paths(path: str) -> list[str]:
    """A file as given; a directory as its data files in name order; a glob as its sorted matches."""
    if path == "-":
        return [path]
    if any(char in path for char in "*?["):
        matches = sorted(match for match in glob.glob(path) if os.path.isfile(match))
        if not matches:
            raise FileError(path, "no file matches this pattern")
        return matches
    if os.path.isdir(path):
        shards = sorted(os.path.join(path, name) for name in os.listdir(path)
                        if os.path.splitext(name)[1].lower() in FORMATS and not name.startswith("."))
        if not shards:
            raise FileError(path, "is a directory with no .csv, .parquet or .npy files in it")
        return shards
    return [path]


def iter_tables(path: str, *, header: bool = True, batch_rows: int = DEFAULT_BATCH_ROWS,
                stdin=None, extra: Sequence[str] = ()) -> Iterator[Table]:
    """Batches of every file ``path`` names, in order; all must have the first file's columns.
    ``extra`` columns are kept as they are in each batch (see :attr:`Table.extra`)."""
    columns = None
    for file_path in expand_paths(path):
        for batch in _iter_file(file_path, header, batch_rows, stdin, tuple(extra)):
            if columns is None:
                columns = batch.columns
            elif batch.columns != columns:
                raise FileError(batch.source, f"expected the columns of the first file ({', '.join(columns)}), "
                                f"got {', '.join(batch.columns) or 'an .npy array'}")
            yield batch


def _iter_file(path: str, header: bool, batch_rows: int, stdin, extra: tuple[str, ...]) -> Iterator[Table]:
    if path == "-" or is_stream(path) or os.path.isfile(path) and os.path.getsize(path) < STREAM_BYTES:
        yield read_table(path, header=header, stdin=stdin, extra=extra)
        return
    check_exists(path)
    kind = file_format(path)
    check_readable(path)
    if kind == "parquet":
        yield from _iter_parquet(path, batch_rows, extra)
    elif kind == "npy":
        yield from _iter_npy(path, batch_rows, extra)
    else:
        yield from _iter_csv(path, header, extra)


def _iter_parquet(path: str, batch_rows: int, extra: tuple[str, ...]) -> Iterator[Table]:
    import pyarrow as pa

    try:
        # pre_buffer reads ahead whole row groups: faster on object stores, +150 MiB here
        parquet = open_parquet(path, extra, pre_buffer=False)
        # about batch_rows values per column of a narrow file: wide files (logits) get fewer rows
        rows = max(1, min(batch_rows, BATCH_VALUES // max(len(parquet.schema_arrow), 1)))
        record_batches = parquet.iter_batches(batch_size=rows, use_threads=True)
        yield from _tables(record_batches, path, "parquet", 0, extra)
    except pa.ArrowException as error:
        raise FileError(path, f"not a valid Parquet file: {str(error).splitlines()[0]}") from None


def _iter_npy(path: str, batch_rows: int, extra: tuple[str, ...]) -> Iterator[Table]:
    if extra:
        raise FileError(path, f"an .npy array has no named columns (asked for {', '.join(map(repr, extra))})",
                        hint="use a CSV or Parquet file for id and group columns")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        raise FileError(path, f"not a valid .npy file: {error}") from None
    rows = max(1, min(batch_rows, BATCH_VALUES // max(int(np.prod(array.shape[1:], dtype=np.int64)), 1)))
    for start in range(0, array.shape[0], rows):
        yield Table(path, (), np.asarray(array[start:start + rows], dtype=np.float64), 0, "npy", (), start)


def _iter_csv(path: str, header: bool, extra: tuple[str, ...]) -> Iterator[Table]:
    """A large CSV in blocks of about CSV_BLOCK_BYTES, cut at line ends, each parsed on its own
    by Arrow's multi-threaded reader (faster than its streaming reader here) with the header
    line in front.
    Each block after the first is parsed with the first block's numeric columns typed (float64,
    or boolean for true/false), and read in place through a memory map where a lease protects
    it (:mod:`~losscli.io.mapped`).
    A quoted field spanning lines must not straddle a block boundary."""
    from .csvread import csv_block
    from .mapped import FileMap
    from .sniff import check_text

    first_row = 0
    names, skipped, booleans = None, (), frozenset()
    with open(path, "rb") as handle:
        header_line = handle.readline() if header else b""
        header_breaks = header_line.count(b"\n")
        lines_before = header_breaks  # lines of the file before the block's first line
        file_map = None
        for start, stop in _line_ranges(handle, len(header_line), CSV_BLOCK_BYTES):
            with _block(handle, header_line, start, stop, file_map) as data:
                if first_row == 0:
                    check_text(path, data)
                table, line_count, found_booleans = csv_block(
                    path, data, header, extra, first_row=first_row, line_offset=lines_before - header_breaks,
                    columns=names, booleans=booleans, threads=True)
            if names is None:
                names, skipped, booleans = table.columns, table.skipped_columns, found_booleans
            file_map = file_map or FileMap.open(handle.fileno())
            yield replace(table, skipped_columns=skipped)
            first_row += table.rows
            lines_before += line_count - header_breaks
    if first_row == 0:
        raise FileError(path, "header only, no data rows" if header else "empty file")


@contextmanager
def _block(handle, header: bytes, start: int, stop: int, file_map) -> Iterator[bytes | bytearray]:
    """Bytes ``start`` to ``stop`` of the file with ``header`` in front: mapped while the
    block is in use if ``file_map`` can lease it, else read."""
    if file_map is not None:
        with file_map.block(start, stop, header) as mapped:
            if mapped is not None:
                yield mapped
                return
    block = bytearray(len(header) + stop - start)
    block[:len(header)] = header
    handle.seek(start)
    read = handle.readinto(memoryview(block)[len(header):])  # the file's bytes are copied once
    del block[len(header) + read:]  # a file truncated meanwhile: what is left of the block
    yield block


def _line_ranges(handle, start: int, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive byte ranges of the file from ``start`` to its end, each ending after the last
    line end within ``size`` bytes of its start (after the next one if a line is longer); the
    last one ends at the end of the file."""
    while (end := os.fstat(handle.fileno()).st_size) > start:
        if end - start <= size:
            yield start, end
            return
        stop = _after_last_line_end(handle, start, start + size)
        stop = stop if stop > start else _after_next_line_end(handle, start + size)
        yield start, stop
        start = stop


def _after_last_line_end(handle, start: int, limit: int) -> int:
    """The offset after the last line end between ``start`` and ``limit`` (``start`` if none)."""
    while limit > start:
        probe_start = max(start, limit - LINE_PROBE_BYTES)
        at = _read_at(handle, probe_start, limit - probe_start).rfind(b"\n")
        if at >= 0:
            return probe_start + at + 1
        limit = probe_start
    return start


def _after_next_line_end(handle, position: int) -> int:
    """The offset after the first line end from ``position`` on (the end of the file if none)."""
    while probe := _read_at(handle, position, LINE_PROBE_BYTES):
        at = probe.find(b"\n")
        if at >= 0:
            return position + at + 1
        position += len(probe)
    return position


def _read_at(handle, offset: int, size: int) -> bytes:
    handle.seek(offset)
    return handle.read(size)


def _tables(record_batches, source: str, kind: str, header_lines: int, extra: tuple[str, ...]) -> Iterator[Table]:
    """Tables of the numeric columns of consecutive Arrow record batches.

    The first batch decides which columns are numeric (as :func:`read_table` does for a whole
    file); later batches must hold numbers (or missing cells) in those columns.
    """
    names, skipped = None, ()
    first_row = 0
    first_line = header_lines + 1 if kind == "csv" else None
    for record_batch in record_batches:
        if record_batch.num_rows == 0:
            continue
        found, values, found_skipped = batch_values(record_batch, source, names, first_row=first_row,
                                                    first_line=first_line)
        names, skipped = (found, found_skipped) if names is None else (names, skipped)
        yield Table(source, names, values, header_lines, kind, skipped, first_row,
                    extra_columns(record_batch, extra, source))
        first_row += record_batch.num_rows
    if first_row == 0:
        raise FileError(source, "no data rows")


def prefetch(items: Iterator, depth: int = 1) -> Iterator:
    """The same items, produced ``depth`` ahead by a background thread.

    Decoding a file (pyarrow, no GIL) then overlaps with the NumPy work on the previous batch:
    on two cores the slower of the two sets the pace, not their sum. An exception in the
    producer is raised in the consumer; a consumer that stops early stops the producer.
    """
    import queue
    import threading

    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    finished = object()

    def produce():
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((finished, None))
        except BaseException as error:  # handed to the consumer, which raises it
            slots.put((finished, error))

    worker = threading.Thread(target=produce, name="losscli-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if error is not None:
                raise error
            if item is finished:
                return
            yield item
    finally:
        stop.set()


def row_bound(path: str, header: bool = True) -> int | None:
    """An upper bound on the data rows of one file, without parsing it: a Parquet footer's
    count, an .npy header's first dimension, a CSV file's line count (blank lines and quoted
    line breaks only raise it); None when the file cannot be read or is a pipe (read once)."""
    try:
        kind = file_format(path)
        if not os.path.isfile(path):
            return None
        if kind == "parquet":
            return _parquet_rows(path)
        if kind == "npy":
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
            return int(shape[0]) if shape else 1
        lines, last = 0, b"\n"
        with open(path, "rb") as handle:
            while block := handle.read(CSV_BLOCK_BYTES):
                lines, last = lines + block.count(b"\n"), block[-1:]
        return max(0, lines + (last != b"\n") - (1 if header else 0))
    except (OSError, ValueError, FileError):
        return None


def _parquet_rows(path: str) -> int | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except pa.ArrowException:
        return None
