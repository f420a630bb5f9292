"""How a run stops: on SIGTERM or SIGHUP, and when the reader of its output goes away.

A stop signal is turned into an exception in the main thread, so the run unwinds as on an
error (an :class:`losscli.outputs.OutputSet` removes its scratch files, a local Dask cluster
is closed), and the process then ends by that same signal, so its parent sees what stopped it.
"""

from __future__ import annotations

import errno
import os
import signal

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A stop signal arrived; not an Exception, so no ``except Exception`` swallows it."""

    def __init__(self, signal_number: int):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


def stop_on_signals() -> None:
    """Raise :class:`Stopped` on SIGTERM and SIGHUP (a signal ignored by the parent, as under
    nohup, stays ignored)."""
    for number in STOP_SIGNALS:
        if signal.getsignal(number) == signal.SIG_DFL:
            signal.signal(number, _raise_stopped)


def _raise_stopped(number, frame):
    for each in STOP_SIGNALS:
        signal.signal(each, signal.SIG_IGN)  # a second signal must not cut the clean-up short
    raise Stopped(number)


def closed_pipe(exit_: SystemExit) -> bool:
    """Whether click ended the run because stdout's reader went away (it exits 1 on EPIPE)."""
    cause = exit_.__context__
    return isinstance(cause, OSError) and cause.errno == errno.EPIPE


def die_by(number: int) -> None:
    """End the process by signal ``number`` as if it had not been caught: the shell sees
    128 + number (143 for SIGTERM, 141 for SIGPIPE), a Python parent -number."""
    signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {number})
    os.kill(os.getpid(), number)
    os._exit(128 + number)  # not reached: the signal ends the process first
