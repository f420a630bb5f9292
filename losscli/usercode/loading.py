"""Load the user's file and turn exceptions raised in it into one line naming file:line and method.

The file is executed as Python code. It is loaded only from the path given
(``importlib.util.spec_from_file_location``; its directory is not added to ``sys.path``).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

from ..errors import LossCliError

EXTRAS = {"torch": "torch", "jax": "jax", "jaxlib": "jax"}  # module -> losscli extra that installs it


class UserCodeError(LossCliError):
    """The user's file could not be loaded, or their code raised: one line naming file:line."""


def parse_target(target: str) -> tuple[Path, tuple[str, ...]]:
    """"dir/file.py:Name" or "dir/file.py:loss_fn,grad_fn" -> (path, names)."""
    path, sep, names = target.rpartition(":")
    parts = tuple(name.strip() for name in names.split(","))
    if not sep or not path or not all(parts) or len(parts) > 2:
        raise LossCliError(f"expected FILE.py:NAME or FILE.py:loss_fn,grad_fn, got {target!r}")
    return Path(path), parts


def parse_init(items: list[str] | None) -> dict[str, object]:
    """--init KEY=VALUE options; values are Python literals (2, 1e-15, 'text') or plain text."""
    kwargs: dict[str, object] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise LossCliError(f"expected --init KEY=VALUE, got {item!r}")
        if key.strip() in kwargs:
            raise LossCliError(f"--init {key.strip()} is given twice")
        try:
            kwargs[key.strip()] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = raw.strip()
    return kwargs


def require(module: str):
    """Import an optional framework, or say in one line which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise LossCliError(f"{module} is not installed: pip install 'losscli[{EXTRAS[module]}]'") from None


def _user_frame(error: BaseException, path: Path) -> tuple[int | None, str | None]:
    """Line and function of the last frame of the user's file in the traceback (or a SyntaxError's line)."""
    target = os.path.realpath(path)
    line, function = None, None
    if isinstance(error, SyntaxError) and error.filename and os.path.realpath(error.filename) == target:
        line = error.lineno
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if os.path.realpath(frame.f_code.co_filename) == target:
            line, function = lineno, getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
    return line, None if function == "<module>" else function


def _definition_line(obj) -> int | None:
    function = obj.__init__ if isinstance(obj, type) else obj
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    return None if code is None else code.co_firstlineno


def _missing_extra(error: BaseException) -> str:
    name = getattr(error, "name", None) or ""
    extra = EXTRAS.get(name.partition(".")[0]) if isinstance(error, ImportError) else None
    return f" (pip install 'losscli[{extra}]')" if extra else ""


@contextmanager
def running(path: Path, what: str, defined_by=None):
    """Turn an exception of the user's code into a one-line UserCodeError naming file:line.

    The line and method are those of the last frame of the user's file in the traceback; when
    there is none (a call with the wrong arguments fails before entering it) the definition line
    of ``defined_by`` and ``what``.
    """
    try:
        yield
    except LossCliError:
        raise
    except (Exception, SystemExit) as error:
        line, function = _user_frame(error, path)
        line = line or (None if defined_by is None else _definition_line(defined_by))
        where = f"{path}:{line}" if line else str(path)
        detail = (str(error).strip().splitlines() or [""])[0]
        message = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
        raise UserCodeError(f"{where}: {message} (raised in {function or what}){_missing_extra(error)}") from error


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


def attribute(module, path: Path, name: str):
    """``module.name``, or an error listing the callables the file does define."""
    if not hasattr(module, name):
        found = ", ".join(n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n)))
        raise UserCodeError(f"{path} has no attribute {name!r} (callables found: {found or 'none'})")
    return getattr(module, name)
