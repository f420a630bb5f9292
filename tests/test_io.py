"""Tests for losscli.io: reading CSV / Parquet / .npy / stdin, column selection, error locations,
atomic writes and output-path checks. Every error test asserts the substance of the one-line message."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from losscli.errors import InputError, LossCliError
from losscli.io import (
    FileError,
    Table,
    arrow,
    as_input_array,
    describe_location,
    read_table,
    readers,
    select_columns,
    write_array,
    writers,
)
from losscli.validation import check_finite


def write_bytes(tmp_path, name: str, content: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def message_of(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text, "messages are one line"
    return text


# --- CSV quirks accepted without complaint -------------------------------------------------------

QUIRKS = {
    "utf8_bom": b"\xef\xbb\xbfpred,target\n1.5,1\n2.5,2\n",
    "crlf": b"pred,target\r\n1.5,1\r\n2.5,2\r\n",
    "no_final_newline": b"pred,target\n1.5,1\n2.5,2",
    "scientific": b"pred,target\n1.5e0,1E0\n2.5,2.0e+00\n",
    "quoted_numbers": b'"pred","target"\n"1.5","1"\n"2.5",2\n',
    "surrounding_whitespace": b"pred,target\n 1.5 ,1\n2.5,  2\n",
    "quoted_whitespace": b'pred,target\n" 1.5 ",1\n2.5,"2 "\n',
    "blank_lines": b"pred,target\n1.5,1\n\n2.5,2\n\n",
    "bom_crlf_no_newline": b"\xef\xbb\xbfpred,target\r\n1.5,1\r\n2.5,2",
}


@pytest.mark.parametrize("content", QUIRKS.values(), ids=QUIRKS.keys())
def test_csv_quirks_read_the_same_values(tmp_path, content):
    table = read_table(write_bytes(tmp_path, "in.csv", content))
    assert table.columns == ("pred", "target")
    np.testing.assert_array_equal(table.values, [[1.5, 1.0], [2.5, 2.0]])
    assert table.values.dtype == np.float64
    assert table.header_lines == 1 and table.format == "csv"


def test_scientific_notation_values(tmp_path):
    path = write_bytes(tmp_path, "sci.csv", "x\n1e-3\n2.5E+04\n-3.25e-2\n.5\n7.\n+2\n")
    np.testing.assert_array_equal(read_table(path).values[:, 0], [1e-3, 2.5e4, -3.25e-2, 0.5, 7.0, 2.0])


def test_integer_looking_columns_become_float64(tmp_path):
    table = read_table(write_bytes(tmp_path, "ids.csv", "label,count\n0,10\n1,20\n1,9007199254740993\n"))
    assert table.values.dtype == np.float64
    # 2**53 + 1 has no exact double: it rounds to the nearest one rather than failing.
    np.testing.assert_array_equal(table.values, [[0, 10], [1, 20], [1, 2.0**53]])


@pytest.mark.parametrize(("content", "header", "expected"), [
    ("1.5,2", False, [[1.5, 2.0]]),
    ("\ufeff7", False, [[7.0]]),
    ("a,b\n1,2", True, [[1.0, 2.0]]),
])
def test_single_line_without_final_newline(tmp_path, content, header, expected):
    # Arrow alone rejects a one-line file without a final newline ("cannot infer number of columns").
    np.testing.assert_array_equal(read_table(write_bytes(tmp_path, "one.csv", content), header=header).values,
                                  expected)
    np.testing.assert_array_equal(read_table("-", header=header, stdin=io.StringIO(content)).values, expected)


def test_no_header_names_columns_by_position(tmp_path):
    table = read_table(write_bytes(tmp_path, "raw.csv", "1.5,1\n2.5,2\n"), header=False)
    assert table.columns == ("column_1", "column_2")
    assert table.header_lines == 0
    np.testing.assert_array_equal(table.values, [[1.5, 1.0], [2.5, 2.0]])


def test_text_columns_are_skipped_and_remembered(tmp_path):
    path = write_bytes(tmp_path, "mixed.csv", "id,yhat,name,day,y\na1,0.5,cat,2024-01-01,1\nb2,0.25,dog,2024-01-02,0\n")
    table = read_table(path)
    assert table.columns == ("yhat", "y")
    assert table.skipped_columns == ("id", "name", "day")
    np.testing.assert_array_equal(table.values, [[0.5, 1.0], [0.25, 0.0]])


def test_empty_cells_and_missing_markers_become_nan(tmp_path):
    path = write_bytes(tmp_path, "gaps.csv", "a,b\n1,\n,2\nNA,3\nnan,4\n")
    values = read_table(path).values
    np.testing.assert_array_equal(np.isnan(values), [[False, True], [True, False], [True, False], [True, False]])
    np.testing.assert_array_equal(values[:, 1][1:], [2, 3, 4])


def test_missing_markers_in_a_padded_text_column_are_nan(tmp_path):
    # " 2 " makes Arrow keep the column as text; our parser must still read "NA" as missing.
    path = write_bytes(tmp_path, "pad.csv", 'a\n"1 "\nNA\n" 2 "\n')
    values = read_table(path).values[:, 0]
    assert values[0] == 1 and np.isnan(values[1]) and values[2] == 2


def test_infinities_are_read(tmp_path):
    values = read_table(write_bytes(tmp_path, "inf.csv", "a\ninf\n-inf\nInfinity\n")).values[:, 0]
    np.testing.assert_array_equal(values, [np.inf, -np.inf, np.inf])


def test_all_empty_column_and_trailing_delimiter_are_skipped(tmp_path):
    table = read_table(write_bytes(tmp_path, "trail.csv", "a,empty,\n1,,\n2,,\n"))
    assert table.columns == ("a",)
    assert table.skipped_columns == ("empty", "column_3")


def test_blank_header_name_gets_a_positional_name(tmp_path):
    # pandas' to_csv without index=False writes an unnamed index column first.
    table = read_table(write_bytes(tmp_path, "pandas.csv", ",yhat\n0,1.5\n1,2.5\n"))
    assert table.columns == ("column_1", "yhat")


def test_true_false_column_reads_as_zero_one(tmp_path):
    table = read_table(write_bytes(tmp_path, "bool.csv", "flag\ntrue\nfalse\n"))
    np.testing.assert_array_equal(table.values[:, 0], [1.0, 0.0])


def test_missing_markers_match_arrows_csv_defaults():
    import pyarrow.csv as arrow_csv

    assert set(arrow.MISSING_MARKERS) == set(arrow_csv.ConvertOptions().null_values)


def test_batch_conversion_places_bad_cells_in_the_whole_file():
    # What a streaming reader will do: convert one record batch that starts at data row 1000.
    batch = pa.record_batch({"yhat": pa.array(["1", "2", "bad"]), "y": pa.array([1.0, None, 3.0])})
    with pytest.raises(FileError) as excinfo:
        arrow.table_to_values(batch, "big.csv", row_offset=1000, first_line=2)
    assert message_of(excinfo).startswith("big.csv: column 'yhat', row 1003 (line 1004): expected a number, got 'bad'")
    names, values, skipped = arrow.table_to_values(batch.slice(0, 2), "big.csv", row_offset=1000)
    assert names == ("yhat", "y") and skipped == ()
    np.testing.assert_array_equal(values, [[1.0, 1.0], [2.0, np.nan]])


@pytest.mark.parametrize("kind", [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(),
                                  pa.uint32(), pa.uint64(), pa.float16(), pa.float32(), pa.float64(), pa.bool_()],
                         ids=str)
def test_numeric_columns_read_from_their_buffers_like_their_python_values(kind):
    """Values are read from Arrow's buffers (no pyarrow.compute): two chunks, each sliced so
    that it starts inside a validity byte, with missing cells on both sides of the cut."""
    rng = np.random.default_rng(7)
    if kind == pa.bool_():
        cells = [bool(value) for value in rng.integers(0, 2, 40)]
    elif pa.types.is_floating(kind):
        cells = [float(np.float16(value)) for value in rng.normal(scale=100, size=40)]
    else:
        high = min(np.iinfo(kind.to_pandas_dtype()).max, 2**62)
        low = 0 if pa.types.is_unsigned_integer(kind) else -high
        cells = [int(value) for value in rng.integers(low, high, 40, dtype=np.int64)]
    for row in (0, 3, 9, 21, 39):
        cells[row] = None
    first, second = pa.array(cells[:25], kind).slice(3), pa.array(cells[25:], kind).slice(5)
    table = pa.table({"x": pa.chunked_array([first, second])})
    expected = [np.nan if cell is None else float(cell) for cell in first.to_pylist() + second.to_pylist()]
    names, values, _ = arrow.table_to_values(table, "t.parquet")
    assert names == ("x",) and values.dtype == np.float64
    np.testing.assert_array_equal(values[:, 0], expected)


def test_integers_beyond_2_53_round_to_the_nearest_double():
    column = pa.array([2**53 + 1, 2**63 - 1, -(2**63)], pa.int64())
    _, values, _ = arrow.table_to_values(pa.table({"n": column}), "t.parquet")
    np.testing.assert_array_equal(values[:, 0], [float(2**53), 2.0**63, -(2.0**63)])


# --- stdin -----------------------------------------------------------------------------------

def test_stdin_reads_csv_text_from_the_given_stream():
    table = read_table("-", stdin=io.StringIO("\ufeffpred,target\r\n1.5,1\r\n2.5,2"))
    assert table.source == "<stdin>" and table.columns == ("pred", "target")
    np.testing.assert_array_equal(table.values, [[1.5, 1.0], [2.5, 2.0]])


def test_stdin_without_header_and_from_sys_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\n2\n3\n"))
    table = read_table("-", header=False)
    assert table.columns == ("column_1",)
    np.testing.assert_array_equal(as_input_array(table), [1.0, 2.0, 3.0])


def test_stdin_accepts_a_binary_stream():
    table = read_table("-", stdin=io.BytesIO(b"a\n4\n"))
    np.testing.assert_array_equal(table.values, [[4.0]])


def test_empty_stdin_is_an_error():
    with pytest.raises(FileError) as excinfo:
        read_table("-", stdin=io.StringIO(""))
    assert message_of(excinfo) == "<stdin>: empty file (no header, no data rows)"


def test_non_numeric_cell_on_stdin_names_the_line():
    with pytest.raises(FileError) as excinfo:
        read_table("-", stdin=io.StringIO("a\n1\noops\n"))
    assert message_of(excinfo).startswith("<stdin>: column 'a', row 2 (line 3): expected a number, got 'oops'")


# --- Parquet ---------------------------------------------------------------------------------

def test_parquet_numeric_columns_in_schema_order(tmp_path):
    path = str(tmp_path / "eval.parquet")
    pq.write_table(pa.table({
        "id": pa.array(["a", "b", "c"]),
        "count": pa.array([1, None, 3], pa.int32()),
        "yhat": pa.array([0.5, 1.5, None], pa.float32()),
        "flag": pa.array([True, False, True]),
        "small": pa.array([7, 8, 9], pa.uint8()),
        "as_text": pa.array(["1.5", " 2 ", ""]),
        "category": pa.array(["x", "y", "x"]).dictionary_encode(),
        "nested": pa.array([[1.0], [2.0], [3.0]]),
    }), path)
    table = read_table(path)
    assert table.columns == ("count", "yhat", "flag", "small", "as_text")
    assert table.skipped_columns == ("id", "category", "nested")
    assert table.format == "parquet" and table.header_lines == 0
    np.testing.assert_array_equal(table.values, [[1, 0.5, 1, 7, 1.5], [np.nan, 1.5, 0, 8, 2],
                                                 [3, np.nan, 1, 9, np.nan]])


def test_parquet_pandas_index_column_is_not_an_input(tmp_path):
    import pandas as pd

    path = str(tmp_path / "pd.parquet")
    pd.DataFrame({"yhat": [1.0, 2.0]}, index=[10, 20]).to_parquet(path)
    table = read_table(path)
    assert table.columns == ("yhat",)
    np.testing.assert_array_equal(table.values, [[1.0], [2.0]])


def test_parquet_mixed_text_column_names_the_cell(tmp_path):
    path = str(tmp_path / "bad.parquet")
    pq.write_table(pa.table({"yhat": pa.array(["1.0", "2.0", "n/a?"])}), path)
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    # Parquet has no lines: the row alone locates the cell.
    assert message_of(excinfo).startswith("bad.parquet".join([str(tmp_path) + os.sep, ""]) +
                                          ": column 'yhat', row 3: expected a number, got 'n/a?'")


def test_parquet_without_rows_is_an_error(tmp_path):
    path = str(tmp_path / "none.parquet")
    pq.write_table(pa.table({"yhat": pa.array([], pa.float64())}), path)
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == f"{path}: no data rows"


def test_corrupt_parquet_is_an_error(tmp_path):
    path = write_bytes(tmp_path, "corrupt.parquet", np.random.default_rng(0).bytes(256))
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo).startswith(f"{path}: not a valid Parquet file: ")
    assert "magic bytes" in message_of(excinfo)


def test_csv_text_in_a_parquet_file_is_an_error(tmp_path):
    path = write_bytes(tmp_path, "really.parquet", "a,b\n1,2\n")
    with pytest.raises(FileError, match="not a valid Parquet file"):
        read_table(path)


# --- .npy ------------------------------------------------------------------------------------

def test_npy_keeps_its_shape_and_becomes_float64(tmp_path):
    logits = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.save(tmp_path / "logits.npy", logits)
    table = read_table(str(tmp_path / "logits.npy"))
    assert table.format == "npy" and table.columns == () and table.values.shape == (2, 3, 4)
    assert table.values.dtype == np.float64
    assert as_input_array(table) is table.values


def test_npy_integer_and_bool_arrays(tmp_path):
    np.save(tmp_path / "ids.npy", np.array([0, 2, 1]))
    np.save(tmp_path / "mask.npy", np.array([True, False]))
    np.testing.assert_array_equal(read_table(str(tmp_path / "ids.npy")).values, [0.0, 2.0, 1.0])
    np.testing.assert_array_equal(read_table(str(tmp_path / "mask.npy")).values, [1.0, 0.0])


@pytest.mark.parametrize(("array", "expected"), [
    (np.array(["a", "b"]), "expected a numeric array, got dtype <U1"),
    (np.array([1 + 2j]), "expected a numeric array, got dtype complex128"),
    (np.array(3.0), "expected an array with at least one row, got shape ()"),
    (np.zeros((0, 3)), "expected an array with at least one row, got shape (0, 3)"),
])
def test_npy_unusable_arrays(tmp_path, array, expected):
    path = str(tmp_path / "bad.npy")
    np.save(path, array)
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == f"{path}: {expected}"


def test_npy_random_bytes_truncated_and_pickled(tmp_path):
    noise = write_bytes(tmp_path, "noise.npy", np.random.default_rng(1).bytes(64))
    with pytest.raises(FileError) as excinfo:
        read_table(noise)
    assert message_of(excinfo) == f"{noise}: not a valid .npy file (no NumPy header) (write it with numpy.save)"
    np.save(tmp_path / "whole.npy", np.arange(10.0))
    truncated = write_bytes(tmp_path, "cut.npy", (tmp_path / "whole.npy").read_bytes()[:-8])
    with pytest.raises(FileError, match=r"cut\.npy: not a valid \.npy file: .*could only read 9"):
        read_table(truncated)
    np.save(tmp_path / "objects.npy", np.array([{}], dtype=object), allow_pickle=True)
    with pytest.raises(FileError, match=r"objects\.npy: not a valid \.npy file: Object arrays cannot be loaded"):
        read_table(str(tmp_path / "objects.npy"))


# --- path and content errors -----------------------------------------------------------------

def test_missing_path(tmp_path):
    path = str(tmp_path / "absent.csv")
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == f"{path}: no such file"


def test_missing_path_suggests_a_neighbour(tmp_path):
    write_bytes(tmp_path, "preds.csv", "a\n1\n")
    with pytest.raises(FileError) as excinfo:
        read_table(str(tmp_path / "pred.csv"))
    assert message_of(excinfo).endswith(f"pred.csv: no such file (did you mean {str(tmp_path / 'preds.csv')!r}?)")


def test_directory(tmp_path):
    with pytest.raises(FileError) as excinfo:
        read_table(str(tmp_path))
    assert message_of(excinfo) == f"{tmp_path}: is a directory, expected a file (supported: .csv, .parquet, .npy)"


def test_unknown_extension_lists_the_supported_ones(tmp_path):
    path = write_bytes(tmp_path, "preds.txt", "a\n1\n")
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == f"{path}: unknown file extension (supported: .csv, .parquet, .npy)"


def test_extension_is_case_insensitive(tmp_path):
    np.testing.assert_array_equal(read_table(write_bytes(tmp_path, "UP.CSV", "a\n1\n")).values, [[1.0]])


def test_unreadable_file(tmp_path, monkeypatch):
    path = write_bytes(tmp_path, "secret.csv", "a\n1\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(readers, "open", denied, raising=False)
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == f"{path}: cannot read: Permission denied (check the file permissions)"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_by_mode(tmp_path):
    path = write_bytes(tmp_path, "secret.csv", "a\n1\n")
    os.chmod(path, 0)
    with pytest.raises(FileError, match="cannot read: Permission denied"):
        read_table(path)


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet", "empty.npy"])
def test_empty_file(tmp_path, name):
    path = write_bytes(tmp_path, name, b"")
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == f"{path}: empty file (0 bytes)"


@pytest.mark.parametrize("content", ["\n\n\r\n", "   ", "\ufeff", "\ufeff\n"])
def test_blank_csv_is_empty(tmp_path, content):
    path = write_bytes(tmp_path, "blank.csv", content)
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == f"{path}: empty file (no header, no data rows)"


@pytest.mark.parametrize("content", ["pred,target\n", "pred,target", "\ufeffpred,target\r\n"])
def test_header_only_csv(tmp_path, content):
    path = write_bytes(tmp_path, "header.csv", content)
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == f"{path}: header only, no data rows"


def test_non_numeric_cell_names_column_row_line_and_text(tmp_path):
    path = write_bytes(tmp_path, "preds.csv", "id,yhat\na,1.5\nb,2.5\nc,two\nd,4\n")
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == (f"{path}: column 'yhat', row 3 (line 4): expected a number, got 'two' "
                                   "(every cell of a numeric column must be a number or empty)")


def test_non_numeric_cell_without_header_counts_lines_from_one(tmp_path):
    path = write_bytes(tmp_path, "raw.csv", "1\n2\n1,5\n")
    with pytest.raises(FileError):  # ragged row: a parse error, not a cell error
        read_table(path, header=False)
    path = write_bytes(tmp_path, "raw2.csv", "1\n2\n3x\n")
    with pytest.raises(FileError) as excinfo:
        read_table(path, header=False)
    assert "column 'column_1', row 3 (line 3): expected a number, got '3x'" in message_of(excinfo)


def test_long_bad_cell_is_shortened(tmp_path):
    path = write_bytes(tmp_path, "long.csv", "a\n1\n" + "x" * 100 + "\n")
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert f"got '{'x' * 40}...'" in message_of(excinfo)


def test_no_numeric_columns(tmp_path):
    """A text-only file reads (its columns may be ids or group labels); used as an input it fails."""
    path = write_bytes(tmp_path, "names.csv", "id,name\na,cat\nb,dog\n")
    table = read_table(path, extra=["name"])
    assert table.extra["name"].tolist() == ["cat", "dog"]
    with pytest.raises(FileError) as excinfo:
        as_input_array(table)
    assert message_of(excinfo) == (f"{path}: no numeric columns (found: id, name) "
                                   "(input columns must hold numbers; text columns such as ids are skipped)")


def test_ragged_csv_is_a_parse_error(tmp_path):
    path = write_bytes(tmp_path, "ragged.csv", "a,b\n1,2\n3\n")
    with pytest.raises(FileError) as excinfo:
        read_table(path)
    assert message_of(excinfo) == f"{path}: not a valid CSV file: line 3: expected 2 columns, got 1: 3"


def test_file_errors_are_losscli_errors(tmp_path):
    with pytest.raises(LossCliError):
        read_table(str(tmp_path / "absent.csv"))


# --- selecting columns -----------------------------------------------------------------------

@pytest.fixture
def wide(tmp_path) -> Table:
    path = write_bytes(tmp_path, "wide.csv",
                       "id,yhat,y,emb_1,emb_2,emb_10,other\nr1,0.5,1,1,2,3,9\nr2,1.5,0,4,5,6,9\n")
    return read_table(path)


def test_select_one_column(wide):
    selected = select_columns(wide, "yhat")
    assert selected.columns == ("yhat",) and selected.source == wide.source
    array = as_input_array(selected)
    assert array.shape == (2,) and array.flags.c_contiguous
    np.testing.assert_array_equal(array, [0.5, 1.5])


def test_select_a_list_keeps_the_given_order(wide):
    selected = select_columns(wide, "y, yhat")
    assert selected.columns == ("y", "yhat")
    np.testing.assert_array_equal(as_input_array(selected), [[1, 0.5], [0, 1.5]])


def test_select_a_pattern_keeps_file_order(wide):
    selected = select_columns(wide, "emb_*")
    assert selected.columns == ("emb_1", "emb_2", "emb_10")
    np.testing.assert_array_equal(as_input_array(selected), [[1, 2, 3], [4, 5, 6]])


def test_unknown_column_suggests_and_lists(wide):
    with pytest.raises(FileError) as excinfo:
        select_columns(wide, "yaht")
    assert message_of(excinfo) == (f"{wide.source}: no column 'yaht' (did you mean 'yhat'? "
                                   "numeric columns: yhat, y, emb_1, emb_2, emb_10, other)")


def test_selecting_a_text_column_says_it_is_not_numeric(wide):
    with pytest.raises(FileError) as excinfo:
        select_columns(wide, "id")
    assert message_of(excinfo).startswith(f"{wide.source}: column 'id' is not numeric (text, dates or all empty)")


def test_a_file_without_numbers_says_so(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("pred,target\nnp.float64(1.5),np.float64(2)\n")  # a repr written by mistake
    with pytest.raises(FileError) as excinfo:
        select_columns(read_table(str(path)), "pred")
    assert message_of(excinfo) == (f"{path}: column 'pred' is not numeric (text, dates or all empty) "
                                   "(no column holds numbers)")


def test_pattern_without_match(wide):
    with pytest.raises(FileError) as excinfo:
        select_columns(wide, "logit_*")
    assert "no numeric column matches 'logit_*' (numeric columns: yhat, y" in message_of(excinfo)


@pytest.mark.parametrize(("selector", "expected"), [
    ("yhat,yhat", "column 'yhat' is selected twice in 'yhat,yhat'"),
    ("emb_*,emb_2", "column 'emb_2' is selected twice"),
    ("yhat,", "empty column name in the selection"),
])
def test_bad_selectors(wide, selector, expected):
    with pytest.raises(FileError, match=expected):
        select_columns(wide, selector)


def test_duplicate_column_names_are_ambiguous(tmp_path):
    table = read_table(write_bytes(tmp_path, "dup.csv", "a,a,b\n1,2,3\n"))
    assert table.columns == ("a", "a", "b")
    with pytest.raises(FileError, match="column name 'a' appears 2 times"):
        select_columns(table, "a")
    assert select_columns(table, "b").columns == ("b",)


def test_npy_has_no_columns_to_select(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((2, 2)))
    with pytest.raises(FileError, match=r"x\.npy: cannot select columns of an \.npy array"):
        select_columns(read_table(str(tmp_path / "x.npy")), "a")


def test_as_input_array_shapes(wide):
    assert as_input_array(select_columns(wide, "emb_1")).shape == (2,)
    assert as_input_array(select_columns(wide, "emb_1,emb_2")).shape == (2, 2)


# --- describing library errors in file terms -------------------------------------------------

def test_describe_location_of_a_nan_found_by_the_library(tmp_path):
    path = write_bytes(tmp_path, "preds.csv", "id,yhat\n" + "".join(f"r{i},{i}.5\n" for i in range(7)) + "r7,nan\n")
    table = select_columns(read_table(path), "yhat")
    with pytest.raises(InputError) as excinfo:
        check_finite({"pred": as_input_array(table)})
    assert describe_location(excinfo.value, table) == (
        f"{path}: column 'yhat', row 8 (line 9): expected finite values, got nan "
        "(--nan-policy omit drops such rows, propagate keeps them)")


def test_describe_location_of_a_3d_input_from_csv_columns(tmp_path):
    # keys [B=2, K=2, D=3] stored as K*D = 6 columns; element [1, 1, 0] is flat column 3 of row 1.
    names = [f"k{k}_d{d}" for k in range(2) for d in range(3)]
    rows = ["0,0,0,0,0,0", "0,0,0,inf,0,0"]
    table = read_table(write_bytes(tmp_path, "keys.csv", ",".join(names) + "\n" + "\n".join(rows) + "\n"))
    keys = table.values.reshape(2, 2, 3)
    with pytest.raises(InputError) as excinfo:
        check_finite({"keys": keys})
    assert excinfo.value.column == 3
    assert describe_location(excinfo.value, table).startswith(
        f"{table.source}: column 'k1_d0', row 2 (line 3): expected finite values, got inf")


def test_describe_location_in_an_npy_array(tmp_path):
    logits = np.zeros((2, 3, 4))
    logits[1, 2, 3] = np.nan
    np.save(tmp_path / "logits.npy", logits)
    table = read_table(str(tmp_path / "logits.npy"))
    with pytest.raises(InputError) as excinfo:
        check_finite({"logits": as_input_array(table)})
    assert describe_location(excinfo.value, table).startswith(
        f"{table.source}: element [1, 2, 3] (0-based index): expected finite values, got nan")
    matrix = Table("m.npy", (), np.zeros((3, 2)), format="npy")
    assert describe_location(InputError("bad", row=2, column=1), matrix) == "m.npy: row 3, column 2: bad"
    vector = Table("v.npy", (), np.zeros(3), format="npy")
    assert describe_location(InputError("bad", row=2), vector) == "v.npy: row 3: bad"


def test_describe_location_parquet_has_no_lines_and_whole_input_errors_have_no_cell():
    table = Table("eval.parquet", ("p", "q"), np.zeros((3, 2)), format="parquet")
    assert describe_location(InputError("bad", row=1, column=1), table) == "eval.parquet: column 'q', row 2: bad"
    assert describe_location(InputError("bad row", row=1), table) == "eval.parquet: row 2: bad row"
    assert describe_location(InputError("row-count mismatch", hint="h"), table) == (
        "eval.parquet: row-count mismatch (h)")


# --- writing ---------------------------------------------------------------------------------

ROUND_TRIP = np.array([[0.1, -2.5e-300], [1 / 3, 1.7976931348623157e308], [np.nan, np.inf],
                       [-np.inf, 5e-324], [123456789.125, -0.0]])


@pytest.mark.parametrize("name", ["out.csv", "out.parquet", "out.npy", "OUT.CSV"])
def test_round_trip_is_exact(tmp_path, name):
    path = str(tmp_path / name)
    write_array(path, ROUND_TRIP, ["a", "b"])
    table = read_table(path)
    np.testing.assert_array_equal(table.values, ROUND_TRIP)
    assert table.columns == (() if name.endswith(".npy") else ("a", "b"))


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_csv_round_trip_of_any_doubles(tmp_path_factory, values):
    values = np.append(values, 0.5)  # a column of only NaN reads back as an empty column
    path = str(tmp_path_factory.mktemp("rt") / "v.csv")
    write_array(path, values)
    np.testing.assert_array_equal(as_input_array(read_table(path)), values)


def test_write_shapes_and_default_names(tmp_path):
    write_array(str(tmp_path / "one.csv"), np.array([1.0, 2.0]))
    assert (tmp_path / "one.csv").read_text() == '"column_1"\n1\n2\n'
    cube = np.arange(12.0).reshape(2, 3, 2)
    write_array(str(tmp_path / "cube.parquet"), cube)
    table = read_table(str(tmp_path / "cube.parquet"))
    assert table.columns == tuple(f"column_{i}" for i in range(1, 7))
    np.testing.assert_array_equal(table.values, cube.reshape(2, 6))
    write_array(str(tmp_path / "cube.npy"), cube)
    np.testing.assert_array_equal(np.load(tmp_path / "cube.npy"), cube)


def test_write_unknown_extension(tmp_path):
    with pytest.raises(FileError) as excinfo:
        write_array(str(tmp_path / "out.json"), np.ones(2))
    assert message_of(excinfo).endswith("out.json: unknown file extension (supported: .csv, .parquet, .npy)")
    assert os.listdir(tmp_path) == []


def test_write_into_a_missing_directory_or_onto_a_directory(tmp_path):
    with pytest.raises(FileError, match=r"cannot write: directory .*nowhere does not exist"):
        write_array(str(tmp_path / "nowhere" / "out.csv"), np.ones(2))
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(FileError, match=r"dir\.csv: is a directory, expected a file name to write"):
        write_array(str(tmp_path / "dir.csv"), np.ones(2))


@pytest.mark.parametrize("name", ["grad.csv", "grad.parquet"])
def test_failed_write_leaves_no_file_and_no_temporary(tmp_path, monkeypatch, name):
    def half_then_fail(path, kind, matrix, column_names):
        with open(path, "w") as handle:
            handle.write("column_1\n1\n")  # a partial file on disk
        raise RuntimeError("disk full")

    monkeypatch.setattr(writers, "_write_columns", half_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        write_array(str(tmp_path / name), np.ones(4))
    assert os.listdir(tmp_path) == []


def test_failed_npy_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / "grad.npy")
    write_array(path, np.zeros(3))
    before = (tmp_path / "grad.npy").read_bytes()

    def fail(handle, array):
        handle.write(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", fail)
    with pytest.raises(FileError) as excinfo:
        write_array(path, np.ones(3))
    assert message_of(excinfo) == f"{path}: cannot write: No space left on device"
    assert os.listdir(tmp_path) == ["grad.npy"]
    assert (tmp_path / "grad.npy").read_bytes() == before


def test_wrong_number_of_column_names_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="1 column names for 2 columns"):
        write_array(str(tmp_path / "out.csv"), np.ones((3, 2)), ["only"])
    assert os.listdir(tmp_path) == []


def test_written_file_gets_ordinary_permissions(tmp_path):
    write_array(str(tmp_path / "out.csv"), np.ones(2))
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "out.csv").st_mode & 0o777 == 0o666 & ~umask


# --- start-up stays light --------------------------------------------------------------------

def test_importing_io_does_not_import_pyarrow_or_pandas():
    code = ("import sys, losscli.io; heavy = [m for m in ('pyarrow', 'pandas') if m in sys.modules]; "
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
