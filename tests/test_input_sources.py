"""What is read, and what it turns out to be (issue 12): pipes read once, closed or binary stdin,
text that is not UTF-8, compressed files under a .csv name, symbolic link loops. Each bad case
exits 2 with one line naming the file (and the row where there is one), never a traceback."""

from __future__ import annotations

import gzip
import os
import subprocess
import threading

import pytest
from support import LOSSCLI, ROOT, SAMPLES, assert_bad_input, program_env, run, run_program

TARGET = SAMPLES / "outliers_target.csv"
PRED_TEXT = "pred\n1.5\n2.5\n3.5\n4.0\n"  # the outliers example: mse 2304.1875 over 4 rows


def feed_fifo(path, data: bytes) -> threading.Thread:
    """A writer that opens the FIFO (blocking until a reader opens it), writes and closes."""
    def write():
        with open(path, "wb") as fifo:
            fifo.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_read_once_with_every_row(tmp_path):
    fifo = tmp_path / "pred.csv"
    os.mkfifo(fifo)
    writer = feed_fifo(fifo, PRED_TEXT.encode())
    result = run_program("compute", "mse", fifo, TARGET, "--format", "csv", timeout=60)
    writer.join(timeout=5)
    assert result.returncode == 0, result.stderr
    # every row arrived: n = 4 and the value of the whole file (a lost first row gives n = 3)
    assert result.stdout.splitlines()[1].startswith("mse,2304.1875,mean,4,"), result.stdout


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_without_a_data_extension_is_read_as_csv(tmp_path):
    fifo = tmp_path / "predictions"  # as <(python predict.py) gives /dev/fd/63
    os.mkfifo(fifo)
    writer = feed_fifo(fifo, PRED_TEXT.encode())
    result = run_program("compute", "mse", fifo, TARGET, "--format", "csv", timeout=60)
    writer.join(timeout=5)
    assert result.returncode == 0 and ",2304.1875,mean,4," in result.stdout, result.stderr


@pytest.mark.slow
def test_a_closed_stdin_is_one_line(tmp_path):
    result = subprocess.run([*LOSSCLI, "compute", "mse", "-", str(TARGET)], capture_output=True, text=True,
                            cwd=ROOT, env=program_env(), stdin=None, preexec_fn=lambda: os.close(0), timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()] and "standard input is closed" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("data", "what"), [
    (os.urandom(0) + bytes(range(256)) * 4, "NUL bytes"),
    (gzip.compress(PRED_TEXT.encode()), "gzip-compressed"),
    (PRED_TEXT.encode("utf-16"), "UTF-16"),
])
def test_binary_data_on_stdin_is_refused(data, what):
    assert_bad_input(run("compute", "mse", "-", TARGET, input=data), "<stdin>: not CSV text", what)


@pytest.mark.slow
def test_binary_stdin_through_the_program_is_one_line():
    result = run_program("compute", "mse", "-", TARGET, input=bytes(range(256)) * 8)
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert result.stderr.decode().splitlines() == ["Error: <stdin>: not CSV text: the data holds NUL bytes (binary "
                                                   "data, or UTF-16 text without a byte-order mark) (losscli reads "
                                                   "CSV as UTF-8 text)"]


@pytest.mark.parametrize(("name", "data", "fragments"), [
    ("gz.csv", gzip.compress(PRED_TEXT.encode()), ["not CSV text: the data is gzip-compressed", "gunzip"]),
    ("utf16.csv", PRED_TEXT.encode("utf-16"), ["not CSV text: the data is UTF-16 text", "iconv"]),
    ("utf16be.csv", "\ufeff".encode("utf-16-be") + PRED_TEXT.encode("utf-16-be"), ["UTF-16 text"]),
    ("zipped.csv", b"PK\x03\x04" + bytes(40), ["a zip archive"]),
    ("packed.csv", __import__("bz2").compress(PRED_TEXT.encode()), ["bzip2-compressed", "bunzip2"]),
    ("table.csv", (SAMPLES / "eval.parquet").read_bytes(), ["a Parquet file", "give it a .parquet name"]),
])
def test_files_that_are_not_csv_text_say_what_they_are(tmp_path, name, data, fragments):
    path = tmp_path / name
    path.write_bytes(data)
    assert_bad_input(run("compute", "mse", path, TARGET), str(path), *fragments)


@pytest.mark.parametrize("header", ["BZh,pred", "PAR1,pred", "PK,pred"])
def test_text_that_merely_starts_like_a_signature_is_csv(tmp_path, header):
    path = tmp_path / "pred.csv"
    path.write_text(header + "\n" + "".join(f"x,{value}\n" for value in (1.5, 2.5, 3.5, 4.0)))
    result = run("compute", "mse", path, TARGET, "--col", "pred=pred", "--format", "csv")
    assert result.exit_code == 0 and ",2304.1875,mean,4," in result.stdout, result.output


def test_a_latin1_header_names_line_1(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("préd\n1.5\n2.5\n3.5\n4\n".encode("latin-1"))
    assert_bad_input(run("compute", "mse", path, TARGET), "line 1 (the header) is not UTF-8 text", "byte 0xe9")


def test_a_latin1_cell_names_its_row_and_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("pred,city\n1.5,Paris\n2.5,Zürich\n3.5,Bern\n4,Genf\n".encode("latin-1"))
    assert_bad_input(run("compute", "mse", path, TARGET, "--col", "pred=pred"), "column 'city', row 2 (line 3)",
                     "not UTF-8 text", "save the file as UTF-8")


def test_a_symlink_loop_says_so(tmp_path):
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    assert_bad_input(run("compute", "mse", loop, TARGET), str(loop), "symbolic link loop")


def test_a_broken_symlink_names_its_target(tmp_path):
    link = tmp_path / "pred.csv"
    link.symlink_to(tmp_path / "gone.csv")
    assert_bad_input(run("compute", "mse", link, TARGET), "broken symbolic link", "gone.csv")


def test_reading_stdin_gives_bytes_from_text_and_binary_streams():
    import io

    from losscli.io.readers import read_stdin

    assert read_stdin(io.StringIO("a\n1\n")) == b"a\n1\n"
    assert read_stdin(io.TextIOWrapper(io.BytesIO(b"a\n\xff\n"))) == b"a\n\xff\n"  # bytes as they came


