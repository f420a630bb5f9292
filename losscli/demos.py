"""The seed's teaching examples as data and results (no printing; the CLI renders them).

- ``outliers``: the seed's compare_mse_mae, targets 1, 2, 3, 100 vs predictions 1.5, 2.5, 3.5,
  4.0, evaluated by :func:`losscli.compare.compare` (MSE 2304.1875, MAE 24.375, Huber 23.96875).
- ``regression``: the seed's linear_regression_demo data, fitted by MSE, MAE and Huber, clean
  and with 10 % gross outliers (:func:`regression_data`).
- ``focal``: focal loss against BCE on easy and hard examples (:func:`focal_table`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .engine import compute
from .fit import FitResult, fit_many

TRUE_WEIGHTS = np.array([1.5, -2.0, 0.5])
FEATURES = ("x0", "x1", "x2")
REGRESSION_LOSSES = ("mse", "mae", "huber")
OUTLIER_SEED, OUTLIER_SHARE, OUTLIER_RANGE = 0, 0.10, (20.0, 50.0)
FOCAL_PROBABILITIES = (0.5, 0.9, 0.99)
FOCAL_GAMMAS = (0.0, 1.0, 2.0, 5.0)


def regression_data(outliers: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The seed's data: X [100, 3] ~ N(0, 1), y = X·[1.5, -2, 0.5] + N(0, 0.1²) -> (X, y).

    Drawn from the legacy RandomState(42), the same stream as the seed's ``np.random.seed(42)``
    followed by ``randn(100, 3)`` and ``randn(100)``. With ``outliers``, 10 % of the rows (chosen
    by ``np.random.default_rng(0).choice(100, 10, replace=False)``) get targets drawn from
    U(20, 50) by the same generator: gross errors unrelated to X, all on one side.
    """
    legacy = np.random.RandomState(42)
    features = legacy.randn(100, 3)
    target = features @ TRUE_WEIGHTS + legacy.randn(100) * 0.1
    if outliers:
        rng = np.random.default_rng(OUTLIER_SEED)
        count = round(OUTLIER_SHARE * target.size)
        rows = rng.choice(target.size, count, replace=False)
        target = target.copy()
        target[rows] = rng.uniform(*OUTLIER_RANGE, count)
    return features, target


@dataclass(frozen=True)
class DemoFit:
    """One fitted loss on one demo data set, with its distance from the true weights."""

    dataset: str
    fit: FitResult
    max_error: float
    l2_error: float


def regression_demo(losses: Sequence[str] = REGRESSION_LOSSES) -> list[DemoFit]:
    """Fit each loss on the clean data, then on the data with outliers.

    max_error = max_j |w_j - w_true_j|; l2_error = ||w - w_true||₂ (intercepts excluded; the true
    intercept is 0).
    """
    results = []
    for dataset, outliers in (("clean", False), ("outliers", True)):
        features, target = regression_data(outliers)
        for fitted in fit_many(features, target, losses, names=FEATURES):
            difference = fitted.weights - TRUE_WEIGHTS
            results.append(DemoFit(dataset, fitted, float(np.max(np.abs(difference))),
                                   float(np.linalg.norm(difference))))
    return results


def focal_table(probabilities: Sequence[float] = FOCAL_PROBABILITIES,
                gammas: Sequence[float] = FOCAL_GAMMAS) -> list[dict]:
    """BCE and focal loss of a positive example (y = 1) predicted with probability p_t.

    Focal uses alpha = 1 so that only the focusing term acts: focal = (1 - p_t)^γ·BCE, hence
    ``ratio@p`` = focal / BCE = (1 - p_t)^γ. ``hard/easy`` = loss at the first p_t over loss at
    the second: how much more a hard example counts than an easy one.
    """
    pred = np.asarray(probabilities, dtype=np.float64)
    target = np.ones_like(pred)
    bce = compute("bce", pred, target, reduction="none", gradient=False).value
    rows = [_focal_row("bce", None, bce, bce, probabilities)]
    for gamma in gammas:
        focal = compute("focal", pred, target, params={"alpha": 1.0, "gamma": gamma},
                        reduction="none", gradient=False).value
        rows.append(_focal_row("focal", gamma, focal, bce, probabilities))
    return rows


def focal_columns(probabilities: Sequence[float] = FOCAL_PROBABILITIES) -> list[str]:
    """Column names of :func:`focal_table`, in order."""
    return (["loss", "gamma"] + [f"p_t={p:g}" for p in probabilities]
            + [f"ratio@{p:g}" for p in probabilities] + ["hard/easy"])


def _focal_row(name, gamma, values, bce, probabilities) -> dict:
    row = {"loss": name, "gamma": gamma}
    for p, value, reference in zip(probabilities, values, bce, strict=True):
        row[f"p_t={p:g}"] = float(value)
        row[f"ratio@{p:g}"] = float(value / reference)
    row["hard/easy"] = float(values[0] / values[1])
    return row
