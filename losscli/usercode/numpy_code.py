"""NumPy code: the seed's protocol (forward(y_pred, y_true) -> loss, backward() -> dL/dy_pred) or a
pair loss_fn(y_pred, y_true), grad_fn(y_pred, y_true). Only dL/d(first input) is given."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import Arrays, UserLoss, to_float64
from .loading import UserCodeError, running


def _call(path: Path, what: str, function, arrays: Arrays):
    with running(path, what, function):
        return function(*(np.array(value, copy=True) for value in arrays.values()))


def function_pair(label: str, path: Path, names, objects) -> UserLoss:
    for name, obj in zip(names, objects, strict=True):
        if not callable(obj):
            raise UserCodeError(f"{path}: {name} is not callable")
    loss_fn, grad_fn = objects

    def losses(arrays):
        return to_float64(_call(path, names[0], loss_fn, arrays), f"{path}: {names[0]}")

    def gradients(arrays, wanted):
        return {wanted[0]: to_float64(_call(path, names[1], grad_fn, arrays), f"{path}: {names[1]}")}

    return UserLoss(label, "numpy", losses, gradients, first_input_only=True)


def protocol_object(label: str, path: Path, name: str, obj, init: dict) -> UserLoss:
    if isinstance(obj, type):
        with running(path, f"{name}({', '.join(f'{k}={v!r}' for k, v in init.items())})", obj):
            obj = obj(**init)
    elif init:
        raise UserCodeError(f"--init applies to a class; {name} is not a class")
    if not (callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None))):
        hint = "; for functions give FILE.py:loss_fn,grad_fn" if callable(obj) else ""
        raise UserCodeError(f"{path}: {name} needs forward(y_pred, y_true) and backward() methods{hint}")

    def losses(arrays):
        return to_float64(_call(path, f"{name}.forward", obj.forward, arrays), f"{path}: {name}.forward")

    def gradients(arrays, wanted):
        losses(arrays)
        gradient = _call(path, f"{name}.backward", obj.backward, {})
        return {wanted[0]: to_float64(gradient, f"{path}: {name}.backward")}

    return UserLoss(label, "numpy", losses, gradients, first_input_only=True)
