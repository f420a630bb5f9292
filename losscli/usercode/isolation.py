"""Run a check of user code in a child process (``python -m losscli.usercode.child``).

The user's code then cannot fake a verdict: what it prints goes to stderr (the child's file
descriptor 1 is its stderr; the result travels on a pipe of its own), ``sys.exit(0)`` is caught
as an error of the user's code, and ``os._exit(0)`` ends the child without a result, which the
parent reports as an error (exit 2), never as a pass. A child that does not answer within
``timeout`` seconds is killed.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

from ..errors import LossCliError
from .loading import UserCodeError


def run_isolated(label: str, options: dict, timeout: float | None = None):
    """``losscli.checking.gradcheck(**options)`` in a child process; its result or its error."""
    child = subprocess.Popen([sys.executable, "-m", "losscli.usercode.child"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=None)
    try:
        answer, _ = child.communicate(pickle.dumps(options), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UserCodeError(f"{label} did not return within {timeout:g} s (--timeout); stopped it") from None
    finally:  # a timeout, or an interrupt of the parent: never leave the user's code running
        if child.poll() is None:
            child.kill()
            child.communicate()
    if not answer:
        raise UserCodeError(f"{label} ended the check's process (exit status {child.returncode}) before a "
                            "verdict: user code must return, not exit")
    kind, value = pickle.loads(answer)  # written by our child below, after the user's code returned
    if kind == "error":
        raise value
    return value


def answer(options: dict, channel) -> None:
    """The child's side: run the check, write ("result", result) or ("error", LossCliError)."""
    from ..checking import gradcheck

    try:
        message = ("result", gradcheck(**options))
    except LossCliError as error:
        message = ("error", error if _round_trips(error) else LossCliError(str(error)))
    except BaseException as error:  # noqa: BLE001 - whatever escaped, the parent must get one line
        message = ("error", UserCodeError(f"{options.get('target')}: {type(error).__name__}: {error}"))
    channel.write(pickle.dumps(message))
    channel.flush()


def _round_trips(error: Exception) -> bool:
    try:
        return str(pickle.loads(pickle.dumps(error))) == str(error)
    except Exception:  # noqa: BLE001 - an exception that does not pickle is sent as its text
        return False
