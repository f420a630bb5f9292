"""Issue 6's regression and likelihood losses against PyTorch in float64: values and gradients
agree to 1e-10 relative.

Skipped when torch is not installed. Inputs come from each spec's generator (away from kinks and
from the variance clamp). Values are compared by plain relative difference, gradients normwise
(max |ours - torch| / max |torch|, as tests/test_torch.py). The largest difference seen per loss
and option is printed at the end of the module (run with ``-s``).
"""

from __future__ import annotations

import numpy as np
import pytest

from losscli import compute, get_loss

torch = pytest.importorskip("torch")
F = torch.nn.functional

from torch_agreement import ROWS, Agreement, const, leaf  # noqa: E402

SEEDS = (0, 1, 2)
REDUCTIONS = ("mean", "sum")


AGREEMENT = Agreement("issue 6 regression losses")
agree, compare = AGREEMENT.agree, AGREEMENT.compare


@pytest.fixture(scope="module", autouse=True)
def _report_max_relative_differences():
    yield
    AGREEMENT.report()


def sample(name, seed, params=None, columns=1):
    spec = get_loss(name)
    inputs = spec.sample(np.random.default_rng(seed), ROWS, spec.resolve_params(params))
    return {key: array.reshape(-1, columns) if columns > 1 else array for key, array in inputs.items()}


def weighted_mean(per_element, weights):
    """torch's recipe for a weighted mean over [N] or [N, D] elements: Σ w·l / Σ w, w per row."""
    weights = const(weights).reshape(-1, *([1] * (per_element.dim() - 1))).expand_as(per_element)
    return (weights * per_element).sum() / weights.sum()


# --- smooth_l1 and huber --------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("columns", [1, 2])
@pytest.mark.parametrize("beta", [0.5, 1.0, 2.5])
def test_smooth_l1_loss(beta, columns, seed, reduction):
    inputs = sample("smooth_l1", seed, {"beta": beta}, columns)
    pred = leaf(inputs["pred"])
    result = compute("smooth_l1", inputs, params={"beta": beta}, reduction=reduction)
    torch_loss = F.smooth_l1_loss(pred, const(inputs["target"]), beta=beta, reduction=reduction)
    compare(f"smooth_l1 beta={beta}", result, torch_loss, {"pred": pred})


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("delta", [0.5, 1.0, 2.5])
def test_huber_is_delta_times_smooth_l1(delta, seed):
    # torch.nn.HuberLoss documents huber(δ) = δ·smooth_l1(β = δ): check both crossings
    inputs = sample("huber", seed, {"delta": delta})
    label = f"huber = delta·smooth_l1, delta={delta}"
    pred = leaf(inputs["pred"])
    ours = compute("smooth_l1", inputs, params={"beta": delta})
    torch_huber = F.huber_loss(pred, const(inputs["target"]), delta=delta)
    torch_huber.backward()
    agree(label, "value", delta * ours.value, torch_huber.item())
    agree(label, "gradient", delta * ours.gradients["pred"], pred.grad.numpy())
    pred = leaf(inputs["pred"])
    ours = compute("huber", inputs, params={"delta": delta})
    torch_scaled = delta * F.smooth_l1_loss(pred, const(inputs["target"]), beta=delta)
    compare(label, ours, torch_scaled, {"pred": pred})


# --- poisson_nll ----------------------------------------------------------------------------

POISSON_OPTIONS = [{"log_input": True, "full": False}, {"log_input": True, "full": True},
                   {"log_input": False, "full": False}, {"log_input": False, "full": True},
                   {"log_input": False, "full": True, "eps": 1e-3}]


def _poisson_label(params):
    return "poisson_nll " + " ".join(f"{key}={value}" for key, value in params.items())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("columns", [1, 2])
@pytest.mark.parametrize("params", POISSON_OPTIONS, ids=_poisson_label)
def test_poisson_nll_loss(params, columns, seed, reduction):
    inputs = sample("poisson_nll", seed, params, columns)
    resolved = get_loss("poisson_nll").resolve_params(params)
    pred = leaf(inputs["pred"])
    result = compute("poisson_nll", inputs, params=params, reduction=reduction)
    torch_loss = F.poisson_nll_loss(pred, const(inputs["target"]), log_input=resolved["log_input"],
                                    full=resolved["full"], eps=resolved["eps"], reduction=reduction)
    compare(_poisson_label(params), result, torch_loss, {"pred": pred})


@pytest.mark.parametrize("seed", SEEDS)
def test_poisson_nll_weighted(seed):
    inputs = sample("poisson_nll", seed, {"full": True})
    weights = np.random.default_rng(seed + 50).uniform(0.0, 2.0, ROWS)
    pred = leaf(inputs["pred"])
    per_element = F.poisson_nll_loss(pred, const(inputs["target"]), full=True, reduction="none")
    compare("poisson_nll full=True (weighted)", compute("poisson_nll", inputs, params={"full": True}, weights=weights),
            weighted_mean(per_element, weights), {"pred": pred})


# --- gaussian_nll ---------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("columns", [1, 2])
@pytest.mark.parametrize("params", [{"full": False}, {"full": True}, {"full": True, "eps": 0.01}],
                         ids=["full=False", "full=True", "full=True-eps=0.01"])
def test_gaussian_nll_loss(params, columns, seed, reduction):
    inputs = sample("gaussian_nll", seed, params, columns)
    resolved = get_loss("gaussian_nll").resolve_params(params)
    pred, var = leaf(inputs["pred"]), leaf(inputs["var"])
    result = compute("gaussian_nll", inputs, params=params, reduction=reduction)
    torch_loss = F.gaussian_nll_loss(pred, const(inputs["target"]), var, full=resolved["full"],
                                     eps=resolved["eps"], reduction=reduction)
    label = "gaussian_nll " + " ".join(f"{key}={value}" for key, value in params.items())
    compare(label, result, torch_loss, {"pred": pred, "var": var})


@pytest.mark.parametrize("seed", SEEDS)
def test_gaussian_nll_weighted(seed):
    inputs = sample("gaussian_nll", seed)
    weights = np.random.default_rng(seed + 60).uniform(0.0, 2.0, ROWS)
    pred, var = leaf(inputs["pred"]), leaf(inputs["var"])
    per_element = F.gaussian_nll_loss(pred, const(inputs["target"]), var, reduction="none")
    compare("gaussian_nll full=False (weighted)", compute("gaussian_nll", inputs, weights=weights),
            weighted_mean(per_element, weights), {"pred": pred, "var": var})


def test_gaussian_nll_clamped_variance_differs_from_torch_only_in_the_var_gradient():
    # Documented divergence: torch clamps var under no_grad, so its gradient passes the clamp as if
    # var were eps: ½(1/eps - r²/eps²). losscli returns 0, the derivative of the clamped loss (what
    # a finite difference sees). Values and the gradient for pred agree.
    eps, residual = 1e-6, 0.5
    pred, var = leaf([residual, residual]), leaf([0.0, 1e-9])
    torch_loss = F.gaussian_nll_loss(pred, const([0.0, 0.0]), var, eps=eps, reduction="sum")
    torch_loss.backward()
    ours = compute("gaussian_nll", [residual, residual], [0.0, 0.0], [0.0, 1e-9], reduction="sum")
    assert ours.value == pytest.approx(torch_loss.item(), rel=1e-15)
    np.testing.assert_allclose(ours.gradients["pred"], pred.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(var.grad.numpy(), 0.5 * (1 / eps - residual**2 / eps**2), rtol=1e-12)
    np.testing.assert_array_equal(ours.gradients["var"], [0.0, 0.0])


# --- losses torch lacks: autograd of the formula in torch ops -------------------------------

def _tweedie_formula(mu, y, power):
    if power == 1.0:
        return 2 * (torch.xlogy(y, y) - torch.xlogy(y, mu) - y + mu)
    if power == 2.0:
        return 2 * (torch.log(mu / y) + y / mu - 1)
    return 2 * (torch.clamp(y, min=0) ** (2 - power) / ((1 - power) * (2 - power))
                - y * mu ** (1 - power) / (1 - power) + mu ** (2 - power) / (2 - power))


FORMULAS = {
    "rmse (sqrt of mse_loss)": ("rmse", {}, lambda p, t: torch.sqrt(F.mse_loss(p, t))),
    "log_cosh (autograd of log(cosh(r)))": ("log_cosh", {}, lambda p, t: torch.log(torch.cosh(p - t)).mean()),
    "quantile alpha=0.9 (autograd of formula)": (
        "quantile", {"alpha": 0.9}, lambda p, t: torch.maximum(0.9 * (t - p), (0.9 - 1) * (t - p)).mean()),
    "msle (autograd of formula)": ("msle", {}, lambda p, t: ((torch.log1p(p) - torch.log1p(t)) ** 2).mean()),
    "mape (autograd of formula)": ("mape", {}, lambda p, t: (torch.abs(p - t) / torch.abs(t)).mean()),
    **{f"tweedie power={power} (autograd of formula)": (
        "tweedie", {"power": power}, lambda p, t, power=power: _tweedie_formula(p, t, power).mean())
       for power in (1.0, 1.5, 2.0)},
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("label", sorted(FORMULAS))
def test_against_autograd_of_the_formula(label, seed):
    name, params, formula = FORMULAS[label]
    inputs = sample(name, seed, params)
    pred = leaf(inputs["pred"])
    compare(label, compute(name, inputs, params=params), formula(pred, const(inputs["target"])), {"pred": pred})
