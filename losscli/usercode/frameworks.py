"""Which framework the user's object belongs to, and the adapter that makes it a :class:`UserLoss`.

Detected from the object: a torch.autograd.Function or nn.Module is torch; a jax.custom_vjp,
custom_jvp or jitted function is JAX; an object with forward() and backward() is the NumPy
protocol; a plain function is torch or JAX when it (or a function it calls) refers to their
modules. ``framework`` overrides detection. torch and JAX are imported only when the user's
file imported them (detection looks at sys.modules) or ``framework`` names them.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from ..errors import LossCliError
from .base import UserLoss
from .jax_code import is_jax_object, jax_loss
from .loading import UserCodeError, attribute, load_module, parse_target
from .numpy_code import function_pair, protocol_object
from .torch_code import is_torch_object, torch_loss

FRAMEWORKS = ("torch", "jax", "numpy")


def referenced_modules(function, depth: int = 2) -> set[str]:
    """Top-level package names of the modules and objects a function's code refers to (and,
    ``depth`` levels down, the functions it calls)."""
    code, namespace = getattr(function, "__code__", None), getattr(function, "__globals__", {})
    if code is None:
        return set()
    found = set()
    for name in code.co_names:
        value = namespace.get(name)
        module = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        if isinstance(module, str):
            found.add(module.partition(".")[0])
        if depth and inspect.isfunction(value):
            found |= referenced_modules(value, depth - 1)
    return found


def detect(obj) -> str:
    if is_torch_object(obj):
        return "torch"
    if is_jax_object(obj):
        return "jax"
    if callable(getattr(obj, "forward", None)) or isinstance(obj, type):
        return "numpy"
    # What the function refers to decides; a function using only tensor methods, by its file's imports.
    for modules in (referenced_modules(obj), imported_modules(obj)):
        kinds = {"torch"} & modules | ({"jax"} if modules & {"jax", "jaxlib"} else set())
        if len(kinds) == 1:
            return kinds.pop()
        if kinds:
            raise LossCliError(f"cannot tell whether {getattr(obj, '__name__', obj)} is torch or JAX code "
                               "(its file imports both): give --framework torch or --framework jax")
    return "numpy"


def imported_modules(function) -> set[str]:
    """Top-level package names of the modules imported by the file that defines ``function``."""
    namespace = getattr(function, "__globals__", {})
    return {value.__name__.partition(".")[0] for value in namespace.values() if inspect.ismodule(value)}


def adapt(label: str, path: Path, names: tuple[str, ...], objects: list, framework: str | None = None,
          init: dict | None = None) -> UserLoss:
    """The user's object(s) as a :class:`UserLoss`; ``path`` is the file errors point into."""
    init = dict(init or {})
    if framework not in (None, *FRAMEWORKS):
        raise LossCliError(f"unknown framework {framework!r} (valid: {', '.join(FRAMEWORKS)})")
    if len(objects) == 2:
        if framework not in (None, "numpy"):
            raise LossCliError(f"FILE.py:loss_fn,grad_fn is NumPy code; --framework {framework} needs FILE.py:NAME")
        if init:
            raise LossCliError("--init applies to a class; FILE.py:loss_fn,grad_fn takes no init arguments")
        return function_pair(label, path, names, objects)
    obj = objects[0]
    kind = framework or detect(obj)
    if kind == "torch":
        return torch_loss(label, path, names[0], obj, init)
    if kind == "jax":
        return jax_loss(label, path, names[0], obj, init)
    if callable(getattr(obj, "forward", None)) or isinstance(obj, type):
        return protocol_object(label, path, names[0], obj, init)
    raise UserCodeError(f"{path}: {names[0]} is a function with no gradient of its own: give "
                        "FILE.py:loss_fn,grad_fn, or --framework torch|jax for autograd to differentiate it")


def load_user_loss(target: str, init: dict | None = None, framework: str | None = None) -> UserLoss:
    """Load FILE.py:NAME or FILE.py:loss_fn,grad_fn as a :class:`UserLoss`."""
    path, names = parse_target(target)
    module = load_module(path)
    objects = [attribute(module, path, name) for name in names]
    return adapt(f"{path}:{','.join(names)}", path, names, objects, framework, init)


def adapt_object(obj, framework: str | None = None, init: dict | None = None) -> UserLoss:
    """A Python object (or a (loss_fn, grad_fn) pair) given to ``losscli.gradcheck`` directly."""
    objects = list(obj) if isinstance(obj, tuple) else [obj]
    names = tuple(getattr(o, "__qualname__", None) or getattr(o, "__name__", None) or type(o).__name__
                  for o in objects)
    return adapt(",".join(names), _source_path(objects[0]), names, objects, framework, init)


def _source_path(obj) -> Path:
    """The file that defines ``obj`` (through jax's wrappers), for error lines."""
    for candidate in (obj, getattr(obj, "fun", None), getattr(obj, "__wrapped__", None), type(obj)):
        try:
            found = candidate is not None and inspect.getsourcefile(candidate)
        except TypeError:
            continue
        if found:
            return Path(found)
    return Path("<unknown>")
