"""Several losses on the same inputs, side by side: value, gradient size and influence.

Influence asks "how much of the loss, and of the training signal, comes from a few samples?".
For a loss with per-row contributions c_i (the row's per-sample losses, summed over its
elements and weighted) and per-row squared gradient norms s_i = Σ_inputs ||∂L/∂x_i||², the top
k rows by c hold ``loss_share`` = Σ_top c_i / Σ c_i and the top k rows by s hold
``grad_share`` = Σ_top s_i / Σ s_i, with k = max(1, floor(top·N)). Contributions are per-sample
losses before any transform (for perplexity, the token NLLs); gradients are those of the reduced
value. MSE on the seed's outlier example gives almost all of both to the outlier; MAE gives it
almost all of the loss but only a quarter of the gradient: every sample pulls with the same force.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import LossCliError
from .groups import GroupValue
from .influence import DEFAULT_SHOWN_ROWS, DEFAULT_TOP, Influence, InfluenceRequest
from .inputs import Batch, InputPlan
from .routing import resolve_losses, route_params
from .spec import LossSpec
from .stream import StreamReducer, StreamResult, plan_batches, reduce_batches
from .summary import GradientStats
from .validation import as_arrays

# The seed's compare_mse_mae: three small errors and one gross outlier (row 3).
OUTLIER_EXAMPLE = {"pred": np.array([1.5, 2.5, 3.5, 4.0]), "target": np.array([1.0, 2.0, 3.0, 100.0])}


@dataclass(frozen=True)
class LossComparison:
    """One loss reduced (mean) over the shared inputs: the reducer's result, with the gradient
    statistics of every differentiable input and the influence."""

    result: StreamResult

    @property
    def name(self) -> str:
        return self.result.spec.name

    @property
    def n(self) -> int:
        """Number of per-sample values reduced (elements for elementwise losses)."""
        return self.result.aggregate.count

    @property
    def rows(self) -> int:
        """Number of input rows."""
        return self.result.rows

    @property
    def gradient(self) -> dict[str, GradientStats]:
        return self.result.gradients

    @property
    def influence(self) -> Influence:
        return self.result.influence

    @property
    def groups(self) -> list[GroupValue] | None:
        return self.result.groups

    @property
    def gradient_l2(self) -> float:
        """sqrt(Σ over differentiable inputs of ||∂L/∂x||²)."""
        return math.sqrt(sum(stats.sum_squares for stats in self.gradient.values()))

    def max_gradient(self) -> tuple[str, GradientStats]:
        """The input holding the largest |∂L/∂x|, and its statistics."""
        return max(self.gradient.items(), key=lambda item: item[1].max_abs)


def comparison_reducers(specs: Sequence[LossSpec], params: Sequence[Mapping[str, Any]],
                        request: InfluenceRequest) -> list[StreamReducer]:
    """One mean reducer per loss (resolved ``params`` in the same order), keeping every
    differentiable input's gradient statistics and the influence."""
    return [StreamReducer(spec, resolved, "mean", gradient_inputs=spec.differentiable_inputs, influence=request)
            for spec, resolved in zip(specs, params, strict=True)]


def compare_batches(specs: Sequence[LossSpec], params: Sequence[Mapping[str, Any]], batches: Iterable[Batch],
                    request: InfluenceRequest) -> list[LossComparison]:
    """Every loss over the same batches, read once: the local engine's compare."""
    reducers = comparison_reducers(specs, params, request)
    reduce_batches(batches, reducers)
    return [LossComparison(reducer.result()) for reducer in reducers]


def compare(losses: Sequence[str | LossSpec], inputs: Mapping[str, Any] | InputPlan | None = None, *,
            params: Mapping[str, Any] | None = None, top: float = DEFAULT_TOP, weights=None,
            shown: int = DEFAULT_SHOWN_ROWS) -> list[LossComparison]:
    """Evaluate every loss on the same inputs: {input name: array}, or an :class:`InputPlan`
    streamed in batches (its weights and group labels included).

    ``params`` maps "loss.param" or an unambiguous plain "param" to a value. Without inputs the
    seed's outlier example is used (regression losses only).

    >>> [round(item.result.value, 5) for item in compare(["mse", "mae", "huber"])]
    [2304.1875, 24.375, 23.96875]
    """
    specs = resolve_losses(losses)
    routed = route_params(specs, params)
    resolved = [spec.resolve_params(routed[spec.name]) for spec in specs]
    if isinstance(inputs, InputPlan):
        request = InfluenceRequest.for_rows(top, inputs.row_bound(), shown)
        return compare_batches(specs, resolved, plan_batches(inputs, specs), request)
    arrays = as_arrays(specs[0], _default_inputs(specs[0]) if inputs is None else inputs)
    batch = Batch(arrays, None if weights is None else np.asarray(weights, dtype=np.float64))
    return compare_batches(specs, resolved, [batch], InfluenceRequest.for_rows(top, batch.rows, shown))
def _default_inputs(spec: LossSpec) -> dict[str, np.ndarray]:
    if set(spec.input_names) != set(OUTLIER_EXAMPLE) or spec.task.value != "regression":
        raise LossCliError(f"no inputs given: the built-in outlier example (pred, target) suits regression "
                           f"losses, not {spec.name}; give input files")
    return {name: array.copy() for name, array in OUTLIER_EXAMPLE.items()}
