"""Issue 14: every loss against its 50-digit reference at ordinary and extreme inputs, and against torch.

For each record's extreme table (tests/cases/): losscli's per-sample values and gradients
(``compute(..., reduction="none")``) are finite wherever the reference is, infinite exactly where it
overflows float64, within VALUE_TOLERANCE elementwise and GRADIENT_TOLERANCE per sample
(normwise) of it. torch's equivalent is measured on the same inputs: losscli is never less
accurate than torch beyond the tolerance, and every sample where torch misses the tolerance is
listed at the end of the run (``-s``), with both errors. ``python tests/accuracy.py`` prints the
same table.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from accuracy import describe_sample as where
from accuracy import exact_samples, ours, sample_errors, sample_shape, torch_comparison, worst
from cases.exact import DIGITS, flat, mpmath, to_mp
from loss_cases import CASES, case_of, registered

pytest.importorskip("mpmath")  # the visible notice comes from conftest.py

TORCH_LOSES: dict[str, list] = {}


def _extremes(slow: bool):
    """(spec, index of the extreme case) pairs, the slow ones or the others."""
    return [pytest.param(spec, index, id=f"{spec.name}-{index}")
            for spec in registered() if spec.name in CASES
            for index, extreme in enumerate(CASES[spec.name].extremes()) if extreme.slow == slow]


@functools.cache
def _evaluated(name: str, index: int):
    """(extreme, exact references, losscli's per-sample errors) of one case, computed once per run."""
    case = CASES[name]
    extreme = case.extremes()[index]
    exact = exact_samples(case, extreme)
    return extreme, exact, sample_errors(*ours(case, extreme), exact)


def _check_against_exact(spec, index):
    case = case_of(spec)
    extreme, _, errors = _evaluated(spec.name, index)
    for field, tolerance in (("value", case.value_tolerance), ("gradient", case.gradient_tolerance)):
        error, sample = worst(errors, field)
        assert error <= tolerance, (
            f"{spec.name}: {field} {'not finite or wrong infinity' if error == np.inf else f'error {error:.3g}'}"
            f" > {tolerance:g} at {where(extreme, sample)}; fix losscli/losses/ (or the record in tests/cases/ "
            f"if its reference is wrong)")


@pytest.mark.parametrize(("spec", "index"), _extremes(slow=False))
def test_matches_the_50_digit_reference(spec, index):
    _check_against_exact(spec, index)


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "index"), _extremes(slow=True))
def test_matches_the_50_digit_reference_on_large_inputs(spec, index):
    _check_against_exact(spec, index)


@pytest.mark.parametrize("spec", registered(), ids=lambda spec: spec.name)
def test_every_loss_has_a_record_with_extremes(spec):
    case = case_of(spec)
    assert case.extremes(), f"{spec.name}: its record in tests/cases/ has no extreme table"


@pytest.fixture(scope="module")
def torch_loses_report():
    yield TORCH_LOSES
    if TORCH_LOSES:
        print("\nsamples where torch misses the tolerance that losscli meets (torch's error, losscli's):")
        for name, losses in TORCH_LOSES.items():
            print(f"  {name}: {len(losses)} samples; e.g. {losses[0].field} {losses[0].torch:.2e} vs "
                  f"{losses[0].ours:.2e} at {losses[0].where[:160]}")


@pytest.mark.parametrize(("spec", "index"), [case for case in _extremes(slow=False)
                                             if CASES[case.values[0].name].torch is not None
                                             and CASES[case.values[0].name].extremes()[case.values[1]].torch])
def test_never_less_accurate_than_torch(spec, index, torch_loses_report):
    pytest.importorskip("torch")
    case = case_of(spec)
    extreme, exact, errors = _evaluated(spec.name, index)
    worse, torch_loses = torch_comparison(case, extreme, exact, errors)
    assert not worse, (f"{spec.name}: torch is more accurate than losscli at {len(worse)} samples, e.g. "
                       f"{worse[0].field} error {worse[0].ours:.3g} vs torch's {worse[0].torch:.3g} at "
                       f"{worse[0].where}: fix losscli/losses/")
    if torch_loses:
        torch_loses_report.setdefault(spec.name, []).extend(torch_loses)


# --- the references themselves ---------------------------------------------------------------

# Enough digits to hold the exact sum of any two float64 numbers (2^1024 against 2^-1074): a reference
# whose 50 digits cancel completely (1e306 + 1e-3 - 1e306) disagrees with itself here.
CHECK_DIGITS = 700


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "index"), _extremes(slow=False))
def test_references_keep_their_digits_at_700(spec, index):
    case = case_of(spec)
    extreme, exact, _ = _evaluated(spec.name, index)
    precise = exact_samples(case, extreme, digits=CHECK_DIGITS)
    errors = sample_errors(exact.values, _rounded(exact.gradients), precise)
    for field in ("value", "gradient"):
        error, sample = worst(errors, field)
        assert error <= 1e-15, (f"{spec.name}: the {DIGITS}-digit reference's {field} is off by {error:.3g} at "
                                f"{where(extreme, sample)}: it cancels; rewrite it in tests/cases/")


def _rounded(gradients):
    """The 50-digit gradients rounded to float64 (beyond 1.8e308: inf)."""
    with np.errstate(over="ignore"):
        return {name: np.vectorize(float, otypes=[np.float64])(array) for name, array in gradients.items()}


@pytest.mark.slow
@pytest.mark.parametrize("spec", registered(), ids=lambda spec: spec.name)
def test_reference_gradients_are_derivatives_of_the_reference_values(spec):
    """Central differences of the mpmath value (60 digits, step 1e-20 relative) at the sampler's inputs,
    for the defaults and every variant, against the mpmath gradient."""
    case = case_of(spec)
    mp = mpmath()
    for overrides in [{}, *case.variants]:
        params = spec.resolve_params(overrides)
        inputs = spec.sample(np.random.default_rng(1), 3, params)
        for index in np.ndindex(sample_shape(spec, inputs)):
            args = [to_mp(np.asarray(inputs[name])[index]) for name in spec.input_names]
            with mp.workdps(60):
                _, gradient = case.exact(*args, **params)
                for position, name in enumerate(spec.input_names):
                    if name in spec.differentiable_inputs:
                        _check_partials(case, args, params, position, flat(gradient[name]), spec.name)


def _check_partials(case, args, params, position, analytic, name):
    mp = mpmath()
    base = args[position]
    values = flat(base) if isinstance(base, list) else [base]
    for j, point in enumerate(values):
        step = max(abs(point), 1) * mp.mpf(10) ** -20

        def value_at(x, j=j):
            moved = list(values)
            moved[j] = x
            shifted = list(args)
            shifted[position] = _rebuild(base, iter(moved)) if isinstance(base, list) else x
            return case.exact(*shifted, **params)[0]

        numeric = (value_at(point + step) - value_at(point - step)) / (2 * step)
        if numeric == 0 and "eps" in params:
            continue  # the probability clip's flat region: the documented gradient is the one at the clipped p
        scale = max(abs(numeric), abs(analytic[j]), mp.mpf(10) ** -30)
        assert abs(numeric - analytic[j]) / scale < 1e-15, (
            f"{name}: the reference gradient's entry {j} is {analytic[j]}, its value's central difference "
            f"{numeric}: fix the exact reference in tests/cases/")


def _rebuild(template, items):
    return [_rebuild(part, items) for part in template] if isinstance(template, list) else next(items)


