"""`losscli crosscheck`: one loss under every framework's convention, and why the values differ."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import InputError, LossCliError
from ..registry import get_loss
from .common import FormatOption, OutputFormat, ParamOption, TargetFormat, error_boundary, parse_params, stdout

ConventionOption = Annotated[str | None, typer.Option(
    "--convention", metavar="NAME",
    help="Report what this framework computes: torch, keras, sklearn, optax, xgboost or lightgbm "
         "(default: losscli's own definitions, which follow torch where torch has the loss).")]
ExplainOption = Annotated[bool, typer.Option(
    "--explain", help="With --convention: say which of the framework's choices changed the value, and by how much.")]


def load_arrays(spec, inputs, *, no_header=False, col=None, weights=None, target_format=None):
    """The input files read whole (arrays by input name, weights, error locations): the one place
    crosscheck reads files."""
    from .inputs import load_inputs

    loaded = load_inputs(spec, inputs, header=not no_header, col_selectors=col, weights=weights,
                         target_format=target_format.value if target_format else None)
    return loaded


@error_boundary
def crosscheck(
    loss: Annotated[str, typer.Argument(help="Loss name or alias (see 'losscli list').")],
    inputs: Annotated[list[str], typer.Argument(
        help="Input files in the loss's input order (.csv, .parquet, .npy; - reads CSV from stdin).")],
    param: ParamOption = None,
    weights: Annotated[str | None, typer.Option(
        "--weights", "-w", help="Sample weights: a one-column file, or a column of the first input's file.")] = None,
    col: Annotated[list[str] | None, typer.Option(
        "--col", metavar="INPUT=COLUMNS", help="Columns of an input: a name, a,b,c list or prefix* pattern.")] = None,
    no_header: Annotated[bool, typer.Option("--no-header", help="CSV files have no header row.")] = False,
    target_format: Annotated[TargetFormat | None, typer.Option(
        help="Class targets as one column of ids (index) or one column per class (onehot).")] = None,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Compute a loss under every framework convention that has it, side by side, and explain each
    difference from the default in words and numbers (clip constants, dtype, what the mean
    divides by, parameter defaults, the row that moved most).

    \b
    Example:
        losscli crosscheck bce sample_data/binary_probs.csv sample_data/binary_labels.csv
        losscli crosscheck mae sample_data/eval.parquet --col pred=yhat --col target=y --weights weight
    """
    from ..conventions.explain import crosscheck as crosscheck_loss
    from ..conventions.explain import crosscheck_report
    from ..render.crosscheck import print_crosscheck

    spec = get_loss(loss)
    loaded = load_arrays(spec, inputs, no_header=no_header, col=col, weights=weights, target_format=target_format)
    try:
        rows = crosscheck_loss(spec, loaded.arrays, parse_params(param), weights=loaded.weights)
    except InputError as error:
        raise LossCliError(loaded.explain(error)) from None
    print_crosscheck(stdout, crosscheck_report(spec.name, rows, loaded.weights is not None), output_format.value)


def explain_convention(spec, framework, inputs, raw_params, reading) -> tuple[str, float, list[str]]:
    """compute --explain: (the default's label, its value, the lines that say what changed) on the
    files read whole."""
    from ..conventions import find_convention
    from ..conventions.explain import crosscheck as crosscheck_loss
    from ..conventions.explain import default_label

    if framework is None:
        raise LossCliError("--explain says what a --convention changes: give one")
    spec = get_loss(spec.name)  # the registered spec: the default the convention is explained against
    convention = find_convention(spec, framework)
    loaded = load_arrays(spec, inputs, no_header=not reading["header"], col=reading["col_selectors"],
                         weights=reading["weights"],
                         target_format=TargetFormat(reading["target_format"]) if reading["target_format"] else None)
    try:
        rows = crosscheck_loss(spec, loaded.arrays, raw_params, weights=loaded.weights)
    except InputError as error:
        raise LossCliError(loaded.explain(error)) from None
    default = rows[0]
    mine = next((row for row in rows if row.framework == convention.framework), default)
    return default_label(spec), default.value, mine.explanation
