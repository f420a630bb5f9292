"""Check the user's loss: inputs shaped like a registered loss's, then the shared checker.

The checked scalar is the sum of what the code returns: per-sample losses (rows checked
together, O(columns) evaluations) or a scalar such as a mean (one element at a time, or random
directions above ELEMENTWISE_LIMIT elements). Tolerances are per element, so a mean's 1/N
gradients need no special case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from ..checker import GradcheckResult, Settings, check_gradients
from ..engine import prepare, validate
from ..errors import LossCliError
from ..registry import get_loss
from ..spec import Domain
from .base import PrecisionError, UserLoss, computed_in_float32
from .loading import UserCodeError

TARGET_FORMATS = ("onehot", "index")
CLASS_DOMAINS = (Domain.CLASS_TARGET, Domain.TOKEN_IDS)


def shaped_for_user(like: str, arrays: Mapping[str, np.ndarray], target_format: str = "onehot") -> dict:
    """Class-id inputs of ``like`` as user code takes them: one-hot rows over the C classes of the
    scores ("onehot", the seed's protocol) or integer ids ("index"); other inputs unchanged."""
    if target_format not in TARGET_FORMATS:
        raise LossCliError(f"unknown target format {target_format!r} (valid: {', '.join(TARGET_FORMATS)})")
    spec = get_loss(like)
    shaped = dict(arrays)
    scores = shaped[spec.inputs[0].name]
    for input_spec in spec.inputs:
        values = shaped.get(input_spec.name)
        if values is not None and input_spec.domain in CLASS_DOMAINS and values.ndim == scores.ndim - 1:
            ids = values.astype(np.int64)
            shaped[input_spec.name] = np.eye(scores.shape[-1])[ids] if target_format == "onehot" else ids
    return shaped


def unlabelled_names(count: int) -> list[str]:
    """Names of inputs given without --like: y_pred, y_true, input3, ... (the seed's protocol)."""
    return ["y_pred", "y_true", *(f"input{index}" for index in range(3, count + 1))][:count]


def borrow_inputs(like: str, *, params: Mapping | None = None, size: int = 100, seed: int = 0) -> dict:
    """``size`` rows drawn by a registered loss's generator (class targets as ids)."""
    spec = get_loss(like)
    return spec.sample(np.random.default_rng(seed), size, spec.resolve_params(params))


def validated_inputs(like: str, arrays: Mapping[str, np.ndarray], params: Mapping | None = None):
    """Arrays read for user code, checked against the shapes and domains of ``like``."""
    spec, checked, resolved = prepare(like, dict(arrays), params, "none")
    checked, _, _ = validate(spec, checked, resolved)
    return checked


def checked_inputs(user: UserLoss, arrays: Mapping[str, np.ndarray], like: str | None) -> tuple[str, ...]:
    """The inputs whose gradient is checked: the first for NumPy code, else ``like``'s differentiable ones."""
    first = next(iter(arrays))
    if user.first_input_only or like is None:
        return (first,)
    return tuple(name for name in get_loss(like).differentiable_inputs if name in arrays) or (first,)


def check_user_loss(user: UserLoss, arrays: Mapping[str, np.ndarray], settings: Settings,
                    like: str | None = None) -> GradcheckResult:
    """Check the gradient the user's code gives against finite differences of the sum of its losses."""
    arrays = {name: np.asarray(value, dtype=np.float64) if np.issubdtype(np.asarray(value).dtype, np.floating)
              else np.asarray(value) for name, value in arrays.items()}
    losses = user.losses(arrays)
    if not np.all(np.isfinite(losses)):
        raise UserCodeError(f"{user.label} returned a non-finite loss at the check point")
    names = checked_inputs(user, arrays, like)
    gradients = user.gradients(arrays, names)
    if computed_in_float32(losses, *gradients.values()):
        raise PrecisionError(f"{user.label} computes in float32: every loss and gradient value it returned "
                             "for float64 inputs is exactly a float32 number (a cast inside, e.g. .float() or "
                             "dtype=float32?); finite differences need float64, so remove the cast to check it")
    differentiated = "sum of your per-sample losses" if losses.ndim else "the scalar your code returns"
    result = check_gradients(user.label, differentiated, user.losses, arrays, gradients, settings)
    return replace(result, framework=user.framework)
