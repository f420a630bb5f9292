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
from .reduction import REDUCTIONS, Aggregate, broadcast_weights, gradient_lift, weight_exponent
from .registry import get_loss
from .scaled import Factor
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
    sample_weights, denominators: the weights broadcast to per_sample's shape and the loss's own
    per-sample mean denominators (None when absent), and for a loss of squares its roots (see
    LossSpec.root), so slices can be re-aggregated exactly.
    """

    spec: LossSpec
    params: dict[str, Any]
    reduction: str
    value: float | np.ndarray
    per_sample: np.ndarray
    aggregate: Aggregate
    gradients: dict[str, np.ndarray] = field(default_factory=dict)
    kept_rows: np.ndarray | None = None
    sample_weights: np.ndarray | None = None
    denominators: np.ndarray | None = None
    roots: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of per-sample values reduced (elements for elementwise losses)."""
        return self.aggregate.count


def prepare(loss: str | LossSpec, inputs, params: Mapping[str, Any] | None = None,
            reduction: str = "mean") -> tuple[LossSpec, dict[str, np.ndarray], dict[str, Any]]:
    """Resolve the loss, its parameters and the reduction, and convert the inputs to arrays."""
    spec = get_loss(loss)
    resolved = spec.resolve_params(params)
    check_reduction(spec, reduction)
    return spec, as_arrays(spec, inputs), resolved


def check_reduction(spec: LossSpec, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ParameterError(f"unknown reduction {reduction!r} (valid: {', '.join(REDUCTIONS)})")
    if reduction not in spec.reductions:
        raise ParameterError(f"{spec.name} supports reductions {', '.join(spec.reductions)}, not {reduction!r}")


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


@dataclass(frozen=True)
class Evaluation:
    """One batch evaluated but not reduced: the parts that merge across batches.

    per_sample: each sample's loss; sample_weights: weights broadcast to its shape (None = 1);
    denominators: the loss's own per-sample mean denominators (None = 1); aggregate: their
    partial sums; sample_gradients: d(each sample's own loss)/d(input), unweighted.
    """

    arrays: dict[str, np.ndarray]
    per_sample: np.ndarray
    sample_weights: np.ndarray | None
    denominators: np.ndarray | None
    aggregate: Aggregate
    sample_gradients: dict[str, np.ndarray]
    kept_rows: np.ndarray | None
    params: Mapping[str, Any] = field(default_factory=dict)
    roots: np.ndarray | None = None

    def per_sample_values(self, spec: LossSpec) -> np.ndarray:
        """What reduction "none" reports per sample: l_i, or T(l_i) for a loss with a transform."""
        transform = spec.transform
        if transform is not None and transform.per_sample_value is not None:
            return transform.per_sample_value(*self.arrays.values(), **self.params)
        if transform is None:
            return self.per_sample
        with np.errstate(over="ignore"):
            return transform.function(self.per_sample)

    def batch_gradients(self, spec: LossSpec, reduction: str, lift: int = 0) -> dict[str, np.ndarray]:
        """Gradients that need no other batch: w_i·dl_i/dx for mean and sum (times
        :func:`gradient_factor` once every batch is in), T'(l_i)·dl_i/dx for none. ``lift``:
        weighted gradients w_i·dl_i/dx·2^lift, in one rounding (see :func:`lift_for`)."""
        transform = spec.transform
        if reduction == "none" and self.sample_gradients and transform and transform.chain:
            return transform.chain(self.per_sample, self.sample_gradients, *self.arrays.values(), **self.params)
        if reduction == "none":
            factor = 1.0 if spec.transform is None else _transform_derivative(spec, self.per_sample)
        else:
            factor = 1.0 if self.sample_weights is None else self.sample_weights
        if np.isscalar(factor) and factor == 1.0:
            return dict(self.sample_gradients)
        if not lift:
            return {name: grad * _expand(factor, grad.ndim) for name, grad in self.sample_gradients.items()}
        lifted = {}
        for name, grad in self.sample_gradients.items():
            mantissa, exponent = np.frexp(grad)  # m in [0.5, 1): m·w keeps w's digits; 2^(e + lift) applied once
            lifted[name] = np.ldexp(mantissa * _expand(factor, grad.ndim), exponent + lift)
        return lifted


def evaluate(spec: LossSpec, arrays: dict[str, np.ndarray], params: Mapping[str, Any], weights=None,
             nan_policy: str = "raise", gradient: bool = True) -> Evaluation:
    """Validate one batch of inputs and compute its per-sample losses, aggregate and gradients."""
    arrays, weights, kept = validate(spec, arrays, params, weights, nan_policy)
    # Where the true value overflows (a squared residual of 1e200), inf is the honest answer and
    # is reported as a non-finite value, not as a NumPy warning on stderr.
    with np.errstate(over="ignore", invalid="ignore"):
        per_sample = spec.forward(*arrays.values(), **params)
        sample_weights = broadcast_weights(weights, per_sample.shape)
        denominators = spec.denominator(*arrays.values(), **params) if spec.denominator else None
        roots = spec.root(*arrays.values(), **params) if spec.root else None
        aggregate = Aggregate.of(per_sample, sample_weights, denominators, spec.mean_divisor, roots, spec.multioutput)
        gradients = spec.gradient(*arrays.values(), **params) if gradient else {}
    return Evaluation(arrays, per_sample, sample_weights, denominators, aggregate, gradients, kept, dict(params),
                      roots)


def reduced_value(spec: LossSpec, aggregate: Aggregate, reduction: str) -> float:
    """The loss for "mean" or "sum" from the aggregate of every batch (transform applied); with
    per-column aggregates (multioutput "uniform_average"), the mean of each column's mean."""
    if reduction == "mean" and aggregate.columns:
        return float(np.mean([_transformed(spec, column, reduction)[0] for column in aggregate.columns]))
    return _transformed(spec, aggregate, reduction)[0]


def gradient_factor(spec: LossSpec, aggregate: Aggregate, reduction: str,
                    units_exponent: int = 0) -> Factor | np.ndarray:
    """What turns the batches' w_i·dl_i/dx into the gradient of the reduced loss:
    1/Σw for mean (Σw·d with denominators), 1 for sum, times T'(mean) for a transform; times
    2^units_exponent when the batches' gradients were kept in units of 2^-units_exponent: weights·2^-E
    (see :func:`~losscli.reduction.weight_exponent`) and dl_i/dx·2^L (see :func:`lift_for`)
    give units_exponent = E - L. A :class:`~losscli.scaled.Factor`: it may lie
    beyond the doubles (rmse at residuals of 1e-311) though the gradients it makes do not.
    With per-column aggregates (multioutput "uniform_average") one factor per column, each its
    column's factor / D, as an array [D] (doubles) that multiplies gradients [N, D]."""
    if reduction == "mean" and aggregate.columns:
        return np.array([float(gradient_factor(spec, column, reduction, units_exponent))
                         for column in aggregate.columns]) / len(aggregate.columns)
    factor = Factor.of(_transformed(spec, aggregate, reduction)[1]) * Factor(1.0, units_exponent)
    if reduction == "mean":
        total = aggregate.scaled_total
        factor = factor * Factor.of(total.mantissa).reciprocal() * Factor(1.0, -total.exponent)
    return factor


def lift_for(spec: LossSpec, aggregate: Aggregate, reduction: str, weight_exponent: int,
             evaluation: Evaluation) -> int:
    """The lift (:func:`~losscli.reduction.gradient_lift`) of a batch's weighted gradients,
    from the gradient factor of its own ``aggregate`` (true units) as if it were the whole input:
    the whole input's factor is at most that for mean squares and plain means, so lifted
    gradients do not overflow once scaled. 0 without weights, for "none", and for a batch whose
    weights sum to zero."""
    if evaluation.sample_weights is None or reduction == "none":
        return 0
    try:
        factor = gradient_factor(spec, aggregate, reduction, weight_exponent)
    except InputError:
        return 0
    exponent = (Factor.of(float(np.max(np.abs(factor)))) if isinstance(factor, np.ndarray) else factor).exponent
    return gradient_lift(evaluation.sample_gradients, evaluation.sample_weights, exponent)


def _transformed(spec: LossSpec, aggregate: Aggregate, reduction: str) -> tuple[float, float]:
    """(T(reduced value), T'(reduced value)); (value, 1) without a transform."""
    transform = spec.transform
    if transform is not None and transform.of_scaled is not None:
        return transform.of_scaled(aggregate.scaled_value(reduction))
    value = aggregate.value(reduction)
    if transform is None:
        return float(value), 1.0
    # exp of a mean NLL above ~709 is beyond float64: the honest answer is inf, not a warning.
    with np.errstate(over="ignore"):
        return float(transform.function(value)), float(_transform_derivative(spec, value))


def _transform_derivative(spec, value):
    with np.errstate(over="ignore"):
        return spec.transform.derivative(value)


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
    exponent = weight_exponent(None if weights is None else np.asarray(weights, dtype=np.float64))
    scaled = None if weights is None else np.ldexp(np.asarray(weights, dtype=np.float64), -exponent)
    batch = evaluate(spec, arrays, resolved, scaled, nan_policy, gradient)
    if batch.kept_rows is not None and not batch.kept_rows.any():
        raise InputError("every row has a NaN or infinite value: nothing left after --nan-policy omit")
    aggregate = batch.aggregate.rescaled(exponent, spec.mean_divisor)
    lift = lift_for(spec, aggregate, reduction, exponent, batch)
    gradients = batch.batch_gradients(spec, reduction, lift)
    if reduction == "none":
        value = batch.per_sample_values(spec)
    else:
        value = reduced_value(spec, aggregate, reduction)
        factor = gradient_factor(spec, aggregate, reduction, exponent - lift)
        with np.errstate(over="ignore"):  # a gradient beyond the doubles is inf, as is the truth
            gradients = {name: grad * factor for name, grad in gradients.items()}
    sample_weights = None if batch.sample_weights is None else np.ldexp(batch.sample_weights, exponent)
    return LossResult(spec, resolved, reduction, value, batch.per_sample, aggregate, gradients,
                      batch.kept_rows, sample_weights, batch.denominators, batch.roots)


def _expand(scale, ndim: int):
    """Per-sample factors [N] or [B, T] broadcast against an input of ``ndim`` dimensions."""
    scale = np.asarray(scale)
    return scale.reshape(scale.shape + (1,) * (ndim - scale.ndim))
