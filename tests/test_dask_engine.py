"""--engine dask: sharded inputs reduced on a two-worker local cluster equal the local engine.

One LocalCluster (two single-threaded worker processes, loopback only) serves the module. Each
case runs the same command on both engines and compares the JSON reports to 1e-12 relative;
an outlier sits in a later shard so that global row numbers are checked, not shard-local ones.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as arrow_csv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from losscli.cli import app
from losscli.inputs import Batch, InputPlan
from losscli.registry import get_loss
from losscli.stream import StreamReducer

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a local cluster per module: seconds

REL = 1e-12
SHARD_ROWS = (37, 52, 23, 61, 40)
OUTLIER = (3, 17)  # (shard, row in shard): global 0-based row 37 + 52 + 23 + 17 = 129


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """eval/ (every column), pred/ + target/ + weights/ + groups/ (split columns), csv/ (eval as CSV)
    and whole.parquet (every shard, concatenated)."""
    root = tmp_path_factory.mktemp("shards")
    for folder in ("eval", "pred", "target", "csv", "weights", "groups"):
        (root / folder).mkdir()
    rng = np.random.default_rng(2024)
    tables = []
    for index, rows in enumerate(SHARD_ROWS):
        target = rng.normal(size=rows)
        pred = target + rng.normal(scale=0.7, size=rows)
        logits = rng.normal(size=(rows, 4)) * 2
        if index == OUTLIER[0]:
            pred[OUTLIER[1]] += 25.0
            logits[OUTLIER[1]] = [9.0, -9.0, -9.0, -9.0]
        labels = rng.integers(0, 4, rows)
        if index == OUTLIER[0]:
            labels[OUTLIER[1]] = 3
        table = pa.table({"yhat": pred, "y": target, "w": rng.uniform(0.2, 3.0, rows),
                          "segment": rng.choice(["north", "south", f"only{index}"], rows),
                          **{f"l{k + 1}": logits[:, k] for k in range(4)}, "label": labels})
        name = f"part-{index:04d}"
        pq.write_table(table, root / "eval" / f"{name}.parquet")
        pq.write_table(table.select(["yhat", "w"]), root / "pred" / f"{name}.parquet")
        pq.write_table(table.select(["y"]), root / "target" / f"{name}.parquet")
        pq.write_table(table.select(["w"]), root / "weights" / f"{name}.parquet")
        pq.write_table(table.select(["segment"]), root / "groups" / f"{name}.parquet")
        arrow_csv.write_csv(table.drop_columns(["segment"]), root / "csv" / f"{name}.csv")
        tables.append(table)
    pq.write_table(pa.concat_tables(tables), root / "whole.parquet")
    return root


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def report(*args) -> dict:
    result = run("compute", *args, "--format", "json", "--top", "8")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_same_report(dask: dict, local: dict) -> None:
    for key in ("value", "weight_total"):
        assert dask[key] == pytest.approx(local[key], rel=REL), key
    assert (dask["n"], dask["rows_omitted"]) == (local["n"], local["rows_omitted"])
    grad_dask, grad_local = dask["gradient"], local["gradient"]
    for key in ("l2_norm", "mean", "max_abs", "zero_share"):
        assert grad_dask[key] == pytest.approx(grad_local[key], rel=REL, abs=1e-300), key
    assert grad_dask["max_abs_row"] == grad_local["max_abs_row"]
    assert [row["row"] for row in grad_dask["top_rows"]] == [row["row"] for row in grad_local["top_rows"]]
    for row_dask, row_local in zip(grad_dask["top_rows"], grad_local["top_rows"], strict=True):
        assert row_dask["l2_norm"] == pytest.approx(row_local["l2_norm"], rel=REL)
        assert row_dask["loss"] == pytest.approx(row_local["loss"], rel=REL)
    groups_dask, groups_local = dask.get("groups"), local.get("groups")
    assert (groups_dask is None) == (groups_local is None)
    if groups_dask is not None:
        assert [(g["group"], g["n"]) for g in groups_dask] == [(g["group"], g["n"]) for g in groups_local]
        assert [g["value"] for g in groups_dask] == pytest.approx([g["value"] for g in groups_local], rel=REL)


def on_dask(cluster, *args) -> dict:
    return report(*args, "--engine", "dask", "--scheduler", cluster.scheduler_address)


def test_mse_with_weights_over_two_shard_directories(cluster, data):
    args = ["mse", data / "pred", data / "target", "--col", "pred=yhat", "--weights", "w"]
    dask = on_dask(cluster, *args)
    assert_same_report(dask, report(*args))
    assert dask["n"] == sum(SHARD_ROWS)
    # the outlier of shard 4 (0-based 3) is global data row 130 (1-based)
    assert dask["gradient"]["max_abs_row"] == dask["gradient"]["top_rows"][0]["row"] == 130


def test_huber_with_group_by_equals_the_whole_file(cluster, data):
    args = ["--col", "pred=yhat", "--col", "target=y", "--group-by", "segment", "-p", "delta=0.5"]
    dask = on_dask(cluster, "huber", data / "eval", *args)
    # the local engine reads --group-by from one file, so the reference is the shards concatenated
    assert_same_report(dask, report("huber", data / "whole.parquet", *args))
    assert sorted(group["group"] for group in dask["groups"]) == sorted(["north", "south"] +
                                                                         [f"only{i}" for i in range(5)])


def test_weights_and_groups_from_shard_files_of_their_own(cluster, data):
    dask = on_dask(cluster, "mse", data / "pred", data / "target", "--col", "pred=yhat", "--weights", data / "weights",
                   "--group-by", f"{data / 'groups'}:segment")
    local = report("mse", data / "whole.parquet", "--col", "pred=yhat", "--col", "target=y", "--weights", "w",
                   "--group-by", "segment")
    assert_same_report(dask, local)


def test_softmax_cross_entropy_over_a_glob(cluster, data):
    args = ["softmax_cross_entropy", data / "eval" / "*.parquet", "--col", "logits=l*", "--col", "target=label"]
    dask = on_dask(cluster, *args)
    assert_same_report(dask, report(*args))
    assert dask["gradient"]["top_rows"][0]["row"] == 130


def test_csv_shards_count_their_rows_on_the_workers(cluster, data):
    args = ["--col", "pred=yhat", "--col", "target=y", "--weights", "w"]
    assert_same_report(on_dask(cluster, "mse", data / "csv", *args), report("mse", data / "csv", *args))


def test_a_file_url_is_read_through_fsspec(cluster, data):
    args = ["--col", "pred=yhat", "--col", "target=y"]
    dask = on_dask(cluster, "mae", f"file://{data / 'eval'}/part-*.parquet", *args)
    assert_same_report(dask, report("mae", data / "eval", *args))


def test_library_result_equals_the_local_reducer(cluster, data):
    from losscli.dask_engine import reduce_on_dask

    spec = get_loss("mse")
    plan = InputPlan.build(spec, [str(data / "eval")], columns=["pred=yhat", "target=y"])
    [reducer] = reduce_on_dask(plan, lambda _: [StreamReducer(spec, {}, "sum", top=3)],
                               scheduler=cluster.scheduler_address)
    result = reducer.result()
    whole = pq.read_table(data / "whole.parquet")
    reducer = StreamReducer(spec, {}, "sum", top=3)
    reducer.add(Batch({"pred": whole["yhat"].to_numpy(), "target": whole["y"].to_numpy()}))
    local = reducer.result()
    assert result.value == pytest.approx(local.value, rel=REL)
    assert [row for row, *_ in result.gradient.top_rows] == [row for row, *_ in local.gradient.top_rows]
    assert np.array([entry[:3] for entry in result.gradient.top_rows]) == pytest.approx(
        np.array([entry[:3] for entry in local.gradient.top_rows]), rel=REL)
    assert (result.rows, result.aggregate.count) == (local.rows, local.aggregate.count)


@pytest.fixture(scope="module")
def bad(data, tmp_path_factory):
    """eval/ copied, with a text cell in shard 3 and a NaN in shard 5."""
    root = tmp_path_factory.mktemp("bad")
    (root / "text").mkdir()
    (root / "nan").mkdir()
    for index, path in enumerate(sorted((data / "eval").glob("*.parquet"))):
        table = pq.read_table(path)
        text, nan = table, table
        if index == 2:
            cells = [repr(value) for value in table["yhat"].to_pylist()]
            cells[6] = "oops"
            text = table.set_column(0, "yhat", pa.array(cells))
        if index == 4:
            values = table["y"].to_numpy().copy()
            values[11] = np.nan
            nan = table.set_column(1, "y", pa.array(values))
        pq.write_table(text, root / "text" / path.name)
        pq.write_table(nan, root / "nan" / path.name)
    return root


@pytest.mark.parametrize("folder, where", [("text", "part-0002.parquet: column 'yhat', row 7"),
                                           ("nan", "part-0004.parquet: column 'y', row 12")])
def test_an_error_in_a_worker_is_the_local_one_line_message(cluster, bad, folder, where):
    args = ["compute", "mse", bad / folder, "--col", "pred=yhat", "--col", "target=y"]
    dask = run(*args, "--engine", "dask", "--scheduler", cluster.scheduler_address)
    local = run(*args)
    assert dask.exit_code == local.exit_code == 2
    assert dask.stderr == local.stderr
    assert where in dask.stderr and len(dask.stderr.strip().splitlines()) == 1
    assert "Traceback" not in dask.output


def test_omitted_rows_keep_their_global_row_numbers(cluster, bad):
    args = ["mse", bad / "nan", "--col", "pred=yhat", "--col", "target=y", "--nan-policy", "omit"]
    dask = on_dask(cluster, *args)
    assert_same_report(dask, report(*args))
    assert dask["rows_omitted"] == 1


def test_shard_counts_must_match(cluster, data, tmp_path):
    for path in sorted((data / "target").glob("*.parquet"))[:4]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    result = run("compute", "mse", data / "pred", tmp_path, "--col", "pred=yhat",
                 "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 2
    assert "shard-count mismatch" in result.stderr
    assert f"pred has 5 shards ({data / 'pred'})" in result.stderr
    assert f"target has 4 shards ({tmp_path})" in result.stderr


def test_shard_rows_must_match(cluster, data, tmp_path):
    for index, path in enumerate(sorted((data / "target").glob("*.parquet"))):
        table = pq.read_table(path)
        pq.write_table(table.slice(0, 20) if index == 1 else table, tmp_path / path.name)
    result = run("compute", "mse", data / "pred", tmp_path, "--col", "pred=yhat",
                 "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 2
    assert "row-count mismatch in shard 2 of 5" in result.stderr
    assert "pred has 52 rows" in result.stderr and "target has 20 rows" in result.stderr
    assert "part-0001.parquet" in result.stderr


def test_a_malformed_scheduler_address_is_a_one_line_error(data):
    result = run("compute", "mse", data / "pred", data / "target", "--col", "pred=yhat", "--engine", "dask",
                 "--scheduler", "nonsense")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot reach the Dask scheduler at nonsense: ")


def test_without_the_extra_the_error_says_how_to_install_it(data, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    result = run("compute", "mse", data / "pred", data / "target", "--col", "pred=yhat", "--engine", "dask")
    assert result.exit_code == 2
    assert "pip install 'losscli[dask]'" in result.stderr


def test_remote_urls_are_copied_to_the_worker_and_named_in_messages(data):
    """A URL that is not a local file (memory:// here; s3:// in use): the worker reads a local copy."""
    fsspec = pytest.importorskip("fsspec")
    from losscli.dask_engine import ReducerJob, reduce_shard

    memory = fsspec.filesystem("memory")
    for path in sorted((data / "eval").glob("*.parquet"))[:2]:
        memory.pipe(f"/losscli-test/{path.name}", path.read_bytes())
    memory.pipe("/losscli-test/part-0009.parquet", b"not parquet")
    spec = get_loss("mse")
    selectors = ("pred=yhat", "target=y")
    shards = InputPlan.build(spec, ["memory://losscli-test/*.parquet"], columns=selectors).shards()
    assert [shard.sources[0].path for shard in shards] == [
        f"memory:///losscli-test/part-000{i}.parquet" for i in (0, 1, 9)]
    jobs = (ReducerJob.of(StreamReducer(spec, {}, "mean")),)
    [first] = reduce_shard(jobs, shards[0])
    first = first.merge(reduce_shard(jobs, shards[1])[0])
    whole = pq.read_table(data / "whole.parquet").slice(0, SHARD_ROWS[0] + SHARD_ROWS[1])
    pred, target = whole["yhat"].to_numpy(), whole["y"].to_numpy()
    assert first.aggregate.weighted_sum == pytest.approx(np.sum((pred - target) ** 2), rel=REL)
    failure = reduce_shard(jobs, shards[2])
    assert failure.message.startswith("memory:///losscli-test/part-0009.parquet: not a valid Parquet file")
    memory.rm("/losscli-test", recursive=True)


# --- losscli compare --engine dask -----------------------------------------------------------


def compare_report(*args) -> dict | list:
    result = run("compare", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_same_json(dask, local, path="") -> None:
    """Equal structure, equal strings and integers, floats to 1e-12 relative."""
    assert type(dask) is type(local), path
    if isinstance(local, dict):
        assert list(dask) == list(local), path
        for key in local:
            assert_same_json(dask[key], local[key], f"{path}.{key}")
    elif isinstance(local, list):
        assert len(dask) == len(local), path
        for index, (first, second) in enumerate(zip(dask, local, strict=True)):
            assert_same_json(first, second, f"{path}[{index}]")
    elif isinstance(local, float):
        assert dask == pytest.approx(local, rel=REL, abs=1e-300), path
    else:
        assert dask == local, path


COMPARE_ARGS = ("--col", "pred=yhat", "--col", "target=y", "-p", "delta=0.5")


@pytest.mark.parametrize("top", ["0.01", "0.05", "0.5", "1"])
def test_compare_over_shards_equals_the_whole_file(cluster, data, top):
    args = [*COMPARE_ARGS, "--top", top]
    dask = compare_report("mse", "mae", "huber", data / "eval", *args, "--engine", "dask",
                          "--scheduler", cluster.scheduler_address)
    assert_same_json(dask, compare_report("mse", "mae", "huber", data / "whole.parquet", *args))
    mse = dask[0]
    assert mse["n"] == sum(SHARD_ROWS)
    assert mse["gradient"]["max_abs_row"] == mse["influence"]["rows"][0]["row"] == 130  # the late outlier


def test_compare_with_weights_and_group_by_over_two_shard_directories(cluster, data):
    dask = compare_report("mse", "mae", "huber", data / "pred", data / "target", "--col", "pred=yhat",
                          "--weights", "w", "--group-by", f"{data / 'groups'}:segment", "--top", "0.1",
                          "--engine", "dask", "--scheduler", cluster.scheduler_address)
    local = compare_report("mse", "mae", "huber", data / "whole.parquet", *COMPARE_ARGS[:4], "--weights", "w",
                           "--group-by", "segment", "--top", "0.1")
    assert_same_json(dask["losses"], local["losses"])
    assert_same_json(dask["groups"], local["groups"])
    assert {row["group"] for row in dask["groups"]} == {"north", "south", "(all)", *(f"only{i}" for i in range(5))}


def test_compare_csv_shards_count_their_rows_first(cluster, data):
    args = [*COMPARE_ARGS, "--top", "0.05", "--weights", "w"]
    dask = compare_report("mse", "huber", data / "csv", *args, "--engine", "dask",
                          "--scheduler", cluster.scheduler_address)
    assert_same_json(dask, compare_report("mse", "huber", data / "whole.parquet", *args))


def test_compare_shards_on_a_local_cluster_of_its_own(data):
    dask = compare_report("mse", "mae", data / "eval", *COMPARE_ARGS[:4], "--engine", "dask", "--workers", "1")
    assert_same_json(dask, compare_report("mse", "mae", data / "whole.parquet", *COMPARE_ARGS[:4]))


def test_compare_bad_cell_in_a_shard_is_the_one_line_message(cluster, bad):
    result = run("compare", "mse", "mae", bad / "text", *COMPARE_ARGS[:4], "--engine", "dask",
                 "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 2
    assert "part-0002.parquet: column 'yhat', row 7" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    nan = run("compare", "mse", bad / "nan", *COMPARE_ARGS[:4], "--engine", "dask",
              "--scheduler", cluster.scheduler_address)
    assert nan.exit_code == 2
    assert "part-0004.parquet: column 'y', row 12" in nan.stderr


def test_compare_without_the_extra_says_how_to_install_it(data, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = run("compare", "mse", "mae", data / "eval", *COMPARE_ARGS[:4], "--engine", "dask")
    assert result.exit_code == 2
    assert "pip install 'losscli[dask]'" in result.stderr


def test_compare_engine_options_are_checked(data):
    result = run("compare", "mse", "mae", data / "whole.parquet", *COMPARE_ARGS[:4], "--workers", "3")
    assert result.exit_code == 2
    assert "--scheduler and --workers go with --engine dask" in result.stderr
    result = run("compare", "mse", "mae", "--engine", "dask")
    assert result.exit_code == 2
    assert "--engine dask reads input files" in result.stderr


def test_compare_bounds_rows_of_every_format(data, tmp_path):
    from losscli.shards import shard_row_bound

    def bound(path):
        return shard_row_bound(InputPlan.build(["pred"], [str(path)]))

    assert bound(data / "eval" / "part-0001.parquet") == SHARD_ROWS[1]  # the footer's count: exact
    assert bound(data / "csv" / "part-0003.csv") == SHARD_ROWS[3]  # one line per row, after the header
    assert bound(data / "missing.parquet") is None
    # blank lines and a last line without a newline: an upper bound, never below the rows
    (tmp_path / "gaps.csv").write_text("pred\n1\n\n2\n3")
    assert bound(tmp_path / "gaps.csv") == 4


# --- a scheduler that never answers, or answers garbage ----------------------------------------

@pytest.fixture
def fake_scheduler():
    """Start a TCP server on the loopback that accepts connections and then either says nothing
    or sends an HTTP reply; yields a function mode -> its tcp:// address."""
    import socket
    import threading

    servers, accepted = [], []

    def start(mode: str) -> str:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def serve():
            with contextlib.suppress(OSError):  # closed at the end of the test
                while True:
                    connection, _ = server.accept()
                    accepted.append(connection)
                    if mode == "garbage":
                        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")

        threading.Thread(target=serve, daemon=True).start()
        return f"tcp://127.0.0.1:{server.getsockname()[1]}"

    yield start
    for item in servers + accepted:
        item.close()


@pytest.mark.parametrize("command", ["compute", "compare"])
def test_a_scheduler_that_accepts_and_never_answers_times_out(data, fake_scheduler, command):
    # Before: distributed waits for the handshake without a deadline; the run hung forever.
    address = fake_scheduler("silent")
    losses = ["mse"] if command == "compute" else ["mse", "mae"]
    result = run(command, *losses, data / "pred", data / "target", "--col", "pred=yhat", "--engine", "dask",
                 "--scheduler", address, "--timeout", "0.5")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"Error: the Dask scheduler at {address} did not answer within 0.5 s " \
                            "(--timeout SECONDS to wait longer)\n"


def test_a_server_that_sends_garbage_is_one_line(data, fake_scheduler):
    address = fake_scheduler("garbage")
    result = run("compute", "mse", data / "pred", data / "target", "--col", "pred=yhat", "--engine", "dask",
                 "--scheduler", address, "--timeout", "5")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"Error: {address} does not answer as a Dask scheduler (")


def test_timeout_goes_with_a_scheduler(data):
    result = run("compute", "mse", data / "pred", data / "target", "--col", "pred=yhat", "--timeout", "3")
    assert (result.exit_code, result.stderr) == (2, "Error: --timeout goes with --engine dask --scheduler ADDRESS\n")


def test_nan_policy_propagate_equals_the_local_engine_and_the_whole_file(cluster, tmp_path):
    # non-finite values in three shards: the NaN of the last shard outranks the earlier inf
    pred = np.random.default_rng(5).normal(size=40)
    pred[[5, 17, 30, 31]] = [np.inf, np.nan, -np.inf, np.nan]
    for name in ("pred", "target"):
        (tmp_path / name).mkdir()
    for shard in range(4):
        rows = slice(10 * shard, 10 * shard + 10)
        pq.write_table(pa.table({"pred": pred[rows]}), tmp_path / "pred" / f"part-{shard}.parquet")
        pq.write_table(pa.table({"target": np.zeros(10)}), tmp_path / "target" / f"part-{shard}.parquet")
    pq.write_table(pa.table({"pred": pred, "target": np.zeros(40)}), tmp_path / "whole.parquet")
    args = ["mse", tmp_path / "pred", tmp_path / "target", "--nan-policy", "propagate", "--allow-nonfinite"]
    dask, local = on_dask(cluster, *args), report(*args)
    whole = report("mse", tmp_path / "whole.parquet", "--col", "pred=pred", "--col", "target=target",
                   "--nan-policy", "propagate", "--allow-nonfinite")
    assert dask["gradient"] == local["gradient"] == whole["gradient"]
    assert whole["gradient"]["max_abs_row"] == 18  # the first NaN, 1-based; np.argmax finds it first
