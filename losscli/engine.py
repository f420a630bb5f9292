"""Evaluate a registered loss on arrays: validated inputs -> value, per-sample losses, gradients.

This is the library entry point (``losscli.compute``); the CLI, gradcheck and the comparison
commands all go through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError, ParameterError
from .reduction import REDUCTIONS, Aggregate, broadcast_weights, gradient_scale
from .registry import get_loss
from .spec import LossSpec
from .validation import NAN_POLICIES, as_arrays, bind_shapes, check_domains, check_finite, omit_nonfinite_rows


@dataclass(frozen=True)
class LossResult:
    """The outcome of :func:`compute`.

    value: the reduced loss (float), or per-sample values (array) for reduction "none".
    per_sample: each sample's loss before reduction and weights ([N], [N, D] or [B, T]).
    gradients: for every differentiable input, the gradient of ``value`` (of each sample's own
    loss for "none"), same shape as the input.
    kept_rows: with nan_policy "omit", the mask of rows that were used; otherwise None.
    """

    spec: LossSpec
    params: dict[str, Any]
    reduction: str
    value: float | np.ndarray
    per_sample: np.ndarray
    aggregate: Aggregate
    gradients: dict[str, np.ndarray] = field(default_factory=dict)
    kept_rows: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of per-sample values reduced (elements for elementwise losses)."""
        return self.aggregate.count


def prepare(loss: str | LossSpec, inputs, params: Mapping[str, Any] | None = None,
            reduction: str = "mean") -> tuple[LossSpec, dict[str, np.ndarray], dict[str, Any]]:
    """Resolve the loss, its parameters and the reduction, and convert the inputs to arrays."""
    spec = get_loss(loss)
    resolved = spec.resolve_params(params)
    if reduction not in REDUCTIONS:
        raise ParameterError(f"unknown reduction {reduction!r} (valid: {', '.join(REDUCTIONS)})")
    if reduction not in spec.reductions:
        raise ParameterError(f"{spec.name} supports reductions {', '.join(spec.reductions)}, not {reduction!r}")
    return spec, as_arrays(spec, inputs), resolved


def validate(spec: LossSpec, arrays: dict[str, np.ndarray], params: Mapping[str, Any],
             weights=None, nan_policy: str = "raise"):
    """Check shapes, finiteness (per ``nan_policy``) and domains; returns (arrays, weights, kept)."""
    if nan_policy not in NAN_POLICIES:
        raise ParameterError(f"unknown nan policy {nan_policy!r} (valid: {', '.join(NAN_POLICIES)})")
    bind_shapes(spec, arrays)
    kept = None
    if nan_policy == "omit":
        arrays, weights, kept = omit_nonfinite_rows(arrays, weights)
    elif nan_policy == "raise":
        check_finite(arrays)
    try:
        check_domains(spec, arrays, params)
        if spec.check is not None:
            spec.check(arrays, params)
    except InputError as error:
        if kept is not None and error.row is not None:
            error.row = int(np.flatnonzero(kept)[error.row])  # a row of the input as given
        raise
    return arrays, weights, kept


def compute(loss: str | LossSpec, *inputs, params: Mapping[str, Any] | None = None,
            reduction: str = "mean", weights=None, nan_policy: str = "raise",
            gradient: bool = True) -> LossResult:
    """Evaluate ``loss`` on ``inputs`` (positional in the loss's input order, or one mapping).

    >>> compute("mse", [1.5, 2.5, 3.5, 4.0], [1.0, 2.0, 3.0, 100.0]).value
    2304.1875
    """
    if len(inputs) == 1 and isinstance(inputs[0], Mapping):
        inputs = inputs[0]
    spec, arrays, resolved = prepare(loss, inputs, params, reduction)
    arrays, weights, kept = validate(spec, arrays, resolved, weights, nan_policy)
    per_sample = spec.forward(*arrays.values(), **resolved)
    sample_weights = broadcast_weights(weights, per_sample.shape)
    denominators = spec.denominator(*arrays.values(), **resolved) if spec.denominator else None
    aggregate = Aggregate.of(per_sample, sample_weights, denominators)
    value, scale = _reduce(spec, per_sample, aggregate, sample_weights, reduction)
    gradients = {}
    if gradient:
        for name, grad in spec.gradient(*arrays.values(), **resolved).items():
            gradients[name] = grad * _expand(scale, grad.ndim)
    return LossResult(spec, resolved, reduction, value, per_sample, aggregate, gradients, kept)


def _reduce(spec, per_sample, aggregate, sample_weights, reduction):
    """The reduced value and the factor turning per-sample gradients into its gradient."""
    # The value first: a mean over a zero weight total raises InputError before the scale divides by it.
    value = per_sample if reduction == "none" else aggregate.value(reduction)
    scale = gradient_scale(sample_weights, aggregate, reduction)
    if spec.transform is not None:
        # exp of a mean NLL above ~709 is beyond float64: the honest answer is inf, not a warning.
        with np.errstate(over="ignore"):
            scale = scale * spec.transform.derivative(value)
            value = spec.transform.function(value)
    return (value if reduction == "none" else float(value)), scale


def _expand(scale, ndim: int):
    """Per-sample factors [N] or [B, T] broadcast against an input of ``ndim`` dimensions."""
    scale = np.asarray(scale)
    return scale.reshape(scale.shape + (1,) * (ndim - scale.ndim))
