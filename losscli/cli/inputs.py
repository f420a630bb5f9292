"""From command-line paths and --col selectors to the named arrays a loss takes.

Reads each file once (stdin at most once), picks columns, gives each array the shape its
InputSpec expects (1-D ids or labels, K·D key columns folded to [N, K, D]) and turns a
library InputError into a message that names the file, column and row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, LossCliError
from ..io.readers import FORMATS
from ..spec import Domain, LossSpec
from ..stream import Batch


@dataclass
class LoadedInputs:
    """Arrays by input name, and the table each came from (for error locations)."""

    arrays: dict[str, np.ndarray]
    tables: dict
    weights: np.ndarray | None = None

    def explain(self, error: InputError) -> str:
        """One line naming the file, column and row of a library InputError."""
        from .. import io

        table = self.tables.get(error.input_name)
        if table is None:
            return str(error)
        if error.row is None and error.column is None:
            # A shape mismatch involves several inputs: name every file.
            files = ", ".join(f"{name} = {table.source}" for name, table in self.tables.items())
            return f"{error} ({files})"
        return f"{error.input_name}: {io.describe_location(error, table)}"


def parse_selectors(items: Sequence[str] | None, spec: LossSpec) -> dict[str, str]:
    """--col NAME=SELECTOR options as {input name: selector}."""
    selectors = {}
    for item in items or []:
        name, sep, selector = item.partition("=")
        if not sep or not selector:
            raise LossCliError(f"expected --col INPUT=COLUMNS, got {item!r}")
        if name not in spec.input_names:
            raise LossCliError(f"--col {item}: {spec.name} has no input {name!r} "
                               f"(inputs: {', '.join(spec.input_names)})")
        selectors[name] = selector
    return selectors


def assign_paths(spec: LossSpec, paths: Sequence[str], selectors: dict[str, str]) -> dict[str, str]:
    """Which file each input comes from: one file per input, or one file with --col for each."""
    names = spec.input_names
    if len(paths) == len(names):
        return dict(zip(names, paths, strict=True))
    if len(paths) == 1 and set(selectors) == set(names):
        return dict.fromkeys(names, paths[0])
    usage = f"{spec.name} takes {len(names)} inputs ({' '.join(names)})"
    if len(paths) == 1:
        missing = [name for name in names if name not in selectors]
        raise LossCliError(f"{usage}: give {len(names)} files, or one file with --col for each input "
                           f"(missing --col {', '.join(missing)})")
    raise LossCliError(f"{usage}, got {len(paths)} files")


def load_inputs(spec: LossSpec, paths: Sequence[str], *, header: bool = True,
                col_selectors: Sequence[str] | None = None, target_format: str | None = None,
                weights: str | None = None, stdin=None) -> LoadedInputs:
    """Read the files named on the command line, whole, into arrays shaped for ``spec``."""
    from .. import io

    plan = _plan(spec, paths, col_selectors, weights)
    pieces = {path: io.read_table(path, header=header, stdin=stdin) for path in plan.files}
    return plan.load(spec, pieces, target_format)


def input_batches(spec: LossSpec, paths: Sequence[str], *, header: bool = True,
                  col_selectors: Sequence[str] | None = None, target_format: str | None = None,
                  weights: str | None = None, group_by: str | None = None, batch_rows: int | None = None,
                  stdin=None) -> Iterator[tuple[Batch, LoadedInputs]]:
    """The inputs as aligned batches of rows, each file read once, in bounded memory.

    Inputs from different files advance in lock-step; a file that ends before the others is a
    row-count mismatch naming every file and its total rows. Yields each batch with its tables
    (for error locations).
    """
    from ..io.batches import DEFAULT_BATCH_ROWS, iter_tables

    plan = _plan(spec, paths, col_selectors, weights)
    readers = {path: iter_tables(path, header=header, batch_rows=batch_rows or DEFAULT_BATCH_ROWS, stdin=stdin)
               for path in plan.files}
    labels = group_labels(group_by, plan.files[0], header)
    first_row = 0
    for pieces in _aligned(readers, plan.sources):
        loaded = plan.load(spec, pieces, target_format)
        rows = pieces[plan.files[0]].rows
        batch_labels = None if labels is None else labels[first_row:first_row + rows]
        yield Batch(loaded.arrays, loaded.weights, batch_labels), loaded
        first_row += rows
    if labels is not None and labels.shape[0] != first_row:
        raise LossCliError(f"row-count mismatch: --group-by {group_by} has {labels.shape[0]} rows, "
                           f"the inputs {first_row}")


@dataclass(frozen=True)
class _Plan:
    """Which file each input (and --weights) comes from, and the columns to take."""

    sources: dict[str, str]
    selectors: dict[str, str]
    weights: str | None
    weights_path: str | None
    files: list[str]

    def load(self, spec: LossSpec, pieces: dict, target_format: str | None) -> LoadedInputs:
        """The named, shaped arrays of one table (or aligned batch) per file."""
        from .. import io

        tables = {name: io.select_columns(pieces[path], self.selectors[name]) if name in self.selectors
                  else pieces[path] for name, path in self.sources.items()}
        loaded = LoadedInputs(_shaped(spec, tables, target_format), tables)
        if self.weights is not None:
            table = (pieces[self.weights_path] if self.weights_path
                     else io.select_columns(pieces[self.files[0]], self.weights))
            loaded.weights, tables["weights"] = _weight_column(table), table
        return loaded


def _plan(spec: LossSpec, paths: Sequence[str], col_selectors, weights: str | None) -> _Plan:
    selectors = parse_selectors(col_selectors, spec)
    sources = assign_paths(spec, paths, selectors)
    # Count the command line's '-', not the inputs: one '-' with --col for each input is fine.
    if [*paths, weights].count("-") > 1:
        raise LossCliError("only one input can be read from stdin ('-'); give the others as files")
    weights_path = weights if weights is not None and _is_file_name(weights) else None
    files = list(dict.fromkeys([*sources.values(), *([weights_path] if weights_path else [])]))
    return _Plan(sources, selectors, weights, weights_path, files)


def _is_file_name(value: str) -> bool:
    return value == "-" or Path(value).suffix.lower() in FORMATS or any(c in value for c in "*?[/")


def group_labels(group_by: str | None, default_path: str, header: bool = True):
    """--group-by COLUMN (of ``default_path``, the first input's file) or FILE:COLUMN, read
    whole (text allowed): one label per row."""
    if group_by is None:
        return None
    from .. import io
    from ..io.batches import expand_paths

    path, sep, column = group_by.rpartition(":")
    if not sep or not _is_file_name(path):
        path, column = default_path, group_by
    # a directory or glob of shards: the column of every shard, in the order they are read
    return np.concatenate([io.read_column(shard, column, header=header) for shard in expand_paths(path)])


def _aligned(readers: dict, sources: dict[str, str]) -> Iterator[dict]:
    """Equal-length slices of every reader's tables, until all end together."""
    pending = dict.fromkeys(readers)
    delivered = dict.fromkeys(readers, 0)
    while True:
        for path, reader in readers.items():
            while pending[path] is None or pending[path].rows == 0:
                pending[path] = next(reader, None)
                if pending[path] is None:
                    break
        ended = [path for path in readers if pending[path] is None]
        if len(ended) == len(readers):
            return
        if ended:
            totals = {path: delivered[path] + (0 if pending[path] is None else pending[path].rows)
                      + sum(table.rows for table in readers[path]) for path in readers}
            raise LossCliError(_count_mismatch(totals, sources))
        rows = min(table.rows for table in pending.values())
        yield {path: _slice(table, 0, rows) for path, table in pending.items()}
        pending = {path: _slice(table, rows, table.rows) for path, table in pending.items()}
        delivered = {path: count + rows for path, count in delivered.items()}


def _count_mismatch(totals: dict[str, int], sources: dict[str, str]) -> str:
    names = {path: next((name for name, source in sources.items() if source == path), "weights")
             for path in totals}
    counts = ", ".join(f"{names[path]} has {count} rows ({path})" for path, count in totals.items())
    return f"row-count mismatch: {counts}"


def _slice(table, start: int, stop: int):
    from dataclasses import replace

    return replace(table, values=table.values[start:stop], first_row=table.first_row + start)


def _shaped(spec, tables, target_format):
    from .. import io

    arrays = {name: io.as_input_array(table) for name, table in tables.items()}
    try:
        return shape_arrays(spec, arrays, target_format)
    except InputError as error:
        table = tables.get(error.input_name)
        raise LossCliError(f"{table.source}: {error}" if table else str(error)) from None


def _weight_column(table) -> np.ndarray:
    from .. import io

    values = io.as_input_array(table)
    if values.ndim != 1:
        raise LossCliError(f"{table.source}: --weights needs one column of sample weights, got {values.shape[1]}")
    return values


def shape_arrays(spec: LossSpec, arrays: dict[str, np.ndarray], target_format: str | None) -> dict[str, np.ndarray]:
    """Give flat CSV/Parquet arrays the shapes the spec declares.

    3-D inputs stored as K·D columns per row are folded with D taken from another input;
    ``target_format`` ("index" or "onehot") overrides the detection of class targets.
    """
    shaped = dict(arrays)
    sizes = {pattern[-1]: array.shape[-1] for input_spec in spec.inputs
             for pattern in input_spec.shapes for array in [arrays[input_spec.name]]
             if len(pattern) == array.ndim and array.ndim > 1}
    for input_spec in spec.inputs:
        array = shaped[input_spec.name]
        ranks = {len(pattern) for pattern in input_spec.shapes if "..." not in pattern}
        if ranks == {3} and array.ndim == 2:
            shaped[input_spec.name] = _fold(array, input_spec, sizes)
        elif ranks and min(ranks) >= 2 and array.ndim == 1:
            shaped[input_spec.name] = array[:, None]  # a one-column file of a [N, D] input
        if input_spec.domain is Domain.CLASS_TARGET and target_format is not None:
            _check_target_format(array, input_spec.name, target_format)
    return shaped


def _fold(array, input_spec, sizes):
    last = input_spec.shapes[0][-1]
    width = sizes.get(last)
    if not width or array.shape[1] % width:
        raise InputError(f"expected {input_spec.shape_text()} stored as groups of {last}={width} columns, "
                         f"got {array.shape[1]} columns", input_name=input_spec.name)
    return array.reshape(array.shape[0], array.shape[1] // width, width)


def _check_target_format(array, name, target_format):
    if target_format == "index" and array.ndim != 1:
        raise InputError(f"--target-format index expects one column of class ids, got {array.shape[1]} columns",
                         input_name=name)
    if target_format == "onehot" and array.ndim != 2:
        raise InputError("--target-format onehot expects one column per class, got a single column",
                         input_name=name)
