"""The Typer application: global options and the list of commands."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__

app = typer.Typer(
    name="losscli",
    help="Loss values, gradient summaries and gradient checks for predictions in CSV, Parquet or .npy files.",
    context_settings={"help_option_names": ["-h", "--help"]},
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
    """Loss values, gradient summaries and gradient checks from the command line.

    Exit codes: 0 success, 1 a gate or check failed, 2 bad usage or bad input.
    """


def _register() -> None:
    from . import catalogue, compare, compute, demo, fit, plot

    app.command("compute")(compute.compute)
    app.command("list")(catalogue.list_losses)
    app.command("describe")(catalogue.describe)
    app.command("compare")(compare.compare)
    app.command("fit")(fit.fit)
    app.command("demo")(demo.demo)
    app.command("plot")(plot.plot)

    from . import gradcheck

    app.command("gradcheck")(gradcheck.gradcheck)


_register()


def main() -> None:
    app()
