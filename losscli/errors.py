"""The project's exception types.

Library code raises these with messages of the form "expected X, got Y"; the CLI is the one
place that turns them into exit codes (2 for every subclass of :class:`LossCliError`).
"""

from __future__ import annotations


class LossCliError(Exception):
    """Bad usage or bad input: the CLI prints one line and exits 2."""


class UnknownLossError(LossCliError):
    """A loss name that is neither a canonical name nor an alias."""


class ParameterError(LossCliError):
    """An unknown parameter, or a value that is not a number or is out of range."""


class InputError(LossCliError):
    """An input array with the wrong shape, a non-finite value or a value outside its domain.

    ``input_name``, ``row`` and ``column`` locate the offending value (0-based indices into the
    array as passed); readers that know the file and its column names use them to point at the
    exact cell.
    """

    def __init__(self, message: str, *, input_name: str | None = None,
                 row: int | None = None, column: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.input_name = input_name
        self.row = row
        self.column = column
        self.hint = hint

    def __str__(self) -> str:
        where = [self.input_name] if self.input_name else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text


def _counts_text(counts, unit: str) -> str:
    return ", ".join(f"{role} has {count} {unit} ({path})" for role, path, count in counts)


class RowCountError(InputError):
    """Inputs whose row counts differ. ``counts``: (role, path, rows) per file; ``shard``:
    (index, count) when the files are one shard of sharded inputs."""

    def __init__(self, counts, shard: tuple[int, int] | None = None):
        self.counts, self.shard = tuple(counts), shard
        where = "" if shard is None else f" in shard {shard[0] + 1} of {shard[1]}"
        super().__init__(f"row-count mismatch{where}: {_counts_text(self.counts, 'rows')}")

    def in_shard(self, index: int, count: int) -> RowCountError:
        return RowCountError(self.counts, (index, count))


class ShardCountError(LossCliError):
    """Sharded inputs whose numbers of shards differ: (role, path, shards) per input."""

    def __init__(self, counts):
        self.counts = tuple(counts)
        super().__init__("shard-count mismatch: the i-th shard of each input goes together, but "
                         + _counts_text(self.counts, "shards"))
