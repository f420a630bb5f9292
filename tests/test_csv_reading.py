"""CSV reading paths give the same table: the NumPy reader for small plain files against Arrow's
reader (generated files, bit for bit), line numbers that count blank lines and quoted line
breaks (whole files and streamed blocks), and hex-looking cells that are never numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losscli.io import FileError, csvread, read_table
from losscli.io import batches as batches_module
from losscli.io.batches import iter_tables
from losscli.io.smallcsv import small_csv_table

# Cells that stress type inference: integers (also beyond int64 and '-0'), decimals in every
# spelling Arrow accepts, missing markers, spaces, hex, booleans, dates, infinities and text.
CELLS = ["0", "-0", "7", "00012", "+1", "1.5", "-0.0", ".5", "1.", "1e5", "2.5E-3", "1e500", "-1e-400",
         "9223372036854775807", "9223372036854775808", "123456789012345678901", "", "NA", "nan", "NaN", "null",
         " 1.5", "0x1a", "true", "False", "2024-01-01", "12:30", "inf", "-Infinity", "abc", "region_01", "n/a x"]


def arrow_table_of(data: bytes, header: bool, extra=(), monkeypatch=None):
    """The table Arrow's path makes (the small reader switched off)."""
    monkeypatch.setattr(csvread, "small_csv_table", lambda *args: None)
    try:
        return csvread.csv_table("f.csv", data, header, extra)
    finally:
        monkeypatch.undo()


def same_values(first: np.ndarray, second: np.ndarray) -> bool:
    """Equal bit for bit: NaN where NaN, and the sign of every zero."""
    return first.shape == second.shape and np.array_equal(first.view(np.int64), second.view(np.int64))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(CELLS), min_size=3, max_size=3), min_size=1, max_size=6),
       st.booleans())
def test_the_small_reader_gives_what_arrow_gives_or_declines(rows, header):
    monkeypatch = pytest.MonkeyPatch()
    text = ("a,b,c\n" if header else "") + "".join(",".join(cells) + "\n" for cells in rows)
    data = text.encode()
    names = ["a", "b", "c"] if header else ["column_1", "column_2", "column_3"]
    small = small_csv_table("f.csv", data, header, names)
    if small is None:
        return  # not plain: Arrow reads it (and words any error)
    try:
        arrow = arrow_table_of(data, header, names, monkeypatch)
    except FileError as error:
        raise AssertionError(f"the small reader accepted what Arrow rejects: {error}") from None
    assert small.columns == arrow.columns and small.skipped_columns == arrow.skipped_columns
    assert same_values(small.values, arrow.values), (small.values, arrow.values)
    for name in names:
        small_column, arrow_column = np.asarray(small.extra[name]), np.asarray(arrow.extra[name])
        assert small_column.dtype == arrow_column.dtype, name
        assert [repr(value) for value in small_column.tolist()] == [repr(value) for value in arrow_column.tolist()]


def test_the_small_reader_takes_plain_files_and_declines_the_rest():
    assert small_csv_table("f.csv", b"pred,id\n1.5,a\n-0,b\n", True, ()) is not None
    for not_plain in (b'"pred"\n1\n', b"pred\n1\n\n2\n", b"pred\n 1\n", b"pred\n0x1a\n", b"pred\ntrue\n",
                      b"pred\n1\r2\n", b"pred\n1,2\n", b"pr\xe9d\n1\n", b"pred\n"):
        assert small_csv_table("f.csv", not_plain, True, ()) is None, not_plain


def test_integers_keep_arrows_rounding_and_zero_sign():
    table = small_csv_table("f.csv", b"i,f\n-0,-0\n9007199254740993,1.5\n", True, ())
    assert np.signbit(table.values[0]).tolist() == [False, True]  # int64 -0 is 0; the double -0 keeps its sign
    assert table.values[1, 0] == 9007199254740992.0  # 2**53 + 1 rounds to even, as Arrow's cast does


# --- line numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "row", "line"), [
    (b"pred\n1.5\n\n2.5\nabc\n", 3, 5),  # a blank line before the bad cell
    (b"\npred\n1.5\nabc\n", 2, 4),  # a blank line before the header
    (b'pred,note\n1.5,"two\nlines"\n2.5,x\nabc,y\n', 3, 5),  # a quoted line break
    (b"pred\r\n1.5\r\n\r\n2.5\r\nabc\r\n", 3, 5),  # CRLF with a blank line
])
def test_bad_cells_name_the_file_line(tmp_path, content, row, line):
    path = tmp_path / "pred.csv"
    path.write_bytes(content)
    with pytest.raises(FileError, match=rf"row {row} \(line {line}\): expected a number, got 'abc'"):
        read_table(str(path))


def test_library_errors_after_blank_lines_name_the_file_line(tmp_path):
    from support import run

    pred = tmp_path / "p.csv"
    pred.write_text("p\n0.5\n\n\n1.5\n")  # probabilities; 1.5 is data row 2, on line 5
    target = tmp_path / "t.csv"
    target.write_text("y\n1\n0\n")
    result = run("compute", "bce", pred, target)
    assert result.exit_code == 2 and "row 2 (line 5)" in result.stderr, result.stderr


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Stream every file in blocks of a few dozen bytes (many blocks from a small file)."""
    monkeypatch.setattr(batches_module, "STREAM_BYTES", 0)
    monkeypatch.setattr(batches_module, "CSV_BLOCK_BYTES", 24)


@pytest.mark.parametrize("with_ids", [False, True], ids=["one column", "with a text column"])
def test_streamed_blocks_count_blank_lines_of_earlier_blocks(tmp_path, tiny_blocks, with_ids):
    rows = [f"{index}.25" + (f",id{index}" if with_ids else "") for index in range(40)]
    rows[10:10] = ["", ""]  # two blank lines early on
    rows[30] = "oops,idx" if with_ids else "oops"
    path = tmp_path / "big.csv"
    path.write_text("pred" + (",id" if with_ids else "") + "\n" + "\n".join(rows) + "\n")
    # 'oops' replaced the 29th number: data row 29, on line 1 + 30 + 1 (header, lines before it)
    with pytest.raises(FileError, match=r"row 29 \(line 32\): expected a number, got 'oops'"):
        list(iter_tables(str(path)))


def test_later_blocks_parsed_as_floats_still_name_a_bad_cell(tmp_path, tiny_blocks):
    """Blocks after the first are parsed with the first block's numeric columns as float64 (no
    type inference); a hex cell or text there goes back through the inferring parse and is named."""
    for cell, shown in (("0x1a", "'0x1a'"), ("ten", "'ten'")):
        rows = [f"{index}.5,{index}" for index in range(40)]
        rows[33] = f"33.5,{cell}"
        path = tmp_path / "big.csv"
        path.write_text("pred,count\n" + "\n".join(rows) + "\n")
        with pytest.raises(FileError, match=rf"column 'count', row 34 \(line 35\): expected a number, got {shown}"):
            list(iter_tables(str(path)))


@pytest.mark.parametrize("id_cell", [lambda index: "" if index % 7 else "x", lambda index: index % 7],
                         ids=["text ids", "numbers only"])
def test_streamed_blocks_give_the_rows_and_lines_of_the_whole_file(tmp_path, tiny_blocks, id_cell):
    path = tmp_path / "big.csv"
    path.write_text("pred,id\n" + "".join(f"{index}.5,{id_cell(index)}\n" + ("\n" if index % 9 == 0 else "")
                                        for index in range(50)))
    streamed = list(iter_tables(str(path), extra=["id"]))
    assert len(streamed) > 5
    values = np.concatenate([table.values[:, 0] for table in streamed])
    assert values.tolist() == [index + 0.5 for index in range(50)]
    lines = [table.lines[row] if table.lines is not None else table.header_lines + table.first_row + row + 1
             for table in streamed for row in range(table.rows)]
    text_lines = path.read_text().split("\n")
    assert [text_lines[line - 1].split(",")[0] for line in lines] == [f"{index}.5" for index in range(50)]


@pytest.mark.parametrize("id_column", [False, True], ids=["numbers only", "with an id column"])
def test_missing_markers_in_later_blocks_read_as_in_the_whole_file(tmp_path, tiny_blocks, id_column):
    """Later blocks of an all-number file treat only empty cells as missing in their fast
    parse; every other marker must still read as it does when the file is read whole."""
    from losscli.io.arrow import MISSING_MARKERS

    cells = [f"{index}.5" for index in range(80)]
    for index, marker in enumerate((*MISSING_MARKERS, "inf", "-inf", "nan")):
        cells[3 + 3 * index] = marker
    # ids: missing in the first block, whole numbers after it: not a column parsed as floats
    ids = [("NA" if index % 5 == 0 or index < 4 else str(index)) for index in range(80)]
    lines = [f"{cell},{index}" + (f",{ids[index]}" if id_column else "") for index, cell in enumerate(cells)]
    path = tmp_path / "big.csv"
    path.write_text("pred,n" + (",id" if id_column else "") + "\n" + "\n".join(lines) + "\n")
    extra = ["id"] if id_column else []
    streamed = list(iter_tables(str(path), extra=extra))
    assert len(streamed) > 20
    whole = read_table(str(path), extra=extra)
    # (the whole file also finds numbers in the ids: the first block, where they are missing, does not)
    np.testing.assert_array_equal(np.concatenate([table.values for table in streamed]), whole.values[:, :2])
    assert np.isnan(whole.values[3::3, 0][:len(MISSING_MARKERS) + 3]).sum() == len(MISSING_MARKERS) + 1
    if id_column:
        def cells(values):  # missing: None in a block of no numbers, NaN in one of numbers
            return [None if value is None or value != value else value for value in values]

        assert cells(value for table in streamed for value in table.extra["id"].tolist()) == \
            cells(whole.extra["id"].tolist())


# --- hex --------------------------------------------------------------------------------------------

def test_a_column_of_hex_is_text_not_numbers(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,pred\n0x1a,1.5\n0x2b,2.5\n")
    table = read_table(str(path), extra=["id"])
    assert table.columns == ("pred",) and table.skipped_columns == ("id",)
    assert table.extra["id"].tolist() == ["0x1a", "0x2b"]


def test_hex_in_a_streamed_block_is_not_a_number(tmp_path, tiny_blocks):
    path = tmp_path / "big.csv"
    path.write_text("pred\n" + "".join(f"{index}\n" for index in range(30)) + "0X1F\n")
    with pytest.raises(FileError, match=r"row 31 \(line 32\): expected a number, got '0X1F'"):
        list(iter_tables(str(path)))


def test_concatenated_batches_keep_each_rows_line(tmp_path, tiny_blocks):
    from losscli.io.table import concat_tables, line_of

    path = tmp_path / "big.csv"
    path.write_text("pred\n" + "".join(f"{index}.5\n" + ("\n" if index == 20 else "") for index in range(40)))
    whole = concat_tables(list(iter_tables(str(path))))
    assert whole.values[:, 0].tolist() == [index + 0.5 for index in range(40)]
    # rows up to 20 sit on line row + 2; after the blank line, one further down
    assert [line_of(whole, row) for row in (0, 20, 21, 39)] == [2, 22, 24, 42]


@pytest.mark.parametrize("with_numbers", [True, False], ids=["beside numbers", "alone"])
def test_true_false_columns_of_later_blocks_are_parsed_once(tmp_path, tiny_blocks, monkeypatch, with_numbers):
    """A column the first block read as true/false is typed so in later blocks too (typed as
    float64 it failed every block's fast parse), and, without a missing cell, shows that the
    block has no blank line as a number column does (a labels file of true/false alone)."""
    import pyarrow.csv

    from losscli.io import smallcsv

    monkeypatch.setattr(smallcsv, "SMALL_CSV_BYTES", 0)  # the first block through Arrow, as a large file's is
    labels = ["true", "False", "TRUE", "false", "1", "0"] + ([""] if with_numbers else [])
    path = tmp_path / "big.csv"
    path.write_text(("pred," if with_numbers else "") + "label\n" +
                    "".join((f"{i}.5," if with_numbers else "") + f"{labels[i % len(labels)]}\n" for i in range(60)))
    parses = []
    read_csv = pyarrow.csv.read_csv
    with monkeypatch.context() as patch:
        patch.setattr(pyarrow.csv, "read_csv", lambda *args, **kwargs: parses.append(1) or read_csv(*args, **kwargs))
        streamed = list(iter_tables(str(path)))
    blocks = len(streamed)
    assert blocks > 10 and len(parses) <= blocks + 1  # one parse a block (+ the header's names, once)
    whole = read_table(str(path))
    value = {"true": 1.0, "false": 0.0, "": np.nan, "1": 1.0, "0": 0.0}
    expected = [([i + 0.5] if with_numbers else []) + [value[labels[i % len(labels)].lower()]] for i in range(60)]
    np.testing.assert_array_equal(np.concatenate([table.values for table in streamed]), whole.values)
    np.testing.assert_array_equal(whole.values, expected)
