"""The input plan: where every array comes from, read whole, in batches, or by shard."""

from __future__ import annotations

import numpy as np
import pytest
from support import SAMPLES, assert_bad_input, run

from losscli.compare import compare
from losscli.errors import LossCliError, ParameterError, RowCountError, ShardCountError
from losscli.inputs import InputPlan
from losscli.sources import Source, parse_source
from losscli.spec import ParamSpec

EVAL = SAMPLES / "eval.parquet"


@pytest.fixture
def streamed(monkeypatch):
    """Files of any size read in pieces: CSV in 40-byte blocks, Parquet in batches of 7 rows."""
    from losscli.io import batches

    monkeypatch.setattr(batches, "STREAM_BYTES", 0)
    monkeypatch.setattr(batches, "CSV_BLOCK_BYTES", 40)
    monkeypatch.setattr(batches, "DEFAULT_BATCH_ROWS", 7)


@pytest.fixture
def table(tmp_path):
    """Six rows: two inputs, a weight, a text id and a text group column; labels in a second file."""
    path = tmp_path / "eval.csv"
    path.write_text("id,yhat,y,w,segment\n"
                    "a1,1.0,1.5,1,north\nb2,2.0,2.0,2,south\nc3,3.0,1.0,1,north\n"
                    "d4,0.5,0.0,3,east\ne5,4.0,4.5,1,south\nf6,2.5,2.0,2,north\n")
    (tmp_path / "labels.csv").write_text("region\nx\ny\nx\nz\ny\nx\n")
    return path


def test_sources_name_a_file_a_column_or_both():
    assert parse_source("weights", "w.csv", "in.csv") == Source("weights", "w.csv")
    assert parse_source("weights", "w", "in.csv") == Source("weights", "in.csv", "w")
    assert parse_source("group-by", "labels.parquet:segment", "in.csv") == Source("group-by", "labels.parquet",
                                                                                   "segment")
    assert parse_source("group-by", "shards/:segment", "in.csv") == Source("group-by", "shards/", "segment")
    assert parse_source("weights", "s3://bucket/w.parquet", "in.csv") == Source("weights", "s3://bucket/w.parquet")
    assert parse_source("id", "s3://b/x.parquet:key", "in.csv") == Source("id", "s3://b/x.parquet", "key")


def test_one_file_with_columns_ids_weights_and_groups_from_another_file(table, tmp_path):
    plan = InputPlan.build("mse", [table], columns={"pred": "yhat", "target": "y"}, weights="w", ids=["id"],
                           group_by=f"{tmp_path / 'labels.csv'}:region")
    assert plan.files() == [str(table), str(tmp_path / "labels.csv")]
    batch = plan.load()
    assert batch.arrays["pred"].tolist() == [1.0, 2.0, 3.0, 0.5, 4.0, 2.5]
    assert batch.arrays["target"].tolist() == [1.5, 2.0, 1.0, 0.0, 4.5, 2.0]
    assert batch.weights.tolist() == [1, 2, 1, 3, 1, 2]
    assert batch.ids["id"].tolist() == ["a1", "b2", "c3", "d4", "e5", "f6"]
    assert batch.labels.tolist() == ["x", "y", "x", "z", "y", "x"]


def test_batches_join_back_to_the_whole(table, streamed):
    plan = InputPlan.build("mse", [table], columns={"pred": "yhat", "target": "y"}, ids=["id"], group_by="segment")
    batches = list(plan.batches())
    assert len(batches) > 2
    assert np.concatenate([batch.arrays["pred"] for batch in batches]).tolist() == [1.0, 2.0, 3.0, 0.5, 4.0, 2.5]
    assert np.concatenate([batch.labels for batch in batches]).tolist() == ["north", "south", "north", "east",
                                                                            "south", "north"]
    assert np.concatenate([batch.ids["id"] for batch in batches]).tolist() == ["a1", "b2", "c3", "d4", "e5", "f6"]
    assert plan.load().ids["id"].tolist() == ["a1", "b2", "c3", "d4", "e5", "f6"]


def test_row_count_mismatch_is_a_structured_error(tmp_path):
    (tmp_path / "pred.csv").write_text("p\n1\n2\n3\n")
    (tmp_path / "target.csv").write_text("t\n1\n2\n")
    plan = InputPlan.build("mse", [tmp_path / "pred.csv", tmp_path / "target.csv"])
    with pytest.raises(RowCountError) as caught:
        plan.load()
    assert caught.value.counts == (("pred", str(tmp_path / "pred.csv"), 3), ("target", str(tmp_path / "target.csv"),
                                                                              2))
    assert str(caught.value.in_shard(1, 4)).startswith("row-count mismatch in shard 2 of 4: pred has 3 rows (")


def test_shards_pair_the_ith_file_of_every_input(tmp_path):
    for name in ("pred", "target"):
        (tmp_path / name).mkdir()
        for index in range(3):
            (tmp_path / name / f"part-{index}.csv").write_text(f"{name}\n{index}\n")
    shards = InputPlan.build("mse", [tmp_path / "pred", tmp_path / "target"]).shards()
    assert [(plan.shard, [source.path for source in plan.sources]) for plan in shards] == [
        ((index, 3), [str(tmp_path / name / f"part-{index}.csv") for name in ("pred", "target")])
        for index in range(3)]
    (tmp_path / "target" / "part-2.csv").unlink()
    with pytest.raises(ShardCountError, match="pred has 3 shards .*target has 2 shards"):
        InputPlan.build("mse", [tmp_path / "pred", tmp_path / "target"]).shards()


def test_read_paths_expand_directories_and_globs(tmp_path):
    (tmp_path / "pred").mkdir()
    for index in range(2):
        (tmp_path / "pred" / f"part-{index}.csv").write_text("p\n1\n")
    (tmp_path / "target.csv").write_text("t\n1\n1\n")
    plan = InputPlan.build("mse", [tmp_path / "pred", tmp_path / "target.csv"])
    assert plan.read_paths() == [str(tmp_path / "pred" / "part-0.csv"), str(tmp_path / "pred" / "part-1.csv"),
                                 str(tmp_path / "target.csv")]


def test_row_bound_never_below_the_rows(tmp_path, table):
    assert InputPlan.build(["data"], [EVAL]).row_bound() == 40  # the Parquet footer's count
    assert InputPlan.build(["data"], [table]).row_bound() == 6  # one line per row after the header
    (tmp_path / "gaps.csv").write_text("p\n1\n\n2")  # a blank line, no final newline
    assert InputPlan.build(["data"], [tmp_path / "gaps.csv"]).row_bound() == 3
    assert InputPlan.build(["data"], ["-"]).row_bound() is None


def test_usage_errors_name_the_options():
    with pytest.raises(LossCliError, match="only one input can be read from stdin"):
        InputPlan.build("mse", ["-", "-"])
    with pytest.raises(LossCliError, match="--col pred is given twice"):
        InputPlan.build("mse", [EVAL], columns=["pred=yhat", "pred=y", "target=y"])
    with pytest.raises(LossCliError, match=r"mse has no input 'logits' \(inputs: pred, target\)"):
        InputPlan.build("mse", [EVAL], columns=["logits=yhat"])
    with pytest.raises(LossCliError, match="missing --col target"):
        InputPlan.build("mse", [EVAL], columns=["pred=yhat"])


def test_a_streamed_compare_equals_the_whole_array(monkeypatch):
    """One compare path: a Parquet file read 7 rows at a time gives the in-memory result, influence included."""
    plan = InputPlan.build("mse", [EVAL], columns={"pred": "yhat", "target": "y"}, weights="weight")
    batch = plan.load()
    whole = compare(["mse", "mae", "huber"], batch.arrays, weights=batch.weights, top=0.1)
    from losscli.io import batches

    monkeypatch.setattr(batches, "STREAM_BYTES", 0)
    monkeypatch.setattr(batches, "DEFAULT_BATCH_ROWS", 7)
    assert len(list(plan.batches())) == 6
    streamed = compare(["mse", "mae", "huber"], plan, top=0.1)
    for one, other in zip(whole, streamed, strict=True):
        assert one.result.value == pytest.approx(other.result.value, rel=1e-15)
        assert one.influence.k == other.influence.k
        assert [row.row for row in one.influence.rows] == [row.row for row in other.influence.rows]
        assert (one.influence.loss_share, one.influence.grad_share) == pytest.approx(
            (other.influence.loss_share, other.influence.grad_share), rel=1e-13)
        assert one.gradient["pred"].max_row == other.gradient["pred"].max_row


def test_vector_parameters_from_files_are_read_by_the_command_line(tmp_path):
    """The library takes numbers; '-p weight=FILE' is read by the CLI (and is an error in the library)."""
    weight = ParamSpec("weight", None, "class weights", low=0.0, kind="vector")
    with pytest.raises(ParameterError, match="expects a comma list of numbers or a one-column file"):
        weight.parse(str(tmp_path / "cw.csv"))
    (tmp_path / "cw.csv").write_text("w\n1\n2\n5\n")
    via_file = run("compute", "softmax_cross_entropy", SAMPLES / "multiclass_logits.csv",
                   SAMPLES / "multiclass_labels.csv", "-p", f"weight={tmp_path / 'cw.csv'}", "--format", "csv")
    via_list = run("compute", "softmax_cross_entropy", SAMPLES / "multiclass_logits.csv",
                   SAMPLES / "multiclass_labels.csv", "-p", "weight=1,2,5", "--format", "csv")
    assert via_file.exit_code == 0, via_file.output
    assert via_file.stdout == via_list.stdout


def test_a_parameter_given_twice_is_an_error():
    result = run("compute", "huber", SAMPLES / "outliers_pred.csv", SAMPLES / "outliers_target.csv",
                 "-p", "delta=1", "-p", "delta=2")
    assert_bad_input(result, "-p delta is given twice")
