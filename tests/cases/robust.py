"""Records for smooth_l1, log_cosh and quantile (losscli/losses/robust.py)."""

from __future__ import annotations

import math

from loss_cases import Extreme, LossCase

from .exact import mpmath, sign
from .naive import elements, mean
from .tables import around, grid, residual_pairs, signed
from .torch_ops import reduce


def naive_smooth_l1(pred, target, *, beta: float) -> float:
    losses = []
    for p, t in elements(pred, target):
        residual = abs(p - t)
        losses.append(0.5 * residual**2 / beta if residual < beta else residual - 0.5 * beta)
    return mean(losses)


def naive_log_cosh(pred, target) -> float:
    # the samplers keep |ŷ - y| small enough for cosh not to overflow
    return mean(math.log(math.cosh(p - t)) for p, t in elements(pred, target))


def naive_quantile(pred, target, *, alpha: float) -> float:
    losses = []
    for p, t in elements(pred, target):
        residual = t - p  # y - ŷ
        losses.append(alpha * residual if residual >= 0 else (alpha - 1.0) * residual)
    return mean(losses)


def exact_smooth_l1(pred, target, *, beta):
    residual = pred - target
    if abs(residual) < beta:
        return residual**2 / (2 * beta), {"pred": residual / beta}
    return abs(residual) - beta / 2, {"pred": sign(residual)}


def exact_log_cosh(pred, target):
    mp = mpmath()
    residual = pred - target
    # cosh r = 1 + r²/2 + ...: keep the r²/2 of a tiny residual, which 50 digits of cosh r would round away
    tiny_digits = int(-2 * mp.log10(abs(residual))) if 0 < abs(residual) < 1 else 0
    with mp.extradps(tiny_digits):
        return +mp.log(mp.cosh(residual)), {"pred": mp.tanh(residual)}


def exact_quantile(pred, target, *, alpha):
    residual = target - pred
    value = alpha * residual if residual >= 0 else (alpha - 1) * residual
    slope = -alpha if residual > 0 else (1 - alpha if residual < 0 else 0)
    return value, {"pred": slope}


def torch_smooth_l1(torch, t, params, reduction):
    return torch.nn.functional.smooth_l1_loss(t["pred"], t["target"], beta=params["beta"], reduction=reduction)


def torch_log_cosh(torch, t, params, reduction):
    return reduce(torch.log(torch.cosh(t["pred"] - t["target"])), reduction)


def torch_quantile(torch, t, params, reduction):
    residual, alpha = t["target"] - t["pred"], params["alpha"]
    return reduce(torch.maximum(alpha * residual, (alpha - 1) * residual), reduction)


def smooth_l1_extremes():
    cases = []
    for beta in (1.0, 1e-160, 1e-300, 1e100):
        switch = grid(pred=signed(around(beta)) + signed(around(beta, 1e-15)) + signed((beta / 3,)), target=(0.0,))
        cases.append(Extreme(f"|r| at beta = {beta:g}", switch, {"beta": beta}))
        cases.append(Extreme(f"residual table, beta = {beta:g}", residual_pairs(), {"beta": beta}))
    return tuple(cases)


def log_cosh_extremes():
    # 20 is where losscli switches formulas; cosh overflows beyond 710
    near_switch = grid(pred=signed(around(20.0) + around(20.0, 1e-14) + (19.5, 1e-8, 1e-4, 0.3, 710.0, 711.0)),
                       target=(0.0,))
    return (Extreme("residual table", residual_pairs()), Extreme("around 20 and the cosh overflow", near_switch))


def quantile_extremes():
    return tuple(Extreme(f"residual table, alpha = {alpha:g}", residual_pairs(), {"alpha": alpha})
                 for alpha in (0.5, 0.0, 1.0, 0.1, 0.9))


CASES = (
    LossCase("smooth_l1", naive=naive_smooth_l1, exact=exact_smooth_l1, extremes=smooth_l1_extremes, symmetric=True,
             torch=torch_smooth_l1, torch_native=True, variants=({"beta": 0.3}, {"beta": 4.0})),
    LossCase("log_cosh", naive=naive_log_cosh, exact=exact_log_cosh, extremes=log_cosh_extremes, symmetric=True,
             torch=torch_log_cosh),
    LossCase("quantile", naive=naive_quantile, exact=exact_quantile, extremes=quantile_extremes,
             torch=torch_quantile, variants=({"alpha": 0.1}, {"alpha": 0.95})),
)
