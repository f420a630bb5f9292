"""Rendering of the focal-vs-BCE demo: losses at easy and hard examples, and the ratios to BCE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .common import format_number, print_rows

if TYPE_CHECKING:
    from rich.console import Console


def _label(row: dict) -> str:
    return row["loss"] if row["gamma"] is None else f"{row['loss']} gamma={format_number(row['gamma'])}"


def print_focal(console: Console, rows: Sequence[dict], columns: Sequence[str], fmt: str,
                probabilities: Sequence[float]) -> None:
    """CSV/JSON: the rows as they are. Table/markdown: a table of losses, then one of ratios to BCE."""
    if fmt in ("csv", "json"):
        print_rows(console, rows, columns, fmt)
        return
    points = [f"p_t={p:g}" for p in probabilities]
    losses = [{"": _label(row), **{point: row[point] for point in points}, "hard/easy": row["hard/easy"]}
              for row in rows]
    print_rows(console, losses, ["", *points, "hard/easy"], fmt,
               "Loss of a positive example predicted with probability p_t (focal with alpha = 1); "
               f"hard/easy = loss at {points[0]} / loss at {points[1]}")
    console.print()
    ratios = [{"": _label(row), **{point: row[f"ratio@{point[4:]}"] for point in points}}
              for row in rows if row["gamma"] is not None]
    print_rows(console, ratios, ["", *points], fmt,
               "Focal / BCE = (1 - p_t)^gamma: how much an example is down-weighted")
