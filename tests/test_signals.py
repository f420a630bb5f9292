"""Stopping a run: SIGTERM/SIGHUP leave no scratch file and no output; a closed pipe exits 141.

Real processes (``python -m losscli``), no sleeps: the first input is a FIFO, so the run has
created its scratch files and then blocks reading until the test, whose open of the FIFO for
writing returns only once the run has opened it, sends the signal.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from support import LOSSCLI, ROOT, SAMPLES, program_env

TARGET = SAMPLES / "outliers_target.csv"
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stopped_run_leaves_no_scratch_file_and_no_output(tmp_path, stop):
    fifo = tmp_path / "pred.csv"
    os.mkfifo(fifo)
    args = ["compute", "mse", "pred.csv", str(TARGET), "--per-sample", "loss.csv", "--gradient", "grad.npy",
            "--log", "runs.jsonl"]
    process = subprocess.Popen([*LOSSCLI, *args], cwd=tmp_path, env=program_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    writer = os.open(fifo, os.O_WRONLY)  # returns once the run reads its input
    try:
        os.write(writer, b"pred\n1.5\n")  # a header and a row; the rest never comes
        scratch = sorted(name for name in os.listdir(tmp_path) if name.endswith(".raw"))
        assert [name.split(".")[1] for name in scratch] == ["grad", "loss"]  # what a kill would leave
        process.send_signal(stop)
        out, err = process.communicate(timeout=60)
    finally:
        os.close(writer)
    assert process.returncode == -stop  # ended by the signal, as the shell expects (128 + N)
    assert (out, err) == (b"", b"")
    assert sorted(os.listdir(tmp_path)) == ["pred.csv"]


@pytest.mark.parametrize("args", [["gradcheck", "--all"], ["compute", "mse", SAMPLES / "outliers_pred.csv", TARGET]],
                         ids=["gradcheck", "compute"])
def test_a_closed_pipe_ends_the_run_quietly_by_sigpipe(args):
    # `losscli ... | head -1` once head has exited: the read end is closed before anything is
    # written. Before: click caught EPIPE and exited 1, the code of a failed check.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([*LOSSCLI, *map(str, args)], stdout=write_end, stderr=subprocess.PIPE,
                                env=program_env(), cwd=ROOT, timeout=300)
    finally:
        os.close(write_end)
    assert result.returncode == -signal.SIGPIPE
    assert result.stderr == b""
