"""Which file and columns a named input comes from: the Source of an array, FILE:COLUMN and
--col INPUT=COLUMNS parsed once, and input files assigned to a loss's inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import LossCliError


@dataclass(frozen=True)
class Source:
    """One named array: a path (a file, a directory of shards, a glob, '-' for stdin or a URL)
    and a column selector ("yhat", "a,b,c", "emb_*"; None: every numeric column)."""

    name: str
    path: str
    columns: str | None = None


def is_file_name(text: str) -> bool:
    """True for what names a file rather than a column: '-', a data file extension, a glob, a
    directory path or a URL."""
    from .io.readers import FORMATS

    return text == "-" or Path(text).suffix.lower() in FORMATS or any(char in text for char in "*?[/")


def parse_source(name: str, text: str, default_path: str) -> Source:
    """FILE:COLUMN, a FILE of one column (sharded or not), or a COLUMN of ``default_path``."""
    path, sep, column = text.rpartition(":")
    if sep and path and column and is_file_name(path):
        return Source(name, path, column)
    if is_file_name(text):
        return Source(name, text)
    return Source(name, default_path, text)


def parse_selectors(items: Sequence[str] | Mapping[str, str] | None, names: Sequence[str],
                    owner: str) -> dict[str, str]:
    """--col NAME=SELECTOR options (or a mapping) as {input name: selector}; every name must
    be one of ``names`` (the inputs of ``owner``) and appear once."""
    if isinstance(items, Mapping):
        items = [f"{name}={selector}" for name, selector in items.items()]
    selectors: dict[str, str] = {}
    for item in items or []:
        name, sep, selector = item.partition("=")
        if not sep or not selector:
            raise LossCliError(f"expected --col INPUT=COLUMNS, got {item!r}")
        if name not in names:
            raise LossCliError(f"--col {item}: {owner} has no input {name!r} (inputs: {', '.join(names)})")
        if name in selectors:
            raise LossCliError(f"--col {name} is given twice ({selectors[name]!r} and {selector!r}): give it once")
        selectors[name] = selector
    return selectors


def assign_paths(names: Sequence[str], paths: Sequence[str], selectors: Mapping[str, str],
                 owner: str) -> dict[str, str]:
    """Which file each input comes from: one file per input, or one file with --col for each."""
    if len(paths) == len(names):
        return dict(zip(names, paths, strict=True))
    if len(paths) == 1 and set(selectors) == set(names):
        return dict.fromkeys(names, paths[0])
    usage = f"{owner} takes {len(names)} inputs ({' '.join(names)})"
    if len(paths) == 1:
        missing = [name for name in names if name not in selectors]
        raise LossCliError(f"{usage}: give {len(names)} files, or one file with --col for each input "
                           f"(missing --col {', '.join(missing)})")
    raise LossCliError(f"{usage}, got {len(paths)} files")
