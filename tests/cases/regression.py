"""Records for mse, mae, huber, rmse, msle and mape (losscli/losses/regression.py)."""

from __future__ import annotations

import math
import sys

from loss_cases import Extreme, LossCase

from .exact import mpmath, sign
from .naive import elements, mean
from .tables import HALF_ULP, LARGEST, ULP, around, grid, residual_pairs, signed
from .torch_ops import reduce

MAPE_EPS = sys.float_info.epsilon  # scikit-learn's floor under |y|: 2^-52


# --- naive references ------------------------------------------------------------------------

def naive_mse(pred, target) -> float:
    return mean((p - t) ** 2 for p, t in elements(pred, target))


def naive_mae(pred, target) -> float:
    return mean(abs(p - t) for p, t in elements(pred, target))


def naive_huber(pred, target, *, delta: float) -> float:
    losses = []
    for p, t in elements(pred, target):
        residual = abs(p - t)
        if residual <= delta:
            losses.append(0.5 * residual**2)
        else:
            losses.append(delta * (residual - 0.5 * delta))
    return mean(losses)


def naive_rmse(pred, target) -> float:
    return math.sqrt(naive_mse(pred, target))


def naive_msle(pred, target) -> float:
    return mean((math.log(1.0 + p) - math.log(1.0 + t)) ** 2 for p, t in elements(pred, target))


def naive_mape(pred, target) -> float:
    return mean(abs(t - p) / max(abs(t), MAPE_EPS) for p, t in elements(pred, target))


# --- exact per-element references -------------------------------------------------------------

def exact_mse(pred, target):
    residual = pred - target
    return residual**2, {"pred": 2 * residual}


def exact_mae(pred, target):
    residual = pred - target
    return abs(residual), {"pred": sign(residual)}


def exact_huber(pred, target, *, delta):
    residual = pred - target
    if abs(residual) <= delta:
        return residual**2 / 2, {"pred": residual}
    return delta * (abs(residual) - delta / 2), {"pred": delta * sign(residual)}


def exact_rmse(pred, target):
    """Per element (reduction none): sqrt((ŷ - y)²) = |ŷ - y|, gradient sign(ŷ - y) (0 at ŷ = y)."""
    return exact_mae(pred, target)


def exact_msle(pred, target):
    mp = mpmath()
    log_ratio = mp.log1p(pred) - mp.log1p(target)
    return log_ratio**2, {"pred": 2 * log_ratio / (1 + pred)}


def exact_mape(pred, target):
    floor = max(abs(target), MAPE_EPS)
    residual = pred - target
    return abs(residual) / floor, {"pred": sign(residual) / floor}


# --- torch -------------------------------------------------------------------------------------

def torch_mse(torch, t, params, reduction):
    return torch.nn.functional.mse_loss(t["pred"], t["target"], reduction=reduction)


def torch_mae(torch, t, params, reduction):
    return torch.nn.functional.l1_loss(t["pred"], t["target"], reduction=reduction)


def torch_huber(torch, t, params, reduction):
    return torch.nn.functional.huber_loss(t["pred"], t["target"], reduction=reduction, delta=params["delta"])


def torch_rmse(torch, t, params, reduction):
    """sqrt of mse_loss (per element: sqrt of each squared error)."""
    return torch.sqrt(torch.nn.functional.mse_loss(t["pred"], t["target"], reduction=reduction))


def torch_msle(torch, t, params, reduction):
    return reduce((torch.log1p(t["pred"]) - torch.log1p(t["target"])) ** 2, reduction)


def torch_mape(torch, t, params, reduction):
    return reduce(torch.abs(t["pred"] - t["target"]) / torch.clamp(torch.abs(t["target"]), min=MAPE_EPS), reduction)


# --- extreme tables -------------------------------------------------------------------------

def residual_table(params=None):
    return (Extreme("residuals 0 to 1e300, and overflowing ŷ - y", residual_pairs(), params or {}),)


def huber_extremes():
    cases = list(residual_table())
    for delta in (1.0, 1e-200, 1e-10, 1.5e154, 1e200):  # ½δ² of 1.5e154 is finite, δ² is not
        switch = grid(pred=signed(around(delta)) + signed(around(delta, 1e-15)), target=(0.0,))
        cases.append(Extreme(f"|r| at delta = {delta:g}", switch, {"delta": delta}))
        cases.append(Extreme(f"residual table, delta = {delta:g}", residual_pairs(), {"delta": delta}))
    return tuple(cases)


MSLE_VALUES = (-1 + HALF_ULP, -0.5, -1e-300, 0.0, 1e-300, 1e-8, 1.0, 1.0 + ULP, 1e8, 1e300, LARGEST)


def msle_extremes():
    return (Extreme("ŷ, y from -1 + 2^-53 to 1.8e308", grid(pred=MSLE_VALUES, target=MSLE_VALUES)),
            Extreme("ŷ within a few ulps of y", grid(pred=(1.0, 1.0 + ULP, 1.0 + 4 * ULP, 1e8 * (1 + ULP)),
                                                     target=(1.0, 1e8))))


MAPE_TARGETS = signed((0.0, MAPE_EPS * (1 - HALF_ULP), MAPE_EPS, MAPE_EPS * (1 + ULP), 1e-300, 1.0, 1e300, LARGEST))


def mape_extremes():
    return (Extreme("targets at the 2^-52 floor, tiny, huge", grid(pred=signed((0.0, 1e-300, 0.5, 1e300, LARGEST)),
                                                                   target=MAPE_TARGETS)),
            Extreme("residual table", residual_pairs()))


CASES = (
    LossCase("mse", naive=naive_mse, exact=exact_mse, extremes=residual_table, symmetric=True,
             torch=torch_mse, torch_native=True),
    LossCase("mae", naive=naive_mae, exact=exact_mae, extremes=residual_table, symmetric=True,
             torch=torch_mae, torch_native=True),
    LossCase("huber", naive=naive_huber, exact=exact_huber, extremes=huber_extremes, symmetric=True,
             torch=torch_huber, torch_native=True, variants=({"delta": 0.5}, {"delta": 3.0})),
    LossCase("rmse", naive=naive_rmse, exact=exact_rmse, extremes=residual_table, symmetric=True, torch=torch_rmse),
    LossCase("msle", naive=naive_msle, exact=exact_msle, extremes=msle_extremes, torch=torch_msle),
    LossCase("mape", naive=naive_mape, exact=exact_mape, extremes=mape_extremes, torch=torch_mape),
)
