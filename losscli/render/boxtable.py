"""Tables drawn in rich's heavy-head box style, without importing rich (start-up matters for the
small-file commands people run in loops and CI steps).

Every column is as wide as its widest cell. Given a width (--width, COLUMNS or the terminal),
a wider table wraps text between words, widest column first, but never narrows a column below
its longest word or number: a cell is never folded ("3.19e-1" over "0"), and a table whose
words need more than the width is drawn wider than it, a long line in a log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

PADDING = 1  # spaces on each side of a cell


@dataclass
class Column:
    """A column's header; ``no_wrap`` keeps its cells on one line (numbers with signs, say)."""

    header: str
    no_wrap: bool = False


@dataclass
class BoxTable:
    """Rows of cell text under column headers, with an optional title above."""

    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    title: str | None = None

    def render(self, width: int | None = None) -> str:
        """The table as text lines (no trailing newline), laid out for ``width`` columns."""
        cells = [[column.header for column in self.columns], *self.rows]
        widths = _fit(self.columns, cells, width)
        lines = [] if self.title is None else [self.title]
        lines.append(_rule("┏", "━", "┳", "┓", widths))
        lines += _row(cells[0], widths, "┃")
        lines.append(_rule("┡", "━", "╇", "┩", widths))
        for row in cells[1:]:
            lines += _row(row, widths, "│")
        lines.append(_rule("└", "─", "┴", "┘", widths))
        return "\n".join(lines)


def _fit(columns: Sequence[Column], cells: list[list[str]], width: int | None) -> list[int]:
    """Each column's content width: its natural width, narrowed (widest first, one character at
    a time) toward ``width`` but never below its longest word (its whole width for no_wrap)."""
    natural = [max(len(row[index]) for row in cells) for index in range(len(columns))]
    least = [natural[index] if column.no_wrap else max((len(word) for row in cells for word in row[index].split()),
                                                          default=0)
             for index, column in enumerate(columns)]
    widths = list(natural)
    excess = (sum(widths) + (2 * PADDING + 1) * len(widths) + 1) - (width or 0)
    while width is not None and excess > 0:
        narrowable = [index for index in range(len(widths)) if widths[index] > least[index]]
        if not narrowable:
            break
        widest = max(narrowable, key=lambda index: widths[index])
        widths[widest] -= 1
        excess -= 1
    return widths


def _row(cells: Sequence[str], widths: Sequence[int], edge: str) -> list[str]:
    wrapped = [_wrap(cell, width) for cell, width in zip(cells, widths, strict=True)]
    height = max(len(lines) for lines in wrapped)
    pad = " " * PADDING
    return [edge + edge.join(pad + (lines[line] if line < len(lines) else "").ljust(width) + pad
                             for lines, width in zip(wrapped, widths, strict=True)) + edge
            for line in range(height)]


def _rule(left: str, line: str, cross: str, right: str, widths: Sequence[int]) -> str:
    return left + cross.join(line * (width + 2 * PADDING) for width in widths) + right


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap at ``width``, spaces inside a line kept as written."""
    if len(text) <= width:
        return [text]
    lines, current = [], ""
    for space, word in re.findall(r"( *)(\S+)", text):
        if current and len(current) + len(space) + len(word) > width:
            lines.append(current)
            current = word
        else:
            current += space + word if current else word
    return [*lines, current]
