"""The frameworks themselves, called on the inputs a convention test gives losscli.

Each function takes numpy inputs by losscli input name and optional sample weights, runs the
real framework, and returns (value, gradient of the first input or None). Keras runs on its
torch backend (set before Keras is imported); optax on JAX's default float32; XGBoost and
LightGBM report their metric for predictions fed as base margins / initial scores of a model
with no trees, and :func:`xgboost_predictions` / :func:`lightgbm_predictions` give the
predictions those margins turn into, which is what losscli must be given.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")


def _column(array):
    """Keras reduces the last axis first: a 1-D input is read as one column (N, 1)."""
    array = np.asarray(array, dtype=np.float32)
    return array[:, None] if array.ndim == 1 else array


def keras_loss(name, *, first="pred", sparse=False, **options):
    """keras.losses.<name>(**options)(y_true, y_pred, sample_weight) and d/d(y_pred) by torch autograd;
    ``sparse``: integer class ids as y_true."""
    def run(inputs, weights=None):
        import keras
        import torch

        first_value = np.asarray(inputs[first], dtype=np.float32)
        pred = torch.tensor(first_value if first_value.ndim > 1 else first_value[:, None], requires_grad=True)
        target_value = inputs["target"]
        true = torch.tensor(np.asarray(target_value, dtype=np.int64 if sparse else np.float32))
        if not sparse:
            true = torch.tensor(_column(target_value))
        sample_weight = None if weights is None else torch.tensor(np.asarray(weights, dtype=np.float32))
        value = getattr(keras.losses, name)(**options)(true, pred, sample_weight=sample_weight)
        value.backward()
        return float(value.detach()), pred.grad.numpy().astype(np.float64).reshape(first_value.shape)
    return run


def keras_rmse_metric(inputs, weights=None):
    import keras

    metric = keras.metrics.RootMeanSquaredError()
    metric.update_state(_column(inputs["target"]), _column(inputs["pred"]),
                        sample_weight=None if weights is None else np.asarray(weights, dtype=np.float32))
    return float(metric.result()), None


def sklearn_metric(name, *, first="pred", **options):
    def run(inputs, weights=None):
        import sklearn.metrics

        value = getattr(sklearn.metrics, name)(inputs["target"], inputs[first], sample_weight=weights, **options)
        return float(value), None
    return run


def optax_mean(name, *, first="pred", argument_order=("pred", "target"), **options):
    """mean over every value of optax.losses.<name>(...), weights multiplied in (optax has none)."""
    def run(inputs, weights=None):
        import jax
        import jax.numpy as jnp
        import optax

        arrays = {key: jnp.asarray(np.asarray(value, dtype=np.float32)) for key, value in inputs.items()}

        def mean(first_value):
            values = getattr(optax.losses, name)(*[first_value if key == first else arrays[key]
                                                  for key in argument_order], **options)
            if weights is not None:
                shape = (-1,) + (1,) * (values.ndim - 1)
                values = values * jnp.asarray(np.asarray(weights, dtype=np.float32)).reshape(shape)
            return jnp.sum(values) / values.size

        value, gradient = jax.value_and_grad(mean)(arrays[first])
        return float(value), np.asarray(gradient, dtype=np.float64)
    return run


def _xgboost_booster(objective, metric, label, margin, weights, options):
    import xgboost

    matrix = xgboost.DMatrix(np.zeros((len(label), 1)), label=label, weight=weights, base_margin=margin)
    params = {"objective": objective, "eval_metric": metric, "base_score": 0.5, **options}
    return xgboost.train(params, matrix, num_boost_round=0), matrix


def xgboost_metric(objective, metric, margin_of, **options):
    """XGBoost's metric for base margins margin_of(first input); label = the target."""
    def run(inputs, weights=None):
        booster, matrix = _xgboost_booster(objective, metric, inputs["target"], margin_of(inputs["pred"]), weights,
                                           options)
        return float(booster.eval(matrix).split(":")[-1]), None
    return run


def xgboost_predictions(objective, margin_of, values, label, **options):
    """What XGBoost's model predicts for those margins (float32): the input losscli must see."""
    booster, matrix = _xgboost_booster(objective, "rmse", label, margin_of(values), None, options)
    return booster.predict(matrix).astype(np.float64).reshape(np.shape(values))


def lightgbm_metric(objective, metric, init_of, **options):
    """LightGBM's metric after one round at learning rate 1e-300 (trees that add nothing)."""
    def run(inputs, weights=None):
        import lightgbm

        label = inputs["target"]
        dataset = lightgbm.Dataset(np.zeros((len(label), 1)), label=label, weight=weights,
                                   init_score=init_of(inputs["pred"]), free_raw_data=False)
        params = {"objective": objective, "metric": metric, "verbose": -1, "learning_rate": 1e-300,
                  "num_leaves": 2, "min_data_in_leaf": 1, **options}
        record = {}
        lightgbm.train(params, dataset, num_boost_round=1, valid_sets=[dataset], valid_names=["data"],
                       callbacks=[lightgbm.record_evaluation(record)])
        return float(record["data"][metric][-1]), None
    return run


def identity(values):
    return np.asarray(values, dtype=np.float64)


def logit(prob):
    prob = np.asarray(prob, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(prob) - np.log1p(-prob)


def log_rows(prob):
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(prob, dtype=np.float64))
