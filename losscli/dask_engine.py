"""`losscli compute --engine dask`: shards reduced on Dask workers, merged by Dask, finished here.

Every input (a file, a directory of shards, a glob, or an fsspec URL of one of these) expands
to its shards, and the i-th shard of every input makes task i. A worker reads its task's files
with the local engine's batch reader and reduces them to a :class:`~losscli.stream.StreamPartial`;
Dask merges the partials pairwise in shard order, and :meth:`StreamReducer.result` finishes the
merged partial as it finishes a local run: one merge path for both engines. A merge places the
right partial's rows after the left's, so row numbers come out global without knowing any
shard's row count in advance (CSV shards included).

`losscli compare --engine dask` runs the same way with every loss at once: a worker reads its
shard once and reduces it, for each loss, to a :class:`~losscli.compare.ComparePartial` (value
aggregate, gradient statistics per input, influence, group aggregates). The influence needs the
top k rows of the whole input (k from --top and the total row count N), so a first, cheap round
counts every shard's rows on the workers: Parquet from its footer metadata, .npy from its header,
CSV by parsing it (a first pass over CSV shards: they are read twice). Each shard then keeps only
its largest max(k, shown) contributions and k squared gradient norms; should a count fail, the
shards keep every row (correct, only larger), and the reduce round reports the file's error.

dask and distributed are imported only here, and only when the engine runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InputError, LossCliError
from .shards import Shard, count_rows, on_local_disk, plan_shards, with_urls
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
        partial = _tree_merge(client, [client.submit(reduce_shard, job, shard, pure=False) for shard in shards],
                              merge_partials)
    if isinstance(partial, ShardFailure):
        raise LossCliError(partial.message)
    reducer = StreamReducer(spec, params, reduction, nan_policy=nan_policy, top=top)
    reducer.merge(partial)
    return reducer.result()


def _tree_merge(client, partials: list, merge):
    """Merge the futures pairwise as a tree (neighbours merge, so shard order and row order are
    kept) and return the result."""
    while len(partials) > 1:
        merged = [client.submit(merge, left, right, pure=False)
                  for left, right in zip(partials[0::2], partials[1::2], strict=False)]
        partials = merged + partials[len(merged) * 2:]
    return partials[0].result()


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
        with on_local_disk(shard) as (local, urls):
            _feed(reducer, job, local)
    except LossCliError as error:
        return _failure(error, urls, shard)
    return reducer.partial


def _failure(error: LossCliError, urls: dict[str, str], shard: Shard) -> ShardFailure:
    message = with_urls(str(error), urls)
    if message.startswith(ROW_MISMATCH):
        message = f"{ROW_MISMATCH} in shard {shard.index + 1} of {shard.count}{message[len(ROW_MISMATCH):]}"
    return ShardFailure(message)


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


@dataclass(frozen=True)
class CompareJob:
    """What every shard is compared with: the losses (by name) and their resolved parameters,
    how to read the files, and how many rows the influence keeps (None: all)."""

    losses: tuple[str, ...]
    params: tuple[dict[str, Any], ...]
    header: bool
    col_selectors: tuple[str, ...] | None
    keep: tuple[int | None, int | None]


def compare_with_dask(specs: Sequence[LossSpec], params: Sequence[dict[str, Any]], inputs: Sequence[str], *,
                      top: float, shown: int | None = None, scheduler: str | None = None, workers: int = 2,
                      header: bool = True, col_selectors: Sequence[str] | None = None, weights: str | None = None,
                      group_by: str | None = None):
    """`losscli compare` over sharded inputs on a Dask cluster (as :func:`reduce_with_dask`):
    (comparisons, {loss name: group values} or None), equal to a local compare of the shards
    concatenated. ``params``: each loss's resolved parameters, in the order of ``specs``."""
    from .influence import DEFAULT_SHOWN_ROWS, influence_keep, top_count

    shown = DEFAULT_SHOWN_ROWS if shown is None else shown
    top_count(top, 1)  # a bad --top fails before the cluster starts
    distributed = _import_distributed()
    shards = plan_shards(specs[0], inputs, col_selectors=col_selectors, weights=weights, group_by=group_by)
    with _client(distributed, scheduler, workers) as client:
        counts = client.gather([client.submit(count_rows, shard, header, pure=False) for shard in shards])
        keep = (None, None) if None in counts else influence_keep(top, max(1, sum(counts)), shown)
        job = CompareJob(tuple(spec.name for spec in specs), tuple(dict(item) for item in params), header,
                         None if col_selectors is None else tuple(col_selectors), keep)
        partial = _tree_merge(client, [client.submit(compare_shard, job, shard, pure=False) for shard in shards],
                              merge_compare_partials)
    if isinstance(partial, ShardFailure):
        raise LossCliError(partial.message)
    if partial is None:
        raise LossCliError("no rows to compare")
    finished = [item.finish(spec, resolved, top, shown) for spec, resolved, item in zip(specs, params, partial,
                                                                                         strict=True)]
    comparisons = [comparison for comparison, _ in finished]
    groups = None if group_by is None else {spec.name: values for spec, (_, values) in zip(specs, finished,
                                                                                           strict=True)}
    return comparisons, groups


def merge_compare_partials(left, right):
    """Two neighbouring shards' per-loss partials as one (None: a shard without rows); the first
    failure (in row order) wins."""
    if isinstance(left, ShardFailure) or isinstance(right, ShardFailure):
        return left if isinstance(left, ShardFailure) else right
    if left is None or right is None:
        return right if left is None else left
    return tuple(first.merge(second) for first, second in zip(left, right, strict=True))


def compare_shard(job: CompareJob, shard: Shard):
    """One shard's :class:`~losscli.compare.ComparePartial` per loss (on a worker; None for a
    shard without rows), or the one line the local engine would print for its error."""
    from .cli.inputs import input_batches
    from .compare import ComparePartial
    from .registry import get_loss

    specs = [get_loss(name) for name in job.losses]
    partials = None
    urls: dict[str, str] = {}
    try:
        with on_local_disk(shard) as (local, urls):
            for batch, loaded in input_batches(specs[0], local.paths, header=job.header,
                                               col_selectors=job.col_selectors, weights=local.weights,
                                               group_by=local.group_by):
                try:
                    pieces = tuple(ComparePartial.of(spec, batch.arrays, params, batch.weights, batch.labels, job.keep)
                                   for spec, params in zip(specs, job.params, strict=True))
                except InputError as error:
                    raise LossCliError(loaded.explain(error)) from None
                partials = merge_compare_partials(partials, pieces)
    except LossCliError as error:
        return _failure(error, urls, shard)
    return partials


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
                                  dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        yield client
