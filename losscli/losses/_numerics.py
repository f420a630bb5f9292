"""Numerically stable building blocks shared by the losses.

Every function here is finite and warning-free for finite inputs of any magnitude that a
float64 can hold without its result overflowing (logits of ±1e4 included), and keeps full
relative accuracy where its result is tiny: 1 - softmax at a dominant class, σ at -700, the
norm of a 1e-170 vector.
"""

from __future__ import annotations

import numpy as np


def softplus(logits: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), computed as logaddexp(0, x) so that large x does not overflow."""
    # logaddexp warns "invalid value" on NaN (nan_policy "propagate"); the NaN itself is the answer.
    with np.errstate(invalid="ignore"):
        return np.logaddexp(0.0, logits)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below: the exponential of the exact input,
    so σ(-700) keeps every digit (exp(-softplus(-x)) would lose |x|·2^-53 of them)."""
    exp_minus_abs = np.exp(-np.abs(logits))
    return np.where(logits >= 0, 1.0, exp_minus_abs) / (1.0 + exp_minus_abs)


def binary_cross_entropy_logits(logits: np.ndarray, target: np.ndarray, positive_weight=1.0) -> np.ndarray:
    """-[p_w·y·log σ(x) + (1-y)·log σ(-x)] = (1-y)·softplus(x) + p_w·y·softplus(-x).

    A sum of non-negative terms: a confident right answer (x = 40, y = 1) costs softplus(-40) =
    4.2e-18, where softplus(x) - y·x would cancel to 0.
    """
    return (1.0 - target) * softplus(logits) + positive_weight * target * softplus(-logits)


def _softmax_parts(logits: np.ndarray):
    """z - max z, e^(z - max z), and rest = Σ over all but the row's (first) argmax of e^(z - max z)."""
    top = np.argmax(logits, axis=-1)[..., None]
    shifted = logits - np.take_along_axis(logits, top, axis=-1)
    exps = np.exp(shifted)
    others = exps.copy()
    np.put_along_axis(others, top, 0.0, axis=-1)
    return shifted, exps, np.sum(others, axis=-1, keepdims=True), top


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis: (z - max z) - log1p(rest), rest the sum of e^(z - max z)
    over the other entries, so a dominant entry keeps its log-probability -rest instead of 0."""
    shifted, _, rest, _ = _softmax_parts(logits)
    return shifted - np.log1p(rest)


def softmax(logits: np.ndarray) -> np.ndarray:
    """softmax over the last axis, e^(z - max z) / (1 + rest)."""
    _, exps, rest, _ = _softmax_parts(logits)
    return exps / (1.0 + rest)


def softmax_times_total_minus(logits: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """softmax(z)·Σ_c a_c - a over the last axis: the gradient of -Σ_c a_c·log softmax(z)_c.

    In the argmax column, where softmax ≈ 1, it is computed as Σ_{c≠argmax} a_c - Σa·(1 - p),
    1 - p = rest / (1 + rest): a class that dominates by 40 keeps its gradient -Σ_{c≠y} p_c
    (4e-18) instead of 1 - 1 = 0.
    """
    _, exps, rest, top = _softmax_parts(logits)
    total = np.sum(shares, axis=-1, keepdims=True)
    gradient = exps / (1.0 + rest) * total - shares
    others = shares.copy()
    np.put_along_axis(others, top, 0.0, axis=-1)
    at_top = np.sum(others, axis=-1, keepdims=True) - total * (rest / (1.0 + rest))
    np.put_along_axis(gradient, top, at_top, axis=-1)
    return gradient


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


def power_of_two_scale(vectors: np.ndarray) -> np.ndarray:
    """A power of two near each row's largest |v_i| ([..., D] -> [..., 1]; 1 for a zero row):
    dividing by it is exact, and the scaled squares can neither overflow nor underflow."""
    largest = np.max(np.abs(vectors), axis=-1, keepdims=True)
    _, exponent = np.frexp(np.where(largest > 0, largest, 1.0))
    return np.ldexp(1.0, exponent)


def scaled_norm(vectors: np.ndarray) -> np.ndarray:
    """Row-wise ||v||_2 of [..., D] -> [...], as s·||v/s|| with s = power_of_two_scale(v):
    correct for norms from 1e-300 to 1e300, where Σ v_i² would underflow or overflow."""
    scale = power_of_two_scale(vectors)
    scaled = vectors / scale
    return scale[..., 0] * np.sqrt(np.einsum("...d,...d->...", scaled, scaled))


def euclidean_distance(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise ||first - second||_2 for [N, D] inputs (scaled, see scaled_norm), and the difference."""
    difference = first - second
    return scaled_norm(difference), difference


# a loss below this share of its terms' size is recomputed in double-double: float64's ~2^-52 of the size is
# then below 6e-14 of the loss
CANCELLING = 2.0**-8
DOUBLE_DOUBLE_SAFE = 1e300  # terms below it: their exact products cannot overflow


def cancelling(loss: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The flat indices where |loss| <= CANCELLING·size < DOUBLE_DOUBLE_SAFE (NaN nowhere): the samples to redo."""
    candidates = np.flatnonzero(np.abs(loss) <= CANCELLING * size)
    return candidates[size.flat[candidates] < DOUBLE_DOUBLE_SAFE]


def row_band(dimension: int) -> float:
    """2^-8·(1 + √D/8): the share of a row's O(1) terms below which their float64 difference may keep fewer than
    13 digits, its distances or cosines carrying ~(1 + √D/8)·2^-53 relative error (measured at the band's edge:
    below 5e-14 for D = 3 to 768). Rows under it are recomputed."""
    return CANCELLING * (1.0 + float(np.sqrt(dimension)) / 8.0)


def residual_halves(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r / k, k) with r = ŷ - y and k = 1, or k = 2 where ŷ - y overflows (|ŷ|, |y| near 1.8e308):
    a loss growing slower than |r| (huber with small δ, quantile, mape) stays finite there."""
    with np.errstate(over="ignore"):
        residual = pred - target
    overflowed = np.isinf(residual) & np.isfinite(pred) & np.isfinite(target)
    halves = np.where(overflowed, 2.0, 1.0)
    return np.where(overflowed, pred / 2.0 - target / 2.0, residual), halves


def log_ratio(numerator: np.ndarray, denominator: np.ndarray, difference: np.ndarray) -> np.ndarray:
    """log(n/d) for n, d > 0, given difference = n - d computed by the caller from exact inputs.

    log1p(difference/d) while n/d lies within (1/2, 3/2), where log n - log d would cancel;
    log(n/d) while that ratio is a normal float; log n - log d beyond (|log(n/d)| > 700: no cancellation).
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        relative = difference / denominator
        ratio = numerator / denominator
        near = np.abs(relative) < 0.5
        normal = (ratio >= np.finfo(np.float64).tiny) & np.isfinite(ratio)
        return np.where(near, np.log1p(np.where(near, relative, 0.0)),
                        np.where(normal, np.log(np.where(normal, ratio, 1.0)), np.log(numerator) - np.log(denominator)))


SERIES_RADIUS = 0.25
_SERIES_TERMS = 40  # 0.25^40 ≈ 1e-24 of the leading term


def second_order_series(u: np.ndarray, ratio) -> np.ndarray:
    """Σ_{k>=2} t_k with t_2 = u²/2 and t_{k+1} = t_k·u·ratio(k), for |u| <= SERIES_RADIUS.

    The remainders f(u) - f(0) - f'(0)·u of log1p, expm1 and the Tweedie deviance are of this form;
    summed as a series they keep full relative accuracy as u -> 0, where the closed forms cancel.
    """
    term = 0.5 * u * u
    total = term
    for k in range(2, _SERIES_TERMS):
        term = term * u * ratio(k)
        total = total + term
    return total


def _near_or_far(u: np.ndarray, far) -> np.ndarray:
    """An array with ``far`` and, where |u| <= SERIES_RADIUS, the series filled in by the caller."""
    return np.where(np.abs(u) <= SERIES_RADIUS, 0.0, far)


def log1p_remainder(u: np.ndarray) -> np.ndarray:
    """u - log(1 + u) >= 0 for u > -1: u²/2 - u³/3 + ... near 0, the closed form elsewhere."""
    near = np.abs(u) <= SERIES_RADIUS
    with np.errstate(invalid="ignore", divide="ignore"):
        result = _near_or_far(u, u - np.log1p(np.where(near, 0.0, u)))
    result[near] = second_order_series(u[near], lambda k: -k / (k + 1.0))
    return result


def expm1_remainder(d: np.ndarray) -> np.ndarray:
    """e^d - 1 - d >= 0: d²/2 + d³/6 + ... near 0, the closed form elsewhere (inf where e^d is)."""
    near = np.abs(d) <= SERIES_RADIUS
    with np.errstate(over="ignore"):
        result = _near_or_far(d, np.expm1(np.where(near, 0.0, d)) - d)
    result[near] = second_order_series(d[near], lambda k: 1.0 / (k + 1.0))
    return result


# ln 2 in two parts (fdlibm's): LN2_HI has its low bits zero, so e·LN2_HI is exact for any float64 exponent e.
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10


def minus_log(values: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """x - log(y) for y > 0, to ~1e-16 absolute even where both are near 700 (np.log(y) alone is off by up
    to 6e-14 there): log y = log(m) + e·ln 2 with y = m·2^e, m in [1/2, 1), and ln 2 carried in two parts."""
    mantissa, exponent = np.frexp(positive)
    return ((values - exponent * LN2_HI) - exponent * LN2_LO) - np.log(mantissa)
