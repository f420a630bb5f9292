"""PyTorch code: a torch.autograd.Function subclass (called through .apply), an nn.Module (class
or instance) or a plain function of tensors. Autograd gives d(Σ losses)/d(input), so a Function's
hand-written backward is what gets checked. Calls run with float64 as the default dtype."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .base import Arrays, UserLoss, to_float64
from .loading import UserCodeError, require, running


def is_torch_object(obj) -> bool:
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return False
    kinds = (torch.autograd.Function, torch.nn.Module)
    return (isinstance(obj, type) and issubclass(obj, kinds)) or isinstance(obj, torch.nn.Module)


@contextmanager
def float64_default(torch):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _callable(torch, path: Path, name: str, obj, init: dict):
    """What to call: Function.apply, a Module instance (made with ``init``), or the function."""
    if isinstance(obj, type) and issubclass(obj, torch.autograd.Function):
        return obj.apply, f"{name}.forward"
    if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
        with running(path, f"{name}(...)", obj), float64_default(torch):
            return obj(**init).double(), f"{name}.forward"
    if init:
        raise UserCodeError(f"--init applies to a class; {name} is not a class")
    if isinstance(obj, torch.nn.Module):
        return obj.double(), f"{name}.forward"
    if not callable(obj):
        raise UserCodeError(f"{path}: {name} is not callable")
    return obj, name


def torch_loss(label: str, path: Path, name: str, obj, init: dict) -> UserLoss:
    torch = require("torch")
    function, what = _callable(torch, path, name, obj, init)

    def tensors(arrays: Arrays, wanted=()):
        return {key: torch.tensor(np.array(value, copy=True), requires_grad=key in wanted,
                                  dtype=torch.float64 if np.issubdtype(value.dtype, np.floating) else None)
                for key, value in arrays.items()}

    def call(inputs):
        with running(path, what, obj), float64_default(torch):
            return function(*inputs.values())

    def losses(arrays):
        with torch.no_grad():
            return to_float64(call(tensors(arrays)), f"{path}: {what}")

    def gradients(arrays, wanted):
        inputs = tensors(arrays, wanted)
        total = call(inputs)
        if not hasattr(total, "sum") or not getattr(total, "requires_grad", False):
            raise UserCodeError(f"{path}: {what} returned {type(total).__name__} without a gradient "
                                "(no tensor connected to the inputs)")
        with running(path, f"{name}.backward", obj):
            found = torch.autograd.grad(total.sum(), [inputs[key] for key in wanted], allow_unused=True)
        missing = [key for key, gradient in zip(wanted, found, strict=True) if gradient is None]
        if missing:
            raise UserCodeError(f"{path}: {name} gives no gradient for {', '.join(missing)}")
        return {key: to_float64(gradient, f"{path}: {name}.backward")
                for key, gradient in zip(wanted, found, strict=True)}

    return UserLoss(label, "torch", losses, gradients, first_input_only=False)
