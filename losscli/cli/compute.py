"""`losscli compute`: a loss value and gradient summary from files, with CI gates."""

from __future__ import annotations

import os
from enum import Enum
from typing import Annotated

import numpy as np
import typer

from ..engine import compute as compute_loss
from ..errors import InputError, LossCliError
from ..registry import get_loss
from ..render.compute import print_report, report
from ..summary import GradientStats
from .common import (
    EXIT_CHECK_FAILED,
    FormatOption,
    OutputFormat,
    ParamOption,
    QuietOption,
    error_boundary,
    parse_params,
    stderr,
    stdout,
)
from .inputs import load_inputs


class Reduction(str, Enum):
    mean = "mean"
    sum = "sum"
    none = "none"


class NanPolicy(str, Enum):
    raise_ = "raise"
    omit = "omit"
    propagate = "propagate"


class TargetFormat(str, Enum):
    index = "index"
    onehot = "onehot"


@error_boundary
def compute(
    loss: Annotated[str, typer.Argument(help="Loss name or alias (see 'losscli list').")],
    inputs: Annotated[list[str], typer.Argument(
        help="Input files in the loss's input order (.csv, .parquet, .npy; - reads CSV from stdin).")],
    param: ParamOption = None,
    reduction: Annotated[Reduction, typer.Option(help="mean, sum, or none (one value per sample).")] = Reduction.mean,
    weights: Annotated[str | None, typer.Option(
        "--weights", "-w", help="Sample weights: a one-column file, or a column of the first input's file.")] = None,
    col: Annotated[list[str] | None, typer.Option(
        "--col", metavar="INPUT=COLUMNS", help="Columns of an input: a name, a,b,c list or prefix* pattern.")] = None,
    no_header: Annotated[bool, typer.Option("--no-header", help="CSV files have no header row.")] = False,
    target_format: Annotated[TargetFormat | None, typer.Option(
        help="Class targets as one column of ids (index) or one column per class (onehot).")] = None,
    output_format: FormatOption = OutputFormat.table,
    per_sample: Annotated[str | None, typer.Option(
        "--per-sample", metavar="PATH", help="Write each sample's loss (.csv, .parquet or .npy).")] = None,
    gradient: Annotated[str | None, typer.Option(
        "--gradient", metavar="PATH", help="Write dL/d(first input) for the chosen reduction.")] = None,
    fail_above: Annotated[float | None, typer.Option(help="Exit 1 when the value is above this.")] = None,
    fail_below: Annotated[float | None, typer.Option(help="Exit 1 when the value is below this.")] = None,
    nan_policy: Annotated[NanPolicy, typer.Option(
        help="NaN/inf inputs: raise an error, omit their rows, or propagate to the result.")] = NanPolicy.raise_,
    top: Annotated[int, typer.Option(min=0, help="How many rows of largest gradient to list.")] = 5,
    quiet: QuietOption = False,
) -> None:
    """Compute a loss over predictions and targets read from files.

    Prints the value, the resolved parameters and a gradient summary (L2 norm, largest
    |gradient| and its row, the rows that drive training). Rows are 1-based data rows.

    \b
    Example:
        losscli compute mse sample_data/outliers_pred.csv sample_data/outliers_target.csv
        losscli compute huber sample_data/eval.parquet --col pred=yhat --col target=y -p delta=2 --format json
    """
    from .. import io

    spec = get_loss(loss)
    params = parse_params(param)
    if reduction is Reduction.none and (fail_above is not None or fail_below is not None):
        raise LossCliError("--fail-above/--fail-below need a single value: use --reduction mean or sum")
    if per_sample is not None and gradient is not None and os.path.realpath(per_sample) == os.path.realpath(gradient):
        raise LossCliError(f"--per-sample and --gradient both write {gradient}: give two different paths")
    for output in (per_sample, gradient):
        if output is not None:
            io.file_format(output)  # an unknown extension fails before any file is written
            io.check_output_path(output, [*inputs, *([weights] if weights else [])])
    loaded = load_inputs(spec, inputs, header=not no_header, col_selectors=col,
                         target_format=target_format.value if target_format else None, weights=weights)
    try:
        result = compute_loss(spec, loaded.arrays, params=params, reduction=reduction.value,
                              weights=loaded.weights, nan_policy=nan_policy.value)
    except InputError as error:
        raise LossCliError(loaded.explain(error)) from None
    gradient_input = spec.differentiable_inputs[0]
    stats = GradientStats.of(result.gradients[gradient_input], top=top)
    gate = _gate(result.value, fail_above, fail_below)
    data = report(result, stats, gradient_input, dict(zip(spec.input_names, _sources(inputs, spec), strict=True)),
                  gate)
    if per_sample is not None:
        values = _restore_rows(result.per_sample, result.kept_rows)
        io.write_array(per_sample, values, _per_sample_columns(values))
    if gradient is not None:
        columns = [f"grad_{name}" for name in loaded.tables[gradient_input].columns] or None
        io.write_array(gradient, _restore_rows(result.gradients[gradient_input], result.kept_rows), columns)
    if not quiet:
        print_report(stdout, data, output_format.value)
    if gate and not gate["passed"]:
        if not quiet:
            stderr.print(f"losscli: gate failed: {spec.name} = {result.value:.6g} {gate['reason']}", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)


def _sources(inputs: list[str], spec) -> list[str]:
    return inputs if len(inputs) == len(spec.inputs) else inputs * len(spec.inputs)


def _gate(value, fail_above: float | None, fail_below: float | None) -> dict | None:
    """The CI gate's verdict; NaN never passes a gate."""
    if fail_above is None and fail_below is None:
        return None
    reason = None
    if fail_above is not None and not value <= fail_above:
        reason = f"is above --fail-above {fail_above:g}"
    if fail_below is not None and not value >= fail_below:
        reason = f"is below --fail-below {fail_below:g}"
    return {"fail_above": fail_above, "fail_below": fail_below, "passed": reason is None, "reason": reason}


def _per_sample_columns(values: np.ndarray) -> list[str]:
    """"loss" for one value per row; loss_1..loss_k for [N, D] or [B, T] per-sample losses."""
    width = int(np.prod(values.shape[1:], dtype=np.int64))
    return ["loss"] if width == 1 else [f"loss_{i + 1}" for i in range(width)]


def _restore_rows(values: np.ndarray, kept: np.ndarray | None) -> np.ndarray:
    """Per-row output aligned with the input file: NaN in rows that --nan-policy omit dropped."""
    if kept is None:
        return values
    full = np.full((kept.size, *values.shape[1:]), np.nan)
    full[kept] = values
    return full
