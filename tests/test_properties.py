"""Hypothesis properties over the registry: inputs are drawn from each input's declared shapes
and domain, so a new loss built from the existing domains is covered without edits here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from loss_cases import case_of, specs_with

import losscli
from losscli import InputError, compute
from losscli.spec import Domain, Task

pytestmark = pytest.mark.slow  # hypothesis over every loss: tens of seconds

SPEC_IDS = [spec.name for spec in losscli.LOSSES]
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Real-valued inputs are drawn from [-b, b], b the record's real_bound (1e3, smaller where the honest answer
# beyond is inf: log-rates past 709.8, a perplexity's NLL past 709). Half-line domains: (low, high); positive
# values stop at 1e-6 (tweedie's gradient 2(ŷ - y)/ŷ² overflows at 1e-300).
HALF_LINES = {Domain.NONNEGATIVE: (0.0, 1e3), Domain.POSITIVE: (1e-6, 1e3), Domain.ABOVE_MINUS_ONE: (-1.0 + 1e-12, 1e3)}

# Parameter values drawn for the properties; parameters not listed keep their default.
PARAM_STRATEGIES = {
    "delta": st.floats(1e-3, 10.0),
    "alpha": st.floats(0.0, 1.0),
    "gamma": st.floats(0.0, 5.0),
    "smoothing": st.floats(0.0, 1.0),
    "margin": st.floats(0.0, 5.0),
    "temperature": st.floats(0.01, 10.0),
    "beta": st.floats(1e-3, 10.0),
    "power": st.sampled_from([1.0, 1.3, 1.5, 1.8]),  # power 2 needs targets > 0
}


def _floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _class_rows(draw, shape):
    """Rows of class probabilities summing to 1 (zeros allowed: they exercise the clipping)."""
    raw = draw(hnp.arrays(np.float64, shape, elements=_floats(0.0, 1.0)))
    raw[..., 0] += 1e-6  # no all-zero row
    return raw / raw.sum(axis=-1, keepdims=True)


def _values(draw, domain, shape, num_classes, real_bound):
    if domain is Domain.REAL:
        return draw(hnp.arrays(np.float64, shape, elements=_floats(-real_bound, real_bound)))
    if domain in HALF_LINES:
        low, high = HALF_LINES[domain]
        return draw(hnp.arrays(np.float64, shape, elements=_floats(low, min(high, real_bound))))
    if domain is Domain.PROBABILITY:
        return draw(hnp.arrays(np.float64, shape, elements=_floats(0.0, 1.0)))
    if domain is Domain.LABEL:
        hard = draw(st.booleans())
        elements = st.sampled_from([0.0, 1.0]) if hard else _floats(0.0, 1.0)
        return draw(hnp.arrays(np.float64, shape, elements=elements))
    if domain is Domain.CLASS_DISTRIBUTION:
        return _class_rows(draw, shape)
    if domain in (Domain.CLASS_TARGET, Domain.TOKEN_IDS):
        if domain is Domain.CLASS_TARGET and shape and shape[-1] == num_classes and len(shape) == 2:
            return _class_rows(draw, shape)
        return draw(hnp.arrays(np.float64, shape, elements=st.integers(0, num_classes - 1).map(float)))
    if domain is Domain.SIGNED_LABEL:
        return draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0])))
    if domain is Domain.LOG_DISTRIBUTION:
        scores = draw(hnp.arrays(np.float64, shape, elements=_floats(-real_bound, real_bound)))
        shifted = scores - scores.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    if domain is Domain.CLASS_DISTRIBUTION_OR_LOG:  # log_target is not drawn: probabilities
        return _class_rows(draw, shape)
    raise AssertionError(f"no strategy for domain {domain}: add one to tests/test_properties.py")


def _within(param, value):
    """A drawn value clipped into the parameter's own range (cosine's margin lies in [-1, 1])."""
    low = -np.inf if param.low is None else param.low
    high = np.inf if param.high is None else param.high
    return min(max(value, low), high)


@st.composite
def loss_case(draw, spec, variants=False):
    """(inputs, params) for ``spec``: shapes from its patterns, values from its domains; with ``variants``
    the scalar options start from one of its record's variants (log_input, full, eps, ...)."""
    rows = draw(st.integers(1, 4))
    dims = {"N": (rows,), "C": (draw(st.integers(2, 5)),), "D": (draw(st.integers(1, 4)),),
            "K": (draw(st.integers(2, 5)),), "V": (draw(st.integers(2, 6)),)}
    dims["..."] = draw(st.sampled_from([(rows,), (rows, draw(st.integers(1, 3)))]))
    num_classes = dims["C"][0] if any("C" in p for inp in spec.inputs for p in inp.shapes) else dims["V"][0]
    real_bound = case_of(spec).real_bound
    inputs = {}
    for input_spec in spec.inputs:
        pattern = draw(st.sampled_from(input_spec.shapes))
        shape = tuple(size for symbol in pattern for size in dims[symbol])
        inputs[input_spec.name] = _values(draw, input_spec.domain, shape, num_classes, real_bound)
    params = dict(draw(st.sampled_from([{}, *case_of(spec).variants]))) if variants else {}
    for param in spec.params:
        if param.name in PARAM_STRATEGIES:
            params[param.name] = draw(PARAM_STRATEGIES[param.name].map(lambda value, p=param: _within(p, value)))
        elif param.name == "positive_idx":
            params[param.name] = draw(st.integers(0, dims["K"][0] - 1))
    return inputs, params


def _run_property(spec, check):
    @PROPERTY_SETTINGS
    @given(case=loss_case(spec))
    def run(case):
        check(*case)

    run()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("spec", losscli.LOSSES, ids=SPEC_IDS)
def test_finite_values_and_gradients(spec):
    def check(inputs, params):
        for reduction in spec.reductions:
            result = compute(spec, inputs, params=params, reduction=reduction)
            assert np.all(np.isfinite(result.value)), f"{spec.name} {params} {reduction}: value {result.value}"
            for name, grad in result.gradients.items():
                assert np.all(np.isfinite(grad)), f"{spec.name} {params} {reduction}: gradient for {name}"

    _run_property(spec, check)


@pytest.mark.parametrize("spec", specs_with(lambda spec: case_of(spec).min_value > -np.inf))
def test_per_sample_losses_are_non_negative(spec):
    def check(inputs, params):
        result = compute(spec, inputs, params=params, reduction="none", gradient=False)
        floor = case_of(spec).min_value  # 0, or a rounding-sized negative (kl_div: see its record)
        assert np.all(result.per_sample >= floor), f"{spec.name} {params}: negative loss {result.per_sample.min()}"
        reduced = compute(spec, inputs, params=params, gradient=False).value
        assert reduced >= (spec.transform.function(0.0) if spec.transform is not None else floor)

    _run_property(spec, check)


@pytest.mark.parametrize("spec", specs_with(lambda spec: spec.task is Task.REGRESSION and case_of(spec).zero_at_target))
def test_zero_loss_at_a_perfect_prediction(spec):
    def check(inputs, params):
        values = inputs["pred"]  # pred's domain lies inside target's for every regression loss
        reduction = "sum" if "sum" in spec.reductions else "mean"
        result = compute(spec, values.copy(), values, params=params, reduction=reduction)
        assert result.value == 0.0
        assert np.all(result.gradients["pred"] == 0.0)

    _run_property(spec, check)


@pytest.mark.parametrize("spec", specs_with(lambda spec: spec.task is Task.REGRESSION and case_of(spec).symmetric))
def test_regression_loss_is_symmetric_in_the_residual(spec):
    # each regression loss depends on |ŷ - y| only: swapping pred and target changes nothing
    def check(inputs, params):
        forward = compute(spec, inputs["pred"], inputs["target"], params=params, gradient=False).value
        swapped = compute(spec, inputs["target"], inputs["pred"], params=params, gradient=False).value
        assert forward == swapped

    _run_property(spec, check)


@pytest.mark.parametrize("spec", specs_with(lambda spec: case_of(spec).shift_invariant))
def test_softmax_losses_ignore_a_constant_shift_of_the_logits(spec):
    @PROPERTY_SETTINGS
    @given(case=loss_case(spec), shift=_floats(-1e3, 1e3))
    def run(case, shift):
        inputs, params = case
        base = compute(spec, inputs, params=params)
        shifted = compute(spec, {**inputs, "logits": inputs["logits"] + shift}, params=params)
        # the shift costs at most a few ulps of |logits| + |shift| in each log-softmax
        scale = np.max(np.abs(inputs["logits"])) + abs(shift) + 1.0
        assert shifted.value == pytest.approx(base.value, rel=1e-12, abs=1e-13 * scale * (1 + base.value))
        np.testing.assert_allclose(shifted.gradients["logits"], base.gradients["logits"], atol=1e-12 * scale)

    run()


@pytest.mark.parametrize("spec", losscli.LOSSES, ids=SPEC_IDS)
def test_equal_weights_change_nothing(spec):
    @PROPERTY_SETTINGS
    @given(case=loss_case(spec), weight=_floats(1e-3, 1e3))
    def run(case, weight):
        inputs, params = case
        rows = next(iter(inputs.values())).shape[0]
        plain = compute(spec, inputs, params=params)
        weighted = compute(spec, inputs, params=params, weights=np.full(rows, weight))
        assert weighted.value == pytest.approx(plain.value, rel=1e-12, abs=1e-300)
        for name, grad in plain.gradients.items():
            np.testing.assert_allclose(weighted.gradients[name], grad, rtol=1e-12, atol=1e-300)

    run()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("spec", specs_with(lambda spec: spec.task is Task.REGRESSION and case_of(spec).variants))
def test_finite_values_and_gradients_under_every_variant(spec):
    # a regression loss's variants change scalar options only (log_input, full, eps, the power); inputs that
    # an option puts outside the domain (negative rates without log_input, a 0 target at power 2) are rejected
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(case=loss_case(spec, variants=True))
    def run(case):
        inputs, params = case
        for reduction in spec.reductions:
            try:
                result = compute(spec, inputs, params=params, reduction=reduction)
            except InputError:
                reject()
            assert np.all(np.isfinite(result.value)), f"{spec.name} {params} {reduction}: value {result.value}"
            for name, grad in result.gradients.items():
                assert np.all(np.isfinite(grad)), f"{spec.name} {params} {reduction}: gradient for {name}"

    run()
