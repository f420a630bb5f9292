"""Likelihood-based regression losses (issue 6): Poisson and Gaussian NLL (the Tweedie deviance is in
:mod:`.tweedie`).

Elementwise on inputs of equal shape ([N] or [N, D]): the per-sample loss has the shape of
``pred`` and the mean runs over every element, as torch's poisson_nll_loss and
gaussian_nll_loss do.
"""

from __future__ import annotations

import math

import numpy as np

from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task
from ..validation import fail_at
from . import double_double as dd
from ._numerics import (
    SERIES_RADIUS,
    cancelling,
    expm1_remainder,
    log1p_remainder,
    log_ratio,
    minus_log,
    residual_halves,
)
from .regression import ELEMENTWISE

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# --- Poisson NLL --------------------------------------------------------------------------------

def _poisson_full_above_one(pred, target, log_input, eps):
    """loss + Stirling for y > 1, regrouped so that y·log λ and y·log y never meet:
    log_input: y·(e^d - 1 - d) + ½log(2πy) with d = ŷ - log y;  rates: y·(u - log(1 + u)) - eps
    + ½log(2πy) with u = (λ + eps - y)/y, both >= ½log(2πy) (the terms themselves reach 1e309 at y = 1e306)."""
    counts = np.where(target > 1, target, 2.0)
    half_log = 0.5 * np.log(2.0 * np.pi * counts)
    with np.errstate(over="ignore"):
        if log_input:
            return counts * expm1_remainder(_log_rate_gap(pred, counts, GAP_REFINED_VALUE)) + half_log
        rate = pred + eps
        difference = (pred - counts) + eps
        relative = difference / counts
        near = np.abs(relative) <= SERIES_RADIUS
        # far from λ = y: (λ - y) - y·log((λ + eps)/y), the -eps of λ - y·log(λ+eps) folded into λ - y
        far = (pred - counts) - counts * log_ratio(rate, counts, difference)
        return np.where(near, counts * log1p_remainder(np.where(near, relative, 0.0)) - eps, far) + half_log


def poisson_nll(pred: np.ndarray, target: np.ndarray, *, log_input: bool, full: bool, eps: float) -> np.ndarray:
    """Poisson negative log-likelihood of counts y with rate λ, up to log(y!) (torch's poisson_nll_loss).

    log_input: pred = log λ and the loss is exp(pred) - y·pred; otherwise pred = λ and the loss
    is λ - y·log(λ + eps). full adds Stirling's approximation of log(y!) for y > 1.
    pred, target: [N] or [N, D] -> same shape.
    """
    # with full, counts above 1 take _poisson_full_above_one: as 0 here they cost no double-double for nothing
    counts = np.where(target > 1, 0.0, target) if full else target
    with np.errstate(over="ignore", invalid="ignore"):  # a log-rate above ~709.8: the rate, and the loss, are inf
        loss = _poisson_log_input(pred, counts) if log_input else _poisson_rate(pred, counts, eps)
    if not full:
        return loss
    return np.where(target > 1, _poisson_full_above_one(pred, target, log_input, eps), loss)


def _poisson_log_input(pred, target):
    """e^ŷ - y·ŷ; where its terms cancel to below 2^-8 of their size (the loss crosses 0), in double-double."""
    rate, product = np.exp(pred), target * pred
    loss = rate - product
    # e^ŷ and y·ŷ both beyond 1.8e308 (inf - inf): y·(e^(ŷ - log y) - ŷ) says which wins
    both_overflow = np.isnan(loss) & np.isfinite(pred) & (target > 0)
    counts = np.where(both_overflow, target, 1.0)
    loss = np.where(both_overflow, counts * (np.exp(minus_log(pred, counts)) - pred), loss)
    slow = cancelling(loss, rate + np.abs(product))
    if slow.size:
        loss.flat[slow] = (dd.exp(dd.DD(pred.flat[slow]))
                           - dd.DD(*dd.two_product(target.flat[slow], pred.flat[slow]))).value()
    return loss


def _poisson_rate(pred, target, eps):
    """λ - y·log(λ + eps), log(λ + eps) as log1p(λ - 1 + eps) near λ = 1 (where log of the rounded λ + eps loses
    digits); where the two terms cancel to below 2^-8 of their size, in double-double from the exact λ + eps."""
    log_rate = log_ratio(pred + eps, 1.0, (pred - 1.0) + eps)
    product = target * log_rate
    loss = pred - product
    slow = cancelling(loss, pred + np.abs(product))
    if slow.size:
        rate = pred.flat[slow]
        exact_log = dd.log(dd.DD(*dd.two_sum(rate, np.full(rate.shape, eps))))
        loss.flat[slow] = (rate - exact_log * target.flat[slow]).value()
    return loss


# below these, ŷ - log y (1e-16 absolute in float64) is refined in double-double: full's y·(e^d - 1 - d) ≈ y·d²/2
# doubles d's relative error, the gradient y·expm1(d) keeps it
GAP_REFINED_VALUE, GAP_REFINED_GRADIENT = 2.0**-8, 2.0**-11


def _log_rate_gap(pred, counts, refined):
    """d = ŷ - log y for y > 0, relatively accurate also where |d| < refined (ŷ = fl(log y) leaves d = log's
    rounding, 1e-15): there log y is taken in double-double. minus_log's 1e-16 absolute elsewhere."""
    gap = minus_log(pred, counts)
    near = np.flatnonzero(np.abs(gap) < refined)
    if near.size:
        gap.flat[near] = (dd.DD(pred.flat[near]) - dd.log(dd.DD(counts.flat[near]))).value()
    return gap


def poisson_nll_gradient(pred, target, *, log_input: bool, full: bool, eps: float) -> dict[str, np.ndarray]:
    """exp(pred) - y with log_input, 1 - y/(λ + eps) = (λ - y + eps)/(λ + eps) without; the Stirling
    term has no ŷ in it."""
    if not log_input:
        return {"pred": ((pred - target) + eps) / (pred + eps)}
    # near ŷ = log y, e^ŷ - y = y·expm1(ŷ - log y): the two ~y-sized terms would cancel
    with np.errstate(over="ignore", divide="ignore"):
        gap = _log_rate_gap(pred, np.where(target > 0, target, 1.0), GAP_REFINED_GRADIENT)
        near = (target > 0) & (np.abs(gap) < 1.0)
        return {"pred": np.where(near, target * np.expm1(np.where(near, gap, 0.0)), np.exp(pred) - target)}


def check_poisson_nll(arrays, params) -> None:
    if not params["log_input"]:
        fail_at(arrays["pred"], "pred", arrays["pred"] < 0, "expected rates >= 0 (log_input is false)")


def sample_poisson_nll(rng, n, params):
    rate = np.exp(rng.normal(1.0, 0.8, n))
    target = rng.poisson(rate).astype(np.float64)
    predicted = rate * np.exp(rng.normal(0.0, 0.3, n))
    return {"pred": np.log(predicted) if params["log_input"] else predicted, "target": target}


# --- Gaussian NLL -------------------------------------------------------------------------------

def gaussian_nll(pred: np.ndarray, target: np.ndarray, var: np.ndarray, *, full: bool, eps: float) -> np.ndarray:
    """Gaussian negative log-likelihood of y under N(ŷ, σ²) (torch's gaussian_nll_loss, Nix & Weigend 1994).

    ½(log v + (ŷ - y)²/v) with v = max(σ², eps); full adds ½·log(2π).
    pred, target, var: [N] or [N, D], all the same shape -> same shape.
    """
    clamped = np.maximum(var, eps)
    # ½r²/v as ½k²·h·(h/v) with r = k·h (k = 2 where ŷ - y overflows): r = 1e160 against v = 1e300 costs
    # 1e20 though r² overflows, and r = 3.6e308 against v = 1.8e308 costs 3.6e308·2 / 2, not inf
    half, halves = residual_halves(pred, target)
    with np.errstate(over="ignore"):
        log_part, square_part = 0.5 * np.log(clamped), 0.5 * half * (half / clamped) * halves**2
    loss = log_part + square_part + (HALF_LOG_2PI if full else 0.0)
    # where ½log v (and ½log 2π) cancel ½r²/v to below 2^-8 of their size (the loss crosses 0): double-double
    slow = cancelling(loss, np.abs(log_part) + square_part + (HALF_LOG_2PI if full else 0.0))
    if slow.size:
        loss.flat[slow] = _gaussian_double_double(pred.flat[slow], target.flat[slow], clamped.flat[slow], full)
    return loss


PI = (3.141592653589793, 1.2246467991473532e-16)  # π to 2^-106 (its float64 and the rest)


def _gaussian_double_double(pred, target, clamped, full):
    """½(log v + r²/v) (+ ½log 2π) in double-double, r = ŷ - y exact (two-sum)."""
    residual = dd.DD(*dd.two_sum(pred, -target))
    loss = dd.log(dd.DD(clamped)) + residual * residual / clamped
    if full:
        loss = loss + dd.log(dd.DD(*PI)) + dd.times_ln2(np.ones(pred.shape))
    return (loss * 0.5).value()


def gaussian_nll_gradient(pred, target, var, *, full: bool, eps: float) -> dict[str, np.ndarray]:
    """∂/∂ŷ = (ŷ - y)/v;  ∂/∂σ² = ½(1/v - (ŷ - y)²/v²) where σ² >= eps, 0 where it was clamped."""
    clamped = np.maximum(var, eps)
    half, halves = residual_halves(pred, target)
    with np.errstate(over="ignore"):
        scaled_residual = half / clamped * halves
        # ½/v - (½·s)·s: finite wherever ½s² is
        var_gradient = np.where(var < eps, 0.0, 0.5 / clamped - 0.5 * scaled_residual * scaled_residual)
    return {"pred": scaled_residual, "var": var_gradient}


def sample_gaussian_nll(rng, n, params):
    # variances well above eps, so no element sits at the clamp
    target = rng.normal(0.0, 2.0, n)
    var = rng.uniform(0.2, 3.0, n) + 2.0 * params["eps"]
    return {"pred": target + rng.normal(0.0, 1.0, n) * np.sqrt(var), "target": target, "var": var}


# --- specs --------------------------------------------------------------------------------------

POISSON_NLL = LossSpec(
    name="poisson_nll", aliases=("poisson", "poisson_nll_loss"), task=Task.REGRESSION,
    inputs=(InputSpec("pred", ELEMENTWISE, Domain.REAL, True,
                      "predicted log-rate (log_input true) or rate >= 0 (log_input false)"),
            InputSpec("target", ELEMENTWISE, Domain.NONNEGATIVE, False, "observed counts >= 0, same shape as pred")),
    params=(ParamSpec("log_input", True, "pred is the log of the rate (else the rate itself)", kind="bool"),
            ParamSpec("full", False, "add Stirling's approximation of log(y!) for y > 1", kind="bool"),
            ParamSpec("eps", 1e-8, "added to the rate inside the log when log_input is false",
                      low=0.0, low_inclusive=False)),
    forward=poisson_nll, gradient=poisson_nll_gradient, sample=sample_poisson_nll, check=check_poisson_nll,
    example_files=("sample_data/counts_log_rate.csv", "sample_data/counts_target.csv"),
    formula="log_input: exp(ŷ) - y·ŷ;  else ŷ - y·log(ŷ + eps);  full: + y·log y - y + ½·log(2πy) for y > 1",
    gradient_formula="∂/∂ŷ = exp(ŷ) - y (log_input), 1 - y/(ŷ + eps) (rate)",
    when_to_use="Count data (events, clicks, claims) modelled as Poisson with a predicted rate; log_input "
                "pairs with a linear output read as log-rate.",
    output_activation="none (log-rate) with log_input; softplus / exp for a rate without it",
    torch_equivalent="torch.nn.functional.poisson_nll_loss",
    notes="Without full the loss omits log(y!) and can be negative; full adds Stirling's approximation for "
          "y > 1 (0 for y <= 1), as torch. A log-rate above ~709.8 overflows exp: the loss is inf.",
    accurate_range="log_input: inf above a log-rate of 709.78, as is the truth",
)

GAUSSIAN_NLL = LossSpec(
    name="gaussian_nll", aliases=("gaussian", "gaussian_nll_loss"), task=Task.REGRESSION,
    inputs=(InputSpec("pred", ELEMENTWISE, Domain.REAL, True, "predicted mean"),
            InputSpec("target", ELEMENTWISE, Domain.REAL, False, "observed values, same shape as pred"),
            InputSpec("var", ELEMENTWISE, Domain.NONNEGATIVE, True, "predicted variance σ² >= 0, same shape as pred")),
    params=(ParamSpec("full", False, "add the constant ½·log(2π)", kind="bool"),
            ParamSpec("eps", 1e-6, "variances below eps are clamped to eps", low=0.0, low_inclusive=False)),
    forward=gaussian_nll, gradient=gaussian_nll_gradient, sample=sample_gaussian_nll,
    example_files=("sample_data/gaussian_mean.csv", "sample_data/gaussian_target.csv", "sample_data/gaussian_var.csv"),
    formula="v = max(σ², eps);  ½(log v + (ŷ - y)²/v)  (+ ½·log(2π) with full)",
    gradient_formula="∂/∂ŷ = (ŷ - y)/v;  ∂/∂σ² = ½(1/v - (ŷ - y)²/v²), 0 where σ² < eps",
    when_to_use="Heteroscedastic regression: the model predicts a mean and a variance per target, and is "
                "rewarded for honest uncertainty.",
    output_activation="none for the mean; softplus / exp for the variance",
    torch_equivalent="torch.nn.functional.gaussian_nll_loss",
    notes="var must have pred's shape: torch's broadcasting of a [N] or [N, 1] variance against [N, D] "
          "predictions is not supported (repeat the column). Where σ² < eps the gradient for var is 0, the "
          "derivative of the clamped loss; torch instead passes ½(1/eps - (ŷ - y)²/eps²) through its clamp.",
)

SPECS = (POISSON_NLL, GAUSSIAN_NLL)
