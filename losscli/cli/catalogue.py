"""`losscli list` and `losscli describe`: the registry as tables and reference pages."""

from __future__ import annotations

from typing import Annotated

import typer

from ..registry import LOSSES, get_loss
from ..render.catalogue import describe_data, list_rows, print_description, print_list
from .common import FormatOption, OutputFormat, error_boundary, stdout


@error_boundary
def list_losses(output_format: FormatOption = OutputFormat.table) -> None:
    """List every loss: name, aliases, task, inputs, output activation and formula.

    \b
    Example:
        losscli list
        losscli list --format json
    """
    print_list(stdout, list_rows(LOSSES), output_format.value)


@error_boundary
def describe(
    loss: Annotated[str, typer.Argument(help="Loss name or alias.")],
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Show a loss's formula, gradient, inputs, parameters, when to use it and an example.

    \b
    Example:
        losscli describe huber
    """
    print_description(stdout, describe_data(get_loss(loss)), output_format.value)
