"""What every command shares: consoles, the error boundary, output formats and -p parsing."""

from __future__ import annotations

import functools
from enum import Enum
from typing import Annotated

import typer

from ..errors import LossCliError, ParameterError


class LazyConsole:
    """A rich Console made on first use: importing rich costs start-up that --version and
    --help do not need. Attribute access goes to the real console (``.real``).

    Its width: ``--width N`` when given (:func:`force_width`), else COLUMNS when set, else the
    terminal's; written to a pipe or a file, or with CI set, tables take their natural width,
    so a log never holds a folded cell."""

    forced_width: int | None = None

    def __init__(self, **options):
        self._options, self._console = options, None

    @property
    def real(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=True, width=self._width(), **self._options)
        return self._console

    def _width(self) -> int | None:
        import os
        import sys

        if LazyConsole.forced_width is not None:
            return LazyConsole.forced_width
        if os.environ.get("COLUMNS", "").isdigit():
            return int(os.environ["COLUMNS"])
        stream = sys.stderr if self._options.get("stderr") else sys.stdout
        return NATURAL_WIDTH if os.environ.get("CI") or not stream.isatty() else None

    def out(self, text: str = "", end: str = "\n") -> None:
        """Plain text (JSON, CSV, a value, Markdown) written as it is: rich is not needed for it."""
        if self._console is not None:
            self._console.out(text, end=end)
            return
        stream = self._stream()
        stream.write(text + end)
        stream.flush()

    def print(self, *objects, markup: bool | None = None, **options) -> None:
        """A box table laid out for this console's width, or text as it is; anything else (or
        rich markup) through rich."""
        from ..render.boxtable import BoxTable

        if not options and markup is not True and all(isinstance(item, str | BoxTable) for item in objects):
            width = self._width()
            if width is None:  # a terminal
                import shutil

                width = shutil.get_terminal_size().columns
            self.out(" ".join(item.render(width) if isinstance(item, BoxTable) else item for item in objects))
            return
        self.real.print(*objects, markup=markup, **options)

    @property
    def is_terminal(self) -> bool:
        """Whether the stream is a terminal (progress bars are drawn there only)."""
        return self._stream().isatty()

    def _stream(self):
        import sys

        return sys.stderr if self._options.get("stderr") else sys.stdout

    def __getattr__(self, name):
        return getattr(self.real, name)


NATURAL_WIDTH = 1 << 20  # wider than any table: each takes its natural width
stdout = LazyConsole()
stderr = LazyConsole(stderr=True)


def force_width(width: int | None) -> None:
    """--width N: lay tables out for N columns (a cell still never folds: see render.common)."""
    LazyConsole.forced_width = width
    for console in (stdout, stderr):
        console._console = None

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


def complete_loss(incomplete: str) -> list[str]:
    """Shell completion of loss names and aliases (the last item of a comma list)."""
    from ..registry import LOSSES

    head, comma, last = incomplete.rpartition(",")
    return [head + comma + name for spec in LOSSES for name in (spec.name, *spec.aliases) if name.startswith(last)]


def complete_param(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of -p KEY= for the parameters of the losses already on the command line."""
    from ..errors import UnknownLossError
    from ..registry import get_loss

    # while completing, click leaves the positional arguments unparsed in ctx.args
    words = [ctx.params.get("loss") or ctx.params.get("target") or "", *(ctx.params.get("arguments") or ()),
             *ctx.args]
    specs = []
    for name in (name for word in words for name in str(word).split(",")):
        try:
            specs.append(get_loss(name))
        except UnknownLossError:
            continue
    specs = list(dict.fromkeys(specs))
    owners = [param.name for spec in specs for param in spec.params]
    # a parameter of one of the losses is given plainly; one several share needs LOSS.NAME=
    options = [f"{spec.name}.{param.name}=" if owners.count(param.name) > 1 else f"{param.name}=" for spec in specs
               for param in spec.params]
    return [option for option in dict.fromkeys(options) if option.startswith(incomplete)]


FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", metavar="KEY=VALUE", help="Loss parameter, repeatable (e.g. -p delta=2).",
                 autocompletion=complete_param),
]
WeightsOption = Annotated[str | None, typer.Option(
    "--weights", "-w", help="Sample weights: a one-column file, or a column of the first input's file.")]
ColumnsOption = Annotated[list[str] | None, typer.Option(
    "--col", metavar="INPUT=COLUMNS", help="Columns of an input: a name, a,b,c list or prefix* pattern.")]
NoHeaderOption = Annotated[bool, typer.Option("--no-header", help="CSV files have no header row.")]
TargetFormatOption = Annotated[TargetFormat | None, typer.Option(
    help="Class targets as one column of ids (index) or one column per class (onehot).")]
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
    from ..sources import is_file_name

    values = [item.partition("=")[2].strip() for item in items or []]
    return [value for value in values if value != "-" and "," not in value and is_file_name(value)]


def _read_vector(key: str, path: str) -> tuple[float, ...]:
    from .. import io

    values = io.as_input_array(io.read_table(path))
    if values.ndim != 1:
        raise ParameterError(f"parameter {key}: {path} must have one column, got {values.shape[1]}")
    return tuple(float(value) for value in values)
