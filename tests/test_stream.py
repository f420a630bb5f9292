"""Streaming: a file reduced batch by batch equals the whole array, in every output.

The reducer is checked against losscli.compute on random splits; the CLI is run with the
streaming threshold forced to 0 and tiny batches, against the same command read whole.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import losscli
from losscli.cli import app
from losscli.groups import groups_of
from losscli.influence import InfluenceRequest, row_contributions
from losscli.influence import influence as influence_of
from losscli.inputs import Batch
from losscli.io import batches
from losscli.registry import get_loss
from losscli.stream import StreamReducer

REL = 1e-12


def split_points(rng, rows, pieces):
    return np.sort(rng.choice(np.arange(1, rows), size=pieces - 1, replace=False))


def reduce_in_batches(spec, arrays, params, reduction, weights=None, labels=None, nan_policy="raise", pieces=4):
    rng = np.random.default_rng(7)
    rows = next(iter(arrays.values())).shape[0]
    reducer = StreamReducer(spec, params, reduction, nan_policy=nan_policy, top=3)
    gradients = []
    cuts = list(split_points(rng, rows, pieces))
    for start, stop in zip([0, *cuts], [*cuts, rows], strict=True):
        batch = Batch({name: array[start:stop] for name, array in arrays.items()},
                      None if weights is None else weights[start:stop],
                      None if labels is None else labels[start:stop])
        gradients.append(reducer.add(batch))
    result = reducer.result()
    return result, np.concatenate([output.gradient * result.factor_for(output.gradient_exponent)
                                   for output in gradients])


@pytest.mark.parametrize("name", ["mse", "huber", "bce_logits", "softmax_cross_entropy", "triplet", "infonce",
                                  "lm_nll", "perplexity"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_batches_equal_the_whole(name, reduction):
    spec = losscli.get_loss(name)
    if reduction not in spec.reductions:
        pytest.skip(f"{name} has no {reduction}")
    params = spec.defaults()
    arrays = spec.sample(np.random.default_rng(3), 40, params)
    weights = np.random.default_rng(4).uniform(0.1, 2.0, 40)
    labels = np.array(["a", "b", "c", "b"] * 10, dtype=object)
    whole = losscli.compute(spec, arrays, params=params, reduction=reduction, weights=weights)
    streamed, gradient = reduce_in_batches(spec, arrays, params, reduction, weights, labels)
    first = spec.differentiable_inputs[0]
    assert streamed.value == pytest.approx(whole.value, rel=REL)
    np.testing.assert_allclose(gradient, whole.gradients[first], rtol=1e-12, atol=1e-15)
    norm = float(np.sqrt(np.sum(whole.gradients[first] ** 2)))
    assert streamed.gradient.as_dict()["l2_norm"] == pytest.approx(norm, rel=1e-12)
    whole_rows = np.sqrt((whole.gradients[first].reshape(40, -1) ** 2).sum(axis=1))
    assert [row for row, *_ in streamed.gradient.top_rows] == list(np.argsort(-whole_rows, kind="stable")[:3])
    expected_groups = {group.label: group.value for group in groups_of(whole, labels)}
    assert {group.label: group.value for group in streamed.groups} == pytest.approx(expected_groups, rel=REL)


@pytest.mark.parametrize("name", ["rmse", "mse"])
@pytest.mark.parametrize("scales", [(1e-320, 1e-320), (1e-320, 1.0), (1.0, 1e-320), (1e-200, 1e-311), (1e150, 1e-300)],
                         ids=lambda scales: "-".join(f"{scale:g}" for scale in scales))
def test_weighted_gradients_of_subnormal_residuals_stream_like_the_whole(name, scales):
    """Rows whose w·∂ℓ is below the doubles (residuals of 1e-320 times weights of 0.001) are
    lifted by a power of two, batch by batch; a later batch of larger gradients brings the rows
    before it to its units (never the reverse, which would overflow). The streamed gradient, its
    statistics and the value equal the whole array's (a 50-digit reference for rmse)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    rng = np.random.default_rng(21)
    residuals = np.concatenate([rng.uniform(-4.0, 4.0, 20) * scale for scale in scales])
    weights = rng.choice([1e-3, 0.1, 0.7, 3.0], 40)
    spec = get_loss(name)
    whole = losscli.compute(spec, residuals, np.zeros(40), weights=weights)
    streamed, gradient = reduce_in_batches(spec, {"pred": residuals, "target": np.zeros(40)}, {}, "mean", weights,
                                           pieces=2)
    exact_w = [mpmath.mpf(float(w)) for w in weights]
    total = sum(exact_w)
    mean_square = sum(w * mpmath.mpf(float(r)) ** 2 for w, r in zip(exact_w, residuals, strict=True)) / total
    if name == "rmse":  # ∂/∂ŷ_i = w_i r_i / (Σw · RMSE)
        expected = [float(w * mpmath.mpf(float(r)) / (total * mpmath.sqrt(mean_square)))
                    for w, r in zip(exact_w, residuals, strict=True)]
    else:  # 2 w_i r_i / Σw
        expected = [float(2 * w * mpmath.mpf(float(r)) / total) for w, r in zip(exact_w, residuals, strict=True)]
    assert streamed.value == pytest.approx(whole.value, rel=1e-15)
    np.testing.assert_allclose(whole.gradients["pred"], expected, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(gradient, expected, rtol=1e-14, atol=1e-300)
    norm = float(mpmath.sqrt(sum(mpmath.mpf(value) ** 2 for value in expected)))
    assert streamed.gradient.as_dict()["l2_norm"] == pytest.approx(norm, rel=1e-14)
    assert streamed.gradient.max_row == int(np.argmax(np.abs(expected)))


def test_group_values_equal_each_slice_alone():
    spec = losscli.get_loss("softmax_cross_entropy")
    arrays = spec.sample(np.random.default_rng(5), 30, spec.defaults())
    labels = np.array(["x", "y", "z"] * 10, dtype=object)
    whole = losscli.compute(spec, arrays)
    for group in groups_of(whole, labels):
        mask = labels == group.label
        alone = losscli.compute(spec, {name: array[mask] for name, array in arrays.items()})
        assert group.value == pytest.approx(alone.value, rel=REL)
        assert group.n == int(mask.sum())


def test_omitted_rows_keep_their_original_row_numbers():
    pred = np.array([1.0, np.nan, 3.0, 10.0, 2.0, np.nan])
    target = np.zeros(6)
    spec = losscli.get_loss("mse")
    result, _ = reduce_in_batches(spec, {"pred": pred, "target": target}, {}, "mean", nan_policy="omit", pieces=3)
    assert result.rows_omitted == 2
    assert result.value == pytest.approx((1 + 9 + 100 + 4) / 4)
    # row 3 (0-based) holds 10: the largest gradient 2·10/4, and the max |g| row
    assert result.gradient.max_row == 3
    assert result.gradient.top_rows[0][:2] == (3, pytest.approx(5.0))


@pytest.fixture
def big_files(tmp_path, monkeypatch):
    """Files that the CLI streams in batches of 7 rows (threshold forced to 0)."""
    rng = np.random.default_rng(11)
    rows = 50
    target = rng.normal(size=rows)
    pred = target + rng.normal(size=rows)
    pred[31] = 40.0  # the outlier, in the fifth batch
    segment = np.array(["north", "south"])[rng.integers(0, 2, rows)]
    pq.write_table(pa.table({"yhat": pred, "y": target, "w": rng.uniform(0.5, 2, rows), "segment": segment}),
                   tmp_path / "eval.parquet", row_group_size=11)
    write_columns(tmp_path, pred=pred, target=target)
    return tmp_path


def run(*args):
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    return result


def streamed(monkeypatch, *args):
    monkeypatch.setattr(batches, "STREAM_BYTES", 0)
    monkeypatch.setattr(batches, "CSV_BLOCK_BYTES", 64)
    monkeypatch.setattr(batches, "DEFAULT_BATCH_ROWS", 7)
    return run(*args)


@pytest.mark.parametrize("format_args", [["--format", "json"]])
def test_cli_streaming_equals_whole_file(big_files, monkeypatch, format_args):
    args = ["compute", "huber", big_files / "eval.parquet", "--col", "pred=yhat", "--col", "target=y",
            "--weights", "w", "--group-by", "segment", *format_args]
    whole = json.loads(run(*args).stdout)
    stream = json.loads(streamed(monkeypatch, *args).stdout)
    assert stream["value"] == pytest.approx(whole["value"], rel=REL)
    assert [r["row"] for r in stream["gradient"]["top_rows"]] == [r["row"] for r in whole["gradient"]["top_rows"]]
    assert stream["gradient"]["l2_norm"] == pytest.approx(whole["gradient"]["l2_norm"], rel=REL)
    assert [g["value"] for g in stream["groups"]] == pytest.approx([g["value"] for g in whole["groups"]], rel=REL)


def test_cli_streams_csv_files_in_lock_step_and_writes_outputs(big_files, monkeypatch, tmp_path):
    gradient_file = tmp_path / "grad.npy"
    per_sample_file = tmp_path / "loss.parquet"
    result = streamed(monkeypatch, "compute", "mse", big_files / "pred.csv", big_files / "target.csv",
                      "--gradient", gradient_file, "--per-sample", per_sample_file, "--format", "json")
    assert result.exit_code == 0, result.output
    pred = np.loadtxt(big_files / "pred.csv", skiprows=1)
    target = np.loadtxt(big_files / "target.csv", skiprows=1)
    assert json.loads(result.stdout)["value"] == pytest.approx(np.mean((pred - target) ** 2), rel=REL)
    np.testing.assert_allclose(np.load(gradient_file), 2 * (pred - target) / pred.size, rtol=1e-13)
    np.testing.assert_allclose(pq.read_table(per_sample_file).column("mse").to_numpy(), (pred - target) ** 2,
                               rtol=1e-13)


def test_cli_streaming_row_count_mismatch_counts_every_row(big_files, monkeypatch):
    short = big_files / "short.csv"
    short.write_text("target\n" + "\n".join(["0.5"] * 23) + "\n")
    result = streamed(monkeypatch, "compute", "mse", big_files / "pred.csv", short)
    assert result.exit_code == 2
    assert "pred has 50 rows" in result.stderr and "target has 23 rows" in result.stderr


def test_cli_streaming_error_names_the_row_and_line_of_the_file(big_files, monkeypatch):
    values = ["0.5"] * 50
    values[44] = "nan"
    (big_files / "target_nan.csv").write_text("target\n" + "\n".join(values) + "\n")
    result = streamed(monkeypatch, "compute", "mse", big_files / "pred.csv", big_files / "target_nan.csv")
    assert result.exit_code == 2
    assert "target_nan.csv: column 'target', row 45 (line 46): expected finite values" in result.stderr


def test_cli_reads_a_directory_and_a_glob_of_shards_in_order(tmp_path):
    rng = np.random.default_rng(2)
    pred, target = rng.normal(size=30), rng.normal(size=30)
    for name, values in (("preds", pred), ("targets", target)):
        (tmp_path / name).mkdir()
        for shard, start in enumerate(range(0, 30, 10)):
            pq.write_table(pa.table({name: values[start:start + 10]}), tmp_path / name / f"part-{shard}.parquet")
    expected = np.mean(np.abs(pred - target))
    by_directory = run("compute", "mae", tmp_path / "preds", tmp_path / "targets", "--format", "json")
    by_glob = run("compute", "mae", str(tmp_path / "preds" / "*.parquet"), str(tmp_path / "targets" / "*.parquet"),
                  "--format", "json")
    assert json.loads(by_directory.stdout)["value"] == pytest.approx(expected, rel=REL)
    assert json.loads(by_glob.stdout)["value"] == pytest.approx(expected, rel=REL)


def test_cli_group_by_a_column_of_another_file(tmp_path):
    (tmp_path / "groups.csv").write_text("region\nA\nB\nA\nB\n")
    result = run("compute", "mse", "sample_data/outliers_pred.csv", "sample_data/outliers_target.csv",
                 "--group-by", f"{tmp_path / 'groups.csv'}:region", "--format", "json")
    groups = {g["group"]: g["value"] for g in json.loads(result.stdout)["groups"]}
    # rows 1, 3: residuals 0.5, 0.5 -> 0.25; rows 2, 4: 0.5 and -96 -> (0.25 + 9216) / 2
    assert groups == {"A": pytest.approx(0.25), "B": pytest.approx(4608.125)}


def test_mae_top_rows_streamed_in_batches_equal_the_whole():
    """MAE's gradient norms are all equal: later batches enter the top rows only with a larger loss
    (the streaming fast path), and the top rows equal those of the whole array."""
    rng = np.random.default_rng(3)
    pred, target = rng.normal(size=1000), rng.normal(size=1000)
    spec = get_loss("mae")
    streamed = StreamReducer(spec, {}, "mean", top=7)
    for start in range(0, 1000, 64):
        streamed.add(Batch({"pred": pred[start:start + 64], "target": target[start:start + 64]}))
    whole = StreamReducer(spec, {}, "mean", top=7)
    whole.add(Batch({"pred": pred, "target": target}))
    expected = list(np.argsort(-np.abs(pred - target), kind="stable")[:7])
    assert [row for row, *_ in streamed.result().gradient.top_rows] == expected
    assert [row for row, *_ in whole.result().gradient.top_rows] == expected


def per_column_rmse(pred, target, weights=None):
    """scikit-learn's root_mean_squared_error(multioutput='uniform_average'), written out."""
    weights = np.ones(pred.shape[0]) if weights is None else weights
    return float(np.mean(np.sqrt((weights[:, None] * (pred - target) ** 2).sum(axis=0) / weights.sum())))


@pytest.mark.parametrize("weighted", [False, True])
def test_per_column_means_stream_like_the_whole(weighted):
    """multioutput "uniform_average" (scikit-learn's rmse): the mean of each column's RMSE, from
    per-column aggregates that merge across batches; gradients scaled column by column."""
    from losscli.conventions import apply_convention

    spec = apply_convention("rmse", "sklearn")
    rng = np.random.default_rng(12)
    pred = rng.normal(size=(40, 3)) * np.array([1.0, 10.0, 0.1])
    target = rng.normal(size=(40, 3))
    weights = rng.uniform(0.1, 2.0, 40) if weighted else None
    labels = np.array(["a", "b"] * 20, dtype=object)
    whole = losscli.compute(spec, pred, target, weights=weights)
    assert whole.value == pytest.approx(per_column_rmse(pred, target, weights), rel=1e-14)
    assert whole.value != pytest.approx(losscli.compute("rmse", pred, target, weights=weights).value, rel=1e-3)
    streamed, gradient = reduce_in_batches(spec, {"pred": pred, "target": target}, {}, "mean", weights, labels)
    assert streamed.value == pytest.approx(whole.value, rel=REL)
    np.testing.assert_allclose(gradient, whole.gradients["pred"], rtol=1e-12, atol=1e-15)
    norms = np.sqrt((whole.gradients["pred"] ** 2).sum(axis=1))
    assert [row for row, *_ in streamed.gradient.top_rows] == list(np.argsort(-norms, kind="stable")[:3])
    assert streamed.gradient.as_dict()["l2_norm"] == pytest.approx(float(np.sqrt(np.sum(norms**2))), rel=1e-12)
    for group in streamed.groups:
        mask = labels == group.label
        assert group.value == pytest.approx(
            per_column_rmse(pred[mask], target[mask], None if weights is None else weights[mask]), rel=1e-13)


def test_cli_streams_per_column_rmse(tmp_path, monkeypatch):
    rng = np.random.default_rng(13)
    pred, target = rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) * np.array([1.0, 4.0])
    weights = rng.uniform(0.5, 2.0, 50)
    for name, values in (("pred", pred), ("target", target)):
        np.savetxt(tmp_path / f"{name}.csv", values, delimiter=",", header="a,b", comments="", fmt="%.17g")
    write_columns(tmp_path, w=weights)
    args = ["compute", "rmse", tmp_path / "pred.csv", tmp_path / "target.csv", "--convention", "sklearn",
            "--weights", tmp_path / "w.csv", "--gradient", tmp_path / "grad.npy", "--format", "json"]
    result = streamed(monkeypatch, *args)
    assert result.exit_code == 0, result.output
    whole = losscli.compute(losscli.conventions.apply_convention("rmse", "sklearn"), pred, target, weights=weights)
    assert json.loads(result.stdout)["value"] == pytest.approx(per_column_rmse(pred, target, weights), rel=1e-14)
    np.testing.assert_allclose(np.load(tmp_path / "grad.npy"), whole.gradients["pred"], rtol=1e-12)


@pytest.mark.parametrize("suffix", ["npy", "csv"])
def test_cli_writes_the_gradients_of_subnormal_residuals_batch_by_batch(tmp_path, monkeypatch, suffix):
    """--gradient written in batches of 7 rows, some lifted out of the subnormals and some not
    (rows 1-14 have residuals of 1e-320, the rest of 1e-311 or 1, lifted less or not at all), each
    scaled by its own batch's units."""
    rng = np.random.default_rng(22)
    pred = np.concatenate([rng.uniform(-4.0, 4.0, 14) * 1e-320, rng.uniform(-4.0, 4.0, 14) * 1e-311,
                           rng.uniform(-4.0, 4.0, 14)])
    weights = rng.choice([1e-3, 0.1, 3.0], 42)
    for rows in (28, 42):  # without and with the rows of 1
        write_columns(tmp_path, pred=pred[:rows], target=np.zeros(rows), w=weights[:rows])
        for loss in ("rmse", "mse"):
            out = tmp_path / f"{loss}_grad.{suffix}"
            result = streamed(monkeypatch, "compute", loss, tmp_path / "pred.csv", tmp_path / "target.csv",
                              "--weights", tmp_path / "w.csv", "--gradient", out, "--format", "json")
            assert result.exit_code == 0, result.output
            whole = losscli.compute(loss, pred[:rows], np.zeros(rows), weights=weights[:rows]).gradients["pred"]
            written = np.load(out) if suffix == "npy" else np.loadtxt(out, delimiter=",", skiprows=1, usecols=1)
            np.testing.assert_allclose(written, whole, rtol=1e-15, atol=1e-300)
            norm = float(np.sqrt(np.sum(whole**2)))
            assert json.loads(result.stdout)["gradient"]["l2_norm"] == pytest.approx(norm, rel=1e-14)


def write_columns(directory, **columns):
    """One CSV per column, NAME.csv with the header NAME, every double written to round-trip."""
    for name, values in columns.items():
        np.savetxt(directory / f"{name}.csv", values, header=name, comments="", fmt="%.17g")


@pytest.mark.parametrize("influence", [False, True])
def test_shards_in_other_units_merge_like_the_whole(influence):
    """Partials reduced apart (as on Dask workers) keep gradients in units of their own: a shard
    of residuals of 1e-320 (lifted) merged before or after a shard of 1e-311 or of 1 is brought
    to the other's units, and the result equals the whole array's, influence included."""
    rng = np.random.default_rng(23)
    shards = [rng.uniform(-4.0, 4.0, 10) * scale for scale in (1e-320, 1e-311, 1.0)]
    weights = [rng.choice([1e-3, 0.1, 3.0], 10) for _ in shards]
    request = InfluenceRequest.for_rows(0.1, 30) if influence else None
    for order in ([0, 1], [1, 0], [0, 2], [2, 0], [0, 1, 2]):
        pred, w = np.concatenate([shards[i] for i in order]), np.concatenate([weights[i] for i in order])
        whole = losscli.compute("rmse", pred, np.zeros(pred.size), weights=w)
        merged = StreamReducer(get_loss("rmse"), {}, influence=request)
        for i in order:
            part = StreamReducer(get_loss("rmse"), {}, influence=request)
            part.add(Batch({"pred": shards[i], "target": np.zeros(10)}, weights[i]))
            merged.merge(part.partial)
        result = merged.result()
        norm = float(np.sqrt(np.sum(whole.gradients["pred"] ** 2)))
        assert result.gradient.as_dict()["l2_norm"] == pytest.approx(norm, rel=1e-14)
        assert result.gradient.max_row == int(np.argmax(np.abs(whole.gradients["pred"])))
        if influence:
            expected = influence_of(row_contributions(whole.per_sample, w), whole.gradients["pred"] ** 2, 0.1)
            assert result.influence.grad_share == pytest.approx(expected.grad_share, rel=1e-12)
