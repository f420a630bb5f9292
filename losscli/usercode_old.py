"""Users' own loss code: load it from a file, give it inputs, check its gradient.

Two shapes of code are supported, both taking the inputs positionally (y_pred first):

* ``FILE.py:ClassName`` — the seed's protocol: ``forward(y_pred, y_true)`` returns the scalar
  loss and ``backward()`` returns dL/dy_pred. The class is instantiated with no arguments or
  with ``init`` keyword arguments; an object (not a class) with those methods is used as is.
* ``FILE.py:loss_fn,grad_fn`` — ``loss_fn(y_pred, y_true)`` returns the scalar loss and
  ``grad_fn(y_pred, y_true)`` its gradient with respect to y_pred.

The file is executed as Python code. It is loaded only from the path given
(``importlib.util.spec_from_file_location``; its directory is not added to ``sys.path``), and
every call into it gets fresh copies of the inputs. An exception raised by the user's code
becomes a :class:`UserCodeError` whose one-line message names the user's file and line.

The checker differentiates the scalar the code returns, whatever its reduction. Because that
scalar is often a mean, whose gradient shrinks as 1/N, atol is scaled by the gradient's
magnitude (see :func:`check_user_loss`), so "1 % too large" fails at every size.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine import prepare, validate
from .errors import LossCliError
from .gradcheck import ELEMENTWISE_LIMIT, GradcheckResult, Settings, directional, judge, one_at_a_time
from .registry import get_loss
from .spec import Domain

TARGET_FORMATS = ("onehot", "index")
CLASS_DOMAINS = (Domain.CLASS_TARGET, Domain.TOKEN_IDS)


class UserCodeError(LossCliError):
    """The user's file could not be loaded, or their code raised: one line naming file:line."""


@dataclass(frozen=True)
class UserLoss:
    """The user's loss as two calls on the inputs (positional, y_pred first)."""

    label: str
    value: Callable[..., float]
    gradient: Callable[..., np.ndarray]


def is_user_code(target: str) -> bool:
    """True for FILE.py:OBJECT (or a bare FILE.py); registered loss names never look like that."""
    path = target.rpartition(":")[0] if ":" in target else target
    return path.endswith(".py") or ":" in target


def parse_target(target: str) -> tuple[Path, tuple[str, ...]]:
    """"dir/file.py:Name" or "dir/file.py:loss_fn,grad_fn" -> (path, names)."""
    path, sep, names = target.rpartition(":")
    parts = tuple(name.strip() for name in names.split(","))
    if not sep or not path or not all(parts) or len(parts) > 2:
        raise LossCliError(f"expected FILE.py:ClassName or FILE.py:loss_fn,grad_fn, got {target!r}")
    return Path(path), parts


def parse_init(items: list[str] | None) -> dict[str, object]:
    """--init KEY=VALUE options; values are Python literals (2, 1e-15, 'text') or plain text."""
    kwargs: dict[str, object] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise LossCliError(f"expected --init KEY=VALUE, got {item!r}")
        try:
            kwargs[key.strip()] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = raw.strip()
    return kwargs


def _user_line(error: BaseException, path: Path) -> int | None:
    """The last line of the user's file in the exception's traceback (or a SyntaxError's line)."""
    target = os.path.realpath(path)
    line = None
    if isinstance(error, SyntaxError) and error.filename and os.path.realpath(error.filename) == target:
        line = error.lineno
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if os.path.realpath(frame.f_code.co_filename) == target:
            line = lineno
    return line


def _definition_line(obj) -> int | None:
    function = obj.__init__ if isinstance(obj, type) else obj
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    return None if code is None else code.co_firstlineno


@contextmanager
def running(path: Path, what: str, defined_by=None):
    """Turn an exception of the user's code into a one-line UserCodeError naming file:line.

    The line is the last frame of the user's file in the traceback; when there is none (a call
    with the wrong arguments fails before entering it) the definition line of ``defined_by``.
    """
    try:
        yield
    except LossCliError:
        raise
    except (Exception, SystemExit) as error:
        line = _user_line(error, path) or (None if defined_by is None else _definition_line(defined_by))
        where = f"{path}:{line}" if line else str(path)
        detail = (str(error).strip().splitlines() or [""])[0]
        message = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
        raise UserCodeError(f"{where}: {message} (raised in {what})") from error


def load_module(path: Path):
    """Execute the file at ``path`` (only that file) and return it as a module."""
    if not path.is_file():
        raise UserCodeError(f"{path}: no such file")
    name = f"_losscli_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserCodeError(f"{path}: cannot be loaded as Python code")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look the module up while it executes
    try:
        with running(path, f"loading {path.name}"):
            spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def _attribute(module, path: Path, name: str):
    if not hasattr(module, name):
        found = ", ".join(n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n)))
        raise UserCodeError(f"{path} has no attribute {name!r} (callables found: {found or 'none'})")
    return getattr(module, name)


def load_user_loss(target: str, init: Mapping[str, object] | None = None) -> UserLoss:
    """Load FILE.py:Class (forward/backward) or FILE.py:loss_fn,grad_fn as a :class:`UserLoss`."""
    path, names = parse_target(target)
    module = load_module(path)
    objects = [_attribute(module, path, name) for name in names]
    label = f"{path}:{','.join(names)}"
    if len(objects) == 2:
        if init:
            raise LossCliError("--init applies to a class; FILE.py:loss_fn,grad_fn takes no init arguments")
        return _function_pair(label, path, names, objects)
    return _protocol_object(label, path, names[0], objects[0], dict(init or {}))


def _function_pair(label, path, names, objects) -> UserLoss:
    for name, obj in zip(names, objects, strict=True):
        if not callable(obj):
            raise UserCodeError(f"{path}: {name} is not callable")
    loss_fn, grad_fn = objects
    return UserLoss(label, lambda *inputs: _scalar(path, names[0], loss_fn, inputs),
                    lambda *inputs: _array(path, names[1], grad_fn, inputs))


def _protocol_object(label, path, name, obj, init) -> UserLoss:
    if isinstance(obj, type):
        with running(path, f"{name}({', '.join(f'{k}={v!r}' for k, v in init.items())})", obj):
            obj = obj(**init)
    elif init:
        raise LossCliError(f"--init applies to a class; {name} is not a class")
    if not (callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None))):
        hint = "; for functions give FILE.py:loss_fn,grad_fn" if callable(obj) else ""
        raise UserCodeError(f"{path}: {name} needs forward(y_pred, y_true) and backward() methods{hint}")

    def gradient(*inputs):
        _scalar(path, f"{name}.forward", obj.forward, inputs)
        return _array(path, f"{name}.backward", obj.backward, ())

    return UserLoss(label, lambda *inputs: _scalar(path, f"{name}.forward", obj.forward, inputs), gradient)


def _call(path: Path, what: str, function, inputs):
    with running(path, what, function):
        return function(*(np.array(value, copy=True) for value in inputs))


def _scalar(path, what, function, inputs) -> float:
    result = np.asarray(_call(path, what, function, inputs))
    if result.size != 1 or not np.issubdtype(result.dtype, np.number):
        raise UserCodeError(f"{path}: {what} returned {_describe(result)}, expected a scalar loss")
    return float(result.reshape(()))


def _array(path, what, function, inputs) -> np.ndarray:
    result = _call(path, what, function, inputs)
    try:
        return np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserCodeError(f"{path}: {what} returned {_describe(result)}, expected a gradient array") from None


def _describe(value) -> str:
    array = np.asarray(value)
    return f"an array of shape {array.shape}" if array.ndim else f"{type(value).__name__} {value!r}"


def borrow_inputs(like: str, *, params: Mapping | None = None, size: int = 100, seed: int = 0,
                  target_format: str = "onehot") -> dict[str, np.ndarray]:
    """Inputs drawn by a registered loss's generator, with class targets shaped for user code.

    The generators give class ids; "onehot" (default: the seed's protocol, y_true one-hot
    [N, C]) expands them to rows over the C classes of the scores, "index" passes integer ids.
    """
    if target_format not in TARGET_FORMATS:
        raise LossCliError(f"unknown target format {target_format!r} (valid: {', '.join(TARGET_FORMATS)})")
    spec = get_loss(like)
    arrays = spec.sample(np.random.default_rng(seed), size, spec.resolve_params(params))
    scores = arrays[spec.inputs[0].name]
    for input_spec in spec.inputs:
        values = arrays[input_spec.name]
        if input_spec.domain in CLASS_DOMAINS and values.ndim == scores.ndim - 1:
            ids = values.astype(np.int64)
            arrays[input_spec.name] = (np.eye(scores.shape[-1])[ids] if target_format == "onehot" else ids)
    return arrays


def validated_inputs(like: str, arrays: Mapping[str, np.ndarray], params: Mapping | None = None):
    """Arrays read for user code, checked against the shapes and domains of ``like``."""
    spec, checked, resolved = prepare(like, dict(arrays), params, "none")
    checked, _, _ = validate(spec, checked, resolved)
    return checked


def check_user_loss(user: UserLoss, arrays: Mapping[str, np.ndarray], settings: Settings) -> GradcheckResult:
    """Check the gradient of the user's scalar with respect to the first input (y_pred).

    There are no per-sample losses, so full mode moves one element at a time (auto: up to
    ELEMENTWISE_LIMIT elements, directional above). The scalar may be a mean, whose gradient
    shrinks as 1/N, so atol is scaled by the gradient's magnitude: atol·max|numeric| in full
    mode, atol·max|analytic| in directional mode (no per-element numeric exists there). Both
    tolerance terms then scale with the gradient, and a gradient 1 % too large fails at every size.
    """
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    name = next(iter(arrays))
    value = user.value(*arrays.values())
    if not np.isfinite(value):
        raise UserCodeError(f"{user.label} returned a non-finite loss ({value}) at the check point")
    gradient = user.gradient(*arrays.values())
    if gradient.shape != arrays[name].shape:
        raise UserCodeError(f"{user.label}: expected a gradient of shape {arrays[name].shape} "
                            f"(that of {name}), got {gradient.shape}")

    def total(values):
        return user.value(*values.values())

    if settings.mode == "directional" or (settings.mode == "auto" and gradient.size > ELEMENTWISE_LIMIT):
        rng = np.random.default_rng(settings.seed)
        check = directional(total, arrays, name, gradient, settings, rng, settings.atol * _max_abs(gradient))
    else:
        diffs = one_at_a_time(total, arrays, name, settings.eps)
        check = judge(name, "full, per element", gradient, diffs, settings.atol * _max_abs(diffs.numeric),
                      settings.rtol, gradient.shape)
    return GradcheckResult(user.label, "the scalar your code returns, atol x max|gradient|", settings, (check,))


def _max_abs(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0
