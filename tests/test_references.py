"""Every loss against its record's naive reference (tests/cases/), generic over the registry: the
defaults and every variant, soft labels, probability targets, two-column inputs, and the reductions
(sum, none, weighted means) built from per-sample values."""

from __future__ import annotations

import numpy as np
import pytest
from loss_cases import case_of, has_input, registered, sample, specs_with

from losscli import ParameterError, compute
from losscli.spec import Domain

SEEDS = (0, 1, 2)
by_spec = pytest.mark.parametrize("spec", registered(), ids=lambda spec: spec.name)


def _naive(spec, inputs, params):
    return case_of(spec).naive(*inputs.values(), **params)


@pytest.mark.parametrize("seed", SEEDS)
@by_spec
def test_matches_naive_reference(spec, seed):
    for overrides in [{}, *case_of(spec).variants]:
        inputs, params = sample(spec, seed, overrides)
        value = compute(spec, inputs, params=overrides).value
        expected = _naive(spec, inputs, params)
        assert value == pytest.approx(expected, rel=1e-12), (
            f"{spec.name} {overrides}: {value} vs the naive reference's {expected} (tests/cases/)")


def _takes_probability_rows(spec):
    return any(("N", "C") in item.shapes for item in spec.inputs if item.domain is Domain.CLASS_TARGET)


@pytest.mark.parametrize("spec", specs_with(_takes_probability_rows))
def test_probability_targets_match_naive_reference(spec):
    inputs, params = sample(spec, 3)
    scores, target_name = next(iter(inputs.values())), spec.input_names[-1]
    inputs[target_name] = np.random.default_rng(4).dirichlet(np.ones(scores.shape[1]), scores.shape[0])
    assert compute(spec, inputs).value == pytest.approx(_naive(spec, inputs, params), rel=1e-12)


@pytest.mark.parametrize("spec", specs_with(has_input(Domain.LABEL)))
def test_soft_labels_match_naive_reference(spec):
    inputs, params = sample(spec, 23)
    label_name = spec.input_names[-1]
    inputs[label_name] = np.random.default_rng(24).uniform(0.0, 1.0, inputs[label_name].shape)
    assert compute(spec, inputs).value == pytest.approx(_naive(spec, inputs, params), rel=1e-12)


def _elementwise(spec):
    return all(item.shapes == (("...",),) for item in spec.inputs)


@pytest.mark.parametrize("spec", specs_with(_elementwise))
def test_two_column_inputs_match_naive_reference(spec):
    inputs, params = sample(spec, 25)
    inputs = {name: array.reshape(4, 2) for name, array in inputs.items()}
    assert compute(spec, inputs).value == pytest.approx(_naive(spec, inputs, params), rel=1e-12)


# --- reductions -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec", specs_with(lambda spec: "sum" in spec.reductions))
def test_sum_is_mean_times_n(spec):
    inputs, params = sample(spec, 16)
    mean = compute(spec, inputs, params=params)
    total = compute(spec, inputs, params=params, reduction="sum")
    assert total.value == pytest.approx(mean.value * mean.n, rel=1e-13)
    assert total.n == mean.n == mean.per_sample.size
    for name, grad in total.gradients.items():
        np.testing.assert_allclose(grad, mean.gradients[name] * mean.n, rtol=1e-12, atol=1e-300)


@by_spec
def test_weighted_mean_is_weighted_sum_over_weight_total(spec):
    inputs, params = sample(spec, 17)
    per_sample = compute(spec, inputs, params=params, reduction="none").per_sample
    weights = np.random.default_rng(18).uniform(0.0, 3.0, per_sample.shape[0])
    weighted = compute(spec, inputs, params=params, weights=weights)
    # a sample's weight applies to each of its elements / tokens
    numerator = denominator = 0.0
    for row in range(per_sample.shape[0]):
        for loss in np.atleast_1d(per_sample[row]).ravel():
            numerator += weights[row] * loss
            denominator += weights[row]
    expected = numerator / denominator
    if spec.transform is not None:
        expected = spec.transform.function(expected)
    assert weighted.value == pytest.approx(expected, rel=1e-12)


@by_spec
def test_none_returns_per_sample_values(spec):
    inputs, params = sample(spec, 19)
    result = compute(spec, inputs, params=params, reduction="none")
    assert isinstance(result.value, np.ndarray)
    first = next(iter(inputs.values()))
    expected_shape = first.shape if _elementwise(spec) else first.shape[:-1]
    assert result.value.shape == expected_shape
    # the per-sample values average to the reference's mean (before the transform: exp for
    # perplexity, sqrt for rmse, which "none" applies to each value)
    expected_mean = _naive(spec, inputs, params)
    if spec.transform is None:
        assert np.mean(result.value) == pytest.approx(expected_mean, rel=1e-12)
    else:
        np.testing.assert_allclose(result.value, spec.transform.function(result.per_sample), rtol=1e-15)
        assert spec.transform.function(np.mean(result.per_sample)) == pytest.approx(expected_mean, rel=1e-12)


def test_unknown_reduction_rejected():
    with pytest.raises(ParameterError, match="unknown reduction 'median'"):
        compute("mse", [1.0], [0.0], reduction="median")
