"""`--engine dask`: shards reduced on Dask workers, merged by Dask, finished here.

An :class:`~losscli.inputs.InputPlan` splits into one plan per shard (the i-th file of every
input). A worker reads its shard with the local engine's batch reader and reduces it with the
same :class:`~losscli.stream.StreamReducer` s a local run uses, one per loss (`compute` of one
or several losses, `compare` with its influence); Dask merges the partials pairwise in shard
order, and the reducers here take in the merged partials and finish exactly as a local run:
one merge path for both engines. A merge places the right partial's rows after the left's, so
row numbers come out global without knowing any shard's row count in advance.

The influence of `compare` keeps the top k rows of the whole input (k from --top and the row
count), so a first, cheap round bounds every shard's rows on the workers (Parquet footers,
.npy headers, CSV line counts); each shard then keeps just the rows the whole input needs.

dask and distributed are imported only here, and only when the engine runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import LossCliError
from .influence import InfluenceRequest
from .inputs import InputPlan
from .partial import StreamPartial
from .shards import on_local_disk, shard_row_bound, with_urls
from .stream import StreamReducer, reduce_batches

INSTALL_HINT = "--engine dask needs Dask: pip install 'losscli[dask]'"
DEFAULT_TIMEOUT = 30.0  # seconds to connect to a scheduler and hear its handshake


@dataclass(frozen=True)
class ReducerJob:
    """What a worker builds one reducer from (the loss travels by name)."""

    loss: str
    params: dict[str, Any]
    reduction: str
    nan_policy: str
    top: int
    gradient_inputs: tuple[str, ...]
    influence: InfluenceRequest | None

    @classmethod
    def of(cls, reducer: StreamReducer) -> ReducerJob:
        return cls(reducer.spec.name, reducer.params, reducer.reduction, reducer.nan_policy, reducer.top,
                   reducer.gradient_inputs, reducer.influence)

    def reducer(self) -> StreamReducer:
        from .registry import get_loss

        return StreamReducer(get_loss(self.loss), self.params, self.reduction, nan_policy=self.nan_policy,
                             top=self.top, gradient_inputs=self.gradient_inputs, influence=self.influence)


@dataclass(frozen=True)
class ShardFailure:
    """Why a shard could not be reduced, in one line. Returned rather than raised: the first
    failing shard in row order is then the one reported (as in a local run), and workers log no
    tracebacks for bad input."""

    message: str


def reduce_on_dask(plan: InputPlan, make_reducers: Callable[[int | None], list[StreamReducer]], *,
                   scheduler: str | None = None, workers: int = 2, bound_rows: bool = False,
                   timeout: float | None = None) -> list[StreamReducer]:
    """The reducers ``make_reducers(row bound)`` made here, fed with every shard of ``plan``
    reduced on a Dask cluster: the one at ``scheduler`` (an address such as
    tcp://10.0.0.5:8786; ``timeout`` seconds to connect and hear it answer, default 30), else a
    local cluster of ``workers`` single-threaded processes, closed afterwards. ``bound_rows``:
    first bound the rows of all shards (None when unknown)."""
    distributed = _import_distributed()
    shards = plan.shards()
    with _client(distributed, scheduler, workers, DEFAULT_TIMEOUT if timeout is None else timeout) as client:
        bound = None
        if bound_rows:
            bounds = client.gather([client.submit(shard_row_bound, shard, pure=False) for shard in shards])
            bound = None if None in bounds else sum(bounds)
        reducers = make_reducers(bound)
        jobs = tuple(ReducerJob.of(reducer) for reducer in reducers)
        partials = _tree_merge(client, [client.submit(reduce_shard, jobs, shard, pure=False) for shard in shards])
    if isinstance(partials, ShardFailure):
        raise LossCliError(partials.message)
    for reducer, partial in zip(reducers, partials, strict=True):
        reducer.merge(partial)
    return reducers


def compare_on_dask(specs, params: Sequence[dict[str, Any]], plan: InputPlan, *, top: float, shown: int,
                    scheduler: str | None = None, workers: int = 2, timeout: float | None = None):
    """`losscli compare` over sharded inputs on a Dask cluster: equal to a local compare."""
    from .compare import LossComparison, comparison_reducers

    InfluenceRequest.for_rows(top, 1, shown)  # a bad --top fails before the cluster starts
    reducers = reduce_on_dask(
        plan, lambda bound: comparison_reducers(specs, params, InfluenceRequest.for_rows(top, bound, shown)),
        scheduler=scheduler, workers=workers, bound_rows=True, timeout=timeout)
    return [LossComparison(reducer.result()) for reducer in reducers]


def _tree_merge(client, partials: list):
    """Merge the futures pairwise as a tree (neighbours merge, so shard order and row order are
    kept) and return the result."""
    while len(partials) > 1:
        merged = [client.submit(merge_partials, left, right, pure=False)
                  for left, right in zip(partials[0::2], partials[1::2], strict=False)]
        partials = merged + partials[len(merged) * 2:]
    return partials[0].result()


def merge_partials(left, right):
    """Two neighbouring shards' partials (one per reducer) as one; the first failure (in row
    order) wins."""
    if isinstance(left, ShardFailure) or isinstance(right, ShardFailure):
        return left if isinstance(left, ShardFailure) else right
    return tuple(first.merge(second) for first, second in zip(left, right, strict=True))


def reduce_shard(jobs: Sequence[ReducerJob], plan: InputPlan) -> tuple[StreamPartial, ...] | ShardFailure:
    """One shard's partial per reducer (on a worker), or the one line the local engine would
    print for its error (naming the file, column and row)."""
    reducers = [job.reducer() for job in jobs]
    urls: dict[str, str] = {}
    try:
        with on_local_disk(plan) as (local, urls):
            reduce_batches(local.batches(), reducers)
    except LossCliError as error:
        return ShardFailure(with_urls(str(error), urls))
    return tuple(reducer.partial for reducer in reducers)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise LossCliError(INSTALL_HINT) from None
    return distributed


@contextlib.contextmanager
def _client(distributed, scheduler: str | None, workers: int, timeout: float):
    """A client of the cluster at ``scheduler``, or of a local cluster started (and closed) here."""
    if scheduler is not None:
        _check_scheduler(distributed, scheduler, timeout)
        try:
            client = distributed.Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as error:  # refused or timed out; a malformed address
            raise LossCliError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
        with client:
            yield client
        return
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _check_scheduler(distributed, address: str, timeout: float) -> None:
    """Connect to ``address`` and complete Dask's handshake within ``timeout`` seconds, or raise
    a one-line LossCliError. distributed waits for the handshake without a deadline, so a
    server that accepts and never answers would hang the client; one that sends something else
    than Dask's protocol fails in many ways."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def handshake():
        comm = await asyncio.wait_for(distributed.comm.connect(address, timeout=timeout), timeout)
        await comm.close()

    # a thread of its own: the caller may already run an event loop (a notebook)
    with ThreadPoolExecutor(1, thread_name_prefix="losscli-dask-check") as pool:
        try:
            pool.submit(asyncio.run, handshake()).result()
        except (asyncio.TimeoutError, TimeoutError):
            raise LossCliError(f"the Dask scheduler at {address} did not answer within {timeout:g} s "
                               "(--timeout SECONDS to wait longer)") from None
        except (OSError, ValueError) as error:  # refused, unreachable, a malformed address
            raise LossCliError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        except Exception as error:  # noqa: BLE001 - whatever garbage a non-Dask server makes the parser raise
            raise LossCliError(f"{address} does not answer as a Dask scheduler "
                               f"({type(error).__name__}: {error})") from None
