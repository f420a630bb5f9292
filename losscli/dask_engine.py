"""`losscli compute --engine dask`: shards reduced on Dask workers, merged by Dask, finished here.

Every input (a file, a directory of shards, a glob, or an fsspec URL of one of these) expands
to its shards, and the i-th shard of every input makes task i. A worker reads its task's files
with the local engine's batch reader and reduces them to a :class:`~losscli.stream.StreamPartial`;
Dask merges the partials pairwise in shard order, and :meth:`StreamReducer.result` finishes the
merged partial as it finishes a local run: one merge path for both engines. A merge places the
right partial's rows after the left's, so row numbers come out global without knowing any
shard's row count in advance (CSV shards included).

dask and distributed are imported only here, and only when the engine runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .errors import InputError, LossCliError
from .spec import LossSpec
from .stream import StreamPartial, StreamReducer, StreamResult

INSTALL_HINT = "--engine dask needs Dask: pip install 'losscli[dask]'"
ROW_MISMATCH = "row-count mismatch"


@dataclass(frozen=True)
class Job:
    """What every shard is reduced with (sent to the workers; the loss travels by name)."""

    loss: str
    params: dict[str, Any]
    reduction: str
    nan_policy: str
    top: int
    header: bool
    col_selectors: tuple[str, ...] | None
    target_format: str | None


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


@dataclass(frozen=True)
class ShardFailure:
    """Why a shard could not be reduced, in one line. Returned rather than raised: the first
    failing shard in row order is then the one reported (as in a local run), and workers log no
    tracebacks for bad input."""

    message: str


def reduce_with_dask(spec: LossSpec, params: dict[str, Any], reduction: str, inputs: Sequence[str], *,
                     nan_policy: str = "raise", top: int = 5, scheduler: str | None = None, workers: int = 2,
                     header: bool = True, col_selectors: Sequence[str] | None = None, weights: str | None = None,
                     group_by: str | None = None, target_format: str | None = None) -> StreamResult:
    """The result of `losscli compute` over sharded inputs, computed on a Dask cluster: the one at
    ``scheduler`` (an address such as tcp://10.0.0.5:8786), else a local cluster of ``workers``
    single-threaded processes, closed afterwards."""
    distributed = _import_distributed()
    shards = plan_shards(spec, inputs, col_selectors=col_selectors, weights=weights, group_by=group_by)
    job = Job(spec.name, dict(params), reduction, nan_policy, top, header,
              None if col_selectors is None else tuple(col_selectors), target_format)
    with _client(distributed, scheduler, workers) as client:
        partials = [client.submit(reduce_shard, job, shard, pure=False) for shard in shards]
        while len(partials) > 1:  # a tree: neighbours merge, so shard order (and row order) is kept
            merged = [client.submit(merge_partials, left, right, pure=False)
                      for left, right in zip(partials[0::2], partials[1::2], strict=False)]
            partials = merged + partials[len(merged) * 2:]
        partial = partials[0].result()
    if isinstance(partial, ShardFailure):
        raise LossCliError(partial.message)
    reducer = StreamReducer(spec, params, reduction, nan_policy=nan_policy, top=top)
    reducer.merge(partial)
    return reducer.result()


def merge_partials(left: StreamPartial | ShardFailure, right: StreamPartial | ShardFailure):
    """Two neighbouring partials as one; the first failure (in row order) wins."""
    if isinstance(left, ShardFailure) or isinstance(right, ShardFailure):
        return left if isinstance(left, ShardFailure) else right
    return left.merge(right)


def reduce_shard(job: Job, shard: Shard) -> StreamPartial | ShardFailure:
    """One shard's partial aggregates (on a worker), or the one line the local engine would
    print for its error (naming the file, column and row)."""
    from .registry import get_loss

    spec = get_loss(job.loss)
    reducer = StreamReducer(spec, job.params, job.reduction, nan_policy=job.nan_policy, top=job.top)
    urls: dict[str, str] = {}
    try:
        with _on_local_disk(shard) as (local, urls):
            _feed(reducer, job, local)
    except LossCliError as error:
        message = _with_urls(str(error), urls)
        if message.startswith(ROW_MISMATCH):
            message = f"{ROW_MISMATCH} in shard {shard.index + 1} of {shard.count}{message[len(ROW_MISMATCH):]}"
        return ShardFailure(message)
    return reducer.partial


def _feed(reducer: StreamReducer, job: Job, shard: Shard) -> None:
    """Stream the shard's files through the reducer, as a local run streams its inputs."""
    from .cli.inputs import input_batches

    for batch, loaded in input_batches(reducer.spec, shard.paths, header=job.header, col_selectors=job.col_selectors,
                                       target_format=job.target_format, weights=shard.weights,
                                       group_by=shard.group_by):
        try:
            reducer.add(batch)
        except InputError as error:
            raise LossCliError(loaded.explain(error)) from None


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
def _on_local_disk(shard: Shard) -> Iterator[tuple[Shard, dict[str, str]]]:
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


def _with_urls(message: str, urls: dict[str, str]) -> str:
    for copy, url in urls.items():
        message = message.replace(copy, url)
    return message


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise LossCliError(INSTALL_HINT) from None
    return distributed


@contextlib.contextmanager
def _client(distributed, scheduler: str | None, workers: int):
    """A client of the cluster at ``scheduler``, or of a local cluster started (and closed) here."""
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler)
        except (OSError, TimeoutError, ValueError) as error:  # refused or timed out; a malformed address
            raise LossCliError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
        with client:
            yield client
        return
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        yield client
