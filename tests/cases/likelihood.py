"""Records for poisson_nll, gaussian_nll and tweedie (losscli/losses/likelihood.py, tweedie.py)."""

from __future__ import annotations

import math

import numpy as np
from loss_cases import Extreme, LossCase

from .exact import mpmath
from .naive import elements, mean
from .tables import LARGEST, ULP, around, grid, residual_pairs, rows
from .torch_ops import reduce


def naive_poisson_nll(pred, target, *, log_input: bool, full: bool, eps: float) -> float:
    losses = []
    for p, t in elements(pred, target):
        loss = math.exp(p) - t * p if log_input else p - t * math.log(p + eps)
        if full and t > 1:
            loss += t * math.log(t) - t + 0.5 * math.log(2 * math.pi * t)
        losses.append(loss)
    return mean(losses)


def naive_gaussian_nll(pred, target, var, *, full: bool, eps: float) -> float:
    losses = []
    for p, t, v in elements(pred, target, var):
        v = max(v, eps)
        loss = 0.5 * (math.log(v) + (p - t) ** 2 / v)
        losses.append(loss + 0.5 * math.log(2 * math.pi) if full else loss)
    return mean(losses)


def naive_tweedie(pred, target, *, power: float) -> float:
    losses = []
    for mu, y in elements(pred, target):
        if power == 1:
            y_log_y_over_mu = y * math.log(y / mu) if y > 0 else 0.0
            losses.append(2 * (y_log_y_over_mu - y + mu))
        elif power == 2:
            losses.append(2 * (math.log(mu / y) + y / mu - 1))
        else:
            p = power
            losses.append(2 * (max(y, 0.0) ** (2 - p) / ((1 - p) * (2 - p)) - y * mu ** (1 - p) / (1 - p)
                               + mu ** (2 - p) / (2 - p)))
    return mean(losses)


def exact_poisson_nll(pred, target, *, log_input, full, eps):
    mp = mpmath()
    # Stirling's y·log y is cancelled by y·log λ: at y = 1e306 the loss keeps ~1e-306 of the terms' size;
    # and 1 - y/(λ + eps) at λ = y = 1e306 needs the 1e-309 that eps adds to the ratio
    with mp.extradps(330):
        if log_input:
            value, slope = mp.exp(pred) - target * pred, mp.exp(pred) - target
        else:
            value, slope = pred - target * mp.log(pred + eps), 1 - target / (pred + eps)
        if full and target > 1:
            value += target * mp.log(target) - target + mp.log(2 * mp.pi * target) / 2
        return +value, {"pred": +slope}


def exact_gaussian_nll(pred, target, var, *, full, eps):
    mp = mpmath()
    clamped, residual = max(var, mp.mpf(eps)), pred - target
    value = (mp.log(clamped) + residual**2 / clamped) / 2 + (mp.log(2 * mp.pi) / 2 if full else 0)
    var_slope = 0 if var < eps else (1 / clamped - residual**2 / clamped**2) / 2
    return value, {"pred": residual / clamped, "var": var_slope}


def exact_tweedie(pred, target, *, power):
    mp = mpmath()
    mu, y, p = pred, target, mp.mpf(power)
    slope = 2 * (mu - y) * mu ** (-p)
    if y == mu:
        return mp.mpf(0), {"pred": slope}
    with mp.extradps(60):  # the three terms cancel to ~(y - ŷ)²: 2^-104 of their size at one ulp apart
        if p == 1:
            value = 2 * ((y * mp.log(y / mu) if y > 0 else 0) - y + mu)
        elif p == 2:
            value = 2 * (mp.log(mu / y) + y / mu - 1)
        else:
            value = 2 * (y ** (2 - p) / ((1 - p) * (2 - p)) - y * mu ** (1 - p) / (1 - p) + mu ** (2 - p) / (2 - p))
        return +value, {"pred": slope}


# --- torch -------------------------------------------------------------------------------------

def torch_poisson_nll(torch, t, params, reduction):
    return torch.nn.functional.poisson_nll_loss(t["pred"], t["target"], log_input=params["log_input"],
                                                full=params["full"], eps=params["eps"], reduction=reduction)


def torch_gaussian_nll(torch, t, params, reduction):
    return torch.nn.functional.gaussian_nll_loss(t["pred"], t["target"], t["var"], full=params["full"],
                                                 eps=params["eps"], reduction=reduction)


def torch_tweedie(torch, t, params, reduction):
    """The deviance's textbook formula in torch ops (torch has no Tweedie loss)."""
    mu, y, power = t["pred"], t["target"], params["power"]
    if power == 1.0:
        deviance = 2 * (torch.xlogy(y, y) - torch.xlogy(y, mu) - y + mu)
    elif power == 2.0:
        deviance = 2 * (torch.log(mu / y) + y / mu - 1)
    else:
        deviance = 2 * (torch.clamp(y, min=0) ** (2 - power) / ((1 - power) * (2 - power))
                        - y * mu ** (1 - power) / (1 - power) + mu ** (2 - power) / (2 - power))
    return reduce(deviance, reduction)


# --- extreme tables -------------------------------------------------------------------------

COUNTS = (0.0, 1.0 - ULP / 2, 1.0, 1.0 + ULP, 2.0, 1e8, 1e306)


def poisson_extremes():
    cases = []
    log_rates = (0.0, 20.0, -20.0, 700.0, -700.0, 709.7, 709.8, 1e4, -1e4)
    # log-rates near log y and at fl(log y) itself, where ŷ - log y is log's own rounding error (1e-15): the
    # gradient e^ŷ - y and full's y·(e^d - 1 - d) are that rounding error amplified
    near_counts = [(math.log(count) + shift, count) for count in (1e8, 1e306) for shift in (-1.0, 0.0, 1e-3, 1.0)]
    # the floats nearest the roots of e^ŷ = 10·ŷ (mpmath's findroot): the loss crosses 0 there
    near_counts += [(0.11183255915896297, 10.0), (3.577152063957297, 10.0)]
    rates = (0.0, 1e-300, 1e-8, 1.0, 2.0, 1e8, 1e300)
    # λ = 1, y = 1e8, eps = 1e-8: y·log(1 + eps) = 1 - 5e-9 cancels λ = 1 to 8 digits; and the floats nearest the
    # roots of λ = 10·log(λ + eps) (mpmath's findroot), where the loss crosses 0
    rate_crossings = {1e-8: (1.1183255803304915, 35.77152064345322), 1e-3: (1.117199685745779, 35.771908654345424)}
    for full in (False, True):
        cases.append(Extreme(f"log-rates ±1e4, counts to 1e306, full={full}",
                             _join(grid(pred=log_rates, target=COUNTS), near_counts), {"full": full}))
        near_rates = [(count * factor, count) for count in (2.0, 1e8, 1e306) for factor in (1.0, 1 + 1e-8, 0.5, 3.0)]
        for eps in (1e-8, 1e-3):
            crossings = [(rate, 10.0) for rate in rate_crossings[eps]]
            cases.append(Extreme(f"rates 0 to 1e300, full={full}, eps={eps:g}",
                                 _join(grid(pred=rates, target=COUNTS), near_rates + crossings),
                                 {"full": full, "log_input": False, "eps": eps}))
    return tuple(cases)


def _join(table, pairs):
    pred, target = zip(*pairs, strict=True)
    return {"pred": np.concatenate([table["pred"], pred]), "target": np.concatenate([table["target"], target])}


VARIANCES = (1.0, 0.0, 1e-300, *around(1e-6), 1e300, LARGEST)


def gaussian_extremes():
    pairs = residual_pairs()
    # ½r²/v finite though r·(r/v) is not
    cases = [Extreme("½r²/v just below 1.8e308", {"pred": np.array([2.5e154, 1.8e154]), "target": np.zeros(2),
                                                  "var": np.array([2.0, 1.0])}, {"full": False})]
    # the loss crosses 0 where r² = -v·log v (and -v·log(2πv) with full): the floats nearest those residuals,
    # alone and on a target of 2.5
    for full, var, residual in ((False, 0.5, 0.5887050112577373), (False, 1e-3, 0.0831129068134555),
                                (True, 0.01, 0.16635182955347216)):
        cases.append(Extreme(f"the loss's zero at var {var:g}, full={full}",
                             {"pred": np.array([residual, -residual, 2.5 + residual]), "target": rows(0.0, 0.0, 2.5),
                              "var": np.full(3, var)}, {"full": full}))
    for full in (False, True):
        for var in VARIANCES:
            inputs = {**pairs, "var": np.full(pairs["pred"].shape, var)}
            # below eps the var gradient is 0 (the clamped loss's); torch passes ½(1/eps - r²/eps²) through
            cases.append(Extreme(f"residual table, var = {var:g}, full={full}", inputs, {"full": full},
                                 torch=var >= 1e-6))
    return tuple(cases)


PREDICTIONS = (1e-300, 1e-200, 1e-10, 1.0, 1e200)
FACTORS = (1.0, 1 + ULP, 1 - ULP / 2, 1 + 1e-8, 1 - 1e-8, 1.25, 0.75, 1.5, 0.5, 2.0)


def tweedie_extremes():
    cases = []
    for power in (1.0, 1.0 + 1e-7, 1.2, 1.5, 1.9, 2.0 - 1e-7, 2.0):
        pairs = [(mu, mu * factor) for mu in PREDICTIONS for factor in FACTORS]
        pairs += [(mu, y) for mu in PREDICTIONS for y in (0.0, 1e-300, 1.0, 1e10, 1e300)]
        pairs = [(mu, y) for mu, y in pairs if power < 2 or y > 0]  # the Gamma deviance needs y > 0
        pred, target = zip(*pairs, strict=True)
        cases.append(Extreme(f"predictions 1e-300 to 1e200, power {power:g}",
                             {"pred": np.array(pred), "target": np.array(target)}, {"power": power}))
    return tuple(cases)


CASES = (
    # log-rates stay within ±700 in the properties: beyond ~709.8 exp, and the loss, are honestly inf
    LossCase("poisson_nll", naive=naive_poisson_nll, exact=exact_poisson_nll, extremes=poisson_extremes,
             torch=torch_poisson_nll, torch_native=True, min_value=-np.inf, zero_at_target=False, real_bound=700.0,
             variants=({"log_input": False}, {"full": True}, {"log_input": False, "full": True, "eps": 1e-3})),
    LossCase("gaussian_nll", naive=naive_gaussian_nll, exact=exact_gaussian_nll, extremes=gaussian_extremes,
             torch=torch_gaussian_nll, torch_native=True, min_value=-np.inf, zero_at_target=False,
             variants=({"full": True}, {"eps": 0.05})),
    LossCase("tweedie", naive=naive_tweedie, exact=exact_tweedie, extremes=tweedie_extremes, torch=torch_tweedie,
             variants=({"power": 1.0}, {"power": 1.2}, {"power": 1.9}, {"power": 2.0})),
)
