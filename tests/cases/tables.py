"""Input tables shared by the records: the extreme values issue 14 names, and builders.

All values are float64 numbers; the references take them exactly, so a table may hold inputs
whose float64 arithmetic rounds (a target of 3 and a prediction of 3 + 1e-170 are the same number).
"""

from __future__ import annotations

import itertools

import numpy as np

ULP = 2.0**-52
HALF_ULP = 2.0**-53
LARGEST = float(np.finfo(np.float64).max)  # 1.797e308
LOGITS = (0.0, 17.0, 20.0, 40.0, 700.0, 1e4)  # and their negatives
SIGNED_LOGITS = tuple(sorted({sign * x for x in LOGITS for sign in (1.0, -1.0)}))
RESIDUALS = (0.0, 1e-300, 1e-170, 1e-160, 0.5, 1.0, 3.0, 1e8, 1e160, 1e300)
PROBABILITIES = (0.0, 1e-300, 1e-15, 1e-15 * (1 + ULP), 1e-8, 0.3, 0.5, 1 - 2.0**-53, 1.0 - 1e-15, 1.0)


def grid(**columns) -> dict[str, np.ndarray]:
    """Every combination of the columns' values, one flat array per input (in the order given)."""
    rows = list(itertools.product(*columns.values()))
    return {name: np.array([row[i] for row in rows], dtype=np.float64) for i, name in enumerate(columns)}


def signed(values) -> tuple[float, ...]:
    return tuple(sorted({sign * value for value in values for sign in (1.0, -1.0)}))


def around(switch: float, relative: float = ULP) -> tuple[float, ...]:
    """A switch point and its float neighbours a relative step either side."""
    return (switch * (1 - relative), switch, switch * (1 + relative))


def residual_pairs(residuals=RESIDUALS, targets=(0.0, -2.5, 1e10)) -> dict[str, np.ndarray]:
    """(pred, target) with pred = target ± r, plus predictions whose residual overflows float64."""
    pairs = [(target + sign * r, target) for target in targets for r in residuals for sign in (1.0, -1.0)]
    pairs += [(LARGEST, -LARGEST), (-LARGEST, LARGEST), (LARGEST, 0.5), (1e308, -1e308)]
    pred, target = zip(*pairs, strict=True)
    return {"pred": np.array(pred), "target": np.array(target)}


def rows(*values) -> np.ndarray:
    return np.array(values, dtype=np.float64)
