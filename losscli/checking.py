"""``losscli.gradcheck``: check a gradient from Python (a test suite, a notebook) or the CLI.

The target is a registered loss (its closed-form gradient), a ``"FILE.py:NAME"`` string, or a
Python object: a torch.autograd.Function subclass, an nn.Module, a function of tensors, a JAX
function (custom_vjp / custom_jvp / jitted), a NumPy class with forward/backward, or a
``(loss_fn, grad_fn)`` pair. Runs in this process and returns a
:class:`~losscli.checker.GradcheckResult` (``.passed``); a check that cannot be trusted raises
:class:`~losscli.checker.GradcheckError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from .checker import (
    DEFAULT_ATOL,
    DEFAULT_DIRECTIONS,
    DEFAULT_EPS,
    DEFAULT_RTOL,
    DEFAULT_SIZE,
    DEFAULT_VALUE_TOL,
    GradcheckResult,
    Settings,
    check_registered,
)
from .errors import LossCliError
from .registry import get_loss
from .spec import LossSpec
from .usercode import check as user_check
from .usercode import is_user_code
from .usercode.against import compare_values
from .usercode.frameworks import adapt_object, load_user_loss


def gradcheck(target, inputs=None, *, like: str | None = None, params: Mapping | None = None,
              framework: str | None = None, init: Mapping | None = None, target_format: str = "onehot",
              against: str | None = None, value_tol: float = DEFAULT_VALUE_TOL, eps: float = DEFAULT_EPS,
              atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL, mode: str = "auto",
              directions: int = DEFAULT_DIRECTIONS, seed: int = 0, size: int = DEFAULT_SIZE) -> GradcheckResult:
    """Check ``target``'s gradient against central finite differences of the sum of its losses.

    ``inputs``: a mapping by input name or a sequence in the loss's input order; default:
    ``size`` rows from ``like``'s generator (registered losses: their own). ``like`` names the
    registered loss whose inputs user code takes; ``against`` also compares the code's forward
    values with that registered loss's to ``value_tol`` relative (and stands for ``like`` when
    that is not given).

    >>> gradcheck("mse").passed
    True
    """
    settings = Settings(eps, atol, rtol, mode, directions, seed, size)
    if isinstance(target, LossSpec) or (isinstance(target, str) and not is_user_code(target)):
        if like or framework or init or against:
            raise LossCliError("like, framework, init and against apply to your own code, not to built-in losses")
        return check_registered(target, inputs, params=params, settings=settings)
    if against and like and against != like:
        raise LossCliError(f"against {against!r} and like {like!r} differ: the inputs checked are those of one loss")
    like = like or against
    user = (load_user_loss(target, dict(init or {}), framework) if isinstance(target, str)
            else adapt_object(target, framework, init))
    if like is None and inputs is None:
        raise LossCliError("your code needs inputs: like=LOSS (random inputs of that loss) or inputs")
    arrays = _spec_arrays(like, inputs, params, settings) if like else _named(inputs)

    def for_user(values):
        return user_check.shaped_for_user(like, values, target_format) if like else values

    result = user_check.check_user_loss(user, for_user(arrays), settings, like)
    if against is None:
        return result
    return replace(result, against=compare_values(user.losses, for_user, like, arrays, params, value_tol))


def _spec_arrays(like: str, inputs, params, settings: Settings) -> dict[str, np.ndarray]:
    if inputs is None:
        return user_check.borrow_inputs(like, params=params, size=settings.size, seed=settings.seed)
    return user_check.validated_inputs(like, _named(inputs, get_loss(like).input_names), params)


def _named(inputs, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Inputs by name: a mapping as given, a sequence named ``names`` (or y_pred, y_true, input3...)."""
    if isinstance(inputs, Mapping):
        return {name: np.asarray(value) for name, value in inputs.items()}
    names = names or user_check.unlabelled_names(len(inputs))
    if len(inputs) != len(names):
        raise LossCliError(f"expected {len(names)} inputs ({', '.join(names)}), got {len(inputs)}")
    return {name: np.asarray(value) for name, value in zip(names, inputs, strict=True)}
