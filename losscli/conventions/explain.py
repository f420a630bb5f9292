"""Cross-checks: one loss under every convention that has it, and why each value differs from the
default, in words (the convention's knobs) and numbers (divisor, parameters, the row that moved most).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import LossResult, compute, reduced_value
from ..errors import LossCliError
from ..registry import get_loss
from ..spec import LossSpec
from . import apply_convention, conventions_of
from .record import DEFAULT_FRAMEWORK, Convention

# Per-sample values closer than this (relative) differ only by the framework's float32 rounding.
FLOAT32_AGREEMENT = 1e-6


@dataclass(frozen=True)
class ConventionValue:
    """One convention's value on the inputs, or the reason it has none (``error``)."""

    framework: str
    api: str
    is_default: bool
    value: float | None = None
    result: LossResult | None = None
    error: str | None = None
    explanation: list[str] = field(default_factory=list)


def default_label(spec: LossSpec) -> str:
    """'torch' when the default is torch's loss, else 'losscli' (torch has no such loss)."""
    return DEFAULT_FRAMEWORK if DEFAULT_FRAMEWORK in {c.framework for c in conventions_of(spec)} else "losscli"


def crosscheck(loss: str | LossSpec, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any] | None = None,
               weights=None) -> list[ConventionValue]:
    """The loss under the default and every convention that has it, each explained against the default.

    arrays: the default spec's inputs by name; params: raw overrides, given to each convention
    that has the parameter. Raises only when the default itself cannot evaluate the inputs.
    """
    spec = get_loss(loss)
    params = dict(params or {})
    baseline = compute(spec, dict(arrays), params=params, weights=weights)
    label = default_label(spec)
    rows = [ConventionValue(label, spec.torch_equivalent or "losscli's own definition", True, baseline.value,
                            baseline, explanation=[f"the default: {spec.formula}"])]
    for convention in conventions_of(spec):
        if convention.framework == label:
            continue
        rows.append(_evaluate(spec, convention, arrays, params, weights, baseline))
    return rows


def crosscheck_report(loss: str, rows, weighted: bool) -> dict:
    """The JSON-ready cross-check: the default's value, then one entry per convention."""
    default = next(row for row in rows if row.is_default)
    entries = []
    for row in rows:
        entry = {"convention": row.framework, "default": row.is_default, "api": row.api, "value": row.value,
                 "difference": None if row.value is None else row.value - default.value,
                 "divides_by": None, "weight_total": None, "error": row.error, "explanation": row.explanation}
        if row.result is not None:
            entry.update(divides_by=divisor_name(row.result), weight_total=row.result.aggregate.weight_total)
        entries.append(entry)
    return {"loss": loss, "weighted": weighted, "default": default.framework, "value": default.value,
            "conventions": entries}


def _evaluate(spec, convention: Convention, arrays, params, weights, baseline) -> ConventionValue:
    derived = apply_convention(spec, convention.framework)
    names = {param.name for param in derived.params}
    dropped = sorted(set(params) - names)
    inputs = adapt_inputs(convention, spec, derived, arrays, baseline.params)
    try:
        result = compute(derived, inputs, params={k: v for k, v in params.items() if k in names}, weights=weights)
    except LossCliError as error:
        return ConventionValue(convention.framework, convention.api, False, error=str(error),
                               explanation=[f"{convention.framework} does not accept these inputs: {error}"])
    lines = explain(convention, result, baseline, inputs)
    if dropped:
        lines.append(f"{convention.framework} has no parameter {', '.join(dropped)}: not applied")
    return ConventionValue(convention.framework, convention.api, False, result.value, result, explanation=lines)


def adapt_inputs(convention: Convention, spec: LossSpec, derived: LossSpec, arrays, default_params) -> dict:
    """The default's inputs given to the convention: same arrays in the same order, except where the
    framework takes another quantity (the rate where the default holds its log)."""
    values = list(arrays.values())
    if convention.takes_exp_of_default_input(default_params):
        values[0] = np.exp(values[0])
    return dict(zip(derived.input_names, values, strict=True))


def explain(convention: Convention, result: LossResult, baseline: LossResult,
            inputs: Mapping[str, np.ndarray] | None = None) -> list[str]:
    """Why ``result`` differs from ``baseline``: the knobs in words, then the numbers behind them
    (with the convention's ``inputs``, also what it does with these particular ones)."""
    if result.value == baseline.value:
        return ["same value as the default"]
    lines = [knob.text for knob in convention.knobs]
    if inputs is not None and convention.explain_inputs is not None:
        lines += convention.explain_inputs(inputs)
    lines += _param_lines(result.params, baseline.params)
    lines += _divisor_lines(convention, result, baseline)
    lines += _column_lines(convention, result, baseline)
    lines += _row_lines(convention, result, baseline)
    return lines


def _param_lines(params, default_params) -> list[str]:
    return [f"{name} = {_fmt(value)} instead of {_fmt(default_params[name])}" for name, value in params.items()
            if name in default_params and value != default_params[name]]


def divisor_name(result: LossResult) -> str:
    """What the mean divided by, in symbols."""
    if result.spec.mean_divisor == "count" or result.sample_weights is None:
        return "N" if result.denominators is None else "Σ w[y]"
    if result.spec.mean_divisor == "nonzero_weights":
        return "#(w ≠ 0)"
    return "Σw" if result.denominators is None else "Σ w·w[y]"


def _divisor_lines(convention, result, baseline) -> list[str]:
    total, default_total = result.aggregate.weight_total, baseline.aggregate.weight_total
    if total == default_total:
        return []
    return [f"{convention.framework} divides by {divisor_name(result)} = {_fmt(total)} instead of "
            f"{divisor_name(baseline)} = {_fmt(default_total)}"]


def _column_lines(convention, result, baseline) -> list[str]:
    """For a mean of per-column means (multioutput "uniform_average"): each column's value."""
    columns = result.aggregate.columns
    if result.reduction != "mean" or not columns:
        return []
    values = ", ".join(_fmt(reduced_value(result.spec, column, "mean")) for column in columns)
    return [f"{convention.framework} averages the {len(columns)} columns' values ({values}) = {_fmt(result.value)}; "
            f"the default takes one mean over all {baseline.aggregate.count} values = {_fmt(baseline.value)}"]


def _row_lines(convention, result, baseline) -> list[str]:
    """The value whose contribution moved most, with both numbers (1-based data row)."""
    mine, theirs = result.per_sample, baseline.per_sample
    if mine.shape != theirs.shape or mine.size == 0:
        return []
    with np.errstate(invalid="ignore"):
        change = np.nan_to_num(np.where(mine == theirs, 0.0, np.abs(mine - theirs)), nan=np.inf).ravel()
    flat = int(np.argmax(change))
    row = flat // (mine.size // mine.shape[0])
    scale = float(np.max(np.abs(theirs[np.isfinite(theirs)]), initial=1e-300))
    if change[flat] == 0:
        return []
    if change[flat] <= FLOAT32_AGREEMENT * scale:
        return [f"per-sample values differ only by rounding (largest change {change[flat]:.3g}, at row {row + 1})"]
    return [f"row {row + 1} contributes {_fmt(mine.ravel()[flat])} instead of {_fmt(theirs.ravel()[flat])}"]


def _fmt(value) -> str:
    if isinstance(value, tuple):
        return ",".join(_fmt(item) for item in value) or "(none)"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        return str(value)
    return f"{float(value):.6g}"
