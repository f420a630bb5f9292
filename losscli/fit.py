"""Fit a linear model (with intercept) to tabular data by minimising a registered loss.

Model: z = X·w + b with X [N, F], w [F], b a scalar. Regression losses score ŷ = z against y;
probability losses (bce, focal) score p = σ(z); logit losses (bce_logits) score z itself. The
objective is the loss's mean over the N rows, L(w, b) = (1/N)·Σ ℓ(ŷ_i, y_i), and its gradient is
the registry gradient carried through the model by the chain rule:
∂L/∂w = Xᵀ·(g ⊙ dŷ/dz), ∂L/∂b = Σ g ⊙ dŷ/dz, with g = ∂L/∂ŷ from :func:`losscli.compute` and
dŷ/dz = 1 (identity) or p(1 - p) (sigmoid).

Columns of X are standardised internally (mean 0, scale 1) and the solution mapped back.

Methods (``method="auto"`` picks the first that applies):

- **irls** (residual losses, ``spec.irls``: mse, mae, huber, ...): iteratively reweighted least squares, a
  majorise-minimise scheme. At residuals r = ŷ - y each row gets the weight
  v_i = g(r_i) / r_i (g the registry gradient, evaluated at |r_i| >= ε so that MAE's 1/|r| stays
  finite; ε = 1e-9 times the scale of y) and the next (w, b) solves the weighted least-squares
  problem min Σ v_i·r_i². For MSE this is ordinary least squares (one step); for MAE it converges
  to the least-absolute-deviations optimum (the median regression), for Huber to its exact
  optimum. The best iterate by the true loss is kept; a final vertex polish tries the model
  through the F+1 rows of smallest |r| (where a piecewise-linear loss such as MAE has its optimum).
  Stop: a step ||Δβ||∞ <= xtol·(1 + ||β||∞) (xtol = 1e-10), or the best loss fell by at most
  ftol·max(L, 1) (ftol = 1e-11) over the last 10 iterations, or max_iter is reached.
- **lbfgs** (everything else, e.g. bce, focal, bce_logits): full-batch L-BFGS (memory 10) with a
  backtracking Armijo line search (c1 = 1e-4, halving the step, at most 60 halvings).
  Stop: ||∇L||∞ <= gtol (1e-9) or a relative decrease |ΔL| / max(|L|, 1) <= ftol (1e-13), or
  max_iter is reached; a line search that cannot decrease L also stops (converged when the
  gradient is already below 1e-6).

``converged`` says whether a stopping rule fired before ``max_iter``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import compute
from .errors import InputError, LossCliError
from .losses._numerics import sigmoid
from .registry import LOSSES, get_loss
from .routing import route_params
from .spec import Domain, LossSpec, Task

METHODS = ("auto", "irls", "lbfgs")
DEFAULT_MAX_ITER = 1000
Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class FitResult:
    """A fitted linear model: weights [F], intercept, final mean loss and how the optimiser ended."""

    loss: str
    params: dict[str, Any]
    features: tuple[str, ...]
    weights: np.ndarray
    intercept: float
    value: float
    iterations: int
    converged: bool
    method: str
    link: str

    def weight_error(self, true_weights: Sequence[float]) -> float:
        """max_j |w_j - w_true_j|: the largest error over the weights (intercept excluded)."""
        true_weights = np.asarray(true_weights, dtype=np.float64)
        if true_weights.shape != self.weights.shape:
            raise LossCliError(f"expected {self.weights.size} true weights (features: {', '.join(self.features)}), "
                               f"got {true_weights.size}")
        return float(np.max(np.abs(self.weights - true_weights)))


@dataclass(frozen=True)
class _Problem:
    """The objective of one fit: the loss, its parameters, the design [N, F+1] and the targets."""

    spec: LossSpec
    params: Mapping[str, Any]
    design: np.ndarray
    target: np.ndarray
    link: str

    def predict(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(what the loss scores, dŷ/dz): z or σ(z), with z = design·β."""
        z = self.design @ beta
        if self.link == "sigmoid":
            prob = sigmoid(z)
            return prob, prob * (1.0 - prob)
        return z, np.ones_like(z)

    def value_and_gradient(self, beta: np.ndarray) -> tuple[float, np.ndarray]:
        """L(β) (mean loss) and ∂L/∂β = designᵀ·(g ⊙ dŷ/dz)."""
        scored, slope = self.predict(beta)
        result = compute(self.spec, scored, self.target, params=self.params)
        gradient = result.gradients[self.spec.inputs[0].name]
        return float(result.value), self.design.T @ (gradient * slope)


def model_link(spec: LossSpec) -> str:
    """"identity" for regression and logit losses, "sigmoid" for probability losses."""
    first = spec.inputs[0]
    if spec.task is Task.REGRESSION or (spec.task is Task.BINARY and first.domain is Domain.REAL):
        return "identity"
    if spec.task is Task.BINARY and first.domain is Domain.PROBABILITY:
        return "sigmoid"
    raise LossCliError(f"fit supports regression and binary losses, not {spec.name} ({spec.task.value})")


def standardise(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(design [N, F+1] = [(X - μ)/σ, 1], μ [F], σ [F]); constant columns keep σ = 1."""
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return np.column_stack([(features - mean) / scale, np.ones(features.shape[0])]), mean, scale


def unstandardise(beta: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights and intercept on the original columns: w = β/σ, b = β_0 - Σ w·μ."""
    weights = beta[:-1] / scale
    return weights, float(beta[-1] - weights @ mean)


def irls(problem: _Problem, max_iter: int, progress: Progress | None = None, xtol: float = 1e-10,
         ftol: float = 1e-11, window: int = 10) -> tuple[np.ndarray, float, int, bool]:
    """Iteratively reweighted least squares, then a vertex polish; returns (β, loss, iterations, converged)."""
    design, target = problem.design, problem.target
    beta = np.linalg.lstsq(design, target, rcond=None)[0]
    floor = 1e-9 * max(float(np.std(target)), float(np.mean(np.abs(target))), 1e-12)
    best_beta, best_value = beta, problem.value_and_gradient(beta)[0]
    history = [best_value]
    for iteration in range(1, max_iter + 1):
        new_beta = _reweighted_step(problem, beta, floor)
        step = float(np.max(np.abs(new_beta - beta)))
        beta = new_beta
        value = problem.value_and_gradient(beta)[0]
        if value < best_value:
            best_beta, best_value = beta, value
        history.append(best_value)
        if progress:
            progress(iteration, max_iter, best_value)
        stalled = len(history) > window and history[-window - 1] - best_value <= ftol * max(abs(best_value), 1.0)
        if step <= xtol * (1.0 + float(np.max(np.abs(beta)))) or stalled:
            return *_polish(problem, best_beta, best_value), iteration, True
    return *_polish(problem, best_beta, best_value), max_iter, False


def _reweighted_step(problem: _Problem, beta: np.ndarray, floor: float) -> np.ndarray:
    """argmin_β Σ v_i·r_i(β)² with v_i = g(r_i)/r_i at the current residuals (|r_i| >= floor)."""
    design, target = problem.design, problem.target
    residual = design @ beta - target
    guarded = np.where(np.abs(residual) < floor, np.where(residual < 0, -floor, floor), residual)
    result = compute(problem.spec, target + guarded, target, params=problem.params)
    row_weight = np.sqrt(np.maximum(result.gradients[problem.spec.inputs[0].name] / guarded, 0.0))
    return np.linalg.lstsq(design * row_weight[:, None], target * row_weight, rcond=None)[0]


def _polish(problem: _Problem, beta: np.ndarray, value: float) -> tuple[np.ndarray, float]:
    """Try the model through the F+1 rows of smallest |r|; keep it only if its loss is lower.

    IRLS approaches a vertex of a piecewise-linear loss (MAE) slowly along its last edge; the
    optimum of such a loss passes exactly through F+1 rows, which this step lands on.
    """
    residual = np.abs(problem.design @ beta - problem.target)
    rows = np.argsort(residual, kind="stable")[: problem.design.shape[1]]
    vertex = np.linalg.lstsq(problem.design[rows], problem.target[rows], rcond=None)[0]
    vertex_value = problem.value_and_gradient(vertex)[0]
    return (vertex, vertex_value) if vertex_value < value else (beta, value)


def _two_loop(gradient, steps, changes):
    """L-BFGS direction -H·g from the stored (s, y) pairs (Nocedal & Wright, alg. 7.4)."""
    direction = gradient.copy()
    alphas = []
    for s, y in reversed(list(zip(steps, changes, strict=True))):
        alpha = (s @ direction) / (y @ s)
        direction -= alpha * y
        alphas.append(alpha)
    if steps:
        direction *= (steps[-1] @ changes[-1]) / (changes[-1] @ changes[-1])
    for (s, y), alpha in zip(zip(steps, changes, strict=True), reversed(alphas), strict=True):
        direction += (alpha - (y @ direction) / (y @ s)) * s
    return -direction


def _armijo(problem: _Problem, beta, value, gradient, direction, c1=1e-4, halvings=60):
    """Backtracking until L(β + t·d) <= L(β) + c1·t·gᵀd; None when no step decreases L."""
    slope = float(gradient @ direction)
    step = 1.0
    for _ in range(halvings):
        new_value, new_gradient = problem.value_and_gradient(beta + step * direction)
        if np.isfinite(new_value) and new_value <= value + c1 * step * slope:
            return step, new_value, new_gradient
        step *= 0.5
    return None


def lbfgs(problem: _Problem, max_iter: int, progress: Progress | None = None, memory: int = 10,
          gtol: float = 1e-9, ftol: float = 1e-13) -> tuple[np.ndarray, float, int, bool]:
    """L-BFGS with Armijo backtracking from β = 0; returns (β, loss, iterations, converged)."""
    beta = np.zeros(problem.design.shape[1])
    value, gradient = problem.value_and_gradient(beta)
    steps: list[np.ndarray] = []
    changes: list[np.ndarray] = []
    for iteration in range(1, max_iter + 1):
        if np.max(np.abs(gradient)) <= gtol:
            return beta, value, iteration - 1, True
        direction = _two_loop(gradient, steps, changes)
        if gradient @ direction >= 0:  # not a descent direction: restart from steepest descent
            direction, steps, changes = -gradient, [], []
        found = _armijo(problem, beta, value, gradient, direction)
        if found is None:
            return beta, value, iteration, bool(np.max(np.abs(gradient)) <= 1e-6)
        step, new_value, new_gradient = found
        s, y = step * direction, new_gradient - gradient
        if s @ y > 1e-12 * (y @ y):  # keep the curvature pair only when it is positive
            steps, changes = [*steps, s][-memory:], [*changes, y][-memory:]
        decrease = (value - new_value) / max(abs(value), abs(new_value), 1.0)
        beta, value, gradient = beta + s, new_value, new_gradient
        if progress:
            progress(iteration, max_iter, value)
        if decrease <= ftol:
            return beta, value, iteration, True
    return beta, value, max_iter, False


def choose_method(spec: LossSpec, method: str = "auto") -> str:
    """"irls" for residual losses, else "lbfgs"; an explicit choice is checked."""
    if method not in METHODS:
        raise LossCliError(f"unknown method {method!r} (valid: {', '.join(METHODS)})")
    if method == "irls" and not spec.irls:
        eligible = ", ".join(sorted(other.name for other in LOSSES if other.irls))
        raise LossCliError(f"irls needs a residual loss ({eligible}), not {spec.name}")
    if method == "auto":
        return "irls" if spec.irls else "lbfgs"
    return method


def check_data(features: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X as float64 [N, F] (1-D becomes one column) and y as [N], finite, same number of rows."""
    features = np.asarray(features, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    features = features[:, None] if features.ndim == 1 else features
    if features.ndim != 2 or target.ndim != 1 or features.shape[0] != target.shape[0]:
        raise InputError(f"expected features [N, F] and target [N], got {features.shape} and {target.shape}")
    if features.shape[0] < 2:
        raise InputError(f"expected at least 2 rows to fit, got {features.shape[0]}")
    for name, array in (("features", features), ("target", target)):
        bad = np.flatnonzero(~np.isfinite(array.reshape(array.shape[0], -1)).all(axis=1))
        if bad.size:
            raise InputError("expected finite values", input_name=name, row=int(bad[0]))
    return features, target


def fit_linear(features, target, loss: str | LossSpec, *, params: Mapping[str, Any] | None = None,
               names: Sequence[str] | None = None, method: str = "auto", max_iter: int = DEFAULT_MAX_ITER,
               progress: Progress | None = None) -> FitResult:
    """Minimise the mean of ``loss`` over a linear model; features [N, F], target [N].

    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = 2 * X[:, 0] + 1
    >>> result = fit_linear(X, y, "mse"); round(float(result.weights[0]), 6), round(result.intercept, 6)
    (2.0, 1.0)
    """
    spec = get_loss(loss)
    features, target = check_data(features, target)
    resolved = spec.resolve_params(params)
    link = model_link(spec)
    design, mean, scale = standardise(features)
    problem = _Problem(spec, resolved, design, target, link)
    chosen = choose_method(spec, method)
    solver = irls if chosen == "irls" else lbfgs
    beta, value, iterations, converged = solver(problem, max_iter, progress)
    weights, intercept = unstandardise(beta, mean, scale)
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(features.shape[1]))
    return FitResult(spec.name, resolved, names, weights, intercept, value, iterations, converged, chosen, link)


def fit_many(features, target, losses: Sequence[str | LossSpec], *, params: Mapping[str, Any] | None = None,
             names: Sequence[str] | None = None, max_iter: int = DEFAULT_MAX_ITER,
             progress: Callable[[str], Progress | None] | None = None) -> list[FitResult]:
    """Fit each loss on the same data; ``params`` as for compare ("huber.delta" or plain "delta").

    ``progress(loss_name)`` may return a callback for that loss's fit.
    """
    specs = [get_loss(loss) for loss in losses]
    routed = route_params(specs, params)
    return [fit_linear(features, target, spec, params=routed[spec.name], names=names, max_iter=max_iter,
                       progress=progress(spec.name) if progress else None) for spec in specs]
