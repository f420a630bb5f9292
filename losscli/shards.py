"""Shards for the Dask engine: which files go together, and reading them on a worker.

Every input (a file, a directory of shards, a glob, or an fsspec URL of one of these) expands
to its shards; the i-th shard of every input (and of --weights / --group-by files) makes one
:class:`Shard`. Workers read local paths; remote files are copied to a temporary file first.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from .errors import LossCliError
from .spec import LossSpec


@dataclass(frozen=True)
class Shard:
    """The i-th shard of every input: one file per command-line input, and this shard's file for
    --weights FILE and --group-by FILE:COLUMN (weights may instead name a column)."""

    index: int
    count: int
    paths: tuple[str, ...]
    weights: str | None = None
    weights_file: bool = False
    group_file: str | None = None
    group_column: str | None = None

    @property
    def group_by(self) -> str | None:
        return self.group_column if self.group_file is None else f"{self.group_file}:{self.group_column}"

    def files(self) -> list[str]:
        return list(dict.fromkeys([*self.paths, *([self.weights] if self.weights_file else []),
                                   *([self.group_file] if self.group_file else [])]))

    def renamed(self, names: dict[str, str]) -> Shard:
        """The same shard with files renamed by ``names`` (others kept)."""
        return replace(self, paths=tuple(names.get(path, path) for path in self.paths),
                       weights=names.get(self.weights, self.weights) if self.weights_file else self.weights,
                       group_file=names.get(self.group_file, self.group_file))


def plan_shards(spec: LossSpec, inputs: Sequence[str], *, col_selectors: Sequence[str] | None = None,
                weights: str | None = None, group_by: str | None = None) -> list[Shard]:
    """The shards of every input, the i-th of each together; their numbers must match."""
    from .cli.inputs import _is_file_name, assign_paths, parse_selectors

    sources = assign_paths(spec, inputs, parse_selectors(col_selectors, spec))
    if "-" in [*inputs, weights]:
        raise LossCliError("--engine dask reads files, not stdin ('-'): give the input as a file")
    roles: dict[str, str] = {}
    for name, path in sources.items():
        roles.setdefault(path, name)
    weights_file = weights if weights is not None and _is_file_name(weights) else None
    group_file, _, group_column = (group_by or "").rpartition(":")
    if not (group_file and _is_file_name(group_file)):
        group_file, group_column = None, group_by
    roles.update({path: role for path, role in ((weights_file, "weights"), (group_file, "group-by")) if path})
    shards = {path: expand_shards(path) for path in roles}
    counts = {len(files) for files in shards.values()}
    if len(counts) > 1:
        found = ", ".join(f"{roles[path]} has {len(files)} shards ({path})" for path, files in shards.items())
        raise LossCliError(f"shard-count mismatch: the i-th shard of each input goes together, but {found}")
    count = counts.pop()
    return [Shard(index, count, tuple(shards[path][index] for path in inputs),
                  shards[weights_file][index] if weights_file else weights, weights_file is not None,
                  shards[group_file][index] if group_file else None, group_column)
            for index in range(count)]


def expand_shards(source: str) -> list[str]:
    """The shard files of a path or URL, in order: a directory's data files by name, a glob's
    sorted matches, or the one file. Local files (and file:// URLs) come back as absolute paths,
    so workers started elsewhere find them; other URLs stay URLs."""
    from .io.batches import expand_paths
    from .io.readers import FORMATS
    from .io.table import FileError

    if "://" not in source:
        return [os.path.abspath(path) for path in expand_paths(source)]
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    filesystem, path = fsspec.core.url_to_fs(source)
    if isinstance(filesystem, LocalFileSystem):
        return expand_shards(path)
    if any(char in path for char in "*?["):
        found = sorted(match for match in filesystem.glob(path) if filesystem.isfile(match))
        if not found:
            raise FileError(source, "no file matches this pattern")
    elif filesystem.isdir(path):
        found = sorted(name for name in filesystem.ls(path, detail=False)
                       if posixpath.splitext(name)[1].lower() in FORMATS
                       and not posixpath.basename(name).startswith("."))
        if not found:
            raise FileError(source, "is a directory with no .csv, .parquet or .npy files in it")
    else:
        found = [path]
    return [filesystem.unstrip_protocol(name) for name in found]


@contextlib.contextmanager
def on_local_disk(shard: Shard) -> Iterator[tuple[Shard, dict[str, str]]]:
    """The shard with every remote file (s3://, gs://, ...) copied to a temporary local file, as
    the readers take local paths; also {local copy: URL} to put the URLs back into messages."""
    remote = [path for path in shard.files() if "://" in path]
    if not remote:
        yield shard, {}
        return
    import tempfile

    import fsspec

    with tempfile.TemporaryDirectory(prefix="losscli-shard-") as folder:
        copies = {url: os.path.join(folder, f"{number}-{posixpath.basename(url)}") for number, url in enumerate(remote)}
        for url, copy in copies.items():
            try:
                with fsspec.open(url, "rb") as source, open(copy, "wb") as target:
                    shutil.copyfileobj(source, target, 16 << 20)
            except OSError as error:
                raise LossCliError(f"{url}: cannot read: {error}") from None
        yield shard.renamed(copies), {copy: url for url, copy in copies.items()}


def with_urls(message: str, urls: dict[str, str]) -> str:
    for copy, url in urls.items():
        message = message.replace(copy, url)
    return message


def count_rows(shard: Shard, header: bool = True) -> int | None:
    """The rows of the shard's first input file (on a worker): a Parquet footer's count, an .npy
    header's first dimension, or a CSV parsed through; None when the file cannot be read."""
    import numpy as np

    from .io.batches import iter_tables

    path = shard.paths[0]
    kind = os.path.splitext(path)[1].lower()
    try:
        if kind == ".parquet":
            import fsspec
            import pyarrow.parquet as pq

            with fsspec.open(path, "rb") as handle:
                return int(pq.ParquetFile(handle).metadata.num_rows)
        if kind == ".npy" and "://" not in path:
            return int(np.load(path, mmap_mode="r", allow_pickle=False).shape[0])
        alone = Shard(shard.index, shard.count, (path,))
        with on_local_disk(alone) as (local, _):
            return sum(table.rows for table in iter_tables(local.paths[0], header=header))
    except Exception:  # any failure: keep every row; the reduce round reports the error
        return None
