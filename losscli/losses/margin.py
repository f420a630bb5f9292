"""Margin losses (issue 6): hinge and squared hinge on scores (the cosine-embedding loss, also a
margin loss, is in :mod:`~losscli.losses.cosine`).

Labels are signed: +1 / -1, and a 0 is read as -1, so 0/1 label files work unchanged. hinge
and squared_hinge are elementwise (scores [N] or [N, D]).
"""

from __future__ import annotations

import numpy as np

from ..spec import Domain, InputSpec, LossSpec, Task

SIGNED_LABELS = InputSpec("target", (("...",),), Domain.SIGNED_LABEL, False,
                          "labels +1 / -1 (or 1 / 0), same shape as scores")


def signed(labels: np.ndarray) -> np.ndarray:
    """Labels as ±1: 0 becomes -1."""
    return np.where(labels == 0, -1.0, labels)


def hinge(scores: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Hinge loss (the linear SVM's), elementwise: max(0, 1 - y·x) with y = ±1.

    scores, target: [N] or [N, D] -> same shape.
    """
    return hinge_of_signs(scores, signed(target))


def hinge_gradient(scores, target):
    """-y where the margin is violated (y·x < 1), else 0."""
    return hinge_gradient_of_signs(scores, signed(target))


def hinge_of_signs(scores: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """max(0, 1 - s·x) for labels already mapped to signs s (each framework maps them its own way)."""
    return np.maximum(0.0, 1.0 - signs * scores)


def hinge_gradient_of_signs(scores: np.ndarray, signs: np.ndarray) -> dict[str, np.ndarray]:
    """∂/∂x of :func:`hinge_of_signs`: -s where s·x < 1, else 0."""
    return {"scores": np.where(signs * scores < 1.0, -signs, 0.0)}


def squared_hinge(scores: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Squared hinge loss (the L2-SVM's), elementwise: max(0, 1 - y·x)² with y = ±1."""
    return hinge(scores, target) ** 2


def squared_hinge_gradient(scores, target):
    """-2y·max(0, 1 - y·x): continuous, no kink."""
    return {"scores": -2.0 * signed(target) * hinge(scores, target)}


def sample_hinge(rng, n, params):
    label = rng.choice([-1.0, 1.0], n)
    # margins y·x at least 0.1 away from the kink at 1, on both sides
    margin = np.where(rng.random(n) < 0.5, rng.uniform(-1.5, 0.9, n), rng.uniform(1.1, 3.0, n))
    return {"scores": label * margin, "target": label}


HINGE = LossSpec(
    name="hinge", aliases=("hinge_loss", "svm"), task=Task.BINARY,
    example_files=("sample_data/binary_logits.csv", "sample_data/binary_labels.csv"),
    inputs=(InputSpec("scores", (("...",),), Domain.REAL, True, "raw decision scores (the sign is the class)"),
            SIGNED_LABELS),
    params=(), forward=hinge, gradient=hinge_gradient, sample=sample_hinge,
    formula="max(0, 1 - y·x),  y = ±1",
    gradient_formula="∂/∂x = -y if y·x < 1 else 0",
    when_to_use="Maximum-margin binary classification (linear SVMs): only scores inside the margin cost anything.",
    output_activation="none (raw scores)",
    torch_equivalent="2·torch.nn.functional.multi_margin_loss(stack([0, x], 1), (y+1)/2)",
    notes="Labels 0/1 are read as -1/+1. torch has no plain hinge; the two-class multi_margin_loss of scores "
          "[0, x] is half of it.",
)

SQUARED_HINGE = LossSpec(
    name="squared_hinge", aliases=("l2_hinge",), task=Task.BINARY,
    example_files=("sample_data/binary_logits.csv", "sample_data/binary_labels.csv"),
    inputs=HINGE.inputs, params=(), forward=squared_hinge, gradient=squared_hinge_gradient, sample=sample_hinge,
    formula="max(0, 1 - y·x)²,  y = ±1",
    gradient_formula="∂/∂x = -2y·max(0, 1 - y·x)",
    when_to_use="Margin classification with a smooth gradient (L2-SVM); punishes large violations more than hinge.",
    output_activation="none (raw scores)",
    torch_equivalent="2·torch.nn.functional.multi_margin_loss(stack([0, x], 1), (y+1)/2, p=2)",
    notes="Labels 0/1 are read as -1/+1.",
    accurate_range="inf beyond 1 - y·x = 1.3e154, as is the truth",
)

SPECS = (HINGE, SQUARED_HINGE)
