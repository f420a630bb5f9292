"""Shared by the torch cross-check modules: compare losscli with PyTorch autograd in float64.

Values are compared by plain relative difference, gradients normwise (see relative_differences);
every comparison is recorded, and each module prints the largest per loss at its end (``-s``).
Import only after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

RTOL = 1e-10
ROWS = 24
COLUMNS = ("value", "gradient", "gradient elementwise")


def relative_differences(ours, theirs) -> tuple[float, float]:
    """(normwise, elementwise) relative difference of two arrays.

    normwise = max_i |ours_i - torch_i| / max_i |torch_i|: the error relative to the gradient's size,
    the measure gradient checkers use. elementwise = max_i |ours_i - torch_i| / |torch_i| over the
    elements that differ: for a scalar it is the plain relative difference, but for a gradient it
    is dominated by elements that are tiny because of cancellation in *both* implementations
    (σ(x) - 1 at x = 20, Σ_k g_k·k_k in InfoNCE), where neither side has more than ~1e-16·(terms)
    absolute accuracy; it is recorded, not asserted.
    """
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"shape {ours.shape} vs torch {theirs.shape}"
    difference = np.abs(ours - theirs)
    largest = float(np.max(np.abs(theirs), initial=0.0))
    normwise = float(np.max(difference, initial=0.0)) / largest if largest else float(np.max(difference, initial=0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        elementwise = np.where(difference == 0.0, 0.0, difference / np.abs(theirs))
    return normwise, float(np.max(elementwise, initial=0.0))


class Agreement:
    """Asserts agreement with torch and records the largest relative differences per label."""

    def __init__(self, title: str):
        self.title = title
        self.largest: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0.0))

    def agree(self, label, kind, ours, theirs, what=""):
        normwise, elementwise = relative_differences(ours, theirs)
        seen = self.largest[label]
        if kind == "value":
            seen["value"] = max(seen["value"], elementwise)
            relative = elementwise
        else:
            seen["gradient"] = max(seen["gradient"], normwise)
            seen["gradient elementwise"] = max(seen["gradient elementwise"], elementwise)
            relative = normwise
        assert relative <= RTOL, f"{label}: {kind} {what} differs from torch by {relative:.3g} relative (> {RTOL:g})"

    def compare(self, label, result, torch_loss, leaves):
        """``result`` against ``torch_loss`` (a scalar, or per-sample values for reduction "none",
        whose gradients are those of their sum, as losscli's are); gradients for each named leaf."""
        torch_loss.sum().backward()
        self.agree(label, "value", result.value, torch_loss.detach().numpy())
        for name, tensor in leaves.items():
            self.agree(label, "gradient", result.gradients[name], tensor.grad.numpy(), what=f"d/d{name}")

    def report(self) -> None:
        print(f"\nlargest relative difference against torch (float64), {self.title}:")
        print(f"  {'loss / option':<52}" + "".join(f"{column:>22}" for column in COLUMNS))
        for label in sorted(self.largest):
            print(f"  {label:<52}" + "".join(f"{self.largest[label][column]:>22.2e}" for column in COLUMNS))


def leaf(array):
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=True)


def const(array, dtype=torch.float64):
    return torch.tensor(np.asarray(array), dtype=dtype)
