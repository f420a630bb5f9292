"""Tests for losscli.compare: the seed's outlier example, influence shares derived by hand,
parameter routing and mismatched input kinds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from losscli.compare import compare
from losscli.engine import compute
from losscli.errors import LossCliError, ParameterError
from losscli.influence import InfluenceRequest, influence, row_contributions, top_count
from losscli.registry import get_loss
from losscli.routing import route_params

# The seed's compare_mse_mae: residuals a = pred - target = (0.5, 0.5, 0.5, -96); row 3 is the outlier.
PRED = np.array([1.5, 2.5, 3.5, 4.0])
TARGET = np.array([1.0, 2.0, 3.0, 100.0])


def by_name(comparisons):
    return {item.name: item for item in comparisons}


def test_seed_values_without_inputs():
    # MSE = (3·0.25 + 96²)/4 = 9216.75/4; MAE = (3·0.5 + 96)/4 = 97.5/4;
    # Huber(δ=1) = (3·½·0.5² + 1·(96 - ½))/4 = (0.375 + 95.5)/4 = 95.875/4.
    results = by_name(compare(["mse", "mae", "huber"]))
    assert results["mse"].result.value == 2304.1875
    assert results["mae"].result.value == 24.375
    assert results["huber"].result.value == 23.96875
    assert results["huber"].result.params == {"delta": 1.0}


def test_influence_shares_derived_by_hand():
    results = by_name(compare(["mse", "mae", "huber"]))
    mse, mae, huber = results["mse"].influence, results["mae"].influence, results["huber"].influence
    # 1 % of 4 rows -> at least one row: the outlier (row 3) in every case.
    assert (mse.k, mae.k, huber.k) == (1, 1, 1)
    assert [row.row for row in mse.rows] == [3, 0, 1, 2]
    # MSE: contributions a² = 0.25, 0.25, 0.25, 9216 -> 9216/9216.75. The mean's gradient is
    # 2a/4 = a/2 = (0.25, 0.25, 0.25, -48); squares 0.0625·3 + 2304 -> 2304/2304.1875 (the same ratio).
    assert mse.loss_share == pytest.approx(9216 / 9216.75, rel=1e-15)
    assert mse.grad_share == pytest.approx(2304 / 2304.1875, rel=1e-15)
    # MAE: |a| -> 96/97.5 = 64/65 of the loss, but sign(a)/4 gives every row the same
    # gradient (1/16 squared each): the outlier holds only 1/4 of the squared gradient norm.
    assert mae.loss_share == pytest.approx(64 / 65, rel=1e-15)
    assert mae.grad_share == pytest.approx(0.25, rel=1e-15)
    # Huber δ=1: contributions 0.125·3 and 95.5 -> 95.5/95.875 = 764/767; gradient clip(a, -1, 1)/4
    # = (0.125, 0.125, 0.125, -0.25), squares 3/64 + 4/64 -> the outlier holds 4/7.
    assert huber.loss_share == pytest.approx(764 / 767, rel=1e-15)
    assert huber.grad_share == pytest.approx(4 / 7, rel=1e-15)
    assert huber.rows[0].grad_share == pytest.approx(4 / 7, rel=1e-15)
    assert huber.rows[1].grad_share == pytest.approx(1 / 7, rel=1e-15)


def test_gradient_summary_by_hand():
    results = by_name(compare(["mse", "mae", "huber"]))
    # ||a/2||₂ = sqrt(2304.1875); ||sign(a)/4||₂ = sqrt(4/16) = 0.5; Huber sqrt(7/64).
    assert results["mse"].gradient_l2 == pytest.approx(math.sqrt(2304.1875), rel=1e-15)
    assert results["mae"].gradient_l2 == pytest.approx(0.5, rel=1e-15)
    assert results["huber"].gradient_l2 == pytest.approx(math.sqrt(7 / 64), rel=1e-15)
    name, stats = results["mse"].max_gradient()
    assert (name, stats.max_abs, stats.max_row) == ("pred", 48.0, 3)
    # MAE: all |g| = 0.25, the first row wins the tie.
    assert (results["mae"].max_gradient()[1].max_abs, results["mae"].max_gradient()[1].max_row) == (0.25, 0)


def test_explicit_inputs_equal_the_default_example():
    explicit = compare(["mse"], {"pred": PRED, "target": TARGET})[0]
    assert explicit.result.value == 2304.1875


def test_top_fraction_counts_rows():
    assert top_count(0.01, 4) == 1
    assert top_count(0.01, 100) == 1
    assert top_count(0.07, 100) == 7  # 0.07·100 = 7.000000000000001 in floating point
    assert top_count(0.5, 5) == 2
    assert top_count(1.0, 5) == 5
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ParameterError, match="--top must be a fraction"):
            top_count(bad, 10)


def test_top_half_of_the_outlier_example():
    mse = compare(["mse"], top=0.5)[0].influence
    # k = 2: the outlier and one 0.25 row.
    assert mse.k == 2
    assert mse.loss_share == pytest.approx(9216.25 / 9216.75, rel=1e-15)


def test_influence_with_zero_total_is_zero():
    spread = influence(np.zeros(3), np.zeros(3))
    assert (spread.loss_share, spread.grad_share) == (0.0, 0.0)


def test_weights_change_contributions_and_gradients():
    # Weight 0 on the outlier: MSE = (3·0.25)/3 = 0.25 and row 3 contributes nothing.
    mse = compare(["mse"], {"pred": PRED, "target": TARGET}, weights=[1, 1, 1, 0])[0]
    assert mse.result.value == pytest.approx(0.25)
    assert mse.influence.loss_share == pytest.approx(1 / 3)
    assert mse.influence.grad_share == pytest.approx(1 / 3)
    assert mse.influence.rows[-1].row == 3 and mse.influence.rows[-1].loss == 0.0


def test_rows_of_two_dimensional_inputs_sum_their_elements():
    result = compute("mse", np.array([[1.0, 2.0], [0.0, 0.0]]), np.zeros((2, 2)), reduction="none")
    assert row_contributions(result.per_sample).tolist() == [5.0, 0.0]
    # weights broadcast to the per-sample shape weight every element of their row
    assert row_contributions(result.per_sample, np.full((2, 2), 3.0)).tolist() == [15.0, 0.0]


def test_several_differentiable_inputs_add_up():
    spec = get_loss("triplet")
    arrays = spec.sample(np.random.default_rng(0), 6, spec.defaults())
    item = compare(["triplet"], arrays, top=0.5)[0]
    gradients = compute("triplet", arrays).gradients  # of the mean, as compare reports them
    expected = math.sqrt(sum(float(np.sum(g**2)) for g in gradients.values()))
    assert item.gradient_l2 == pytest.approx(expected, rel=1e-12)
    assert set(item.gradient) == {"anchor", "positive", "negative"}


def test_route_params_prefixed_and_plain():
    specs = [get_loss(name) for name in ("mse", "huber", "focal")]
    assert route_params(specs, {"delta": "2"}) == {"mse": {}, "huber": {"delta": "2"}, "focal": {}}
    assert route_params(specs, {"huber.delta": "2", "focal.gamma": "1"})["focal"] == {"gamma": "1"}
    # An alias names the same loss.
    assert route_params(specs, {"huber_loss.delta": "3"})["huber"] == {"delta": "3"}


def test_route_params_errors():
    specs = [get_loss("bce"), get_loss("focal")]
    with pytest.raises(ParameterError, match=r"parameter 'eps' is ambiguous: bce, focal .*bce\.eps=VALUE"):
        route_params(specs, {"eps": "1e-7"})
    with pytest.raises(ParameterError, match="unknown parameter 'delta': none of bce, focal takes it"):
        route_params(specs, {"delta": "1"})
    with pytest.raises(ParameterError, match=r"unknown parameter 'delta' for focal \(valid: alpha, gamma, eps\)"):
        route_params(specs, {"focal.delta": "1"})
    with pytest.raises(ParameterError, match="names huber, which is not among the losses"):
        route_params(specs, {"huber.delta": "1"})


def test_routed_params_reach_the_loss():
    # Huber δ=2: (3·½·0.25 + 2·(96 - 1))/4 = (0.375 + 190)/4 = 47.59375.
    huber = by_name(compare(["mse", "huber"], params={"delta": 2}))["huber"]
    assert huber.result.value == 47.59375
    with pytest.raises(ParameterError, match="delta must be > 0"):
        compare(["huber"], params={"delta": 0})


def test_mismatched_input_kinds_are_named():
    with pytest.raises(LossCliError, match="cannot compare mse and bce .*input pred is real for mse but probability"):
        compare(["mse", "bce"], {"pred": PRED, "target": TARGET})
    with pytest.raises(LossCliError, match=r"bce takes \(pred, target\), bce_logits takes \(logits, target\)"):
        compare(["bce", "bce_logits"])
    # Same names and domains but different shapes: probabilities per row vs per element.
    with pytest.raises(LossCliError, match="cannot compare bce and cross_entropy"):
        compare(["bce", "cross_entropy"])


def test_other_usage_errors():
    with pytest.raises(LossCliError, match="loss mse is listed twice"):
        compare(["mse", "l2"])
    with pytest.raises(LossCliError, match="no inputs given: .* not bce"):
        compare(["bce", "focal"])
    with pytest.raises(LossCliError, match="expected at least one loss"):
        compare([])


@pytest.mark.parametrize("seed", range(8))
def test_influence_merged_from_random_splits_equals_the_whole(seed):
    from losscli.influence import InfluencePartial, influence_keep

    rng = np.random.default_rng(seed)
    rows = int(rng.integers(1, 400))
    contributions = rng.exponential(size=rows) * rng.choice([1.0, 0.0, 50.0], rows, p=[0.8, 0.1, 0.1])
    grad_squares = np.round(rng.exponential(size=rows), 1)  # ties, broken by row as in the whole
    top = float(rng.choice([0.01, 0.1, 0.37, 1.0]))
    whole = influence(contributions, grad_squares, top)
    cuts = np.sort(rng.choice(np.arange(rows + 1), int(rng.integers(0, 6))))
    keep = influence_keep(top, rows)
    parts = [InfluencePartial.of(contributions[a:b], grad_squares[a:b], *keep)
             for a, b in zip([0, *cuts], [*cuts, rows], strict=True)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    split = merged.finish(top)
    assert (split.k, [row.row for row in split.rows]) == (whole.k, [row.row for row in whole.rows])
    assert split.loss_share == pytest.approx(whole.loss_share, rel=1e-12)
    assert split.grad_share == pytest.approx(whole.grad_share, rel=1e-12)
    for mine, theirs in zip(split.rows, whole.rows, strict=True):
        assert mine.loss == theirs.loss
        assert (mine.loss_share, mine.grad_share) == pytest.approx((theirs.loss_share, theirs.grad_share), rel=1e-12)


def test_influence_parts_that_kept_too_few_rows_are_refused():
    from losscli.influence import InfluencePartial

    values = np.arange(100.0)
    first, second = (InfluencePartial.of(part, part, 1, 1) for part in (values[:50], values[50:]))
    merged = first.merge(second)
    with pytest.raises(ValueError, match="kept too few rows"):
        merged.finish(0.1)


def test_influence_of_equal_values_streamed_equals_the_whole():
    """MAE's squared gradients are all equal (ties everywhere): the top rows kept batch by batch,
    ties by row, give the influence of the whole array."""
    from losscli.compare import compare_batches
    from losscli.inputs import Batch

    rng = np.random.default_rng(5)
    pred, target = rng.normal(size=3000), rng.normal(size=3000)
    spec = get_loss("mae")
    request = InfluenceRequest.for_rows(0.01, 3000, 5)
    batches = [Batch({"pred": pred[start:start + 256], "target": target[start:start + 256]})
               for start in range(0, 3000, 256)]
    [streamed] = compare_batches([spec], [{}], batches, request)
    [whole] = compare_batches([spec], [{}], [Batch({"pred": pred, "target": target})], request)
    assert streamed.influence == whole.influence
    # the 30 rows of largest |ŷ - y| hold loss_share of Σ|ŷ - y|; every squared gradient is equal: 30/3000
    errors = np.abs(pred - target)
    assert whole.influence.loss_share == pytest.approx(np.sort(errors)[-30:].sum() / errors.sum(), rel=1e-12)
    assert whole.influence.grad_share == pytest.approx(30 / 3000, rel=1e-12)
