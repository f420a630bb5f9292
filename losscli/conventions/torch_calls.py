"""The torch convention: losscli's default definitions, which follow the torch call each spec
names (``torch_equivalent``). Each record says where torch's own defaults still differ.
"""

from __future__ import annotations

from .record import Convention, same_as_default

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


def torch_conventions(specs) -> tuple[Convention, ...]:
    """One record per registered loss that torch (or torchvision) computes."""
    return tuple(same_as_default("torch", spec.name, spec.torch_equivalent, TORCH_DIFFERENCES.get(spec.name, ""))
                 for spec in specs if spec.torch_equivalent and spec.name not in NOT_TORCH)
