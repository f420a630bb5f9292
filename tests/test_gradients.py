"""Analytic gradients against central finite differences, generic over the registry.

For every loss, every differentiable input and every element, the gradient ``compute`` returns
is compared with (L(x + h·e) - L(x - h·e)) / 2h of the *same* reduced loss (mean, sum, none and
weighted), at inputs from the spec's own generator (kept away from kinks and clipping).
"""

from __future__ import annotations

import numpy as np
import pytest
from loss_cases import case_of, has_input, specs_with

import losscli
from losscli import compute, get_loss
from losscli.checking import gradcheck
from losscli.spec import Domain

STEP = 1e-6
# Central differences in float64 with h = 1e-6: truncation ~h²·f''' and rounding ~1e-16·|L|/h,
# both far below this for the losses and inputs used here.
ATOL, RTOL = 1e-7, 1e-5
SEEDS = (0, 1)
ROWS = 5

def _case_id(spec, overrides):
    settings = [f"{key}={value}" for key, value in overrides.items()] or ["defaults"]
    return "-".join([spec.name, *settings])


def _cases(reductions):
    """(spec, params, reduction) for every loss, the parameter variants of its record (chosen to move the
    kinks, change the curvature and take the other code paths) and every reduction the loss supports."""
    return [pytest.param(spec, overrides, reduction, id=f"{_case_id(spec, overrides)}-{reduction}")
            for spec in losscli.LOSSES for overrides in [{}, *case_of(spec).variants]
            for reduction in reductions if reduction in spec.reductions]


def _reduced(spec, inputs, params, reduction, weights):
    """The scalar whose gradient ``compute`` returns: the reduced value, or Σ of per-sample values."""
    value = compute(spec, inputs, params=params, reduction=reduction, weights=weights, gradient=False).value
    return float(np.sum(value)) if reduction == "none" else value


def numeric_gradient(spec, inputs, params, name, reduction="mean", weights=None, step=STEP):
    """Central finite differences of the reduced loss with respect to every element of ``name``."""
    gradient = np.zeros_like(inputs[name])
    for index in np.ndindex(inputs[name].shape):
        values = []
        for sign in (1.0, -1.0):
            shifted = dict(inputs)
            shifted[name] = inputs[name].copy()
            shifted[name][index] += sign * step
            values.append(_reduced(spec, shifted, params, reduction, weights))
        gradient[index] = (values[0] - values[1]) / (2 * step)
    return gradient


def assert_gradient_matches(label, name, analytic, numeric, atol=ATOL, rtol=RTOL):
    """Fail naming the loss, the input and the worst element, analytic and numeric side by side."""
    assert analytic.shape == numeric.shape, f"{label}: gradient for {name} has shape {analytic.shape}, " \
                                            f"input has {numeric.shape}"
    excess = np.abs(analytic - numeric) / (atol + rtol * np.abs(numeric))
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    ours, theirs = analytic[worst], numeric[worst]
    assert excess[worst] <= 1.0, (
        f"{label}: d/d{name} disagrees with central differences; worst element {tuple(int(i) for i in worst)}: "
        f"analytic {ours!r} vs numeric {theirs!r} (|diff| {abs(ours - theirs):.3g}, "
        f"allowed {atol + rtol * abs(theirs):.3g})")


def check_all_inputs(spec, inputs, params, reduction="mean", weights=None, label=None):
    result = compute(spec, inputs, params=params, reduction=reduction, weights=weights)
    assert set(result.gradients) == set(spec.differentiable_inputs), f"{spec.name}: gradients {set(result.gradients)}"
    label = label or f"{spec.name} {params} reduction={reduction}{' weighted' if weights is not None else ''}"
    for name in spec.differentiable_inputs:
        numeric = numeric_gradient(spec, inputs, params, name, reduction, weights)
        assert_gradient_matches(label, name, result.gradients[name], numeric)


def _sample(spec, seed, overrides, rows=ROWS):
    params = spec.resolve_params(overrides)
    return spec.sample(np.random.default_rng(seed), rows, params), params


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("spec", "overrides", "reduction"), _cases(["sum", "mean", "none"]))
def test_gradient_matches_finite_differences(spec, overrides, reduction, seed):
    inputs, params = _sample(spec, seed, overrides)
    check_all_inputs(spec, inputs, params, reduction)


@pytest.mark.parametrize(("spec", "overrides", "reduction"), _cases(["sum", "mean"]))
def test_weighted_gradient_matches_finite_differences(spec, overrides, reduction):
    inputs, params = _sample(spec, 7, overrides)
    rows = next(iter(inputs.values())).shape[0]
    weights = np.random.default_rng(8).uniform(0.2, 2.0, rows)
    weights[1] = 0.0  # a zero weight: that sample's gradient must vanish
    check_all_inputs(spec, inputs, params, reduction, weights)
    result = compute(spec, inputs, params=params, reduction=reduction, weights=weights)
    for name, grad in result.gradients.items():
        assert np.all(grad[1] == 0.0), f"{spec.name}: zero-weight sample has a non-zero gradient for {name}"


@pytest.mark.parametrize("spec", specs_with(has_input(Domain.TOKEN_IDS)))
def test_token_weights_gradient(spec):
    # weights [B, T]: one per token
    inputs, params = _sample(spec, 9, {}, rows=3)
    weights = np.random.default_rng(10).uniform(0.2, 2.0, inputs["targets"].shape)
    check_all_inputs(spec, inputs, params, "mean", weights)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("spec", specs_with(lambda spec: all(item.shapes == (("...",),) for item in spec.inputs)))
def test_gradient_two_dimensional_elementwise(spec, reduction):
    # [N, D] inputs (multi-output regression, multi-label classification): the mean runs over all elements
    if reduction not in spec.reductions:
        pytest.skip(f"{spec.name} has no {reduction} reduction")
    inputs, params = _sample(spec, 11, {}, rows=8)
    inputs = {name: array.reshape(4, 2) for name, array in inputs.items()}
    check_all_inputs(spec, inputs, params, reduction)


def takes_probability_rows(spec):
    return any(("N", "C") in item.shapes for item in spec.inputs if item.domain is Domain.CLASS_TARGET)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "class weights"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("spec", specs_with(takes_probability_rows))
def test_gradient_probability_targets(spec, reduction, weighted):
    # targets as rows of class probabilities instead of ids, with and without torch's class weights
    inputs, params = _sample(spec, 12, {"weight": (0.5, 1.0, 2.0, 3.0, 0.25)} if weighted else {})
    scores_name, target_name = spec.input_names
    scores = inputs[scores_name]
    inputs[target_name] = np.random.default_rng(13).dirichlet(np.ones(scores.shape[1]), scores.shape[0])
    check_all_inputs(spec, inputs, params, reduction)


@pytest.mark.parametrize("spec", specs_with(has_input(Domain.LABEL)))
def test_gradient_soft_labels(spec):
    inputs, params = _sample(spec, 14, {})
    label_name = spec.input_names[-1]
    inputs[label_name] = np.random.default_rng(15).uniform(0.0, 1.0, inputs[label_name].shape)
    check_all_inputs(spec, inputs, params, "mean")


@pytest.mark.parametrize("spec", specs_with(has_input(Domain.SIGNED_LABEL)))
def test_gradient_zero_one_labels(spec):
    # 0 is read as -1
    inputs, params = _sample(spec, 22, {}, rows=8)
    label_name = spec.input_names[-1]
    inputs[label_name] = (inputs[label_name] > 0).astype(float)
    check_all_inputs(spec, inputs, params, "mean")


@pytest.mark.parametrize(("spec", "overrides"), [pytest.param(spec, overrides, id=_case_id(spec, overrides))
                                                 for spec in losscli.LOSSES for overrides in case_of(spec).variants])
def test_gradcheck_passes_under_every_variant(spec, overrides):
    result = gradcheck(spec, params=overrides)
    assert result.passed, result
    assert all(check.kinks == 0 for check in result.inputs), f"{spec.name} {overrides}: the sampler hits a kink"


def test_checker_catches_a_wrong_gradient():
    # the comparison is not vacuous: a gradient off by 0.1 % in one element is reported with its position
    spec = get_loss("mse")
    inputs, params = _sample(spec, 16, {})
    numeric = numeric_gradient(spec, inputs, params, "pred")
    wrong = compute(spec, inputs).gradients["pred"].copy()
    wrong[3] *= 1.001
    with pytest.raises(AssertionError, match=r"mse.*d/dpred.*worst element \(3,\)"):
        assert_gradient_matches("mse", "pred", wrong, numeric)
