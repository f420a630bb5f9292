"""Checks that input arrays fit a loss: count, shapes, finiteness and value domains.

Every failure raises :class:`InputError` naming the input, and the row and column of the first
offending value (0-based; for 3-D inputs the column is the position within the flattened row,
which is the CSV column order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .errors import InputError, LossCliError
from .losses._numerics import is_class_ids
from .spec import Domain, LossSpec

NAN_POLICIES = ("raise", "omit", "propagate")
# Tolerance for rows of probabilities read back from text files with rounded digits.
ROW_SUM_TOLERANCE = 1e-3
# Half-line domains: (lower bound, whether the bound itself is allowed, message).
_LOWER_BOUNDS = {Domain.NONNEGATIVE: (0.0, True, "expected values >= 0"),
                 Domain.POSITIVE: (0.0, False, "expected values > 0"),
                 Domain.ABOVE_MINUS_ONE: (-1.0, False, "expected values > -1")}


def as_arrays(spec: LossSpec, inputs: Sequence | Mapping) -> dict[str, np.ndarray]:
    """Inputs (positional in the spec's order, or a mapping by name) as float64 arrays."""
    if isinstance(inputs, Mapping):
        missing = [name for name in spec.input_names if name not in inputs]
        extra = [name for name in inputs if name not in spec.input_names]
        if missing or extra:
            raise LossCliError(f"{spec.name} takes inputs {', '.join(spec.input_names)}; "
                               f"missing {missing or 'none'}, unexpected {extra or 'none'}")
        inputs = [inputs[name] for name in spec.input_names]
    if len(inputs) != len(spec.inputs):
        raise LossCliError(f"{spec.name} takes {len(spec.inputs)} inputs "
                           f"({', '.join(spec.input_names)}), got {len(inputs)}")
    arrays = {}
    for name, value in zip(spec.input_names, inputs, strict=True):
        try:
            arrays[name] = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise InputError(f"expected numbers, got {error}", input_name=name) from None
    return arrays


def locate(array: np.ndarray, flat_index: int) -> tuple[int | None, int | None]:
    """(row, column) of a flat index; the column is the position within the flattened row."""
    if array.ndim == 0:
        return None, None
    row, rest = divmod(int(flat_index), int(np.prod(array.shape[1:], dtype=np.int64)))
    return row, (rest if array.ndim > 1 else None)


def fail_at(array, name, mask, message, hint=None):
    """InputError at the first True element of ``mask``: its row, column and value."""
    flat = np.flatnonzero(mask.ravel())
    if flat.size:
        row, column = locate(array, flat[0])
        value = array.ravel()[flat[0]]
        raise InputError(f"{message}, got {value:g}", input_name=name, row=row, column=column, hint=hint)


def bind_shapes(spec: LossSpec, arrays: Mapping[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """Match each input's shape against its patterns; dimension symbols must agree across inputs."""
    bound: dict[str, tuple[tuple[int, ...], str]] = {}
    for input_spec in spec.inputs:
        shape = arrays[input_spec.name].shape
        failures = []
        for pattern in input_spec.shapes:
            result = _bind_pattern(pattern, shape, bound, input_spec.name)
            if isinstance(result, dict):
                bound = result
                break
            failures.append(result)
        else:
            # Prefer the reason from a pattern of the right rank over "wrong number of dims".
            reasons = [reason for reason, rank_ok in failures if rank_ok] or [failures[0][0]]
            raise InputError(reasons[0], input_name=input_spec.name)
    return {symbol: dims for symbol, (dims, _) in bound.items()}


def _bind_pattern(pattern, shape, bound, name):
    """A new binding if ``shape`` fits ``pattern``, else (reason, whether the rank fitted)."""
    fixed = [symbol for symbol in pattern if symbol != "..."]
    leading = len(shape) - len(fixed)
    if (leading < 1) if "..." in pattern else (leading != 0):
        expected = "[" + ", ".join(pattern) + "]"
        return f"expected shape {expected}, got {len(shape)}-D shape {shape}", False
    result = dict(bound)
    position = 0
    for symbol in pattern:
        width = leading if symbol == "..." else 1
        dims = tuple(shape[position:position + width])
        position += width
        if symbol in result and result[symbol][0] != dims:
            return _mismatch(symbol, dims, *result[symbol], name), True
        result.setdefault(symbol, (dims, name))
    return result


def _mismatch(symbol, dims, other_dims, other_name, name):
    if symbol in ("N", "...") and dims[0] != other_dims[0]:
        return f"row-count mismatch: {name} has {dims[0]} rows, {other_name} has {other_dims[0]}"
    if symbol == "...":
        return f"shape mismatch: {name} has leading shape {dims}, {other_name} has {other_dims}"
    return (f"inner-dimension mismatch: {name} has {symbol}={dims[0]}, "
            f"{other_name} has {symbol}={other_dims[0]}")


def check_finite(arrays: Mapping[str, np.ndarray]) -> None:
    for name, array in arrays.items():
        fail_at(array, name, ~np.isfinite(array), "expected finite values",
                hint="--nan-policy omit drops such rows, propagate keeps them")


def omit_nonfinite_rows(arrays: dict[str, np.ndarray], weights: np.ndarray | None = None):
    """Drop the rows (first axis) where any input or weight is NaN or infinite.

    Returns (arrays, weights, kept) with ``kept`` the boolean mask of rows kept.
    """
    rows = next(iter(arrays.values())).shape[0]
    kept = np.ones(rows, dtype=bool)
    for array in [*arrays.values(), *([] if weights is None else [np.asarray(weights, dtype=np.float64)])]:
        kept &= np.isfinite(array.reshape(array.shape[0], -1)).all(axis=1)
    return ({name: array[kept] for name, array in arrays.items()},
            None if weights is None else np.asarray(weights, dtype=np.float64)[kept], kept)


def check_domains(spec: LossSpec, arrays: Mapping[str, np.ndarray], params: Mapping | None = None) -> None:
    """Values inside each input's domain (NaN passes here: the NaN policy decides about it).

    Class ids equal to the ``ignore_index`` parameter, where a loss has one, are allowed.
    """
    scores = arrays[spec.inputs[0].name]
    ignore_index = (params or {}).get("ignore_index")
    for input_spec in spec.inputs:
        name, array, domain = input_spec.name, arrays[input_spec.name], input_spec.domain
        if domain in (Domain.PROBABILITY, Domain.CLASS_DISTRIBUTION):
            hint = f"looks like logits: use {spec.logits_alternative}" if spec.logits_alternative else None
            fail_at(array, name, (array < 0) | (array > 1), "expected probabilities in [0, 1]", hint)
            if domain is Domain.CLASS_DISTRIBUTION:
                _check_row_sums(array, name, hint)
        elif domain is Domain.LABEL:
            fail_at(array, name, (array < 0) | (array > 1), "expected labels in [0, 1]")
        elif domain is Domain.CLASS_TARGET and not is_class_ids(scores, array):
            fail_at(array, name, (array < 0) | (array > 1), "expected class probabilities in [0, 1]")
            _check_row_sums(array, name, "one-hot or probability rows must sum to 1")
        elif domain in (Domain.CLASS_TARGET, Domain.TOKEN_IDS):
            _check_class_ids(array, name, scores.shape[-1], ignore_index)
        elif domain in _LOWER_BOUNDS:
            bound, inclusive, message = _LOWER_BOUNDS[domain]
            fail_at(array, name, (array < bound) if inclusive else (array <= bound), message)
        elif domain is Domain.SIGNED_LABEL:
            fail_at(array, name, ~np.isin(array, (-1.0, 0.0, 1.0)) & ~np.isnan(array),
                    "expected labels +1 or -1 (or 1 and 0)")
        elif domain in (Domain.LOG_DISTRIBUTION, Domain.CLASS_DISTRIBUTION_OR_LOG):
            log = domain is Domain.LOG_DISTRIBUTION or bool((params or {}).get("log_target"))
            _check_distribution(array, name, log)


def _check_row_sums(array, name, hint):
    row_sums = array.sum(axis=-1)
    bad = np.abs(row_sums - 1.0) > ROW_SUM_TOLERANCE
    fail_at(row_sums, name, bad, "expected a row of class probabilities summing to 1", hint)


def _check_distribution(array, name, log):
    """Rows of class probabilities, or of their logs: values <= 0 whose exp sums to 1."""
    if not log:
        fail_at(array, name, (array < 0) | (array > 1), "expected probabilities in [0, 1]")
        _check_row_sums(array, name, None)
        return
    hint = "log-probabilities (log_softmax of logits): exp of each row sums to 1"
    fail_at(array, name, array > 0, "expected log-probabilities <= 0", hint)
    _check_row_sums(np.exp(array), name, hint)


def _check_class_ids(array, name, num_classes, ignore_index=None):
    counted = np.ones(array.shape, dtype=bool) if ignore_index is None else array != ignore_index
    fail_at(array, name, ~np.isfinite(array), "expected class ids (integers), even under --nan-policy")
    fail_at(array, name, counted & (array != np.round(array)), "expected integer class ids",
            hint="for one-hot or probability targets give one column per class")
    fail_at(array, name, counted & ((array < 0) | (array >= num_classes)),
            f"expected class ids in [0, {num_classes - 1}] for {num_classes} classes")
