"""Blocks of a large CSV file read in place through a memory map: Arrow parses the page cache
without a copy into a read buffer (0.1–0.25 s of 1.7–1.9 s for a 10 M-row compute here).

Reading a mapped page of a file that another process has truncated kills the reader with
SIGBUS, and no message. So each block is read under a read lease (``fcntl F_SETLEASE``,
Linux): while the lease is held, a process that opens the file for writing or truncates it
waits, and the lease is released as soon as the block is parsed (milliseconds). The kernel
refuses a lease while anyone has the file open for writing, on a file of another user and on
file systems without leases; that block is then read with read(). A writer's arrival is
signalled with SIGURG, which a process ignores by default (SIGIO, the default signal, would
end it).

The one case a lease cannot cover: a reader stopped (Ctrl-Z) in the middle of a block for
longer than ``/proc/sys/fs/lease-break-time`` (45 s) while a writer truncates the file.
"""

from __future__ import annotations

import mmap
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager


class MappedBlock:
    """Bytes ``start`` to ``stop`` of a mapped file with ``header`` (the file's header line, or
    nothing) in front, not copied.

    It answers the bytes methods the CSV reader uses on a block (find, startswith, ``in``, and
    slices), as the whole text would; ``body`` is the mapped part, for Arrow;
    ``bytes(block)`` copies the whole text, for the rare paths that need real bytes.
    """

    def __init__(self, mapping: mmap.mmap, start: int, stop: int, header: bytes):
        self.header = header
        self.body = memoryview(mapping)[start:stop]
        self._mapping, self._start, self._stop = mapping, start, stop

    def __len__(self) -> int:
        return len(self.header) + self._stop - self._start

    def __bytes__(self) -> bytes:
        return self.header + self._mapping[self._start:self._stop]

    def __getitem__(self, key: slice) -> bytes:
        start, stop, step = key.indices(len(self))
        if step != 1:
            return bytes(self)[key]
        body_start, body_stop = (self._start + max(index - len(self.header), 0) for index in (start, stop))
        return self.header[start:stop] + self._mapping[body_start:body_stop]

    def __contains__(self, sub: bytes) -> bool:
        return self.find(sub) >= 0

    def find(self, sub: bytes, start: int = 0) -> int:
        """The first index of ``sub`` at or after ``start`` in the whole text, or -1."""
        if start < len(self.header):
            # the header and the first bytes of the body: a match may straddle the seam
            seam = self.header + self._mapping[self._start:min(self._start + len(sub) - 1, self._stop)]
            at = seam.find(sub, start)
            if at >= 0:
                return at
        at = self._mapping.find(sub, self._start + max(start - len(self.header), 0), self._stop)
        return -1 if at < 0 else at - self._start + len(self.header)

    def startswith(self, prefix: bytes | tuple[bytes, ...]) -> bool:
        longest = max(map(len, prefix)) if isinstance(prefix, tuple) else len(prefix)
        return (self.header + self._mapping[self._start:min(self._start + longest, self._stop)]).startswith(prefix)


class FileMap:
    """A regular file mapped read-only, whose blocks are handed out under a read lease. The
    map is unmapped when the last block of it is freed (Arrow may hold one a little longer than
    the parse, so there is no close())."""

    def __init__(self, fd: int, mapping: mmap.mmap):
        self._fd, self._mapping = fd, mapping

    @classmethod
    def open(cls, fd: int) -> FileMap | None:
        """The map of the file open (read-only) as ``fd``, or None where leases cannot protect
        it (not Linux, SIGURG handled by the program, a lease refused now)."""
        try:
            import fcntl
        except ImportError:  # Windows
            return None
        if not hasattr(fcntl, "F_SETLEASE") or signal.getsignal(signal.SIGURG) is not signal.SIG_DFL:
            return None
        try:
            _lease(fd)
        except OSError:
            return None
        try:
            return cls(fd, mmap.mmap(fd, 0, access=mmap.ACCESS_READ))
        except (OSError, ValueError):
            return None
        finally:
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)

    @contextmanager
    def block(self, start: int, stop: int, header: bytes) -> Iterator[MappedBlock | None]:
        """Bytes ``start`` to ``stop`` (with ``header`` in front) while a read lease keeps
        writers out; None when no lease is granted or the file no longer reaches ``stop``."""
        import fcntl

        try:
            _lease(self._fd)
        except OSError:
            yield None
            return
        covered = False
        try:
            covered = stop <= len(self._mapping) and os.fstat(self._fd).st_size >= stop
            yield MappedBlock(self._mapping, start, stop, header) if covered else None
        finally:
            if covered and stop > start:
                # drop the block's pages from this process (they stay in the page cache), so
                # RSS holds one block however large the file
                first_page = start - start % mmap.PAGESIZE
                self._mapping.madvise(mmap.MADV_DONTNEED, first_page, stop - first_page)
            fcntl.fcntl(self._fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)


def _lease(fd: int) -> None:
    """Take a read lease on ``fd``, its breaking signalled by SIGURG (set each time: releasing
    a lease resets the signal to SIGIO on some kernels)."""
    import fcntl

    fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
