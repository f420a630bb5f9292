"""Likelihood-based regression losses (issue 6): Poisson and Gaussian NLL, Tweedie deviance.

Elementwise on inputs of equal shape ([N] or [N, D]): the per-sample loss has the shape of
``pred`` and the mean runs over every element, as torch's poisson_nll_loss and
gaussian_nll_loss and scikit-learn's mean_tweedie_deviance do.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task
from ..validation import locate

ELEMENTWISE = (("...",),)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _require(array: np.ndarray, name: str, bad: np.ndarray, message: str) -> None:
    """InputError at the first True element of ``bad``, with its row, column and value."""
    flat = np.flatnonzero(bad.ravel())
    if flat.size:
        row, column = locate(array, flat[0])
        raise InputError(f"{message}, got {array.ravel()[flat[0]]:g}", input_name=name, row=row, column=column)


# --- Poisson NLL --------------------------------------------------------------------------------

def stirling_term(target: np.ndarray) -> np.ndarray:
    """log(y!) ≈ y·log y - y + ½·log(2πy) for y > 1, and 0 for y <= 1 (torch's ``full``)."""
    above_one = target > 1
    counts = np.where(above_one, target, 1.0)
    return np.where(above_one, counts * np.log(counts) - counts + 0.5 * np.log(2.0 * np.pi * counts), 0.0)


def poisson_nll(pred: np.ndarray, target: np.ndarray, *, log_input: bool, full: bool, eps: float) -> np.ndarray:
    """Poisson negative log-likelihood of counts y with rate λ, up to log(y!) (torch's poisson_nll_loss).

    log_input: pred = log λ and the loss is exp(pred) - y·pred; otherwise pred = λ and the loss
    is λ - y·log(λ + eps). full adds Stirling's approximation of log(y!) for y > 1.
    pred, target: [N] or [N, D] -> same shape.
    """
    if log_input:
        with np.errstate(over="ignore"):  # a log-rate above ~709.8: the rate, and the loss, are inf
            loss = np.exp(pred) - target * pred
    else:
        loss = pred - target * np.log(pred + eps)
    return loss + stirling_term(target) if full else loss


def poisson_nll_gradient(pred, target, *, log_input: bool, full: bool, eps: float) -> dict[str, np.ndarray]:
    """exp(pred) - y with log_input, 1 - y/(λ + eps) without; the Stirling term has no ŷ in it."""
    if log_input:
        with np.errstate(over="ignore"):
            return {"pred": np.exp(pred) - target}
    return {"pred": 1.0 - target / (pred + eps)}


def check_poisson_nll(arrays, params) -> None:
    if not params["log_input"]:
        _require(arrays["pred"], "pred", arrays["pred"] < 0, "expected rates >= 0 (log_input is false)")


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
    loss = 0.5 * (np.log(clamped) + (pred - target) ** 2 / clamped)
    return loss + HALF_LOG_2PI if full else loss


def gaussian_nll_gradient(pred, target, var, *, full: bool, eps: float) -> dict[str, np.ndarray]:
    """∂/∂ŷ = (ŷ - y)/v;  ∂/∂σ² = ½(1/v - (ŷ - y)²/v²) where σ² >= eps, 0 where it was clamped."""
    clamped = np.maximum(var, eps)
    scaled_residual = (pred - target) / clamped
    var_gradient = np.where(var < eps, 0.0, 0.5 * (1.0 / clamped - scaled_residual**2))
    return {"pred": scaled_residual, "var": var_gradient}


def sample_gaussian_nll(rng, n, params):
    # variances well above eps, so no element sits at the clamp
    target = rng.normal(0.0, 2.0, n)
    var = rng.uniform(0.2, 3.0, n) + 2.0 * params["eps"]
    return {"pred": target + rng.normal(0.0, 1.0, n) * np.sqrt(var), "target": target, "var": var}


# --- Tweedie deviance ---------------------------------------------------------------------------

def tweedie(pred: np.ndarray, target: np.ndarray, *, power: float) -> np.ndarray:
    """Unit Tweedie deviance of y from the mean ŷ > 0 (scikit-learn's mean_tweedie_deviance).

    power 1 (Poisson): 2(y·log(y/ŷ) - y + ŷ);  power 2 (Gamma): 2(log(ŷ/y) + y/ŷ - 1);
    1 < p < 2 (compound Poisson-Gamma): 2(y^(2-p)/((1-p)(2-p)) - y·ŷ^(1-p)/(1-p) + ŷ^(2-p)/(2-p)).
    pred, target: [N] or [N, D] -> same shape.
    """
    # Written in u = (y - ŷ)/ŷ, the relative error, with log1p / expm1: the textbook forms subtract
    # terms of size ŷ^(2-p) to leave ~u², so y = ŷ gave ±1e-16 instead of 0 and tiny errors lost digits.
    # Each bracket is >= 0 (the weighted AM-GM inequality) and exactly 0 at y = ŷ.
    positive = target > 0
    relative = np.where(positive, (target - pred) / pred, 0.0)  # 0 where y = 0: that case is handled apart
    # log(y/ŷ): log1p(u) near u = 0; log y - log ŷ elsewhere (y/ŷ may underflow or overflow, u may round to -1)
    log_ratio = np.where(np.abs(relative) < 0.5, np.log1p(np.clip(relative, -0.5, 0.5)),
                         np.log(np.where(positive, target, 1.0)) - np.log(pred))
    if power == 1.0:  # 2ŷ·((y/ŷ)·log(y/ŷ) - u); y = 0: 2ŷ
        return 2.0 * pred * np.where(positive, (target / pred) * log_ratio - relative, 1.0)
    if power == 2.0:  # 2(u - log(1 + u))
        return 2.0 * (relative - log_ratio)
    a, b = 2.0 - power, power - 1.0  # a + b = 1
    # 2ŷ^a·(a·u - ((1 + u)^a - 1))/(a·b); y = 0: 2ŷ^a/a
    bracket = np.where(positive, a * relative - np.expm1(a * log_ratio), b)
    return 2.0 * pred**a * np.maximum(bracket, 0.0) / (a * b)


def tweedie_gradient(pred: np.ndarray, target: np.ndarray, *, power: float) -> dict[str, np.ndarray]:
    """2(ŷ - y)·ŷ^(-p), written 2(1 - y/ŷ)·ŷ^(1-p) so that ŷ^(-p) cannot overflow first."""
    return {"pred": 2.0 * (1.0 - target / pred) * pred ** (1.0 - power)}


def check_tweedie(arrays, params) -> None:
    if params["power"] == 2.0:
        _require(arrays["target"], "target", arrays["target"] <= 0, "expected targets > 0 (power 2, Gamma)")


def sample_tweedie(rng, n, params):
    pred = np.exp(rng.normal(0.5, 0.7, n))
    target = pred * rng.gamma(2.0, 0.5, n)  # mean ŷ, spread on both sides
    if params["power"] < 2.0:
        target = np.where(rng.random(n) < 0.25, 0.0, target)  # exact zeros: no claim
    return {"pred": pred, "target": target}


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

TWEEDIE = LossSpec(
    name="tweedie", aliases=("tweedie_deviance", "mean_tweedie_deviance"), task=Task.REGRESSION,
    inputs=(InputSpec("pred", ELEMENTWISE, Domain.POSITIVE, True, "predicted mean > 0"),
            InputSpec("target", ELEMENTWISE, Domain.NONNEGATIVE, False,
                      "observed values >= 0 (> 0 for power 2), same shape as pred")),
    params=(ParamSpec("power", 1.5, "Tweedie power: 1 Poisson, 2 Gamma, in between compound Poisson-Gamma",
                      low=1.0, high=2.0),),
    forward=tweedie, gradient=tweedie_gradient, sample=sample_tweedie, check=check_tweedie,
    example_files=("sample_data/claims_pred.csv", "sample_data/claims_target.csv"),
    formula="p = 1: 2(y·log(y/ŷ) - y + ŷ);  p = 2: 2(log(ŷ/y) + y/ŷ - 1);  "
            "else 2(y^(2-p)/((1-p)(2-p)) - y·ŷ^(1-p)/(1-p) + ŷ^(2-p)/(2-p))",
    gradient_formula="∂/∂ŷ = 2(ŷ - y)·ŷ^(-p)",
    when_to_use="Non-negative targets with exact zeros and a long right tail (insurance claims, rainfall, "
                "sales): the deviance of a Tweedie GLM, as scikit-learn's mean_tweedie_deviance.",
    output_activation="exp or softplus (the mean must be > 0)",
    notes="power 1 is the Poisson deviance (mean_poisson_deviance), 2 the Gamma deviance (mean_gamma_deviance, "
          "needs y > 0); 0·log 0 = 0. Powers just above 1 or below 2 lose digits to cancellation in "
          "the general formula.",
)

SPECS = (POISSON_NLL, GAUSSIAN_NLL, TWEEDIE)
