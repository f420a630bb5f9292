"""Helpers of the naive references: plain Python loops with the ``math`` module.

A record's ``naive`` reference is written from the formula (the seed, the papers, torch's and
scikit-learn's documentation), independently of losscli, deliberately simple so that it is
obviously right: it takes the loss's inputs in registry order and all of its parameters as
keywords, and returns the mean-reduced loss as a float (the mean over elements for elementwise
losses, over rows or tokens for row-wise ones; torch's class-weighted mean for the cross-entropy
family; after the transform for rmse and perplexity).
"""

from __future__ import annotations

import math

import numpy as np


def elements(*arrays):
    """Zip the flattened arrays element by element, as Python floats."""
    return zip(*(np.asarray(array, dtype=np.float64).ravel().tolist() for array in arrays), strict=True)


def rows_of(array) -> list:
    return np.asarray(array, dtype=np.float64).tolist()


def flat(array) -> list[float]:
    return np.asarray(array, dtype=np.float64).ravel().tolist()


def mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


def clip(value: float, eps: float) -> float:
    return min(max(value, eps), 1.0 - eps)


def distance(first, second) -> float:
    return math.sqrt(math.fsum((a - b) ** 2 for a, b in zip(first, second, strict=True)))


def log_softmax_row(row) -> list[float]:
    """log softmax of one row of scores, shifting by the maximum so exp never overflows."""
    top = max(row)
    log_total = top + math.log(math.fsum(math.exp(score - top) for score in row))
    return [score - log_total for score in row]


def log_sigmoid(x: float) -> float:
    # log(1 / (1 + e^-x)), written so that neither exp overflows
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def binary_cross_entropy(p: float, y: float) -> float:
    return -(y * math.log(p) + (1.0 - y) * math.log(1.0 - p))


def signed(label: float) -> float:
    return -1.0 if label == 0 else label


def class_weighted_mean(log_prob_rows, target, *, smoothing, weight, ignore_index) -> float:
    """torch's cross_entropy mean, given each row's log-probabilities:

    class ids:  Σ_i [(1-s)·w[y_i]·(-log p_i[y_i]) + (s/C)·Σ_c w_c·(-log p_i[c])] / Σ_i w[y_i]
                over the rows with y_i != ignore_index
    prob rows:  Σ_i Σ_c w_c·((1-s)·y_ic + s/C)·(-log p_ic) / N
    """
    num_classes = len(log_prob_rows[0])
    weights = [1.0] * num_classes if weight is None or len(weight) == 0 else [float(w) for w in weight]
    target = np.asarray(target, dtype=np.float64)
    numerator, denominator = [], []
    if target.ndim == 2:  # probability rows: weights inside the sum, the mean over N
        for log_probs, row in zip(log_prob_rows, target.tolist(), strict=True):
            smoothed = [(1.0 - smoothing) * y + smoothing / num_classes for y in row]
            numerator.append(-math.fsum(w * y * lp for w, y, lp in zip(weights, smoothed, log_probs, strict=True)))
        return math.fsum(numerator) / len(numerator)
    for log_probs, label in zip(log_prob_rows, target.tolist(), strict=True):
        if label == ignore_index:
            continue
        label = int(label)
        nll = -weights[label] * log_probs[label]
        smooth = -math.fsum(w * lp for w, lp in zip(weights, log_probs, strict=True))
        numerator.append((1.0 - smoothing) * nll + smoothing / num_classes * smooth)
        denominator.append(weights[label])
    return math.fsum(numerator) / math.fsum(denominator)
