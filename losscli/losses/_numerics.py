"""Numerically stable building blocks shared by the losses.

Every function here is finite and warning-free for finite inputs of any magnitude that a
float64 can hold without its result overflowing (logits of ±1e4 included).
"""

from __future__ import annotations

import numpy as np


def softplus(logits: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), computed as logaddexp(0, x) so that large x does not overflow."""
    # logaddexp warns "invalid value" on NaN (nan_policy "propagate"); the NaN itself is the answer.
    with np.errstate(invalid="ignore"):
        return np.logaddexp(0.0, logits)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) as exp(log_sigmoid(x)): underflows to 0 instead of overflowing."""
    return np.exp(-softplus(-logits))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, shifted by the row maximum (log-sum-exp trick)."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """softmax over the last axis."""
    return np.exp(log_softmax(logits))


def is_class_ids(scores: np.ndarray, targets: np.ndarray) -> bool:
    """True when ``targets`` holds class ids ([...]) rather than class rows ([..., C])."""
    return targets.ndim == scores.ndim - 1


def class_ids(targets: np.ndarray) -> np.ndarray:
    """Class ids as an integer array with a trailing axis, ready for take_along_axis."""
    return targets.astype(np.intp)[..., None]


def pick_class(values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """values[..., targets]: the entry of each row at its class id."""
    return np.take_along_axis(values, class_ids(targets), axis=-1)[..., 0]


def safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, and 0 where the denominator is 0 (a subgradient choice)."""
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def euclidean_distance(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise ||first - second||_2 for [N, D] inputs, and the difference itself."""
    difference = first - second
    return np.sqrt(np.einsum("nd,nd->n", difference, difference)), difference
