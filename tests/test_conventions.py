"""Conventions without the frameworks: the numbers of ../shared/conventions.md by hand, the records'
consistency, streaming = whole array, and the CLI's --convention on compute and compare.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from support import SAMPLES, assert_bad_input, run, run_program

from losscli import compute
from losscli.conventions import CONVENTIONS, ConventionError, apply_convention, find_convention, frameworks_of
from losscli.conventions.torch_calls import ConventionWarning
from losscli.engine import prepare
from losscli.errors import InputError
from losscli.inputs import Batch
from losscli.registry import LOSSES, get_loss
from losscli.stream import StreamReducer


def value(loss, framework, *inputs, **options):
    return compute(apply_convention(loss, framework), *inputs, **options).value


# --- §3.1 and §2 of conventions.md, by hand --------------------------------------------------------

def test_keras_losses_divide_by_n_and_metrics_frameworks_by_the_weight_total():
    # y = [[1], [2]], ŷ = [[2], [3]], w = [0, 1]: Σ w·|e| = 1; Keras ÷ N = 2, the others ÷ Σw = 1 (§3.1)
    pred, target, weights = [[2.0], [3.0]], [[1.0], [2.0]], [0.0, 1.0]
    assert value("mae", "keras", pred, target, weights=weights) == 0.5
    for framework in ("torch", "sklearn", "xgboost", "lightgbm"):
        assert value("mae", framework, pred, target, weights=weights) == 1.0


def test_keras_clips_probabilities_in_float32():
    # 1 - 1e-7 rounds to 0.99999988 in float32: -log(1.1920929e-7) = 15.9424; -log(1e-7 as float32) = 16.1181
    assert value("bce", "keras", [1.0], [0.0]) == pytest.approx(-math.log(1 - float(np.float32(1 - 1e-7))), rel=1e-6)
    assert value("bce", "keras", [0.0], [1.0]) == pytest.approx(-math.log(float(np.float32(1e-7))), rel=1e-6)
    # scikit-learn clips at float64 eps (36.0437), XGBoost floors at 1e-16 (36.8414), LightGBM at 1e-15f (34.5388)
    assert value("bce", "sklearn", [1.0], [0.0]) == pytest.approx(-math.log(np.finfo(np.float64).eps), rel=1e-12)
    assert value("bce", "xgboost", [1.0], [0.0]) == pytest.approx(36.8414, rel=1e-5)
    assert value("bce", "lightgbm", [1.0], [0.0]) == pytest.approx(34.5388, rel=1e-5)


def test_lightgbm_reads_soft_labels_as_positives():
    # y = 0.3, p = 0.8: LightGBM's binary_logloss is -log 0.8 = 0.2231 (§2.13), the soft-label BCE 1.1935
    assert value("bce", "lightgbm", [0.8], [0.3]) == pytest.approx(-math.log(0.8), rel=1e-12)
    assert value("bce", "torch", [0.8], [0.3]) == pytest.approx(-(0.3 * math.log(0.8) + 0.7 * math.log(0.2)))


def test_mape_scales_and_denominators():
    # y = [0.5, 100], ŷ = [1, 110] (§2.8): Keras 55.0 (percent), sklearn 0.55, LightGBM (0.5/1 + 10/100)/2 = 0.30
    pred, target = [1.0, 110.0], [0.5, 100.0]
    assert value("mape", "keras", pred, target) == pytest.approx(55.0, rel=1e-6)
    assert value("mape", "sklearn", pred, target) == pytest.approx(0.55, rel=1e-12)
    assert value("mape", "lightgbm", pred, target) == pytest.approx(0.30, rel=1e-12)
    assert value("mape", "xgboost", [1.0, 110.0], [0.0, 100.0]) == math.inf  # no floor: y = 0 divides by 0


def test_poisson_under_each_framework():
    # y = [0, 2, 5], μ = [0.5, 2, 4] (§2.10): μ - y log μ averages to -0.6059; XGBoost adds log(y!) -> 1.2210
    rate, counts = np.array([0.5, 2.0, 4.0]), np.array([0.0, 2.0, 5.0])
    without_log_factorial = np.mean(rate - counts * np.log(rate))
    assert value("poisson_nll", "torch", np.log(rate), counts) == pytest.approx(without_log_factorial, rel=1e-12)
    assert value("poisson_nll", "keras", rate, counts) == pytest.approx(without_log_factorial, rel=1e-6)
    assert value("poisson_nll", "lightgbm", rate, counts) == pytest.approx(without_log_factorial, rel=1e-12)
    exact = without_log_factorial + np.mean([math.lgamma(y + 1) for y in counts])
    assert value("poisson_nll", "xgboost", rate, counts) == pytest.approx(exact, rel=1e-6)


def test_tweedie_deviance_and_likelihood():
    # §2.12 relation: deviance = 2·(nll + y^(2-p)/((1-p)(2-p))) for every element
    pred, target, power = np.array([0.5, 2.0, 4.0]), np.array([0.0, 2.0, 5.0]), 1.5
    nll = value("tweedie", "lightgbm", pred, target, params={"power": power})
    deviance = value("tweedie", "sklearn", pred, target, params={"power": power})
    constant = np.mean(target ** (2 - power) / ((1 - power) * (2 - power)))
    assert deviance == pytest.approx(2 * (nll + constant), rel=1e-12)


def test_lightgbm_defaults_huber_delta_and_quantile_alpha_to_0_9():
    pred, target = [0.0, 0.0], [0.5, 3.0]
    # Huber δ = 0.9: ½·0.25 and 0.9·(3 - 0.45); pinball α = 0.9 of under-predictions 0.5 and 3
    assert value("huber", "lightgbm", pred, target) == pytest.approx((0.125 + 0.9 * 2.55) / 2, rel=1e-12)
    assert value("quantile", "lightgbm", pred, target) == pytest.approx(0.9 * 3.5 / 2, rel=1e-12)
    assert value("quantile", "sklearn", pred, target) == pytest.approx(0.5 * 3.5 / 2, rel=1e-12)


def test_keras_renormalises_rows_and_optax_takes_labels_as_given():
    # p = [.2, .3, .1], y = 1 (§2.15): Keras renormalises to .5 -> log 2; scikit-learn uses .3 -> 1.2040
    assert value("cross_entropy", "keras", [[0.2, 0.3, 0.1]], [1.0]) == pytest.approx(math.log(2), rel=1e-6)
    assert value("cross_entropy", "sklearn", [[0.2, 0.3, 0.1]], [1.0]) == pytest.approx(-math.log(0.3), rel=1e-12)
    # optax's hinge does not read 0 as -1: a 0 label costs max(0, 1 - 0·x) = 1
    assert value("hinge", "optax", [2.0], [0.0]) == 1.0
    assert value("hinge", "keras", [2.0], [0.0]) == 3.0  # every label 0/1: Keras maps 0 to -1, max(0, 1 + 2)


def test_kl_div_under_keras_takes_probabilities_and_clips_zero_targets():
    # Keras' value 0.2260529 vs the exact 0.2260537 for P = [[.1,.2,.7],[0,.5,.5]], Q = [[.2,.3,.5],[.3,.3,.4]] (§2.18)
    target, pred = np.array([[0.1, 0.2, 0.7], [0.0, 0.5, 0.5]]), np.array([[0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])
    assert value("kl_div", "keras", pred, target) == pytest.approx(0.2260529, abs=2e-7)
    assert value("kl_div", "torch", np.log(pred), target) == pytest.approx(0.2260537, abs=1e-7)


def test_torch_convention_warns_where_torch_computes_a_value_and_the_default_stays_strict():
    log_pred, target = [[-1.0, -1.0]], [[0.5, 0.5]]  # e^-1 + e^-1 = 0.74: not log-probabilities
    with pytest.warns(ConventionWarning, match="log_pred row 1 is not log-probabilities"):
        torch_value = value("kl_div", "torch", log_pred, target)
    assert torch_value == pytest.approx(math.log(0.5) + 1.0, rel=1e-12)  # Σ y·(log y - input)
    with pytest.raises(InputError, match="summing to 1"):
        compute("kl_div", log_pred, target)


# --- the records ----------------------------------------------------------------------------------

def test_every_record_names_a_registered_loss_and_a_known_divisor():
    names = {spec.name for spec in LOSSES}
    for convention in CONVENTIONS:
        assert convention.loss in names, convention.key
        assert convention.mean_divisor in ("weights", "count", "nonzero_weights"), convention.key
        assert convention.dtype in ("float32", "float64"), convention.key
        assert convention.framework == "torch" or convention.knobs or convention.api, convention.key


@pytest.mark.parametrize("convention", CONVENTIONS, ids=[f"{c.loss}-{c.framework}" for c in CONVENTIONS])
def test_streamed_batches_equal_the_whole_array(convention, rng):
    """The engine evaluates a derived spec unchanged: three batches give the value of the whole."""
    spec = apply_convention(convention.loss, convention.framework)
    registered = get_loss(convention.loss)
    params = spec.resolve_params()
    inputs = _valid_inputs(registered, spec, convention, rng)
    weights = rng.uniform(0.0, 2.0, 30)
    whole = compute(spec, inputs, weights=weights)
    reducer = StreamReducer(spec, params, "mean")
    if convention.whole_input:  # the value depends on every row at once: one batch, or an error naming it
        reducer.add(Batch(inputs, weights))
        assert reducer.result().value == pytest.approx(whole.value, rel=1e-12)
        reducer = StreamReducer(spec, params, "mean")
        reducer.add(Batch({name: array[:7] for name, array in inputs.items()}, weights[:7]))
        with pytest.raises(InputError, match="every row at once"):
            reducer.add(Batch({name: array[7:] for name, array in inputs.items()}, weights[7:]))
        return
    for rows in (slice(0, 7), slice(7, 19), slice(19, 30)):
        reducer.add(Batch({name: array[rows] for name, array in inputs.items()}, weights[rows]))
    assert reducer.result().value == pytest.approx(whole.value, rel=1e-12)


def _valid_inputs(registered, spec, convention, rng):
    """The registered sampler's inputs, as the convention names and reads them."""
    raw = registered.sample(rng, 30, registered.resolve_params())
    arrays = list(raw.values())
    if convention.takes_exp_of_default_input(registered.resolve_params()):
        arrays[0] = np.exp(arrays[0])
    if convention.loss == "cross_entropy" and convention.framework in ("xgboost", "lightgbm"):
        arrays[1] = arrays[1] if arrays[1].ndim == 1 else arrays[1].argmax(axis=1)
    _, converted, _ = prepare(spec, arrays)
    return converted


def test_a_framework_without_the_loss_names_those_that_have_it():
    with pytest.raises(ConventionError, match=r"xgboost has no huber loss \(conventions for huber: torch, keras, "
                                              r"optax, lightgbm\); XGBoost's 'mphe' is the pseudo-Huber"):
        find_convention("huber", "xgboost")
    with pytest.raises(ConventionError, match="unknown convention 'jax'"):
        find_convention("mse", "jax")
    assert frameworks_of("log_cosh") == ("keras", "optax")  # torch has no log-cosh
    assert apply_convention("mse", None) is get_loss("mse")


# --- CLI ------------------------------------------------------------------------------------------

OUTLIERS = (SAMPLES / "outliers_pred.csv", SAMPLES / "outliers_target.csv")


def test_compute_convention_changes_the_value_and_is_reported(tmp_path):
    pred = tmp_path / "p.csv"
    pred.write_text("p\n1\n0.9\n")
    labels = tmp_path / "y.csv"
    labels.write_text("y\n0\n1\n")
    data = json.loads(run("compute", "bce", pred, labels, "--convention", "keras", "--format", "json").stdout)
    # (15.9424 + -log 0.9) / 2, both in float32
    expected = (-math.log(1 - float(np.float32(1 - 1e-7))) - math.log(0.9)) / 2
    assert data["value"] == pytest.approx(expected, rel=1e-6)
    assert data["convention"] == "keras" and data["explanation"] is None
    default = json.loads(run("compute", "bce", pred, labels, "--format", "json").stdout)
    assert "convention" not in default  # the default report is unchanged


def test_compute_explain_says_what_changed():
    result = run("compute", "mae", SAMPLES / "eval.parquet", "--col", "pred=yhat", "--col", "target=y",
                 "--weights", "weight", "--convention", "keras", "--explain")
    assert result.exit_code == 0, result.output
    assert "keras divides by N = 40 instead of Σw = 50.97" in result.stdout
    data = json.loads(run("compute", "mae", SAMPLES / "eval.parquet", "--col", "pred=yhat", "--col", "target=y",
                          "-w", "weight", "--convention", "keras", "--explain", "--format", "json").stdout)
    assert "keras divides by N = 40 instead of Σw = 50.97" in data["explanation"]


def test_compute_convention_errors_are_one_line():
    assert_bad_input(run("compute", "huber", *OUTLIERS, "--convention", "xgboost"),
                     "xgboost has no huber loss (conventions for huber: torch, keras, optax, lightgbm)")
    assert_bad_input(run("compute", "mse", *OUTLIERS, "--explain"), "--explain says what a --convention changes")
    assert_bad_input(run("compute", "bce", *(SAMPLES / "binary_probs.csv", SAMPLES / "binary_labels.csv"),
                         "--convention", "keras", "-p", "eps=0.1"), "unknown parameter 'eps' for bce")


def test_compare_under_a_convention():
    data = json.loads(run("compare", "mse", "mae", *OUTLIERS, "--convention", "lightgbm", "--format", "json").stdout)
    values = {item["loss"]: item["value"] for item in data}
    # LightGBM stores the targets 1, 2, 3, 100 as float32 (exactly): l1 = mean |e| = 24.375, l2 = 2304.1875
    assert values == {"mse": 2304.1875, "mae": 24.375}
    assert_bad_input(run("compare", "mse", "log_cosh", "--convention", "sklearn"), "sklearn has no log_cosh loss")


def test_cli_prints_a_convention_warning_as_one_line(tmp_path):
    log_pred, target = tmp_path / "log_q.csv", tmp_path / "p.csv"
    log_pred.write_text("a,b\n-1,-1\n-0.5,-1.2\n")
    target.write_text("a,b\n0.5,0.5\n0.3,0.7\n")
    result = run_program("compute", "kl_div", log_pred, target, "--convention", "torch", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["Warning: kl_div: log_pred row 1 is not log-probabilities (its exp sums to "
                                          "0.735759); torch computes Σ y·(log y - log_pred) all the same"]
    assert_bad_input(run("compute", "kl_div", log_pred, target), "summing to 1")  # the default stays strict


def test_describe_lists_the_conventions():
    data = json.loads(run("describe", "mape", "--format", "json").stdout)
    frameworks = [item["framework"] for item in data["conventions"]]
    assert frameworks == ["keras", "sklearn", "xgboost", "lightgbm"]
    assert "max(1, |y|)" in data["conventions"][3]["differences"]
