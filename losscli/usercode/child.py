"""Entry point of the child process that runs user code (see :mod:`.isolation`)."""

import os
import pickle
import sys

from .isolation import answer


def main() -> None:
    options = pickle.load(sys.stdin.buffer)
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the user's prints, and anything else written to fd 1, go to stderr
    os.environ["JAX_ENABLE_X64"] = "1"  # before the user's file imports jax: its constants are float64 too
    answer(options, channel)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no atexit handlers of user code after the verdict


if __name__ == "__main__":
    main()
