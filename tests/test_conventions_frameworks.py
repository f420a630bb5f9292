"""Every convention against the framework itself: `compute LOSS --convention X` must report what X
reports, on random inputs, with sample weights, and at extreme probabilities.

Skipped, with the conftest notice, when the `frameworks` extra is not installed. Agreement:
1e-6 relative where the framework computes in float32, 1e-12 where it computes in float64.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from frameworks import (
    identity,
    keras_loss,
    keras_rmse_metric,
    lightgbm_metric,
    log_rows,
    logit,
    optax_mean,
    sklearn_metric,
    xgboost_metric,
    xgboost_predictions,
)

from losscli import compute
from losscli.conventions import apply_convention, find_convention

pytestmark = pytest.mark.slow  # the frameworks themselves, ~280 calls

MODULES = {"keras": "keras", "sklearn": "sklearn", "optax": "optax", "xgboost": "xgboost", "lightgbm": "lightgbm"}
N = 48


@dataclass(frozen=True)
class Case:
    """One framework call checked against one convention on inputs made by ``inputs(rng)``."""

    loss: str
    framework: str
    call: Any
    inputs: Any
    params: dict | None = None

    @property
    def id(self) -> str:
        return f"{self.loss}-{self.framework}" + (f"-{self.inputs.__name__}" if self.inputs else "")


# --- inputs: what the framework is given (losscli gets the same numbers) -------------------------

def residuals(rng):
    target = rng.normal(0.0, 2.0, N)
    return {"pred": target + rng.normal(0.0, 1.5, N), "target": target}


def residual_columns(rng):
    target = rng.normal(0.0, 2.0, (N, 3))
    return {"pred": target + rng.normal(0.0, 1.5, (N, 3)), "target": target}


def small_target_columns(rng):
    target = rng.uniform(-3.0, 3.0, (N, 3)) * np.array([1.0, 10.0, 0.1])
    return {"pred": target + rng.normal(0.0, 1.0, (N, 3)), "target": target}


def above_minus_one_columns(rng):
    target = np.expm1(rng.normal(0.5, 1.0, (N, 2)))
    return {"pred": np.expm1(np.log1p(target) + rng.normal(0.0, 0.5, (N, 2)) * np.array([0.2, 2.0])),
            "target": target}


def small_targets(rng):
    """MAPE's interesting region: |y| < 1 and a few targets near 0."""
    target = rng.uniform(-3.0, 3.0, N)
    target[:3] = [1e-9, -0.2, 0.5]
    return {"pred": target + rng.normal(0.0, 1.0, N), "target": target}


def above_minus_one(rng):
    target = np.expm1(rng.normal(0.5, 1.0, N))
    return {"pred": np.expm1(np.log1p(target) + rng.normal(0.0, 0.5, N)), "target": target}


def with_negatives(rng):
    """Keras' MSLE replaces values below 1e-7 by 1e-7: negatives included."""
    inputs = above_minus_one(rng)
    inputs["pred"][:4] = [-0.5, -1e-3, 0.0, 1e-9]
    return inputs


def counts(rng):
    rate = np.exp(rng.normal(0.5, 0.8, N))
    return {"pred": rate, "target": rng.poisson(rate * 1.2).astype(np.float64)}


def probabilities(rng):
    return {"pred": rng.uniform(0.02, 0.98, N), "target": rng.integers(0, 2, N).astype(np.float64)}


def extreme_probabilities(rng):
    """Both clip regions and exact 0 and 1 (§2.13)."""
    inputs = probabilities(rng)
    inputs["pred"][:8] = [0.0, 1.0, 1e-9, 1 - 1e-9, 1e-20, 0.9999999, 1.0, 0.0]
    inputs["target"][:8] = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    return inputs


def soft_labels(rng):
    inputs = probabilities(rng)
    inputs["target"] = rng.uniform(0.0, 1.0, N)
    return inputs


def logits(rng):
    return {"logits": rng.normal(0.0, 3.0, N), "target": rng.integers(0, 2, N).astype(np.float64)}


def signed_scores(rng):
    return {"scores": rng.normal(0.0, 1.5, N), "target": rng.choice([-1.0, 1.0], N)}


def zero_one_scores(rng):
    return {"scores": rng.normal(0.0, 1.5, N), "target": rng.integers(0, 2, N).astype(np.float64)}


def one_class_scores(rng):
    """scikit-learn's hinge_loss with a single label value reads every label as -1 (§2.20)."""
    return {"scores": rng.normal(0.5, 1.5, N), "target": np.ones(N)}


def minus_one_zero_scores(rng):
    """Labels -1/0: scikit-learn's LabelBinarizer makes 0 (the larger) +1; losscli reads 0 as -1."""
    return {"scores": rng.normal(0.0, 1.5, N), "target": rng.integers(-1, 1, N).astype(np.float64)}


def class_probabilities(rng):
    scores = rng.normal(0.0, 1.5, (N, 4))
    prob = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return {"pred": prob, "target": rng.integers(0, 4, N).astype(np.float64)}


def unnormalised_rows(rng):
    """Rows that do not sum to 1, and zeros at the true class (Keras renormalises, then clips)."""
    inputs = class_probabilities(rng)
    inputs["pred"] = inputs["pred"] * rng.uniform(0.3, 1.0, (N, 1))
    inputs["pred"][:3, :] = [[0.5, 0.0, 0.0, 0.0], [0.2, 0.3, 0.1, 0.0], [0.0, 1.0, 0.0, 0.0]]
    inputs["target"][:3] = [1.0, 1.0, 0.0]
    return inputs


def class_logits(rng):
    return {"logits": rng.normal(0.0, 3.0, (N, 4)), "target": rng.integers(0, 4, N).astype(np.float64)}


def one_hot_logits(rng):
    inputs = class_logits(rng)
    inputs["target"] = np.eye(4)[inputs["target"].astype(int)]
    return inputs


def distributions(rng):
    """P with exact zeros and Q as probabilities (Keras' KLDivergence takes Q, not log Q)."""
    target = rng.dirichlet(np.ones(4), N)
    target[::3, 0] = 0.0
    return {"pred": rng.dirichlet(np.ones(4), N), "target": target / target.sum(axis=1, keepdims=True)}


def log_distributions(rng):
    inputs = distributions(rng)
    return {"log_pred": np.log(inputs["pred"]), "target": inputs["target"]}


def unnormalised_logs(rng):
    """optax's own tests feed log-predictions whose exp does not sum to 1."""
    return {"log_pred": rng.normal(-1.0, 0.5, (N, 4)), "target": rng.uniform(0.0, 1.0, (N, 4))}


def triplets(rng):
    anchor = rng.normal(size=(N, 5))
    return {"anchor": anchor, "positive": anchor + rng.normal(0.0, 0.5, (N, 5)),
            "negative": anchor + rng.normal(0.0, 0.8, (N, 5))}


# --- framework inputs that go through a model's link ----------------------------------------------

def xgboost_probabilities(rng):
    """Probabilities as XGBoost predicts them (float32 sigmoid of margins), extremes included."""
    margin = rng.normal(0.0, 3.0, N)
    margin[:4] = [40.0, -40.0, 17.0, -17.0]
    label = rng.integers(0, 2, N).astype(np.float64)
    label[:4] = [0.0, 1.0, 0.0, 1.0]
    return {"pred": xgboost_predictions("binary:logistic", identity, margin, label), "target": label}


def xgboost_class_probabilities(rng):
    inputs = class_logits(rng)
    inputs["logits"][0] = [30.0, -30.0, 0.0, 0.0]
    inputs["target"][0] = 1.0
    prob = xgboost_predictions("multi:softprob", identity, inputs["logits"], inputs["target"], num_class=4)
    return {"pred": prob, "target": inputs["target"]}


def xgboost_rates(rng):
    inputs = counts(rng)
    rate = xgboost_predictions("count:poisson", np.log, inputs["pred"], inputs["target"])
    return {"pred": rate, "target": inputs["target"]}


def lightgbm_probabilities(rng):
    score = rng.normal(0.0, 3.0, N)
    score[:4] = [40.0, -40.0, 36.0, -36.0]
    label = rng.integers(0, 2, N).astype(np.float64)
    label[:4] = [0.0, 1.0, 0.0, 1.0]
    return {"pred": 1.0 / (1.0 + np.exp(-score)), "target": label}


def lightgbm_soft_labels(rng):
    inputs = lightgbm_probabilities(rng)
    inputs["target"][4:] = rng.uniform(0.0, 1.0, N - 4)
    return inputs


def lightgbm_class_probabilities(rng):
    inputs = class_logits(rng)
    inputs["logits"][0] = [40.0, -40.0, 0.0, 0.0]
    inputs["target"][0] = 1.0
    scores = inputs["logits"]
    prob = np.exp(scores - scores.max(axis=1, keepdims=True))
    return {"pred": prob / prob.sum(axis=1, keepdims=True), "target": inputs["target"]}


def ignored_class_logits(rng):
    """Class ids with some targets equal to 2, Keras' ignore_class in the cases below."""
    inputs = class_logits(rng)
    inputs["target"][:6] = 2.0
    return inputs


def one_hot_target(call, classes=4):
    """A framework call that takes one-hot rows, given losscli's class ids."""
    def run(inputs, weights=None):
        return call({**inputs, "target": np.eye(classes)[inputs["target"].astype(int)]}, weights)
    return run


def softmax_init(prob):
    return log_rows(np.maximum(prob, 1e-300))


def weights(rng, rows):
    """Sample weights that float32 holds exactly (XGBoost and LightGBM store them as float32), zeros included."""
    values = rng.integers(0, 9, rows) / 4.0
    values[1] = 0.0
    return values


KERAS, SKLEARN, OPTAX = keras_loss, sklearn_metric, optax_mean

CASES = [
    Case("mse", "keras", KERAS("MeanSquaredError"), residuals),
    Case("mse", "keras", KERAS("MeanSquaredError"), residual_columns),
    Case("mse", "sklearn", SKLEARN("mean_squared_error"), residuals),
    Case("mse", "sklearn", SKLEARN("mean_squared_error"), residual_columns),
    Case("mse", "optax", OPTAX("squared_error"), residuals),
    Case("mse", "lightgbm", lightgbm_metric("regression", "l2", identity), residuals),
    Case("mae", "keras", KERAS("MeanAbsoluteError"), residuals),
    Case("mae", "sklearn", SKLEARN("mean_absolute_error"), residual_columns),
    Case("mae", "xgboost", xgboost_metric("reg:squarederror", "mae", identity), residuals),
    Case("mae", "lightgbm", lightgbm_metric("regression", "l1", identity), residuals),
    Case("huber", "keras", KERAS("Huber"), residuals),
    Case("huber", "keras", KERAS("Huber", delta=2.5), residuals, params={"delta": 2.5}),
    Case("huber", "optax", OPTAX("huber_loss"), residuals),
    Case("huber", "lightgbm", lightgbm_metric("huber", "huber", identity), residuals),
    Case("huber", "lightgbm", lightgbm_metric("huber", "huber", identity, alpha=2.0), residuals,
         params={"delta": 2.0}),
    Case("rmse", "keras", keras_rmse_metric, residuals),
    Case("rmse", "sklearn", SKLEARN("root_mean_squared_error"), residuals),
    Case("rmse", "sklearn", SKLEARN("root_mean_squared_error"), residual_columns),
    Case("rmse", "sklearn", SKLEARN("root_mean_squared_error"), small_target_columns),
    Case("rmse", "xgboost", xgboost_metric("reg:squarederror", "rmse", identity), residuals),
    Case("rmse", "lightgbm", lightgbm_metric("regression", "rmse", identity), residuals),
    Case("msle", "keras", KERAS("MeanSquaredLogarithmicError"), above_minus_one),
    Case("msle", "keras", KERAS("MeanSquaredLogarithmicError"), with_negatives),
    Case("msle", "sklearn", SKLEARN("mean_squared_log_error"), above_minus_one),
    Case("msle", "sklearn", SKLEARN("mean_squared_log_error"), above_minus_one_columns),
    Case("mape", "keras", KERAS("MeanAbsolutePercentageError"), small_targets),
    Case("mape", "sklearn", SKLEARN("mean_absolute_percentage_error"), small_targets),
    Case("mape", "sklearn", SKLEARN("mean_absolute_percentage_error"), small_target_columns),
    Case("mape", "xgboost", xgboost_metric("reg:squarederror", "mape", identity), small_targets),
    Case("mape", "lightgbm", lightgbm_metric("regression", "mape", identity), small_targets),
    Case("log_cosh", "keras", KERAS("LogCosh"), residuals),
    Case("log_cosh", "optax", OPTAX("log_cosh"), residuals),
    Case("quantile", "sklearn", SKLEARN("mean_pinball_loss"), residuals),
    Case("quantile", "sklearn", SKLEARN("mean_pinball_loss", alpha=0.9), residuals, params={"alpha": 0.9}),
    Case("quantile", "sklearn", SKLEARN("mean_pinball_loss", alpha=0.9), residual_columns, params={"alpha": 0.9}),
    Case("mse", "sklearn", SKLEARN("mean_squared_error"), small_target_columns),
    Case("mae", "sklearn", SKLEARN("mean_absolute_error"), small_target_columns),
    Case("quantile", "xgboost", xgboost_metric("reg:squarederror", "quantile", identity, quantile_alpha=0.5),
         residuals),
    Case("quantile", "lightgbm", lightgbm_metric("quantile", "quantile", identity), residuals),
    Case("poisson_nll", "keras", KERAS("Poisson"), counts),
    Case("poisson_nll", "xgboost", xgboost_metric("count:poisson", "poisson-nloglik", np.log), xgboost_rates),
    Case("poisson_nll", "lightgbm", lightgbm_metric("poisson", "poisson", np.log), counts),
    Case("tweedie", "sklearn", SKLEARN("mean_tweedie_deviance", power=1.5), counts),
    Case("tweedie", "xgboost", xgboost_metric("reg:tweedie", "tweedie-nloglik@1.5", np.log,
                                              tweedie_variance_power=1.5), counts),
    Case("tweedie", "lightgbm", lightgbm_metric("tweedie", "tweedie", np.log), counts),
    Case("bce", "keras", KERAS("BinaryCrossentropy"), probabilities),
    Case("bce", "keras", KERAS("BinaryCrossentropy"), extreme_probabilities),
    Case("bce", "keras", KERAS("BinaryCrossentropy"), soft_labels),
    Case("bce", "keras", KERAS("BinaryCrossentropy", label_smoothing=0.2), extreme_probabilities,
         params={"label_smoothing": 0.2}),
    Case("bce", "sklearn", SKLEARN("log_loss", labels=[0, 1]), probabilities),
    Case("bce", "sklearn", SKLEARN("log_loss", labels=[0, 1]), extreme_probabilities),
    Case("bce", "xgboost", xgboost_metric("binary:logistic", "logloss", logit), xgboost_probabilities),
    Case("bce", "lightgbm", lightgbm_metric("binary", "binary_logloss", logit), lightgbm_probabilities),
    Case("bce", "lightgbm", lightgbm_metric("cross_entropy", "binary_logloss", logit), lightgbm_soft_labels),
    Case("bce_logits", "keras", KERAS("BinaryCrossentropy", from_logits=True, first="logits"), logits),
    Case("bce_logits", "keras", KERAS("BinaryCrossentropy", from_logits=True, label_smoothing=0.1, first="logits"),
         logits, params={"label_smoothing": 0.1}),
    Case("bce_logits", "optax", OPTAX("sigmoid_binary_cross_entropy", first="logits",
                                      argument_order=("logits", "target")), logits),
    Case("focal", "keras", KERAS("BinaryFocalCrossentropy"), probabilities),
    Case("focal", "keras", KERAS("BinaryFocalCrossentropy", apply_class_balancing=True, alpha=0.4, gamma=1.5),
         extreme_probabilities, params={"class_balancing": "true", "alpha": 0.4, "gamma": 1.5}),
    Case("focal", "keras", KERAS("BinaryFocalCrossentropy", label_smoothing=0.1), extreme_probabilities,
         params={"label_smoothing": 0.1}),
    Case("focal_logits", "keras", KERAS("BinaryFocalCrossentropy", from_logits=True, first="logits"), logits),
    Case("focal_logits", "keras", KERAS("BinaryFocalCrossentropy", from_logits=True, label_smoothing=0.3,
                                        apply_class_balancing=True, alpha=0.6, first="logits"), logits,
         params={"label_smoothing": 0.3, "class_balancing": "true", "alpha": 0.6}),
    Case("focal_logits", "optax", OPTAX("sigmoid_focal_loss", first="logits", argument_order=("logits", "target")),
         logits),
    Case("focal_logits", "optax", OPTAX("sigmoid_focal_loss", first="logits", argument_order=("logits", "target"),
                                        alpha=0.25, gamma=3.0), logits, params={"alpha": 0.25, "gamma": 3.0}),
    Case("hinge", "keras", KERAS("Hinge", first="scores"), signed_scores),
    Case("hinge", "keras", KERAS("Hinge", first="scores"), zero_one_scores),
    Case("hinge", "sklearn", SKLEARN("hinge_loss", first="scores"), signed_scores),
    Case("hinge", "sklearn", SKLEARN("hinge_loss", first="scores"), zero_one_scores),
    Case("hinge", "sklearn", SKLEARN("hinge_loss", first="scores"), one_class_scores),
    Case("hinge", "sklearn", SKLEARN("hinge_loss", first="scores"), minus_one_zero_scores),
    Case("squared_hinge", "keras", KERAS("SquaredHinge", first="scores"), zero_one_scores),
    Case("hinge", "optax", OPTAX("hinge_loss", first="scores", argument_order=("scores", "target")), signed_scores),
    Case("hinge", "optax", OPTAX("hinge_loss", first="scores", argument_order=("scores", "target")), zero_one_scores),
    Case("cross_entropy", "keras", KERAS("SparseCategoricalCrossentropy", sparse=True), class_probabilities),
    Case("cross_entropy", "keras", KERAS("SparseCategoricalCrossentropy", sparse=True), unnormalised_rows),
    Case("cross_entropy", "sklearn", SKLEARN("log_loss", labels=[0, 1, 2, 3]), class_probabilities),
    Case("cross_entropy", "xgboost", xgboost_metric("multi:softprob", "mlogloss", softmax_init, num_class=4),
         xgboost_class_probabilities),
    Case("cross_entropy", "lightgbm", lightgbm_metric("multiclass", "multi_logloss", softmax_init, num_class=4),
         lightgbm_class_probabilities),
    Case("softmax_cross_entropy", "keras", KERAS("SparseCategoricalCrossentropy", from_logits=True, first="logits",
                                                  sparse=True), class_logits),
    Case("softmax_cross_entropy", "keras", KERAS("SparseCategoricalCrossentropy", from_logits=True, first="logits",
                                                  sparse=True, ignore_class=2), ignored_class_logits,
         params={"ignore_index": 2}),
    Case("label_smoothing", "keras", KERAS("SparseCategoricalCrossentropy", from_logits=True, first="logits",
                                           sparse=True, ignore_class=2), ignored_class_logits,
         params={"ignore_index": 2, "smoothing": 0.0}),
    Case("softmax_focal", "keras", one_hot_target(KERAS("CategoricalFocalCrossentropy", from_logits=True,
                                                         first="logits")), class_logits),
    Case("softmax_focal", "keras", one_hot_target(KERAS("CategoricalFocalCrossentropy", from_logits=True, alpha=0.6,
                                                         gamma=1.5, first="logits")), class_logits,
         params={"alpha": 0.6, "gamma": 1.5}),
    Case("softmax_cross_entropy", "optax", OPTAX("softmax_cross_entropy", first="logits",
                                                 argument_order=("logits", "target")), one_hot_logits),
    Case("label_smoothing", "keras", KERAS("CategoricalCrossentropy", from_logits=True, label_smoothing=0.1,
                                           first="logits"), one_hot_logits),
    Case("kl_div", "keras", KERAS("KLDivergence"), distributions),
    Case("kl_div", "optax", OPTAX("kl_divergence", first="log_pred", argument_order=("log_pred", "target")),
         log_distributions),
    Case("kl_div", "optax", OPTAX("kl_divergence", first="log_pred", argument_order=("log_pred", "target")),
         unnormalised_logs),
    Case("triplet", "optax", OPTAX("triplet_margin_loss", first="anchor",
                                   argument_order=("anchor", "positive", "negative")), triplets),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_convention_reports_what_the_framework_reports(case, weighted):
    pytest.importorskip(MODULES[case.framework])
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))  # reproducible per case
    inputs = case.inputs(rng)
    sample_weights = weights(rng, N) if weighted else None
    expected, expected_gradient = case.call(inputs, sample_weights)
    spec = apply_convention(case.loss, case.framework)
    result = compute(spec, inputs, params=case.params, weights=sample_weights)
    convention = find_convention(case.loss, case.framework)
    tolerance = 1e-6 if convention.dtype == "float32" else 1e-12
    assert result.value == pytest.approx(expected, rel=tolerance, abs=1e-300), (case.id, result.value, expected)
    if expected_gradient is not None:
        gradient = result.gradients[spec.differentiable_inputs[0]]
        scale = np.max(np.abs(expected_gradient)) or 1.0
        # a float32 autodiff gradient loses more digits than the value where terms cancel (focal's slope)
        rtol = 1e-4 if convention.dtype == "float32" else 1e-10
        np.testing.assert_allclose(gradient, expected_gradient, rtol=rtol, atol=1e-6 * scale, err_msg=case.id)


def central_differences(function, array, step=1e-6):
    """d function / d array, each element by (f(x + h) - f(x - h)) / 2h with h relative to it."""
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        h = step * max(1.0, abs(array[index]))
        up, down = array.copy(), array.copy()
        up[index] += h
        down[index] -= h
        gradient[index] = (function(up) - function(down)) / (2 * h)
    return gradient


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_rmse_gradient_is_the_derivative_of_the_mean_of_column_rmses(weighted):
    """scikit-learn has no gradient: its root_mean_squared_error differentiated numerically, per element."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(21)
    inputs = small_target_columns(rng)
    sample_weights = weights(rng, N) if weighted else None
    result = compute(apply_convention("rmse", "sklearn"), inputs, weights=sample_weights)

    def sklearn_rmse(pred):
        return sklearn_metrics.root_mean_squared_error(inputs["target"], pred, sample_weight=sample_weights)

    expected = central_differences(sklearn_rmse, inputs["pred"])
    np.testing.assert_allclose(result.gradients["pred"], expected, rtol=1e-6, atol=1e-9)


def test_cli_streamed_multioutput_rmse_is_sklearns(tmp_path, monkeypatch):
    """`compute rmse --convention sklearn` on 3-column files read in batches of 7 rows, weighted and not."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    import json

    from typer.testing import CliRunner

    from losscli.cli import app
    from losscli.io import batches

    rng = np.random.default_rng(22)
    inputs = small_target_columns(rng)
    sample_weights = rng.uniform(0.5, 2.0, N)
    for name in ("pred", "target"):  # .npy: read in batches of DEFAULT_BATCH_ROWS (CSV goes by bytes)
        np.save(tmp_path / f"{name}.npy", inputs[name])
    np.save(tmp_path / "w.npy", sample_weights)
    monkeypatch.setattr(batches, "STREAM_BYTES", 0)
    monkeypatch.setattr(batches, "DEFAULT_BATCH_ROWS", 7)
    for given in (None, sample_weights):
        extra = [] if given is None else ["--weights", str(tmp_path / "w.npy")]
        result = CliRunner().invoke(app, ["compute", "rmse", str(tmp_path / "pred.npy"), str(tmp_path / "target.npy"),
                                          "--convention", "sklearn", "--format", "json", *extra])
        assert result.exit_code == 0, result.output
        expected = sklearn_metrics.root_mean_squared_error(inputs["target"], inputs["pred"], sample_weight=given)
        assert json.loads(result.stdout)["value"] == pytest.approx(expected, rel=1e-14)


def test_sklearn_hinge_single_class_matches_the_documented_quirk():
    """conventions.md §2.20: y = [1, 1, 1] is read as three negatives (1.933 for these scores)."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    scores, target = np.array([0.6, 1.2, 1.0]), np.ones(3)
    expected = sklearn_metrics.hinge_loss(target, scores)
    assert expected == pytest.approx(29 / 15, rel=1e-15)
    assert compute(apply_convention("hinge", "sklearn"), scores, target).value == pytest.approx(expected, rel=1e-15)
    assert compute("hinge", scores, target).value != pytest.approx(expected)


def test_cli_sklearn_hinge_on_a_file_read_in_batches_is_sklearns(tmp_path, monkeypatch):
    """scikit-learn's hinge maps labels by the classes of the whole input: a file that would be read
    in batches of 7 rows is read whole for it (compute and compare), and gives sklearn's number."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    import json

    from typer.testing import CliRunner

    from losscli.cli import app
    from losscli.io import batches

    rng = np.random.default_rng(5)
    scores = rng.normal(0.5, 1.5, N)
    np.save(tmp_path / "scores.npy", scores)  # .npy: read in batches of DEFAULT_BATCH_ROWS (CSV goes by bytes)
    monkeypatch.setattr(batches, "STREAM_BYTES", 0)
    monkeypatch.setattr(batches, "DEFAULT_BATCH_ROWS", 7)
    for target in (np.ones(N), rng.integers(-1, 1, N).astype(np.float64)):  # one class; labels -1/0
        np.save(tmp_path / "y.npy", target)
        expected = sklearn_metrics.hinge_loss(target, scores)
        files = [str(tmp_path / "scores.npy"), str(tmp_path / "y.npy")]
        result = CliRunner().invoke(app, ["compute", "hinge", *files, "--convention", "sklearn", "--format", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["value"] == pytest.approx(expected, rel=1e-14)
        result = CliRunner().invoke(app, ["compare", "hinge", *files, "--convention", "sklearn", "--format", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)[0]["value"] == pytest.approx(expected, rel=1e-14)
