"""Partial aggregates (losses) and gradient statistics: chunks merged equal the whole."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
from support import run

import losscli
from losscli import Aggregate, InputError, compute, get_loss
from losscli.groups import group_aggregates
from losscli.reduction import broadcast_weights
from losscli.scaled import ScaledSum
from losscli.summary import GradientStats

REL = 1e-12


def _random_splits(rng, size, pieces):
    """Sorted distinct cut points splitting range(size) into ``pieces`` non-empty chunks."""
    return np.sort(rng.choice(np.arange(1, size), pieces - 1, replace=False))


def _assert_aggregates_close(merged, whole):
    assert merged.count == whole.count
    assert merged.weighted_sum == pytest.approx(whole.weighted_sum, rel=REL)
    assert merged.weight_total == pytest.approx(whole.weight_total, rel=REL)
    assert merged.value("mean") == pytest.approx(whole.value("mean"), rel=REL)
    assert merged.value("sum") == pytest.approx(whole.value("sum"), rel=REL)


# --- Aggregate ------------------------------------------------------------------------------

def test_aggregate_by_hand():
    # losses 1, 2, 3, 4: sum 10, mean 2.5;  weights 1, 1, 0, 2: Σw·l = 1 + 2 + 8 = 11, Σw = 4, mean 2.75
    losses = np.array([1.0, 2.0, 3.0, 4.0])
    plain = Aggregate.of(losses)
    assert (plain.weighted_sum, plain.weight_total, plain.count) == (10.0, 4.0, 4)
    assert plain.value("mean") == 2.5
    weighted = Aggregate.of(losses, np.array([1.0, 1.0, 0.0, 2.0]))
    assert (weighted.weighted_sum, weighted.weight_total, weighted.count) == (11.0, 4.0, 4)
    assert weighted.value("mean") == 2.75
    assert weighted.value("sum") == 11.0


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_two_chunks_merge_to_the_whole(seed, weighted):
    rng = np.random.default_rng(seed)
    losses = rng.exponential(2.0, 101)
    weights = rng.uniform(0.0, 3.0, 101) if weighted else None
    cut = int(rng.integers(1, 100))
    first = Aggregate.of(losses[:cut], None if weights is None else weights[:cut])
    second = Aggregate.of(losses[cut:], None if weights is None else weights[cut:])
    _assert_aggregates_close(first.merge(second), Aggregate.of(losses, weights))
    _assert_aggregates_close(second.merge(first), Aggregate.of(losses, weights))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_many_chunks_merge_in_any_grouping(seed, weighted):
    rng = np.random.default_rng(100 + seed)
    losses = rng.exponential(1.0, (500, 3))
    weights = rng.uniform(0.0, 2.0, (500, 3)) if weighted else None
    cuts = _random_splits(rng, 500, int(rng.integers(2, 40)))
    weight_chunks = np.split(weights, cuts) if weighted else [None] * (len(cuts) + 1)
    parts = [Aggregate.of(chunk, w) for chunk, w in zip(np.split(losses, cuts), weight_chunks, strict=True)]
    whole = Aggregate.of(losses, weights)
    # left fold, as a streaming reader would do
    _assert_aggregates_close(functools.reduce(Aggregate.merge, parts, Aggregate()), whole)

    # pairwise tree, as workers combining their results would do
    def tree(items):
        if len(items) == 1:
            return items[0]
        pairs = [a.merge(b) for a, b in zip(items[::2], items[1::2], strict=False)]  # an odd last one waits
        return tree(pairs + ([items[-1]] if len(items) % 2 else []))
    _assert_aggregates_close(tree(parts), whole)


def test_empty_aggregate_is_the_identity():
    part = Aggregate.of(np.array([1.0, 5.0]), np.array([2.0, 1.0]))
    assert Aggregate().merge(part) == part
    assert part.merge(Aggregate()) == part


@pytest.mark.parametrize("spec", losscli.LOSSES, ids=lambda spec: spec.name)
def test_chunked_compute_equals_whole(spec):
    # every loss: compute on row chunks, merge the aggregates, reduce once = compute on everything
    rng = np.random.default_rng(7)
    params = spec.defaults()
    inputs = spec.sample(rng, 30, params)
    weights = rng.uniform(0.1, 2.0, 30)
    for w in (None, weights):
        merged = Aggregate()
        for rows in np.split(np.arange(30), [4, 5, 17]):
            part = compute(spec, {name: array[rows] for name, array in inputs.items()},
                           weights=None if w is None else w[rows], gradient=False)
            merged = merged.merge(part.aggregate)
        whole = compute(spec, inputs, weights=w, gradient=False)
        value = merged.value("mean")
        if spec.transform is not None:
            value = spec.transform.function(value)
        assert value == pytest.approx(whole.value, rel=REL), spec.name
        assert merged.count == whole.n


def test_value_of_none_is_an_error():
    with pytest.raises(ValueError, match="no single value"):
        Aggregate.of(np.array([1.0])).value("none")


def test_mean_of_nothing_is_an_error():
    with pytest.raises(InputError, match="zero samples"):
        Aggregate().value("mean")


# --- weights --------------------------------------------------------------------------------

def test_weights_broadcast_over_columns():
    # [N, 2] regression rows, weight per row applies to both columns:
    # squared errors (1, 4) and (9, 16), weights 3 and 1 -> (3·5 + 25) / (3·2 + 1·2) = 40 / 8 = 5
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert compute("mse", pred, np.zeros((2, 2)), weights=[3.0, 1.0]).value == 5.0
    broadcast = broadcast_weights(np.array([3.0, 1.0]), (2, 2))
    np.testing.assert_array_equal(broadcast, [[3.0, 3.0], [1.0, 1.0]])
    # a column vector [N, 1] of weights is accepted as [N]
    np.testing.assert_array_equal(broadcast_weights(np.array([[3.0], [1.0]]), (2, 2)), broadcast)


def test_weights_broadcast_over_tokens():
    # [B, T] token losses: a weight per sequence covers its T tokens; a [B, T] array weights each token
    spec = get_loss("lm_nll")
    inputs = spec.sample(np.random.default_rng(3), 4, {})
    per_token = compute(spec, inputs, reduction="none").value
    per_sequence = np.array([1.0, 0.0, 2.0, 0.5])
    expected = np.sum(per_sequence[:, None] * per_token) / (per_token.shape[1] * per_sequence.sum())
    assert compute(spec, inputs, weights=per_sequence).value == pytest.approx(expected, rel=REL)
    token_weights = np.random.default_rng(4).uniform(0.0, 1.0, per_token.shape)
    expected = np.sum(token_weights * per_token) / token_weights.sum()
    assert compute(spec, inputs, weights=token_weights).value == pytest.approx(expected, rel=REL)
    assert broadcast_weights(per_sequence, per_token.shape).shape == per_token.shape


def test_weights_of_the_wrong_length():
    with pytest.raises(InputError, match=r"expected 3 sample weights, got shape \(2,\)"):
        compute("mse", [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], weights=[1.0, 2.0])


@pytest.mark.filterwarnings("error")
def test_zero_weight_total_is_an_error():
    # a clean InputError, with no division-by-zero warning on the way
    with pytest.raises(InputError, match="weights sum to zero"):
        compute("mse", [1.0, 2.0], [0.0, 0.0], weights=[0.0, 0.0])


@pytest.mark.filterwarnings("error")
def test_mean_of_empty_input_is_an_input_error():
    with pytest.raises(InputError, match="zero samples"):
        compute("mse", [], [])
    assert compute("mse", [], [], reduction="sum").value == 0.0


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_negative_or_non_finite_weights_are_errors(bad):
    with pytest.raises(InputError, match="non-negative weights") as error:
        compute("mse", [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], weights=[1.0, bad, 1.0])
    assert error.value.input_name == "weights"
    assert error.value.row == 1


def test_nan_weight_row_dropped_under_omit():
    result = compute("mse", [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], weights=[1.0, np.nan, 3.0], nan_policy="omit")
    # rows 0 and 2 remain: (1·1 + 3·9) / 4 = 7
    assert result.value == 7.0
    np.testing.assert_array_equal(result.kept_rows, [True, False, True])


# --- GradientStats --------------------------------------------------------------------------

def _gradient(rng, shape, zero_share=0.1):
    gradient = rng.normal(size=shape)
    gradient[rng.random(shape) < zero_share] = 0.0
    return gradient


def _assert_stats_close(merged, whole):
    assert merged.count == whole.count
    assert merged.zeros == whole.zeros
    assert merged.sum_squares == pytest.approx(whole.sum_squares, rel=REL)
    assert merged.total == pytest.approx(whole.total, rel=REL, abs=1e-12 * math.sqrt(whole.sum_squares))
    assert merged.max_abs == whole.max_abs
    assert merged.max_row == whole.max_row
    assert merged.max_position == whole.max_position
    assert [row for row, *_ in merged.top_rows] == [row for row, *_ in whole.top_rows]
    np.testing.assert_allclose([norm for _, norm, *_ in merged.top_rows], [norm for _, norm, *_ in whole.top_rows],
                               rtol=REL)


@pytest.mark.parametrize("shape", [(40,), (40, 3), (40, 4, 5)])
def test_gradient_stats_by_direct_computation(shape):
    rng = np.random.default_rng(0)
    gradient = _gradient(rng, shape)
    stats = GradientStats.of(gradient)
    rows = gradient.reshape(shape[0], -1)
    norms = np.linalg.norm(rows, axis=1)
    assert stats.count == gradient.size
    assert stats.zeros == int(np.sum(gradient == 0))
    assert stats.sum_squares == pytest.approx(float(np.sum(gradient**2)), rel=REL)
    assert stats.total == pytest.approx(float(np.sum(gradient)), rel=REL, abs=1e-12)
    worst = np.unravel_index(np.argmax(np.abs(gradient)), shape)
    assert stats.max_abs == abs(gradient[worst])
    assert stats.max_row == worst[0]
    assert stats.max_position == tuple(int(i) for i in worst[1:])
    assert [row for row, *_ in stats.top_rows] == list(np.argsort(-norms)[:stats.top])
    as_dict = stats.as_dict()
    assert as_dict["l2_norm"] == pytest.approx(np.linalg.norm(gradient), rel=REL)
    assert as_dict["zero_share"] == stats.zeros / gradient.size


@pytest.mark.parametrize("shape", [(60,), (60, 3), (60, 2, 7)])
@pytest.mark.parametrize("seed", range(4))
def test_gradient_stats_merge_of_chunks_with_offsets(seed, shape):
    rng = np.random.default_rng(seed)
    gradient = _gradient(rng, shape)
    whole = GradientStats.of(gradient)
    cut = int(rng.integers(1, shape[0]))
    merged = GradientStats.of(gradient[:cut]).merge(GradientStats.of(gradient[cut:], row_offset=cut))
    _assert_stats_close(merged, whole)
    # many chunks at random cut points
    cuts = _random_splits(rng, shape[0], int(rng.integers(2, 20)))
    starts = [0, *cuts.tolist()]
    chunks = zip(np.split(gradient, cuts), starts, strict=True)
    parts = [GradientStats.of(chunk, row_offset=start) for chunk, start in chunks]
    _assert_stats_close(functools.reduce(GradientStats.merge, parts), whole)


def test_gradient_stats_merge_without_offset_would_be_wrong():
    # the row offset matters: the same chunks merged without it point at the wrong row
    gradient = np.array([[0.1, 0.2], [0.3, 0.1], [5.0, 0.0], [0.2, 0.2]])
    whole = GradientStats.of(gradient)
    assert whole.max_row == 2
    merged = GradientStats.of(gradient[:2]).merge(GradientStats.of(gradient[2:], row_offset=2))
    assert merged.max_row == 2
    assert merged.top_rows[0][:2] == (2, 5.0)
    assert GradientStats.of(gradient[:2]).merge(GradientStats.of(gradient[2:])).max_row == 0


@pytest.mark.parametrize("factor", [0.01, 3.0, -0.5])
def test_gradient_stats_scaled_equals_stats_of_scaled_gradient(factor):
    rng = np.random.default_rng(5)
    gradient = _gradient(rng, (30, 4))
    _assert_stats_close(GradientStats.of(gradient).scaled(factor), GradientStats.of(gradient * factor))


def test_chunked_sum_gradients_scaled_give_the_mean_gradient_stats():
    # streaming: each chunk's sum-reduced gradient, merged and scaled by 1/N, = stats of the mean gradient
    spec = get_loss("huber")
    inputs = spec.sample(np.random.default_rng(6), 50, spec.defaults())
    mean_gradient = compute(spec, inputs).gradients["pred"]
    merged = None
    for rows in np.split(np.arange(50), [13, 31]):
        chunk = compute(spec, {name: array[rows] for name, array in inputs.items()}, reduction="sum")
        stats = GradientStats.of(chunk.gradients["pred"], row_offset=int(rows[0]))
        merged = stats if merged is None else merged.merge(stats)
    _assert_stats_close(merged.scaled(1 / 50), GradientStats.of(mean_gradient))


# --- sums that cannot overflow ----------------------------------------------------------------

BIG = 1e308  # three of them sum past the largest double, 1.797e308


@pytest.mark.filterwarnings("error")
def test_huge_weights_give_the_weighted_mean():
    # losses 0, 0, 1 with equal weights 1e308: the mean is 1/3 whatever the common weight.
    # Before: Σw = inf, Σw·l = 1e308, and the mean came out as 0.0.
    losses, weights = np.array([0.0, 0.0, 1.0]), np.full(3, BIG)
    whole = Aggregate.of(losses, weights)
    assert whole.value("mean") == 1 / 3
    assert whole.value("sum") == BIG and whole.weight_total == math.inf  # 3e308 is beyond a double
    for cut in (1, 2):
        merged = Aggregate.of(losses[:cut], weights[:cut]).merge(Aggregate.of(losses[cut:], weights[cut:]))
        assert merged.value("mean") == 1 / 3
    assert compute("mse", [0.0, 0.0, 1.0], [0.0, 0.0, 0.0], weights=weights, gradient=False).value == 1 / 3


@pytest.mark.filterwarnings("error")
def test_huge_losses_and_merges_of_many_parts_keep_the_mean():
    # the mean of 1e308 taken 1000 times (in 10 parts) is 1e308; a float sum would be inf
    parts = [Aggregate.of(np.full(100, BIG)) for _ in range(10)]
    merged = functools.reduce(Aggregate.merge, parts, Aggregate())
    assert merged.value("mean") == pytest.approx(BIG, rel=1e-15) and merged.count == 1000
    # ordinary sums are the plain float sums, bit for bit
    losses = np.random.default_rng(1).exponential(size=100)
    assert Aggregate.of(losses).weighted_sum == float(np.sum(losses))


def test_scaled_sums_by_hand():
    # 1e308 + 1e308 - 1e308 = 1e308: the partial sum passes the largest double, the total does not
    assert ScaledSum.of(np.array([BIG, BIG, -BIG])).value == BIG
    huge = ScaledSum.of(np.full(4, BIG))  # 4e308 = 2 · 2e308
    assert huge.value == math.inf and huge / ScaledSum.of(np.full(2, BIG)) == 2.0
    assert huge.sqrt() == pytest.approx(2e154, rel=1e-15)
    # a NaN or inf term propagates as in a plain sum, in any order of merging
    assert math.isnan((huge + ScaledSum(math.nan)).value) and math.isnan((ScaledSum(math.nan) + huge).value)
    assert (huge + ScaledSum(math.inf)).value == math.inf
    assert math.isnan((ScaledSum(math.inf) + ScaledSum(-math.inf)).value)


def test_group_aggregates_with_huge_weights():
    # groups a (losses 0, 0) and b (losses 1, 0), every weight 1e308: means 0 and 1/2
    groups = group_aggregates(np.array([0.0, 0.0, 1.0, 0.0]), np.full(4, BIG), None, ["a", "a", "b", "b"])
    assert {label: aggregate.value("mean") for label, aggregate in groups.items()} == {"a": 0.0, "b": 0.5}


def test_compute_with_huge_weights_prints_the_true_mean(tmp_path):
    weights = tmp_path / "w.csv"
    weights.write_text("w\n1e308\n1e308\n1e308\n")
    pred, target = tmp_path / "p.csv", tmp_path / "t.csv"
    pred.write_text("p\n1\n2\n3\n")
    target.write_text("t\n1\n2\n4\n")
    result = run("compute", "mse", pred, target, "-w", weights, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    # squared errors 0, 0, 1; Σw = 3e308 is beyond a double
    assert (data["value"], data["weight_total"], data["weight_total_nonfinite"]) == (1 / 3, None, "inf")
    # equal weights: the gradient of the mean is the unweighted one, 2(ŷ - y)/3 = (0, 0, -2/3)
    assert data["gradient"]["l2_norm"] == pytest.approx(2 / 3, rel=1e-15)
    assert data["gradient"]["max_abs_row"] == 3


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("scale", [5e307, 1e-320, 1e290])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_extreme_weights_give_the_gradient_of_moderate_ones_rescaled(scale, reduction):
    """Weights w·s against weights w: the mean and its gradient are the same, the sum and its
    gradient s times larger (inf where that is beyond the doubles, as is the truth), no warning."""
    pred, target, weights = np.array([1.0, 2.0, 4.0]), np.array([0.0, 0.5, 1.0]), np.array([1.0, 3.0, 0.5])
    moderate = compute("mse", pred, target, weights=weights, reduction=reduction)
    extreme = compute("mse", pred, target, weights=weights * scale, reduction=reduction)
    factor = 1.0 if reduction == "mean" else scale
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(extreme.value, moderate.value * factor, rtol=1e-14)
        np.testing.assert_allclose(extreme.gradients["pred"], moderate.gradients["pred"] * factor, rtol=1e-14)


@pytest.mark.filterwarnings("error")
def test_partials_reduced_with_different_weight_scales_merge_to_the_whole():
    """Shards whose weights differ by 1e300 pick different scales (Dask reduces them apart);
    their merge equals one reducer over both, and the gradient statistics are those of the whole."""
    from losscli.inputs import Batch
    from losscli.stream import StreamReducer

    spec = get_loss("mse")
    arrays = {"pred": np.array([1.0, 2.0, 4.0, -1.0]), "target": np.zeros(4)}
    weights = np.array([1e300, 2e300, 1.0, 3.0])
    first, second = (StreamReducer(spec, {}, "mean", gradient_inputs=("pred",)) for _ in range(2))
    first.add(Batch({name: array[:2] for name, array in arrays.items()}, weights[:2]))
    second.add(Batch({name: array[2:] for name, array in arrays.items()}, weights[2:]))
    merged = StreamReducer(spec, {}, "mean")
    merged.merge(first.partial)
    merged.merge(second.partial)
    result = merged.result()
    whole = compute("mse", arrays, weights=weights)
    assert result.value == pytest.approx(whole.value, rel=1e-15)
    np.testing.assert_allclose(result.gradient.max_abs, np.max(np.abs(whole.gradients["pred"])), rtol=1e-15)
    assert result.gradient.max_row == int(np.argmax(np.abs(whole.gradients["pred"])))


@pytest.mark.filterwarnings("error")
def test_gradient_rows_of_huge_values_have_finite_norms():
    # |(3e200, 4e200)| = 5e200, although 3e200² overflows
    stats = GradientStats.of(np.array([[3e200, 4e200], [1.0, 0.0]]))
    assert stats.top_rows[0][0] == 0 and stats.top_rows[0][1] == pytest.approx(5e200, rel=1e-15)
    assert stats.as_dict()["l2_norm"] == pytest.approx(5e200, rel=1e-15)
    assert stats.as_dict()["mean"] == pytest.approx((7e200 + 1) / 4, rel=1e-15)


# --- non-finite values propagate the same through any merge ---------------------------------------

def _nan_gradient():
    gradient = np.random.default_rng(11).normal(size=(40, 2))
    gradient[5, 1], gradient[17, 0], gradient[30, 0], gradient[31, 1] = np.nan, np.inf, np.nan, -np.inf
    return gradient


@pytest.mark.parametrize("cuts", [[10, 20, 30], [6], [31], [1, 2, 3, 5, 6, 18, 31, 39]])
def test_nan_and_inf_merge_like_the_whole(cuts):
    # np.argmax finds the first NaN: row 5. Before, merges compared NaN with >= and kept the
    # other part's row (31 for four shards of ten).
    gradient = _nan_gradient()
    whole = GradientStats.of(gradient)
    assert (whole.max_row, whole.max_position) == (5, (1,))
    starts = [0, *cuts]
    parts = [GradientStats.of(chunk, row_offset=start) for chunk, start in zip(np.split(gradient, cuts), starts,
                                                                              strict=True)]
    for merged in (functools.reduce(GradientStats.merge, parts),
                   functools.reduce(lambda left, right: right.merge(left), reversed(parts))):
        assert (merged.max_row, merged.max_position) == (whole.max_row, whole.max_position)
        assert math.isnan(merged.max_abs)
        # NaN and inf rows first (NaN ranks with inf, ties by row), then the largest finite norms
        assert [row for row, *_ in merged.top_rows] == [row for row, *_ in whole.top_rows] == [5, 17, 30, 31,
                                                                                               whole.top_rows[4][0]]
        assert math.isnan(merged.sum_squares) and math.isnan(merged.total)


def test_nan_policy_propagate_gives_one_answer_for_one_file_and_its_shards(tmp_path):
    gradient_source = _nan_gradient()[:, 0]
    pred, target = tmp_path / "pred", tmp_path / "target"
    pred.mkdir()
    target.mkdir()
    for shard in range(4):
        rows = slice(10 * shard, 10 * shard + 10)
        np.savetxt(pred / f"part-{shard}.csv", gradient_source[rows], header="pred", comments="")
        np.savetxt(target / f"part-{shard}.csv", np.zeros(10), header="target", comments="")
    np.savetxt(tmp_path / "pred.csv", gradient_source, header="pred", comments="")
    np.savetxt(tmp_path / "target.csv", np.zeros(40), header="target", comments="")
    outputs = [json.loads(run("compute", "mse", *inputs, "--nan-policy", "propagate", "-f", "json").stdout)
               for inputs in ((tmp_path / "pred.csv", tmp_path / "target.csv"), (pred, target))]
    assert outputs[0]["gradient"] == outputs[1]["gradient"]
    assert outputs[0]["gradient"]["max_abs_row"] == 31  # the first NaN (1-based row 31) outranks the inf in 18


def test_scaled_sums_of_tiny_terms_keep_their_digits_beside_zeros():
    """A zero term (or an empty sum) has exponent 0, which says nothing of the scale: 0 + r² with
    r = 1.5e-161 keeps r² = 2.27e-322 to full precision in the scaled form (the double is subnormal)."""
    tiny = 1.50522052e-161
    alone = ScaledSum.of_squares(np.array([tiny]))
    with_zero = ScaledSum.of_squares(np.array([0.0, tiny]))
    assert with_zero == alone and alone.exponent != 0
    assert (ScaledSum() + alone) == alone == (alone + ScaledSum())
    assert alone.sqrt() == pytest.approx(tiny, rel=1e-15)


@pytest.mark.parametrize("case", [
    # rmse: residuals 2.2e-311 and 1.4e-45 (CI's Hypothesis counterexample): 1/(Σw·RMSE) is 1e45, and
    # w·2r = 1.4e-312 for the first is subnormal, so 12 of its digits were lost before the factor scaled it up
    ("rmse", (np.zeros(2), np.array([2.22507386e-311, 1.40129846e-045]))),
    # perplexity: e^mean = 1e152, and the softmax probability e^-720 of the last class is subnormal
    ("perplexity", (np.array([[[0.0, -700.0, -720.0], [0.0, -1.0, -2.0]]]), np.array([[1, 0]]))),
])
@pytest.mark.parametrize("weight", [0.03125, 0.1, 1e-3, 7.0])
def test_equal_weights_change_nothing_where_the_gradient_factor_is_large(case, weight):
    """Weighted gradients w·∂ℓ are lifted by the gradient factor's power of two before they
    can round to the subnormal grid: equal weights give the unweighted gradient, digit for
    digit, including elements of 1e-266 and 1e-161: to 2 ulp for rmse, and for perplexity to the
    ulps that e^mean gains from the weighted mean's last digit (its condition number, the mean
    NLL of 350: w·ℓ rounds unless w is a power of two)."""
    name, inputs = case
    plain = compute(name, *inputs)
    weighted = compute(name, *inputs, weights=np.full(inputs[1].shape[0], weight))
    (gradient,) = plain.gradients.values()
    assert np.min(np.abs(gradient[gradient != 0])) < 1e-160  # the case reaches the small elements
    condition = math.log(plain.value) if name == "perplexity" else 1.0
    np.testing.assert_allclose(next(iter(weighted.gradients.values())), gradient, rtol=5e-16 * condition, atol=0)
