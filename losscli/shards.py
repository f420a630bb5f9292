"""Shards for the Dask engine: the files of a sharded input, and reading them on a worker.

Every input (a file, a directory of shards, a glob, or an fsspec URL of one of these) expands
to its shards (:func:`expand_shards`); :meth:`losscli.inputs.InputPlan.shards` puts the i-th
shard of every input together. Workers read local paths; remote files are copied to a
temporary file first (:func:`on_local_disk`).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
from collections.abc import Iterator

from .errors import LossCliError
from .inputs import InputPlan


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
def on_local_disk(plan: InputPlan) -> Iterator[tuple[InputPlan, dict[str, str]]]:
    """The plan with every remote file (s3://, gs://, ...) copied to a temporary local file, as
    the readers take local paths; also {local copy: URL} to put the URLs back into messages."""
    remote = [path for path in plan.files() if "://" in path]
    if not remote:
        yield plan, {}
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
        yield plan.renamed(copies), {copy: url for url, copy in copies.items()}


def with_urls(message: str, urls: dict[str, str]) -> str:
    """A message about local copies, naming the URLs they were copied from."""
    for copy, url in urls.items():
        message = message.replace(copy, url)
    return message


def shard_row_bound(plan: InputPlan) -> int | None:
    """An upper bound on the rows of one shard's first input (on a worker; remote files are
    copied first); None when it cannot be read (the reduce round then reports the error)."""
    first = plan.sources[0]
    try:
        with on_local_disk(InputPlan((first,), header=plan.header)) as (local, _):
            return local.row_bound()
    except LossCliError:
        return None
