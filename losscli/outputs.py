"""The files a run writes: never a file it reads, and all of them or none.

:func:`check_outputs` compares every path a run reads with every path it writes, before
anything is read or written: the same resolved path (symlinks followed), or the same file
(device and inode: a hard link, a bind mount). :class:`OutputSet` holds the files of one run
(tables written batch by batch, lines appended to a log) and commits them together at the end,
or removes every trace of them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
from collections.abc import Iterable, Mapping

from .errors import LossCliError
from .io.writers import append_line, check_writable, truncate_from

STDIN = "-"
# Signals that stop a run; held back while a set of outputs is put in place.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGHUP, signal.SIGINT})


class OutputClashError(LossCliError):
    """An output that is a file the run reads, or that another output writes.

    ``option`` and ``output`` name the output (``--log``, its path); ``other`` is the path it
    clashes with and ``other_option`` the option writing it (None when the run reads it).
    """

    def __init__(self, option: str, output: str, other: str, other_option: str | None = None):
        self.option, self.output, self.other, self.other_option = option, output, other, other_option
        if other_option is None:
            text = (f"{option} {output}: refusing to overwrite the input file {other} "
                    "(write the output to another path)")
        else:
            same = output if os.path.abspath(output) == os.path.abspath(other) else f"{other} (as {output})"
            text = f"{other_option} and {option} both write {same}: give two different paths"
        super().__init__(text)


def check_outputs(reads: Iterable[str], writes: Mapping[str, str | None]) -> None:
    """Raise :class:`OutputClashError` when an output is a file that is read, or two outputs
    are one file. ``reads``: the paths read ("-" is stdin: the file behind it, if any);
    ``writes``: {option: path or None}. Outputs that do not exist yet compare by resolved path."""
    outputs = [(option, path, _identity(path)) for option, path in writes.items() if path not in (None, STDIN)]
    read = [(path, _identity(path)) for path in dict.fromkeys(reads) if "://" not in path]
    for index, (option, path, identity) in enumerate(outputs):
        for other_option, other, other_identity in outputs[:index]:
            if _same(identity, other_identity):
                raise OutputClashError(option, path, other, other_option)
        for source, source_identity in read:
            if _same(identity, source_identity):
                raise OutputClashError(option, path, "stdin" if source == STDIN else source)


def _identity(path: str) -> tuple[str | None, tuple[int, int] | None]:
    """(resolved path, (device, inode)): either may be None (stdin has no path; a file that does
    not exist has no inode)."""
    try:
        status = os.fstat(0) if path == STDIN else os.stat(path)
    except OSError:
        status = None
    resolved = None if path == STDIN else os.path.realpath(path)
    if path == STDIN and (status is None or not stat.S_ISREG(status.st_mode)):
        status = None  # a terminal or a pipe is not a file an output could overwrite
    return resolved, None if status is None else (status.st_dev, status.st_ino)


def _same(first, second) -> bool:
    (path, inode), (other_path, other_inode) = first, second
    return (path is not None and path == other_path) or (inode is not None and inode == other_inode)


class OutputSet:
    """Every file one run writes, committed together at the end or not at all.

    Declare the outputs first (``{option: path or None}``, checked against ``reads`` by
    :func:`check_outputs`), then open their :meth:`table` s and feed them, queue log lines
    with :meth:`append_line`, :meth:`TableWriter.finish` the tables and :meth:`commit`. Used as
    a context manager, leaving the block without a commit (an error, a signal turned into an
    exception) removes every scratch file and leaves each output path as it was.
    """

    def __init__(self, outputs: Mapping[str, str | None], reads: Iterable[str] = ()):
        check_outputs(reads, outputs)
        self.declared = {path for path in outputs.values() if path is not None}
        for path in self.declared:
            check_writable(path)
        self.tables: dict = {}  # path -> TableWriter
        self.lines: dict[str, bytes] = {}

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.discard()

    def table(self, path: str):
        """The table written at ``path`` (a declared output), created on first use."""
        self._check_declared(path)
        if path not in self.tables:
            from .io.table_writer import TableWriter

            self.tables[path] = TableWriter(path)
        return self.tables[path]

    def append_line(self, path: str, line: bytes) -> None:
        """Queue ``line`` to be appended to ``path`` (a declared output) at :meth:`commit`."""
        self._check_declared(path)
        self.lines[path] = self.lines.get(path, b"") + line

    def commit(self) -> None:
        """Append the lines, then rename the finished tables into place, with stop signals held
        back; a failure takes the appended lines back out and leaves the tables unwritten."""
        with _signals_held():
            appended = []
            try:
                for path, line in self.lines.items():
                    start = append_line(path, line)
                    appended.append((path, start, start + len(line)))
                for table in self.tables.values():
                    table.commit()
            except BaseException:
                for path, start, end in appended:
                    _take_back(path, start, end)
                raise
            finally:
                self.lines = {}
                self.discard()

    def discard(self) -> None:
        """Remove every scratch and temporary file; nothing queued is written."""
        for table in self.tables.values():
            table.discard()
        self.tables, self.lines = {}, {}

    def _check_declared(self, path: str) -> None:
        if path not in self.declared:
            raise ValueError(f"{path} is not a declared output of this run")


def _take_back(path: str, start: int, end: int) -> None:
    with contextlib.suppress(OSError), open(path, "r+b") as handle:
        truncate_from(handle.fileno(), start, end)


@contextlib.contextmanager
def _signals_held():
    """Stop signals wait until the block is done (delivered right after it), so a run stopped
    while its outputs are being put in place has either all of them or none."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
