"""`losscli crosscheck`: one loss under every framework's convention, and why the values differ."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import LossCliError
from ..registry import get_loss
from .common import (
    ColumnsOption,
    FormatOption,
    NoHeaderOption,
    OutputFormat,
    ParamOption,
    TargetFormatOption,
    WeightsOption,
    error_boundary,
    parse_params,
    stderr,
    stdout,
)


def show_convention_warnings(convention: str | None) -> str | None:
    """With a convention, print its warnings (input the framework accepts though losscli's default
    would not) as one 'Warning: ...' line on stderr each."""
    if convention is not None:
        import warnings

        from ..conventions import ConventionWarning

        default_show = warnings.showwarning

        def show(message, category, *args, **kwargs):
            if issubclass(category, ConventionWarning):
                stderr.print(f"Warning: {message}", markup=False)
            else:
                default_show(message, category, *args, **kwargs)

        warnings.showwarning = show
    return convention


ConventionOption = Annotated[str | None, typer.Option(
    "--convention", metavar="NAME", callback=show_convention_warnings,
    help="Report what this framework computes: torch, keras, sklearn, optax, xgboost or lightgbm "
         "(default: losscli's own definitions, which follow torch where torch has the loss).")]
ExplainOption = Annotated[bool, typer.Option(
    "--explain", help="With --convention: say which of the framework's choices changed the value, and by how much.")]


def load_whole(spec, inputs, **plan_options):
    """The input files read whole into one batch (arrays by input name, weights, error locations):
    the one place crosscheck reads files."""
    from ..inputs import InputPlan

    return InputPlan.build(spec, inputs, **plan_options).load()


@error_boundary
def crosscheck(
    loss: Annotated[str, typer.Argument(help="Loss name or alias (see 'losscli list').")],
    inputs: Annotated[list[str], typer.Argument(
        help="Input files in the loss's input order (.csv, .parquet, .npy; - reads CSV from stdin).")],
    param: ParamOption = None,
    weights: WeightsOption = None,
    col: ColumnsOption = None,
    no_header: NoHeaderOption = False,
    target_format: TargetFormatOption = None,
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
    batch = load_whole(spec, inputs, columns=col, weights=weights, header=not no_header,
                       target_format=target_format.value if target_format else None)
    with batch.located():
        rows = crosscheck_loss(spec, batch.arrays, parse_params(param), weights=batch.weights)
    print_crosscheck(stdout, crosscheck_report(spec.name, rows, batch.weights is not None), output_format.value)


def explain_convention(spec, framework, inputs, raw_params, *, col, weights, header,
                       target_format) -> tuple[str, float, list[str]]:
    """compute --explain: (the default's label, its value, the lines that say what changed) on the
    files read whole, a second time (so not from stdin)."""
    from ..conventions import find_convention
    from ..conventions.explain import crosscheck as crosscheck_loss
    from ..conventions.explain import default_label

    if framework is None:
        raise LossCliError("--explain says what a --convention changes: give one")
    spec = get_loss(spec.name)  # the registered spec: the default the convention is explained against
    convention = find_convention(spec, framework)
    if "-" in inputs:
        raise LossCliError("--explain reads the inputs a second time: give files, not stdin ('-')")
    batch = load_whole(spec, inputs, columns=col, weights=weights, header=header,
                       target_format=target_format.value if target_format else None)
    with batch.located():
        rows = crosscheck_loss(spec, batch.arrays, raw_params, weights=batch.weights)
    default = rows[0]
    mine = next((row for row in rows if row.framework == convention.framework), default)
    return default_label(spec), default.value, mine.explanation
