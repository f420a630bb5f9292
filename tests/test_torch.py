"""Every loss against its record's torch equivalent in float64 (tests/cases/), generic over the registry:
values and gradients agree to 1e-10 relative (gradients normwise) at the defaults and every variant,
for each reduction, on two-column inputs, soft labels, probability targets and sample weights.

Skipped when torch is not installed (conftest.py says so at the end of the run). Inputs come from
each spec's generator, so they stay away from kinks and from the probability clipping, where torch
and losscli differ by design. The largest difference seen per loss and option is printed at the end
of the module (run with ``-s``). Where a per-sample value differs because torch loses digits (its
log-sum-exp cancels when one class dominates, as at InfoNCE's low temperatures), losscli must match the
50-digit reference instead; tests/test_accuracy.py compares both with it on the extreme tables.
"""

from __future__ import annotations

import numpy as np
import pytest
from loss_cases import CASES, Extreme, case_of, has_input, registered, sample, specs_with

from losscli import compute
from losscli.spec import Domain

torch = pytest.importorskip("torch")

from torch_agreement import ROWS, Agreement, const, leaf  # noqa: E402

SEEDS = (0, 1, 2)
AGREEMENT = Agreement("every loss with a torch equivalent")


@pytest.fixture(scope="module", autouse=True)
def _report_max_relative_differences():
    yield
    AGREEMENT.report()


def _with_torch(spec) -> bool:
    return spec.name in CASES and CASES[spec.name].torch is not None


def _torch_variants(spec):
    case = case_of(spec)
    return [{}, *(case.torch_variants if case.torch_variants is not None else case.variants)]


def _label(spec, overrides, what=""):
    settings = " ".join(f"{key}={value}" for key, value in overrides.items())
    return " ".join(part for part in (spec.name, settings, what) if part)


def _agree(spec, inputs, overrides, reduction="mean", weights=None, what=""):
    """compute(...) against the record's torch loss (a weighted mean Σ w·l / Σ w built from torch's per-sample
    values when weights are given), gradients by autograd."""
    resolved = spec.resolve_params(overrides)
    leaves = {name: leaf(inputs[name]) for name in spec.differentiable_inputs}
    tensors = {name: leaves.get(name, const(array)) for name, array in inputs.items()}
    torch_loss = case_of(spec).torch(torch, tensors, resolved, "none" if weights is not None else reduction)
    if weights is not None:
        per_sample = const(weights).reshape(-1, *([1] * (torch_loss.dim() - 1))).expand_as(torch_loss)
        torch_loss = (per_sample * torch_loss).sum() / per_sample.sum()
    result = compute(spec, inputs, params=overrides, reduction=reduction, weights=weights)
    try:
        AGREEMENT.compare(_label(spec, overrides, what), result, torch_loss, leaves)
    except AssertionError:
        if reduction != "none":
            raise
        _matches_the_exact_reference(spec, inputs, overrides)


def _matches_the_exact_reference(spec, inputs, overrides):
    """Per sample, torch loses digits where a dominant class makes its log-sum-exp cancel (infonce at a low
    temperature): there losscli must match the 50-digit reference instead."""
    pytest.importorskip("mpmath")
    from accuracy import exact_samples, ours, sample_errors, worst

    case = case_of(spec)
    extreme = Extreme("sampled inputs where torch differs", inputs, overrides)
    errors = sample_errors(*ours(case, extreme), exact_samples(case, extreme))
    for field, tolerance in (("value", case.value_tolerance), ("gradient", case.gradient_tolerance)):
        error, index = worst(errors, field)
        assert error <= tolerance, f"{spec.name} {overrides}: differs from torch, and its {field} is off the " \
                                   f"50-digit reference by {error:.3g} at sample {index}"


def _reductions(spec):
    """Every reduction for torch's own losses; mean and sum for a formula written in torch ops, whose
    per-sample values may cancel where losscli's do not (tests/test_accuracy.py measures both)."""
    return [r for r in spec.reductions if case_of(spec).torch_native or r != "none"]


CASES_WITH_TORCH = [pytest.param(spec, overrides, reduction, id=f"{_label(spec, overrides)}-{reduction}")
                    for spec in registered() if _with_torch(spec)
                    for overrides in _torch_variants(spec) for reduction in _reductions(spec)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("spec", "overrides", "reduction"), CASES_WITH_TORCH)
def test_agrees_with_torch(spec, overrides, reduction, seed):
    inputs, _ = sample(spec, seed, overrides, rows=ROWS)
    _agree(spec, inputs, overrides, reduction)


def _elementwise(spec):
    return _with_torch(spec) and all(item.shapes == (("...",),) for item in spec.inputs)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("spec", specs_with(_elementwise))
def test_two_columns_agree_with_torch(spec, seed):
    inputs, _ = sample(spec, seed, rows=ROWS)
    _agree(spec, {name: array.reshape(-1, 2) for name, array in inputs.items()}, {}, what="(two columns)")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("spec", specs_with(lambda spec: _with_torch(spec) and has_input(Domain.LABEL)(spec)))
def test_soft_labels_agree_with_torch(spec, seed):
    inputs, _ = sample(spec, seed, rows=ROWS)
    label_name = spec.input_names[-1]
    inputs[label_name] = np.random.default_rng(seed + 10).uniform(0.0, 1.0, inputs[label_name].shape)
    _agree(spec, inputs, {}, what="(soft labels)")


def _takes_probability_rows(spec):
    return _with_torch(spec) and any(("N", "C") in item.shapes for item in spec.inputs
                                     if item.domain is Domain.CLASS_TARGET)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("spec", specs_with(_takes_probability_rows))
def test_probability_targets_agree_with_torch(spec, seed, reduction):
    # torch: class weights inside the sum and the mean over N; ignore_index does not apply
    for overrides in _torch_variants(spec):
        inputs, _ = sample(spec, seed, overrides, rows=ROWS)
        scores, target_name = next(iter(inputs.values())), spec.input_names[-1]
        inputs[target_name] = np.random.default_rng(seed + 30).dirichlet(np.ones(scores.shape[1]), scores.shape[0])
        _agree(spec, inputs, overrides, reduction, what="(probability targets)")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("spec", specs_with(lambda spec: _with_torch(spec) and spec.transform is None))
def test_sample_weights_agree_with_torch(spec, seed):
    inputs, _ = sample(spec, seed, rows=ROWS)
    weights = np.random.default_rng(seed + 50).uniform(0.0, 2.0, ROWS)
    _agree(spec, inputs, {}, weights=weights, what="(weighted)")


@pytest.mark.parametrize("spec", registered(), ids=lambda spec: spec.name)
def test_every_torch_equivalent_is_cross_checked(spec):
    if spec.torch_equivalent:
        assert _with_torch(spec), f"{spec.name} names a torch equivalent: give its record in tests/cases/ a torch"
