"""One test-side record per registered loss, in the spirit of PyTorch's OpInfo.

A :class:`LossCase` holds everything the tests know about a loss, independently of losscli's
code: a naive NumPy/``math`` reference of the mean-reduced loss, a 50-digit mpmath reference of each
sample's value and gradient, the torch equivalent, a table of ordinary and extreme inputs, the
non-default parameters worth testing, and the properties the generic tests check. Generic tests
loop over :data:`CASES`; adding a loss means adding its spec and one record in tests/cases/.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import losscli

# The accuracy the reference suite asserts (issue 14): values elementwise, gradients per sample, normwise.
VALUE_TOLERANCE = 1e-13
GRADIENT_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Extreme:
    """Inputs (one array per input, any number of samples) and parameters for the accuracy table.

    torch=False where losscli's documented convention and torch's differ on purpose (the probability
    clip, the gradient at a clamped variance): torch is not measured there. slow: the 50-digit
    reference takes seconds (a vocabulary of 50,000), so the case runs with the slow tests.
    """

    label: str
    inputs: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)
    torch: bool = True
    slow: bool = False


@dataclass(frozen=True)
class LossCase:
    """What the tests know about one loss.

    naive(*inputs, **all_params) -> the mean-reduced loss (float), by plain loops.
    exact(*sample_inputs, **all_params) -> (value, {input: gradient}) of ONE sample in mpmath, where a
    sample is an element of elementwise inputs or a row of row-wise ones; for a loss with a transform
    (rmse, perplexity) it is the value reported per sample, T(ℓ), and its gradient.
    extremes() -> the accuracy table. torch(torch, tensors, params, reduction) -> torch's loss (the
    per-sample values for reduction "none"); torch_native says whether that is torch's own loss
    function (or torchvision's) rather than the formula written in torch ops.
    variants: non-default parameters the generic tests (references, gradients, torch) also run.
    Properties (tests/test_properties.py): every per-sample value is >= min_value (-inf for NLLs without
    their constants); a regression loss is 0 with a 0 gradient at ŷ = y (zero_at_target) and depends on
    |ŷ - y| only (symmetric); shift_invariant: adding a constant to the logits changes nothing;
    real-valued inputs are drawn within ±real_bound.
    """

    name: str
    exact: Callable[..., tuple]
    extremes: Callable[[], tuple[Extreme, ...]]
    naive: Callable[..., float] | None = None
    torch: Callable[..., Any] | None = None
    torch_native: bool = False
    variants: tuple[dict[str, Any], ...] = ()
    torch_variants: tuple[dict[str, Any], ...] | None = None  # the variants torch can express (None: all)
    min_value: float = 0.0
    zero_at_target: bool = True
    symmetric: bool = False
    shift_invariant: bool = False
    real_bound: float = 1e3
    value_tolerance: float = VALUE_TOLERANCE
    gradient_tolerance: float = GRADIENT_TOLERANCE


def _collect() -> dict[str, LossCase]:
    from cases import binary, categorical, embedding, focal, likelihood, margin, regression, robust, sequence

    modules = (regression, robust, likelihood, binary, categorical, focal, margin, embedding, sequence)
    records = [case for module in modules for case in module.CASES]
    by_name = {case.name: case for case in records}
    assert len(by_name) == len(records), "two records for one loss in tests/cases/"
    return by_name


CASES: dict[str, LossCase] = _collect()


def case_of(spec) -> LossCase:
    """The record of a registered loss; a loss without one fails the test that asked, saying what to add."""
    name = spec if isinstance(spec, str) else spec.name
    if name not in CASES:
        pytest.fail(f"loss {name!r} has no test record: add a LossCase for it to tests/cases/ "
                    "(see tests/loss_cases.py)")
    return CASES[name]


def registered() -> list:
    """Every registered spec, for parametrize (ids are the loss names)."""
    return list(losscli.LOSSES)


# --- helpers shared by the per-family test modules ------------------------------------------

def sample(loss, seed: int, params=None, rows: int = 8):
    """(inputs, resolved parameters) from the loss's own generator, seeded."""
    spec = losscli.get_loss(loss)
    resolved = spec.resolve_params(params)
    return spec.sample(np.random.default_rng(seed), rows, resolved), resolved


def assert_finite(result) -> None:
    assert np.all(np.isfinite(result.value)), f"{result.spec.name}: value {result.value}"
    for name, grad in result.gradients.items():
        assert np.all(np.isfinite(grad)), f"{result.spec.name}: non-finite gradient for {name}"


def compute_quietly(*args, **kwargs):
    """compute() with every warning (numpy's overflow, divide and invalid included) turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return losscli.compute(*args, **kwargs)


def specs_with(predicate) -> list:
    """The registered specs for which predicate(spec) holds (for parametrize; ids are the loss names)."""
    return [pytest.param(spec, id=spec.name) for spec in losscli.LOSSES if predicate(spec)]


def has_input(domain):
    """A predicate: the spec has an input of ``domain``."""
    return lambda spec: any(item.domain is domain for item in spec.inputs)
