"""Shared fixtures, and a visible notice when optional cross-checks are skipped.

Optional test extras (PyTorch, JAX, the frameworks behind ``--convention``) are installed by
``.ci/run``; without them their tests skip, and the end of the run says so in one line each.

Hypothesis draws new examples on each run, which is how it finds the rare input; ``.ci/run``
sets HYPOTHESIS_PROFILE=ci so that a submission's CI draws the same examples every time (a run
that found a counterexample locally reproduces it with the printed blob).
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

OPTIONAL = {
    "torch": "PyTorch cross-checks (pip install torch==2.13.0)",
    "jax": "JAX gradcheck tests (pip install 'losscli[jax]')",
    "sklearn": "framework convention tests (pip install 'losscli[frameworks]')",
    "mpmath": "50-digit reference tests (pip install 'losscli[dev]')",
}


def missing_optional() -> dict[str, str]:
    return {module: what for module, what in OPTIONAL.items() if importlib.util.find_spec(module) is None}


def pytest_report_header(config):
    return [f"NOTICE: skipped, {module} not installed: {what}" for module, what in missing_optional().items()]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for module, what in missing_optional().items():
        terminalreporter.write_line(f"NOTICE: {what} SKIPPED: {module} is not installed", yellow=True, bold=True)


@pytest.fixture
def rng():
    """A seeded generator: every random test input is reproducible."""
    import numpy as np

    return np.random.default_rng(0)
