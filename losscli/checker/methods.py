"""The three ways to get every central difference: row-batched, one element at a time, directions.

* Row-batched (full mode in O(columns) evaluations): with independent rows one evaluation moves
  the same column of every row and reads each row's own loss difference. Independence is first
  verified on three rows (moving one row leaves every other row's losses bit-for-bit equal).
* One element at a time: any function, one evaluation per element and offset.
* Directional (jax check_grads, torch fast_mode): along random ±1 directions v scaled by the
  per-element steps, d/dt of the summed loss at t = 0 vs Σ gradient·(realized move).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .differences import (
    ROUNDING,
    SLOTS,
    Arrays,
    Differences,
    check_finite,
    differences,
    displaced,
    steps,
)

Losses = Callable[[Arrays], np.ndarray]  # per-sample losses ([N, ...]) or a 0-d scalar


def _where(name: str, shape) -> Callable[[int], str]:
    return lambda position: f"{name}{[int(i) for i in np.unravel_index(position, shape)]}"


def totals(losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ losses and Σ |losses| (the magnitude whose rounding the sum carries), as 0-d arrays."""
    return np.asarray(losses.sum()), np.asarray(np.abs(losses).sum())


def row_totals(rows: int) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Per-row Σ losses and Σ |losses| of losses shaped [rows, ...]."""

    def reduce(losses: np.ndarray):
        per_row = losses.reshape(rows, -1)
        return per_row.sum(axis=1), np.abs(per_row).sum(axis=1)

    return reduce


def evaluate(losses: Losses, values: Arrays, reduce) -> np.ndarray:
    return reduce(np.asarray(losses(values), dtype=np.float64))[0]


def rows_independent(losses: Losses, arrays: Arrays, name: str, eps: float) -> bool:
    """True when moving one row of ``name`` leaves every other row's losses unchanged."""
    point = arrays[name]
    base = np.asarray(losses(arrays))
    if base.ndim == 0 or point.ndim == 0 or base.shape[0] != point.shape[0]:
        return False
    step = steps(point, eps)
    for row in sorted({0, point.shape[0] // 2, point.shape[0] - 1}):
        moved = point.copy()
        moved[row] += step[row]
        changed = np.asarray(losses({**arrays, name: moved})) != base
        changed[row] = False
        if changed.any():
            return False
    return True


def row_batched(losses: Losses, arrays: Arrays, name: str, eps: float) -> Differences:
    """Differences for every element of ``name`` in 4 evaluations per column (rows independent)."""
    point = arrays[name]
    rows, step = point.shape[0], steps(point, eps)
    moved, realized = displaced(point, step, name, eps)
    reduce = row_totals(rows)
    work = point.copy()
    columns, moved_columns = work.reshape(rows, -1), moved.reshape(4, rows, -1)
    values = np.empty((5, rows, columns.shape[1]))
    values[2] = evaluate(losses, arrays, reduce)[:, None]
    for column in range(columns.shape[1]):
        original = columns[:, column].copy()
        for move, slot in enumerate(SLOTS):
            columns[:, column] = moved_columns[move, :, column]
            values[slot, :, column] = evaluate(losses, {**arrays, name: work}, reduce)
        columns[:, column] = original
    values = values.reshape(5, *point.shape)
    check_finite(values, name, _where(name, point.shape))
    magnitude = reduce(np.asarray(losses(arrays), dtype=np.float64))[1].reshape(-1, *([1] * (point.ndim - 1)))
    return differences(values, realized, magnitude, per_row=True)


def one_at_a_time(losses: Losses, arrays: Arrays, name: str, eps: float) -> Differences:
    """Differences for every element of ``name``, moving one element per evaluation."""
    point, step = arrays[name], steps(arrays[name], eps)
    moved, realized = displaced(point, step, name, eps)
    work = point.copy()
    flat, moved_flat = work.reshape(-1), moved.reshape(4, -1)
    values = np.empty((5, flat.size))
    values[2] = evaluate(losses, arrays, totals)
    for index in range(flat.size):
        original = flat[index]
        for move, slot in enumerate(SLOTS):
            flat[index] = moved_flat[move, index]
            values[slot, index] = evaluate(losses, {**arrays, name: work}, totals)
        flat[index] = original
    values = values.reshape(5, *point.shape)
    check_finite(values, name, _where(name, point.shape))
    return differences(values, realized, totals(np.asarray(losses(arrays), dtype=np.float64))[1], per_row=False)


def directional(losses: Losses, arrays: Arrays, name: str, gradient: np.ndarray, eps: float, directions: int,
                rng: np.random.Generator) -> tuple[np.ndarray, Differences]:
    """Analytic and numeric derivatives of Σ losses along ``directions`` random ±1 directions.

    The direction is v ⊙ h (h the per-element steps), so t = ±1, ±2 moves each element by its
    own step; the analytic side is Σ gradient·(realized central move), and its own rounding,
    8ε·Σ|gradient·move|, joins the noise.
    """
    point, step = arrays[name], steps(arrays[name], eps)
    values = np.empty((5, directions))
    analytic, dot_rounding = np.empty(directions), np.empty(directions)
    values[2] = evaluate(losses, arrays, totals)
    for index in range(directions):
        signs = rng.integers(0, 2, point.shape).astype(np.float64) * 2.0 - 1.0  # Rademacher ±1
        moved, realized = displaced(point, signs * step, name, eps)
        terms = gradient * (realized[2] - realized[1]) / 2
        analytic[index], dot_rounding[index] = terms.sum(), ROUNDING * np.abs(terms).sum()
        for move, slot in enumerate(SLOTS):
            values[slot, index] = evaluate(losses, {**arrays, name: moved[move]}, totals)
    check_finite(values, name, lambda position: f"{name} moved along direction {position}")
    unit_moves = np.array([-2.0, -1.0, 1.0, 2.0])[:, None] * np.ones(directions)
    magnitude = totals(np.asarray(losses(arrays), dtype=np.float64))[1]
    diffs = differences(values, unit_moves, magnitude, per_row=False)
    return analytic, Differences(diffs.numeric, diffs.left, diffs.right, diffs.kink_size, diffs.drift,
                                 diffs.noise + dot_rounding)
