"""Large CSVs read in place through a memory map (losscli.io.mapped): the same tables as blocks
read with read(), and a lease that keeps a writer out while a mapped block is parsed."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from losscli.io import FileError, read_table
from losscli.io import batches as batches_module
from losscli.io.batches import iter_tables
from losscli.io.mapped import FileMap, MappedBlock

# Each text streams in blocks of 64 bytes: blocks after the first are mapped.
TEXTS = {
    "numbers": "pred,target\n" + "".join(f"{i}.5,{i % 7}\n" for i in range(60)),
    "no header": "".join(f"{i}.5,{i % 7}\n" for i in range(60)),
    "text ids": "id,pred\n" + "".join(f"row{i},{i}.25\n" for i in range(60)),
    "blank lines": "pred\n" + "".join(f"{i}.5\n" + ("\n\n" if i % 11 == 0 else "") for i in range(60)),
    "quotes later": "pred,note\n" + "".join(f'{i}.5,"a, b"\n' if i > 30 else f"{i}.5,n\n" for i in range(60)),
    "crlf": "pred,target\r\n" + "".join(f"{i}.5,{i}\r\n" for i in range(60)),
    "no final newline": "pred\n" + "\n".join(f"{i}.5" for i in range(60)),
    "blank unfinished tail": "pred\n" + "".join(f"{i}.5\n" for i in range(60)) + "   ",
    "a line longer than a block": "pred,note\n" + "".join(f"{i}.5,{'x' * (200 if i == 40 else 1)}\n"
                                                          for i in range(60)),
    "byte-order mark": "\ufeffpred,target\n" + "".join(f"{i}.5,{i}\n" for i in range(60)),
    "missing markers": "pred,target\n" + "".join(f"{'NA' if i % 9 == 0 else i},{i}\n" for i in range(60)),
}
EXTRA = {"text ids": ["id"], "quotes later": ["note"]}


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(batches_module, "STREAM_BYTES", 0)
    monkeypatch.setattr(batches_module, "CSV_BLOCK_BYTES", 64)


def streamed(path, header: bool, extra, monkeypatch, mapped: bool):
    """The batches of ``path`` read through the map (asserted used) or with read() only."""
    made = []
    if mapped:
        os.close(leased_map(path)[0])  # (skips where no lease is granted)
    with monkeypatch.context() as patch:
        if mapped:
            original = MappedBlock.__init__
            patch.setattr(MappedBlock, "__init__", lambda self, *args: made.append(1) or original(self, *args))
        else:
            patch.setattr(FileMap, "open", classmethod(lambda cls, fd: None))
        tables = list(iter_tables(str(path), header=header, extra=extra))
    assert not mapped or made, "no block was mapped"
    return tables


def file_lines(tables) -> list[int]:
    return [int(table.lines[row]) if table.lines is not None else table.header_lines + table.first_row + row + 1
            for table in tables for row in range(table.rows)]


@pytest.mark.parametrize("name", list(TEXTS))
def test_mapped_blocks_give_what_read_blocks_and_the_whole_file_give(tmp_path, small_blocks, monkeypatch, name):
    path = tmp_path / "big.csv"
    path.write_bytes(TEXTS[name].encode())
    header, extra = name != "no header", EXTRA.get(name, [])
    mapped = streamed(path, header, extra, monkeypatch, mapped=True)
    read = streamed(path, header, extra, monkeypatch, mapped=False)
    assert len(mapped) == len(read) > 2
    for first, second in zip(mapped, read, strict=True):
        assert (first.columns, first.first_row, first.skipped_columns) == \
            (second.columns, second.first_row, second.skipped_columns)
        assert np.array_equal(first.values.view(np.int64), second.values.view(np.int64))
        assert {key: column.tolist() for key, column in first.extra.items()} == \
            {key: column.tolist() for key, column in second.extra.items()}
    assert file_lines(mapped) == file_lines(read)
    whole = read_table(str(path), header=header, extra=extra)
    np.testing.assert_array_equal(np.concatenate([table.values for table in mapped]), whole.values)
    # every row's line holds that row's first cell
    text_lines = TEXTS[name].removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    firsts = [text_lines[line - 1].split(",")[0 if name != "text ids" else 1] for line in file_lines(mapped)]
    column = whole.columns.index("pred") if header else 0
    assert [float("nan") if cell.strip() in ("", "NA") else float(cell) for cell in firsts] == \
        pytest.approx(whole.values[:, column].tolist(), nan_ok=True)


@pytest.mark.parametrize("mapped", [True, False], ids=["mapped", "read"])
def test_a_bad_cell_in_a_mapped_block_is_named_as_in_a_read_one(tmp_path, small_blocks, monkeypatch, mapped):
    rows = [f"{i}.5,{i}" for i in range(60)]
    rows[20:20] = [""]  # a blank line: the rows after it are one line further down
    rows[45] = "44.5,ten"
    path = tmp_path / "big.csv"
    path.write_text("pred,count\n" + "\n".join(rows) + "\n")
    # data row 45 (the 46th text row less the blank one) on line 1 + 46
    with pytest.raises(FileError, match=r"column 'count', row 45 \(line 47\): expected a number, got 'ten'"):
        streamed(path, True, [], monkeypatch, mapped)


def leased_map(path):
    fd = os.open(path, os.O_RDONLY)
    file_map = FileMap.open(fd)
    if file_map is None:
        os.close(fd)
        pytest.skip("this file system grants no read lease: the mapped reader is not used here")
    return fd, file_map


def test_a_writer_waits_until_the_mapped_block_is_parsed(tmp_path):
    path = tmp_path / "big.csv"
    text = b"pred\n" + b"".join(b"%d.5\n" % i for i in range(1000))
    path.write_bytes(text)
    fd, file_map = leased_map(path)
    try:
        with file_map.block(5, len(text), b"pred\n") as block:
            assert bytes(block) == text
            writer = subprocess.Popen([sys.executable, "-c", "import os, sys; os.truncate(sys.argv[1], 0)", str(path)])
            deadline = time.monotonic() + 30
            while fcntl.fcntl(fd, fcntl.F_GETLEASE) != fcntl.F_UNLCK:  # the kernel signals the writer's arrival
                assert writer.poll() is None and time.monotonic() < deadline, "the writer was not held"
                time.sleep(0.005)
            assert writer.poll() is None  # held at the truncate until the block is done
            assert bytes(block) == text and path.stat().st_size == len(text)
        assert writer.wait(timeout=30) == 0 and path.stat().st_size == 0
        with file_map.block(5, len(text), b"pred\n") as block:
            assert block is None  # the file no longer reaches the block: it is read instead
    finally:
        os.close(fd)


def test_no_map_while_another_process_may_write(tmp_path, small_blocks):
    path = tmp_path / "big.csv"
    path.write_text("pred\n" + "".join(f"{i}.5\n" for i in range(60)))
    fd = os.open(path, os.O_RDONLY)
    try:
        with open(path, "ab"):  # a writer has the file open: no lease, so no map
            assert FileMap.open(fd) is None
            values = np.concatenate([table.values for table in iter_tables(str(path))])
        assert values[:, 0].tolist() == [i + 0.5 for i in range(60)]
    finally:
        os.close(fd)


def test_no_map_when_the_program_handles_sigurg(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("pred\n1.5\n")
    fd = os.open(path, os.O_RDONLY)
    previous = signal.signal(signal.SIGURG, lambda *args: None)
    try:
        assert FileMap.open(fd) is None  # the lease's signal would reach the program's handler
    finally:
        signal.signal(signal.SIGURG, previous)
        os.close(fd)


def test_a_file_truncated_between_blocks_ends_the_read_without_a_crash(tmp_path):
    """Between blocks no lease is held: a truncation goes through, and the next block, no longer
    in the file, is not touched through the map (which would end the process with SIGBUS)."""
    path = tmp_path / "big.csv"
    path.write_text("pred\n" + "".join(f"{i}.5\n" for i in range(2000)))
    script = f"""
import os
from losscli.io import batches
batches.STREAM_BYTES, batches.CSV_BLOCK_BYTES = 0, 4096
rows = 0
for index, table in enumerate(batches.iter_tables({str(path)!r})):
    rows += table.rows
    if index == 1:
        os.truncate({str(path)!r}, 8000)
print(rows)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert 0 < int(result.stdout) < 2000


def test_a_paused_reader_holds_no_lease(tmp_path, small_blocks, monkeypatch):
    """A consumer that stops between batches (a slow loss, a full output pipe) must not hold a
    writer: the lease covers a block's parse only, never the wait for the next request."""
    path = tmp_path / "big.csv"
    path.write_text("pred\n" + "".join(f"{i}.5\n" for i in range(200)))
    fd, _ = leased_map(path)  # (skips where no lease is granted)
    os.close(fd)
    made = []
    original = MappedBlock.__init__
    monkeypatch.setattr(MappedBlock, "__init__", lambda self, *args: made.append(1) or original(self, *args))
    batches = iter_tables(str(path))
    first_rows = [next(batches).rows for _ in range(3)]
    assert made and sum(first_rows) < 200  # paused after a mapped block, with more to read
    # a held lease would keep the truncate waiting for the kernel's lease-break time (45 s)
    truncate = subprocess.run([sys.executable, "-c", "import os, sys; os.truncate(sys.argv[1], 0)", str(path)],
                              timeout=40)
    assert truncate.returncode == 0 and path.stat().st_size == 0
    assert list(batches) == []  # the rest of the file is gone: nothing more, and no crash
