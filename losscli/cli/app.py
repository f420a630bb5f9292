"""The Typer application: global options and the commands, each loaded when it is used."""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Annotated

import typer
from typer.core import TyperGroup

from .. import __version__

CONTEXT = {"help_option_names": ["-h", "--help"]}

# name -> "module in losscli.cli:function". A command's module (and the library it imports) is
# loaded only when that command runs or help lists it, so `losscli --version` imports no NumPy.
COMMANDS = {
    "compute": "compute:compute",
    "list": "catalogue:list_losses",
    "describe": "catalogue:describe",
    "gradcheck": "gradcheck:gradcheck",
    "compare": "compare:compare",
    "crosscheck": "crosscheck:crosscheck",
    "fit": "fit:fit",
    "demo": "demo:demo",
    "plot": "plot:plot",
    "history": "history:history",
}


class LazyCommands(TyperGroup):
    """A command group that imports a command's module on first use."""

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str):
        if name not in COMMANDS:
            return None
        module_name, function_name = COMMANDS[name].split(":")
        module = importlib.import_module(f"{__package__}.{module_name}")
        single = typer.Typer(context_settings=CONTEXT, rich_markup_mode=None, pretty_exceptions_enable=False,
                             add_completion=False)
        single.command(name)(with_width_option(getattr(module, function_name)))
        return typer.main.get_command(single)


WidthOption = Annotated[int | None, typer.Option(
    "--width", min=20, metavar="N",
    help="Lay tables out for N columns (default: COLUMNS, the terminal, or their natural width in a pipe).")]


def with_width_option(command):
    """The command with a --width option: added here once rather than to every command."""
    from .common import force_width

    @functools.wraps(command)
    def wrapper(*args, width: int | None = None, **kwargs):
        force_width(width)
        return command(*args, **kwargs)

    signature = inspect.signature(command, eval_str=True)  # typer reads the annotations from it
    width = inspect.Parameter("width", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=WidthOption)
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), width])
    wrapper.__annotations__ = {**command.__annotations__, "width": WidthOption}
    return wrapper


app = typer.Typer(
    name="losscli",
    cls=LazyCommands,
    context_settings=CONTEXT,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"losscli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Loss values, gradient summaries and gradient checks for predictions in CSV, Parquet or .npy.

    Exit codes: 0 success, 1 a gate or check failed, 2 bad usage or bad input.

    \b
    Example:
        losscli compute mse sample_data/outliers_pred.csv sample_data/outliers_target.csv
        losscli gradcheck --all
    """


def main() -> None:
    """Run the app as a well-behaved Unix program.

    SIGTERM and SIGHUP unwind the run like an error (no scratch file is left, no output half
    written), then end the process by that same signal; a closed stdout (``| head -1``) ends it
    quietly by SIGPIPE, as the shell expects (exit 141, never 1: 1 means a check failed).
    """
    import signal
    import sys

    from .stopping import Stopped, closed_pipe, die_by, stop_on_signals

    stop_on_signals()
    usage_error = usage_error_class()
    try:
        # not standalone, so that a usage error is reported here in one line
        exit_code = app(prog_name="losscli", standalone_mode=False)  # prog_name: the same under python -m
    except usage_error as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `losscli`: the help, as Click shows it
            error.show()
        else:
            print(usage_line(error), file=sys.stderr)
        raise SystemExit(error.exit_code) from None
    except Stopped as stop:
        die_by(stop.signal_number)
    except SystemExit as exit_:
        if closed_pipe(exit_):
            die_by(signal.SIGPIPE)
        raise
    raise SystemExit(exit_code if isinstance(exit_code, int) else 0)


def usage_error_class() -> type[Exception]:
    """Click's UsageError, whether Typer vendors Click (0.28) or depends on it: BadParameter's base."""
    return next(base for base in typer.BadParameter.__mro__ if base.__name__ == "UsageError")


def usage_line(error) -> str:
    """Click's usage error in one line: the message, then where the usage is explained."""
    message = " ".join(error.format_message().split())
    command = error.ctx.command_path if error.ctx is not None else "losscli"
    return f"Error: {message} (see {command} -h)"
