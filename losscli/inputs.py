"""Where every array of a run comes from: the input plan, built once, read whole, in batches or by shard.

An :class:`InputPlan` names, for each input of a loss (or any named input), the file and the
columns it comes from, and likewise the sample weights, the id columns carried into outputs and
the group labels of --group-by; plus how to read (header, target format, batch size). It is the
one way any code gets named arrays: :meth:`InputPlan.load` reads everything whole,
:meth:`InputPlan.batches` streams aligned :class:`Batch` es in bounded memory, and
:meth:`InputPlan.shards` splits a sharded input (directories, globs) into one plan per shard for
the Dask engine. Every file is read once, stdin at most once.

A :class:`Batch` keeps the tables its arrays came from, so that :meth:`Batch.located` turns a
library :class:`~losscli.errors.InputError` into a one-line message naming the file, column and row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, LossCliError, RowCountError, ShardCountError
from .shaping import shape_arrays
from .sources import Source, assign_paths, parse_selectors, parse_source

WEIGHTS, GROUP_BY = "weights", "group-by"


@dataclass(frozen=True)
class Batch:
    """Consecutive rows of every input (arrays by input name), with their sample weights, group
    labels (one per row, any values) and id columns, and the table each came from."""

    arrays: dict[str, np.ndarray]
    weights: np.ndarray | None = None
    labels: np.ndarray | None = None
    ids: dict[str, np.ndarray] = field(default_factory=dict)
    tables: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(next(iter(self.arrays.values())).shape[0])

    def locate(self, error: InputError) -> LossCliError:
        """The error as one line naming the file, column and row of the offending value."""
        from .io import describe_location

        table = self.tables.get(error.input_name)
        if table is None or isinstance(error, RowCountError):
            return error
        if error.row is None and error.column is None:
            # a shape mismatch involves several inputs: name every file
            files = ", ".join(f"{name} = {table.source}" for name, table in self.tables.items())
            return LossCliError(f"{error} ({files})")
        return LossCliError(f"{error.input_name}: {describe_location(error, table)}")

    @contextlib.contextmanager
    def located(self):
        """Re-raise an InputError of the block as :meth:`locate` describes it."""
        try:
            yield
        except InputError as error:
            raise self.locate(error) from None


@dataclass(frozen=True)
class InputPlan:
    """Which file and columns every named array comes from, and how to read them.

    ``loss``: a registered loss whose input shapes the arrays take (3-D inputs folded from K·D
    columns, one-column files of [N, D] inputs, class-target format); None keeps arrays as read.
    ``shard``: (index, count) when this plan is one shard of a sharded plan.
    """

    sources: tuple[Source, ...]
    loss: str | None = None
    weights: Source | None = None
    ids: tuple[Source, ...] = ()
    group_by: Source | None = None
    header: bool = True
    target_format: str | None = None
    batch_rows: int | None = None
    shard: tuple[int, int] | None = None
    stdin: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def build(cls, loss_or_names, paths: Sequence[str], *, columns: Sequence[str] | Mapping[str, str] | None = None,
              weights: str | None = None, ids: Sequence[str] = (), group_by: str | None = None, header: bool = True,
              target_format: str | None = None, batch_rows: int | None = None, stdin=None) -> InputPlan:
        """The plan for ``paths`` (one per input, or one file with a column selector for each).

        ``loss_or_names``: a loss (name or spec), whose inputs name the arrays, or the names.
        weights: a one-column FILE, FILE:COLUMN or a COLUMN of the first input's file; ids and
        group_by: FILE:COLUMN or a COLUMN of the first input's file (text allowed).
        """
        loss, names, owner = _names_of(loss_or_names)
        paths = [str(path) for path in paths]
        selectors = parse_selectors(columns, names, owner)
        by_name = assign_paths(names, paths, selectors, owner)
        first = by_name[names[0]]
        id_sources = tuple(parse_source(text, text, first) for text in ids)
        if len({source.columns or source.path for source in id_sources}) != len(id_sources):
            raise LossCliError(f"--id is given twice for the same column ({', '.join(ids)})")
        plan = cls(tuple(Source(name, by_name[name], selectors.get(name)) for name in names), loss,
                   None if weights is None else parse_source(WEIGHTS, weights, first), id_sources,
                   None if group_by is None else parse_source(GROUP_BY, group_by, first),
                   header, target_format, batch_rows, None, stdin)
        # count the command line's '-', not the inputs: one '-' with --col for each input is fine
        extra_paths = [source.path for source in plan.all_sources()[len(names):]]
        if [*paths, *extra_paths].count("-") > 1:
            raise LossCliError("only one input can be read from stdin ('-'); give the others as files")
        return plan

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(source.name for source in self.sources)

    def all_sources(self) -> tuple[Source, ...]:
        """Every source: inputs, weights, ids and group labels."""
        extra = [source for source in (self.weights, self.group_by) if source is not None]
        return (*self.sources, *extra, *self.ids)

    def files(self) -> list[str]:
        """The distinct paths read, in order (each read once)."""
        return list(dict.fromkeys(source.path for source in self.all_sources()))

    def read_paths(self) -> list[str]:
        """Every local file this plan reads, directories and globs expanded (for checks that no
        output is written over an input)."""
        from .io.batches import expand_paths

        return [path for file in self.files() if file != "-" and "://" not in file for path in expand_paths(file)]

    def batches(self) -> Iterator[Batch]:
        """The inputs as aligned batches of rows, each file read once, in bounded memory.

        Files advance in lock-step; a file that ends before the others is a RowCountError naming
        every file and its total rows. The next batch is read by a background thread while the
        caller works on this one (decoding releases the GIL)."""
        from .io.batches import prefetch

        yield from prefetch(self._batch(pieces) for pieces in _aligned(self._readers(), self._roles(), self.shard))

    def load(self) -> Batch:
        """Every row at once (one batch)."""
        from .io.table import concat_tables

        parts: dict[str, list] = {path: [] for path in self.files()}
        for pieces in _aligned(self._readers(), self._roles(), self.shard):
            for path, table in pieces.items():
                parts[path].append(table)
        return self._batch({path: concat_tables(tables) for path, tables in parts.items()})

    def shards(self) -> list[InputPlan]:
        """One plan per shard: the i-th file of every input (directories and globs in name
        order, fsspec URLs too); the numbers of shards must match."""
        from .shards import expand_shards

        if "-" in self.files():
            raise LossCliError("--engine dask reads files, not stdin ('-'): give the input as a file")
        expanded = {path: expand_shards(path) for path in self.files()}
        counts = {len(files) for files in expanded.values()}
        if len(counts) > 1:
            roles = self._roles()
            raise ShardCountError([(roles[path], path, len(files)) for path, files in expanded.items()])
        count = counts.pop()
        return [self.renamed({path: files[index] for path, files in expanded.items()}, (index, count))
                for index in range(count)]

    def renamed(self, paths: Mapping[str, str], shard: tuple[int, int] | None = None) -> InputPlan:
        """The same plan reading ``paths[p]`` wherever it read p."""
        def moved(source):
            return None if source is None else replace(source, path=paths.get(source.path, source.path))

        return replace(self, sources=tuple(map(moved, self.sources)), weights=moved(self.weights),
                       ids=tuple(map(moved, self.ids)), group_by=moved(self.group_by),
                       shard=self.shard if shard is None else shard)

    def row_bound(self) -> int | None:
        """An upper bound on the rows of the inputs (cheap: Parquet footers, .npy headers, CSV
        line counts), or None when unknown (stdin, remote files)."""
        from .io.batches import expand_paths, row_bound

        path = self.sources[0].path
        if path == "-" or "://" in path:
            return None
        bounds = [row_bound(file, self.header) for file in expand_paths(path)]
        return None if None in bounds else sum(bounds)

    def _readers(self) -> dict[str, Iterator]:
        """A batch reader per distinct file, each asked for the id and group columns it holds."""
        from .io.batches import DEFAULT_BATCH_ROWS, iter_tables

        return {path: iter_tables(path, header=self.header, batch_rows=self.batch_rows or DEFAULT_BATCH_ROWS,
                                  stdin=self.stdin, extra=self._extra_columns(path)) for path in self.files()}

    def _extra_columns(self, path: str) -> tuple[str, ...]:
        wanted = [source.columns for source in (self.group_by, *self.ids) if source is not None
                  and source.path == path and source.columns is not None]
        return tuple(dict.fromkeys(wanted))

    def _roles(self) -> dict[str, str]:
        """{path: the first role reading it} for messages."""
        roles: dict[str, str] = {}
        for source in self.all_sources():
            roles.setdefault(source.path, source.name)
        return roles

    def _batch(self, pieces: Mapping[str, Any]) -> Batch:
        """The named, shaped arrays of one table (or aligned slice) per file."""
        from .io import select_columns

        tables = {source.name: select_columns(pieces[source.path], source.columns) if source.columns
                  else pieces[source.path] for source in self.sources}
        arrays = self._shaped(tables)
        weights = None
        if self.weights is not None:
            table = pieces[self.weights.path]
            table = select_columns(table, self.weights.columns) if self.weights.columns else table
            weights, tables[WEIGHTS] = _one_column(table), table
        labels = None if self.group_by is None else _extra_column(pieces[self.group_by.path], self.group_by)
        ids = {source.columns or Path(source.path).stem: _extra_column(pieces[source.path], source)
               for source in self.ids}
        return Batch(arrays, weights, labels, ids, tables)

    def _shaped(self, tables) -> dict[str, np.ndarray]:
        from .io import as_input_array

        arrays = {name: as_input_array(table) for name, table in tables.items()}
        if self.loss is None:
            return arrays
        from .registry import get_loss

        try:
            return shape_arrays(get_loss(self.loss), arrays, self.target_format)
        except InputError as error:
            table = tables.get(error.input_name)
            raise LossCliError(f"{table.source}: {error}" if table else str(error)) from None


def _names_of(loss_or_names) -> tuple[str | None, tuple[str, ...], str]:
    """(loss name or None, input names, who takes them) of a loss, a spec or a list of names."""
    from .spec import LossSpec

    if isinstance(loss_or_names, str | LossSpec):
        from .registry import get_loss

        spec = get_loss(loss_or_names)
        return spec.name, spec.input_names, spec.name
    names = tuple(loss_or_names)
    return None, names, "this command"


def _one_column(table) -> np.ndarray:
    from .io import as_input_array

    values = as_input_array(table)
    if values.ndim != 1:
        raise LossCliError(f"{table.source}: --weights needs one column of sample weights, got {values.shape[1]}")
    return values


def _extra_column(table, source: Source) -> np.ndarray:
    """An id or group column: kept as read when named; a whole one-column file otherwise."""
    if source.columns is not None:
        return table.extra[source.columns]
    if table.values.ndim != 2 or table.values.shape[1] != 1:
        raise LossCliError(f"{table.source}: --{source.name} needs FILE:COLUMN or a one-column file")
    return table.values[:, 0]


def _aligned(readers: dict, roles: dict[str, str], shard) -> Iterator[dict]:
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
            raise RowCountError([(roles[path], path, count) for path, count in totals.items()], shard)
        rows = min(table.rows for table in pending.values())
        yield {path: table.slice(0, rows) for path, table in pending.items()}
        pending = {path: table.slice(rows, table.rows) for path, table in pending.items()}
        delivered = {path: count + rows for path, count in delivered.items()}
