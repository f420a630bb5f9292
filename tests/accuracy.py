"""Measure losscli (and torch) against the 50-digit references on each record's extreme table.

A sample is one element of an elementwise loss or one row of a row-wise one; its value and its
gradient (every differentiable input's slice, flattened together) come from ``compute(...,
reduction="none")``. Errors:

- value: |ours - exact| / max(|exact|, smallest normal float64), elementwise;
- gradient: max_j |ours_j - exact_j| / max_j |exact_j| over the sample's entries (normwise);
- where the exact number overflows float64, ours must be that infinity (error 0) or the error is
  inf; a NaN, or an inf where the exact number is representable, is an error of inf.

``python tests/accuracy.py [LOSS ...]`` prints the worst errors per loss.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
from cases.exact import DIGITS, flat, mpmath, to_mp
from loss_cases import CASES, Extreme, LossCase

from losscli import compute, get_loss

SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)


@dataclass(frozen=True)
class Exact:
    """The references of every sample of one extreme case: values [samples] and gradients per input."""

    values: np.ndarray
    gradients: dict[str, np.ndarray]


@dataclass(frozen=True)
class SampleError:
    value: float
    gradient: float


def sample_shape(spec, inputs) -> tuple[int, ...]:
    """The shape of the per-sample values: the first input's leading (batch) dimensions."""
    first = spec.inputs[0]
    pattern, array = first.shapes[0], np.asarray(inputs[first.name])
    return array.shape[: array.ndim - (len(pattern) - 1)] if pattern[0] == "..." else array.shape[:1]


def exact_samples(case: LossCase, extreme: Extreme, digits: int = DIGITS) -> Exact:
    spec = get_loss(case.name)
    params = spec.resolve_params(extreme.params)
    shape = sample_shape(spec, extreme.inputs)
    values = np.empty(shape, dtype=object)
    gradients = {name: np.empty(np.shape(extreme.inputs[name]), dtype=object) for name in spec.differentiable_inputs}
    with mpmath().workdps(digits):
        for index in np.ndindex(shape):
            args = [to_mp(np.asarray(extreme.inputs[name])[index]) for name in spec.input_names]
            value, gradient = case.exact(*args, **params)
            values[index] = value
            for name, array in gradients.items():
                array[index] = gradient[name]
    return Exact(values, gradients)


def value_error(ours: float, exact) -> float:
    rounded = float(exact)
    if math.isinf(rounded) or not math.isfinite(ours):
        return 0.0 if ours == rounded else math.inf
    mp = mpmath()
    return float(abs(mp.mpf(ours) - exact) / max(abs(exact), SMALLEST_NORMAL))


def gradient_error(ours: np.ndarray, exact: list) -> float:
    mp = mpmath()
    rounded = np.array([float(e) for e in exact])
    overflow = np.isinf(rounded)
    if np.any(ours[overflow] != rounded[overflow]) or not np.all(np.isfinite(ours[~overflow])):
        return math.inf
    kept = [(o, e) for o, e, over in zip(ours.tolist(), exact, overflow, strict=True) if not over]
    if not kept:
        return 0.0
    scale = max(max(abs(e) for _, e in kept), SMALLEST_NORMAL)
    return float(max(abs(mp.mpf(o) - e) for o, e in kept) / scale)


def sample_errors(values, gradients: dict[str, np.ndarray], exact: Exact) -> np.ndarray:
    """SampleError for each sample of ``values`` / ``gradients`` (ours or torch's) against ``exact``."""
    errors = np.empty(exact.values.shape, dtype=object)
    with mpmath().workdps(DIGITS):
        for index in np.ndindex(exact.values.shape):
            ours = np.concatenate([np.ravel(gradients[name][index]) for name in exact.gradients])
            reference = [e for name in exact.gradients for e in flat(_as_list(exact.gradients[name][index]))]
            errors[index] = SampleError(value_error(float(np.asarray(values)[index]), exact.values[index]),
                                        gradient_error(ours, reference))
    return errors


def _as_list(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


def ours(case: LossCase, extreme: Extreme):
    """losscli's per-sample values and gradients (reduction none), quietly."""
    with np.errstate(all="ignore"):
        result = compute(case.name, extreme.inputs, params=extreme.params, reduction="none")
    return result.value, result.gradients


def worst(errors: np.ndarray, field: str) -> tuple[float, tuple]:
    """The largest error of ``field`` and the index of its sample."""
    flat_errors = [(getattr(error, field), index) for index, error in np.ndenumerate(errors)]
    return max(flat_errors, key=lambda item: item[0]) if flat_errors else (0.0, ())


def describe_sample(extreme: Extreme, index) -> str:
    parts = [f"{name}={np.asarray(array)[index]!r}" for name, array in extreme.inputs.items()]
    return f"{extreme.label} {extreme.params or ''} sample {index}: " + ", ".join(p[:120] for p in parts)


def measure(case: LossCase) -> dict[str, tuple[float, str]]:
    """The worst value and gradient error of losscli over the case's extreme table, and where."""
    result = {"value": (0.0, ""), "gradient": (0.0, "")}
    for extreme in case.extremes():
        errors = sample_errors(*ours(case, extreme), exact_samples(case, extreme))
        for field in result:
            error, index = worst(errors, field)
            if error > result[field][0] or not result[field][1]:
                result[field] = (error, describe_sample(extreme, index))
    return result


def main(names: list[str]) -> None:
    print(f"{'loss':<24}{'worst value error':>20}{'worst gradient error':>22}")
    details = []
    for name in names or list(CASES):
        result = measure(CASES[name])
        print(f"{name:<24}{result['value'][0]:>20.2e}{result['gradient'][0]:>22.2e}", flush=True)
        details.append(f"{name}: value at {result['value'][1]}\n{name}: gradient at {result['gradient'][1]}")
    print("\n" + "\n".join(details))


if __name__ == "__main__":
    main(sys.argv[1:])
