"""What every framework adapter gives the checker, and how its outputs become float64 arrays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .loading import UserCodeError

Arrays = dict[str, np.ndarray]
LOW_PRECISION = ("float16", "bfloat16", "float32", "half", "float")


class PrecisionError(UserCodeError):
    """The user's code computes in float32 (or lower) when given float64 inputs."""


@dataclass(frozen=True)
class UserLoss:
    """The user's loss as two calls on named float64 arrays (in the loss's input order).

    losses(arrays): per-sample losses [N, ...] or a 0-d scalar. gradients(arrays, names):
    d(Σ losses)/d(input) for each name. differentiable: the inputs whose gradient the code
    gives (NumPy code: the first only; torch and JAX: any floating input).
    """

    label: str
    framework: str
    losses: Callable[[Arrays], np.ndarray]
    gradients: Callable[[Arrays, tuple[str, ...]], dict[str, np.ndarray]]
    first_input_only: bool


def to_float64(value, what: str) -> np.ndarray:
    """A tensor, array or number the user's code returned, as float64; complex, text and
    low-precision results are errors (a float32 result cannot be checked at float64 precision)."""
    dtype = str(getattr(value, "dtype", "")).rpartition(".")[2]
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy() if dtype != "bfloat16" else value.detach().float().cpu().numpy()
    array = np.asarray(value)
    if np.iscomplexobj(array):
        raise UserCodeError(f"{what} returned complex values ({array.dtype}), expected real numbers")
    if dtype in LOW_PRECISION or array.dtype in (np.float16, np.float32):
        raise PrecisionError(f"{what} computes in {dtype or array.dtype}: given float64 inputs it returned "
                             f"{dtype or array.dtype} (a cast such as .float() or dtype=float32?); finite "
                             "differences need float64, so remove the cast to check it")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise UserCodeError(f"{what} returned {_describe(value)}, expected numbers")
    return array.astype(np.float64)


def _describe(value) -> str:
    array = np.asarray(value, dtype=object)
    return f"an array of shape {array.shape}" if array.ndim else f"{type(value).__name__} {value!r}"


def computed_in_float32(*arrays: np.ndarray) -> bool:
    """True when the values look computed in float32 and cast back: every value that needs more
    than 12 significant bits is exactly a float32 (float64 work gives such a value with odds
    2^-29 each). Needs at least 8 such values; simple ones (0.5, 4.0) tell nothing."""
    values = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.empty(0)
    values = values[np.isfinite(values) & (values != 0)]
    mantissa, _ = np.frexp(values)
    detailed = values[(mantissa * 2**12) % 1 != 0]
    with np.errstate(over="ignore"):
        return detailed.size >= 8 and bool(np.all(detailed.astype(np.float32).astype(np.float64) == detailed))
