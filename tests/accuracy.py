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

import importlib.util
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
    """Normwise, against the exact numbers rounded to float64 (their rounding adds at most 2^-53 to the error)."""
    rounded = np.array([float(e) for e in exact])
    overflow = np.isinf(rounded)
    if np.any(ours[overflow] != rounded[overflow]) or not np.all(np.isfinite(ours[~overflow])):
        return math.inf
    if np.all(overflow):
        return 0.0
    scale = max(float(np.max(np.abs(rounded[~overflow]))), SMALLEST_NORMAL)
    return float(np.max(np.abs(ours[~overflow] - rounded[~overflow]))) / scale


def sample_errors(values, gradients: dict[str, np.ndarray], exact: Exact) -> np.ndarray:
    """SampleError for each sample of ``values`` / ``gradients`` (ours or torch's) against ``exact``."""
    errors = np.empty(exact.values.shape, dtype=object)
    with mpmath().workdps(DIGITS):
        for index in np.ndindex(exact.values.shape):
            ours = np.concatenate([np.ravel(gradients[name][index]) for name in exact.gradients])
            reference = [e for name in exact.gradients for e in flat(exact.gradients[name][index])]
            errors[index] = SampleError(value_error(float(np.asarray(values)[index]), exact.values[index]),
                                        gradient_error(ours, reference))
    return errors




def ours(case: LossCase, extreme: Extreme):
    """losscli's per-sample values and gradients (reduction none), quietly."""
    with np.errstate(all="ignore"):
        result = compute(case.name, extreme.inputs, params=extreme.params, reduction="none")
    return result.value, result.gradients


def theirs(case: LossCase, extreme: Extreme):
    """torch's per-sample values and gradients (autograd of their sum) from the record's torch equivalent."""
    import torch

    spec = get_loss(case.name)
    tensors = {name: torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64,
                                  requires_grad=name in spec.differentiable_inputs)
               for name, array in extreme.inputs.items()}
    values = case.torch(torch, tensors, spec.resolve_params(extreme.params), "none")
    values.sum().backward()
    gradients = {name: (tensors[name].grad if tensors[name].grad is not None else torch.zeros_like(tensors[name]))
                 for name in spec.differentiable_inputs}
    return values.detach().numpy(), {name: grad.numpy() for name, grad in gradients.items()}


@dataclass(frozen=True)
class TorchLoses:
    """A sample where torch misses the tolerance that losscli meets."""

    where: str
    field: str
    ours: float
    torch: float


def torch_comparison(case: LossCase, extreme: Extreme, exact: Exact, our_errors: np.ndarray):
    """(samples where losscli is less accurate than torch beyond the tolerance, samples where torch loses digits)."""
    their_errors = sample_errors(*theirs(case, extreme), exact)
    worse, torch_loses = [], []
    for index, ours_error in np.ndenumerate(our_errors):
        for field, tolerance in (("value", case.value_tolerance), ("gradient", case.gradient_tolerance)):
            mine, torch_error = getattr(ours_error, field), getattr(their_errors[index], field)
            if mine > max(torch_error, tolerance):
                worse.append(TorchLoses(describe_sample(extreme, index), field, mine, torch_error))
            elif torch_error > tolerance:
                torch_loses.append(TorchLoses(describe_sample(extreme, index), field, mine, torch_error))
    return worse, torch_loses


def worst(errors: np.ndarray, field: str) -> tuple[float, tuple]:
    """The largest error of ``field`` and the index of its sample."""
    flat_errors = [(getattr(error, field), index) for index, error in np.ndenumerate(errors)]
    return max(flat_errors, key=lambda item: item[0]) if flat_errors else (0.0, ())


def describe_sample(extreme: Extreme, index) -> str:
    parts = [f"{name}={np.asarray(array)[index]!r}" for name, array in extreme.inputs.items()]
    return f"{extreme.label} {extreme.params or ''} sample {index}: " + ", ".join(p[:120] for p in parts)


def measure(case: LossCase, with_torch: bool = False) -> dict:
    """The worst value and gradient error of losscli over the case's extreme table and where, and
    (with_torch) the samples where torch loses digits."""
    result = {"value": (0.0, ""), "gradient": (0.0, ""), "torch loses": []}
    for extreme in case.extremes():
        exact = exact_samples(case, extreme)
        errors = sample_errors(*ours(case, extreme), exact)
        for field in ("value", "gradient"):
            error, index = worst(errors, field)
            if error > result[field][0] or not result[field][1]:
                result[field] = (error, describe_sample(extreme, index))
        if with_torch and case.torch is not None and extreme.torch:
            result["torch loses"] += torch_comparison(case, extreme, exact, errors)[1]
    return result


def main(names: list[str]) -> None:
    with_torch = importlib.util.find_spec("torch") is not None
    print(f"{'loss':<24}{'worst value error':>20}{'worst gradient error':>22}{'samples torch loses':>22}")
    details = []
    for name in names or list(CASES):
        result = measure(CASES[name], with_torch)
        print(f"{name:<24}{result['value'][0]:>20.2e}{result['gradient'][0]:>22.2e}"
              f"{len(result['torch loses']):>22}", flush=True)
        details.append(f"{name}: value at {result['value'][1]}\n{name}: gradient at {result['gradient'][1]}")
        details += [f"{name}: torch's {loss.field} error {loss.torch:.2e} (ours {loss.ours:.2e}) at {loss.where}"
                    for loss in result["torch loses"]]
    print("\n" + "\n".join(details))


if __name__ == "__main__":
    main(sys.argv[1:])
