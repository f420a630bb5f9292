"""Line charts in plain characters, for `losscli plot --out -` (no plotting dependency)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .common import format_number

MARKERS = "*o+x#@%&=~"
WIDTH, HEIGHT = 64, 16


def _column_samples(x: np.ndarray, width: int) -> np.ndarray:
    """Index into x for each of ``width`` columns (evenly spaced over the grid)."""
    return np.round(np.linspace(0, x.size - 1, width)).astype(int)


def _limits(series: Sequence[np.ndarray]) -> tuple[float, float]:
    values = np.concatenate([np.asarray(y)[np.isfinite(y)] for y in series] or [np.zeros(1)])
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 1.0, high + 1.0
    return low, high


def _tick(value: float, span: float) -> str:
    """An axis label; values within 1e-9 of the span of zero print as 0 (no 9.95e-91)."""
    return "0" if abs(value) <= 1e-9 * span else format_number(value, 4)


def text_chart(x: np.ndarray, series: Sequence[tuple[str, np.ndarray]], *, title: str, x_label: str,
               width: int = WIDTH, height: int = HEIGHT) -> str:
    """A chart of each (label, y [P]) against x [P]: one marker per series, a 0 line, a legend."""
    low, high = _limits([y for _, y in series])
    grid = [[" "] * width for _ in range(height)]

    def row_of(value: float) -> int:
        return int(round((high - value) / (high - low) * (height - 1)))

    if low < 0.0 < high:
        grid[row_of(0.0)] = ["-"] * width
    columns = _column_samples(x, width)
    for index, (_, y) in enumerate(series):
        marker = MARKERS[index % len(MARKERS)]
        for column, point in enumerate(columns):
            if np.isfinite(y[point]):
                grid[row_of(float(y[point]))][column] = marker
    labels = {0: _tick(high, high - low), height - 1: _tick(low, high - low)}
    if low < 0.0 < high:
        labels[row_of(0.0)] = "0"
    margin = max(len(text) for text in labels.values())
    lines = [title]
    lines += [f"{labels.get(row, ''):>{margin}} |{''.join(cells)}" for row, cells in enumerate(grid)]
    lines.append(" " * margin + " +" + "-" * width)
    left, right = format_number(float(x[0]), 4), format_number(float(x[-1]), 4)
    lines.append(" " * (margin + 2) + left + right.rjust(width - len(left)))
    lines.append(" " * (margin + 2) + x_label.center(width).rstrip())
    lines.append("   ".join(f"{MARKERS[i % len(MARKERS)]} {label}" for i, (label, _) in enumerate(series)))
    return "\n".join(lines)


def curves_text(curves, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The loss chart and the gradient chart of a :class:`losscli.plot.CurveSet`, one after the other."""
    loss = text_chart(curves.x, [(curve.label, curve.loss) for curve in curves.curves],
                      title="loss", x_label=curves.x_label, width=width, height=height)
    gradient = text_chart(curves.x, [(curve.label, curve.gradient) for curve in curves.curves],
                          title="gradient", x_label=curves.x_label, width=width, height=height)
    return f"{loss}\n\n{gradient}"
