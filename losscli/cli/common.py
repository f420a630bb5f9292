"""What every command shares: consoles, the error boundary, output formats and -p parsing."""

from __future__ import annotations

import functools
from enum import Enum
from typing import Annotated

import typer

from ..errors import LossCliError, ParameterError


class LazyConsole:
    """A rich Console made on first use: importing rich costs start-up that --version and
    --help do not need. Attribute access goes to the real console (``.real``)."""

    def __init__(self, **options):
        self._options, self._console = options, None

    @property
    def real(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=True, **self._options)
        return self._console

    def __getattr__(self, name):
        return getattr(self.real, name)


stdout = LazyConsole()
stderr = LazyConsole(stderr=True)

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class TargetFormat(str, Enum):
    """Class targets: one column of ids, or one column per class (one-hot or probabilities)."""

    index = "index"
    onehot = "onehot"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", metavar="KEY=VALUE", help="Loss parameter, repeatable (e.g. -p delta=2)."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing; only the exit code speaks.")]


class Engine(str, Enum):
    local = "local"
    dask = "dask"


DEFAULT_WORKERS = 2
EngineOption = Annotated[Engine, typer.Option(
    help="local, or dask for sharded Parquet on a Dask cluster (pip install 'losscli[dask]').")]
SchedulerOption = Annotated[str | None, typer.Option(
    metavar="ADDRESS", help="With --engine dask: an existing scheduler, e.g. tcp://10.0.0.5:8786.")]
WorkersOption = Annotated[int, typer.Option(min=1, help="With --engine dask and no --scheduler: local workers.")]
TimeoutOption = Annotated[float | None, typer.Option(
    "--timeout", min=0.001, metavar="SECONDS",
    help="With --scheduler: seconds to connect and hear the scheduler answer (default 30).")]


def check_engine(engine: Engine, scheduler: str | None, workers: int, timeout: float | None = None) -> None:
    """--scheduler, --workers and --timeout only mean something with --engine dask."""
    if engine is Engine.local and (scheduler is not None or workers != DEFAULT_WORKERS):
        raise LossCliError("--scheduler and --workers go with --engine dask")
    if timeout is not None and scheduler is None:
        raise LossCliError("--timeout goes with --engine dask --scheduler ADDRESS")


def fail(message: str) -> typer.Exit:
    """Print one 'Error: ...' line on stderr and return the exit for bad usage or bad input."""
    stderr.print(f"Error: {message}", markup=False)
    return typer.Exit(EXIT_BAD_INPUT)


def error_boundary(command):
    """Turn the library's exceptions into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except LossCliError as error:
            raise fail(str(error)) from None

    return wrapper


def parse_params(items: list[str] | None) -> dict[str, str | tuple[float, ...]]:
    """'-p KEY=VALUE' options as a dict. Values stay strings (the loss spec parses them), but a
    value naming a data file (a vector parameter such as class weights) is read here, as a tuple
    of its one column's numbers. A key given twice is an error."""
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ParameterError(f"expected -p KEY=VALUE, got {item!r}")
        if key in params:
            raise ParameterError(f"-p {key} is given twice: give it once")
        params[key] = _read_vector(key, value) if value in parameter_files([item]) else value
    return params


def parameter_files(items: list[str] | None) -> list[str]:
    """The data files named by '-p KEY=FILE' options (read, so never to be written over)."""
    from ..inputs import is_file_name

    values = [item.partition("=")[2].strip() for item in items or []]
    return [value for value in values if value != "-" and "," not in value and is_file_name(value)]


def _read_vector(key: str, path: str) -> tuple[float, ...]:
    from .. import io

    values = io.as_input_array(io.read_table(path))
    if values.ndim != 1:
        raise ParameterError(f"parameter {key}: {path} must have one column, got {values.shape[1]}")
    return tuple(float(value) for value in values)
