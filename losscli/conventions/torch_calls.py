"""The torch convention: losscli's default definitions, which follow the torch call each spec
names (``torch_equivalent``). Each record says where torch's own defaults still differ.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..spec import Domain, InputSpec
from ..validation import ROW_SUM_TOLERANCE
from .record import Convention, Knob, same_as_default


class ConventionWarning(UserWarning):
    """Input a framework accepts and computes a well-defined value for, though losscli's default rejects it."""

# Where calling torch with its own defaults (not the arguments in the spec's torch line) differs.
TORCH_DIFFERENCES = {
    "huber": "F.huber_loss(weight=w) divides by the number of elements, not Σw (F.mse_loss and F.l1_loss divide "
             "by Σw, as losscli does for every loss).",
    "bce": "F.binary_cross_entropy clamps each log at -100 instead of clipping p at eps = 1e-15: only for p within "
           "1e-15 of 0 or 1 does torch report more (up to 100 per element; losscli at most 34.5).",
    "cross_entropy": "torch has no cross-entropy on probabilities: nll_loss(log p) does not clip, so p_y = 0 gives "
                     "inf where losscli clips at eps.",
    "kl_div": "F.kl_div's default reduction 'mean' divides by N·C; losscli's mean is reduction='batchmean' (÷ N).",
    "smooth_l1": "torch also accepts beta = 0 (plain L1).",
    "triplet": "F.triplet_margin_loss's default eps = 1e-6 is added to each difference: d(a, a) = 1.4e-6.",
    "cosine": "torch gives a label 0 a loss of 0; losscli reads 0 as -1.",
    "focal": "torchvision.ops.sigmoid_focal_loss takes logits; this is its value at log(p / (1 - p)).",
    "focal_logits": "torchvision's default reduction is 'none'; its mean is this value.",
    "gaussian_nll": "torch broadcasts a [N] variance over [N, D] and passes a gradient through its clamp.",
}
NOT_TORCH = ("hinge", "squared_hinge")  # their torch line is a construction from multi_margin_loss


def warn_unnormalised_log_rows(arrays, params) -> None:
    """torch's kl_div takes any input: rows that are not log-probabilities get a warning, not an error."""
    log_pred = arrays["log_pred"]
    totals = np.exp(log_pred).sum(axis=-1)
    bad = np.flatnonzero(np.abs(totals - 1.0) > ROW_SUM_TOLERANCE)
    if bad.size:
        warnings.warn(f"kl_div: log_pred row {bad[0] + 1} is not log-probabilities (its exp sums to "
                      f"{totals[bad[0]]:g}); torch computes Σ y·(log y - log_pred) all the same", ConventionWarning,
                      stacklevel=2)


def kl_div_torch(spec) -> Convention:
    """torch's kl_div accepts any log-input (optax's and Keras' tests feed unnormalised ones): warn."""
    log_pred = InputSpec("log_pred", (("N", "C"),), Domain.REAL, True,
                         "log-probabilities log q (other rows are used as given, with a warning)")
    return Convention("torch", spec.name, spec.torch_equivalent, (
        Knob("strictness", "accepts log-inputs whose exp does not sum to 1, with a warning"),),
        inputs=(log_pred, spec.inputs[1]), check=warn_unnormalised_log_rows, gradient_source="autodiff",
        notes=TORCH_DIFFERENCES["kl_div"])


def torch_conventions(specs) -> tuple[Convention, ...]:
    """One record per registered loss that torch (or torchvision) computes."""
    return tuple(kl_div_torch(spec) if spec.name == "kl_div" else
                 same_as_default("torch", spec.name, spec.torch_equivalent, TORCH_DIFFERENCES.get(spec.name, ""))
                 for spec in specs if spec.torch_equivalent and spec.name not in NOT_TORCH)
