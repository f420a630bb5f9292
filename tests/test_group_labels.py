"""Group labels as codes (issue 17): readers dictionary-encode id and group columns per batch,
and --group-by values equal an independent pandas groupby whatever the column's type and
however the file is cut into batches."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import run

from losscli.io import CodedColumn
from losscli.io import batches as batches_module
from losscli.io.arrow import coded_column
from losscli.io.coded import concat_columns


def test_encode_numbers_values_in_order_of_first_appearance():
    coded = CodedColumn.encode(np.array(["b", "a", "b", None, "c", "a"], dtype=object))
    assert coded.values.tolist() == ["b", "a", None, "c"] and coded.codes.tolist() == [0, 1, 0, 2, 3, 1]
    floats = CodedColumn.encode(np.array([2.0, np.nan, -0.0, 0.0, np.nan]))
    assert [repr(value) for value in floats.values.tolist()] == ["2.0", "nan", "-0.0", "0.0"]


def test_a_coded_column_slices_indexes_and_concatenates_as_its_values():
    labels = np.array(["x", "y", "x", "z", "y", "x"], dtype=object)
    coded = CodedColumn.encode(labels)
    assert len(coded) == 6 and coded[2:5].tolist() == ["x", "z", "y"] and coded[3] == "z"
    assert coded[np.array([True, False, False, True, True, False])].tolist() == ["x", "z", "y"]
    joined = concat_columns([coded[:3], CodedColumn.encode(labels[3:])])
    assert joined.tolist() == labels.tolist() and np.asarray(joined).dtype == object


def test_arrow_dictionary_columns_are_renumbered_by_first_appearance():
    # dictionary entries in another order, one unused, and a null cell
    indices = pa.array([2, 0, None, 2, 0], type=pa.int32())
    column = pa.DictionaryArray.from_arrays(indices, pa.array(["a", "unused", "c"]))
    coded = coded_column(pa.chunked_array([column, column.slice(1, 2)]))
    assert coded.tolist() == ["c", "a", None, "c", "a", "a", None]
    assert coded.values[:3].tolist() == ["c", "a", None]


def reference_groups(frame: pd.DataFrame, by: str, weights: str | None = None) -> list[tuple[str, int, float]]:
    """(label, n, weighted mean of the squared residual) per group, in order of first appearance."""
    squared = (frame["pred"] - frame["target"]) ** 2
    w = frame[weights] if weights else pd.Series(1.0, index=frame.index)
    labels = frame[by].astype(object).where(frame[by].notna(), "(missing)").map(
        lambda label: str(int(label)) if isinstance(label, float) and label.is_integer() else str(label))
    parts = pd.DataFrame({"label": labels, "wl": w * squared, "w": w})
    grouped = parts.groupby("label", sort=False)
    return [(label, len(rows), rows["wl"].sum() / rows["w"].sum()) for label, rows in grouped]


def groups_of_cli(path, by: str, *extra) -> list[tuple[str, int, float]]:
    result = run("compute", "mse", path, "--col", "pred=pred", "--col", "target=target", "--group-by", by,
                 "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return [(group["group"], group["n"], group["value"]) for group in json.loads(result.stdout)["groups"]]


@pytest.fixture
def frame():
    rng = np.random.default_rng(7)
    rows = 3000
    target = rng.normal(size=rows)
    segment = rng.choice(["north", "south", "east", "west, outer", ""], size=rows).astype(object)
    segment[rng.random(rows) < 0.05] = None
    return pd.DataFrame({"pred": target + rng.normal(size=rows), "target": target, "segment": segment,
                         "bucket": rng.integers(0, 7, rows), "weight": rng.uniform(0.5, 2.0, rows)})


def assert_same_groups(found, expected):
    assert [(label, n) for label, n, _ in found] == [(label, n) for label, n, _ in expected]
    np.testing.assert_allclose([value for *_, value in found], [value for *_, value in expected], rtol=1e-12)


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_group_by_a_text_column_of_a_csv(tmp_path, frame, monkeypatch, streamed):
    if streamed:
        monkeypatch.setattr(batches_module, "STREAM_BYTES", 0)
        monkeypatch.setattr(batches_module, "CSV_BLOCK_BYTES", 4096)
    path = tmp_path / "eval.csv"
    frame.to_csv(path, index=False)
    text = frame.assign(segment=frame["segment"].fillna(""))  # a text column keeps empty cells as ''
    assert_same_groups(groups_of_cli(path, "segment"), reference_groups(text, "segment"))
    assert_same_groups(groups_of_cli(path, "bucket", "-w", "weight"), reference_groups(frame, "bucket", "weight"))


@pytest.mark.parametrize("categorical", [False, True], ids=["string", "dictionary"])
def test_group_by_a_parquet_column_in_batches(tmp_path, frame, monkeypatch, categorical):
    monkeypatch.setattr(batches_module, "STREAM_BYTES", 0)
    monkeypatch.setattr(batches_module, "DEFAULT_BATCH_ROWS", 500)
    data = frame.assign(segment=frame["segment"].astype("category")) if categorical else frame
    path = tmp_path / "eval.parquet"
    pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path, row_group_size=700)
    assert_same_groups(groups_of_cli(path, "segment", "-w", "weight"), reference_groups(frame, "segment", "weight"))
