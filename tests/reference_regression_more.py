"""Naive references for issue 6 regression losses (rmse, smooth_l1, log_cosh, quantile, msle, mape,
poisson_nll, gaussian_nll, tweedie).

Written from the formulas in torch's and scikit-learn's documentation, independently of losscli:
plain loops over elements with the ``math`` module and an ``if`` per case. Each returns the
mean-reduced loss as a Python float (rmse: the square root of the mean, as losscli reports it).
"""

from __future__ import annotations

import math
import sys

import numpy as np


def _elements(*arrays):
    """Zip the flattened arrays element by element, as Python floats."""
    return zip(*(np.asarray(array, dtype=np.float64).ravel().tolist() for array in arrays), strict=True)


def _mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


# --- regression -----------------------------------------------------------------------------

def rmse(pred, target) -> float:
    return math.sqrt(_mean((p - t) ** 2 for p, t in _elements(pred, target)))


def smooth_l1(pred, target, *, beta: float) -> float:
    losses = []
    for p, t in _elements(pred, target):
        residual = abs(p - t)
        if residual < beta:
            losses.append(0.5 * residual**2 / beta)
        else:
            losses.append(residual - 0.5 * beta)
    return _mean(losses)


def log_cosh(pred, target) -> float:
    # the generators keep |ŷ - y| small enough for cosh not to overflow
    return _mean(math.log(math.cosh(p - t)) for p, t in _elements(pred, target))


def quantile(pred, target, *, alpha: float) -> float:
    losses = []
    for p, t in _elements(pred, target):
        residual = t - p  # y - ŷ
        if residual >= 0:
            losses.append(alpha * residual)
        else:
            losses.append((alpha - 1.0) * residual)
    return _mean(losses)


def msle(pred, target) -> float:
    return _mean((math.log(1.0 + p) - math.log(1.0 + t)) ** 2 for p, t in _elements(pred, target))


def mape(pred, target) -> float:
    epsilon = sys.float_info.epsilon  # 2**-52, numpy's finfo(float64).eps
    return _mean(abs(t - p) / max(abs(t), epsilon) for p, t in _elements(pred, target))


# --- likelihoods ----------------------------------------------------------------------------

def poisson_nll(pred, target, *, log_input: bool, full: bool, eps: float) -> float:
    losses = []
    for p, t in _elements(pred, target):
        if log_input:
            loss = math.exp(p) - t * p
        else:
            loss = p - t * math.log(p + eps)
        if full and t > 1:
            loss += t * math.log(t) - t + 0.5 * math.log(2 * math.pi * t)
        losses.append(loss)
    return _mean(losses)


def gaussian_nll(pred, target, var, *, full: bool, eps: float) -> float:
    losses = []
    for p, t, v in _elements(pred, target, var):
        v = max(v, eps)
        loss = 0.5 * (math.log(v) + (p - t) ** 2 / v)
        if full:
            loss += 0.5 * math.log(2 * math.pi)
        losses.append(loss)
    return _mean(losses)


def tweedie(pred, target, *, power: float) -> float:
    losses = []
    for mu, y in _elements(pred, target):
        if power == 1:
            y_log_y_over_mu = y * math.log(y / mu) if y > 0 else 0.0
            losses.append(2 * (y_log_y_over_mu - y + mu))
        elif power == 2:
            losses.append(2 * (math.log(mu / y) + y / mu - 1))
        else:
            p = power
            losses.append(2 * (max(y, 0.0) ** (2 - p) / ((1 - p) * (2 - p)) - y * mu ** (1 - p) / (1 - p)
                               + mu ** (2 - p) / (2 - p)))
    return _mean(losses)


REFERENCES_REGRESSION_MORE = {
    "rmse": rmse,
    "smooth_l1": smooth_l1,
    "log_cosh": log_cosh,
    "quantile": quantile,
    "msle": msle,
    "mape": mape,
    "poisson_nll": poisson_nll,
    "gaussian_nll": gaussian_nll,
    "tweedie": tweedie,
}
