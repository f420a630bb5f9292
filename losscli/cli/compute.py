"""`losscli compute`: a loss value and gradient summary from files, with CI gates."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import numpy as np
import typer

from ..engine import check_reduction
from ..errors import LossCliError
from ..inputs import InputPlan
from ..outputs import OutputSet
from ..registry import get_loss
from ..render.compute import print_report, report
from ..stream import StreamReducer, reduce_batches
from .common import (
    DEFAULT_WORKERS,
    EXIT_CHECK_FAILED,
    Engine,
    EngineOption,
    FormatOption,
    OutputFormat,
    ParamOption,
    QuietOption,
    SchedulerOption,
    TargetFormat,
    TimeoutOption,
    WorkersOption,
    check_engine,
    error_boundary,
    parameter_files,
    parse_params,
    stderr,
    stdout,
)


class Reduction(str, Enum):
    mean = "mean"
    sum = "sum"
    none = "none"


class NanPolicy(str, Enum):
    raise_ = "raise"
    omit = "omit"
    propagate = "propagate"


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
    group_by: Annotated[str | None, typer.Option(
        "--group-by", metavar="[FILE:]COLUMN",
        help="The value per slice: a column of the first input's file, or FILE:COLUMN.")] = None,
    quiet: QuietOption = False,
    engine: EngineOption = Engine.local,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = DEFAULT_WORKERS,
    timeout: TimeoutOption = None,
    log: Annotated[str | None, typer.Option(
        "--log", metavar="FILE.jsonl", help="Append this run (time, inputs, loss, params, value) to a log.")] = None,
) -> None:
    """Compute a loss over predictions and targets read from files.

    Prints the value, the resolved parameters and a gradient summary (L2 norm, largest
    |gradient| and its row, the rows that drive training). Rows are 1-based data rows.

    \b
    Example:
        losscli compute mse sample_data/outliers_pred.csv sample_data/outliers_target.csv
        losscli compute huber sample_data/eval.parquet --col pred=yhat --col target=y -p delta=2 --format json
    """
    spec = get_loss(loss)
    params = spec.resolve_params(parse_params(param))
    check_reduction(spec, reduction.value)
    if reduction is Reduction.none and (fail_above is not None or fail_below is not None or log is not None):
        raise LossCliError("--fail-above, --fail-below and --log need a single value: use --reduction mean or sum")
    plan = InputPlan.build(spec, inputs, columns=col, weights=weights, group_by=group_by, header=not no_header,
                           target_format=target_format.value if target_format else None)
    # every file this run writes: never one it reads, committed together or not at all
    outputs = OutputSet({"--per-sample": per_sample, "--gradient": gradient, "--log": log},
                        reads=[*plan.files(), *plan.read_paths(), *parameter_files(param)])
    check_engine(engine, scheduler, workers, timeout)
    reducer = StreamReducer(spec, params, reduction.value, nan_policy=nan_policy.value, top=top)
    with outputs:
        if engine is Engine.dask:
            if per_sample or gradient or reduction is Reduction.none:
                raise LossCliError("--engine dask gives the reduced value: drop --per-sample, --gradient, "
                                   "--reduction none")
            from ..dask_engine import reduce_on_dask

            reduce_on_dask(plan, lambda _: [reducer], scheduler=scheduler, workers=workers, timeout=timeout)
            result, per_sample_values = reducer.result(), None
        else:
            result, per_sample_values = _reduce_locally(reducer, plan, outputs, per_sample, gradient, quiet)
        gate = _gate(result.value, fail_above, fail_below)
        data = report(result, {source.name: source.path for source in plan.sources}, gate, per_sample_values)
        if log is not None:
            from ..history import encode_record, log_record

            outputs.append_line(log, encode_record(log_record(data)))
        outputs.commit()
    if not quiet:
        print_report(stdout, data, output_format.value)
    if gate and not gate["passed"]:
        if not quiet:
            stderr.print(f"losscli: gate failed: {spec.name} = {result.value:.6g} {gate['reason']}", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)


def _reduce_locally(reducer, plan, outputs, per_sample, gradient, quiet):
    """Stream the inputs through the reducer, writing the --per-sample and --gradient tables;
    (result, per-sample values to print or None)."""
    kept_values = reducer.reduction == "none" and not quiet
    per_sample_values = []
    per_sample_table = outputs.table(per_sample) if per_sample else None
    gradient_table = outputs.table(gradient) if gradient else None
    gradient_columns = {}

    def on_outputs(batch, batch_outputs):
        output = batch_outputs[0]
        if per_sample_table is not None:
            per_sample_table.append(loss=output.per_sample)
        if gradient_table is not None:
            gradient_table.append(grad=output.gradient)
            gradient_columns["grad"] = [f"grad_{name}" for name in batch.tables[reducer.gradient_input].columns]
        if kept_values:
            per_sample_values.append(output.per_sample)

    reduce_batches(_with_progress(plan.batches(), quiet), [reducer], on_outputs)
    result = reducer.result()
    if per_sample_table is not None:
        per_sample_table.finish()
    if gradient_table is not None:
        gradient_table.finish({"grad": result.gradient_factor}, gradient_columns)
    return result, np.concatenate(per_sample_values) if per_sample_values else None


def _with_progress(batches, quiet: bool):
    """Batches, with a transient progress line on stderr for long inputs in a terminal."""
    if quiet or not stderr.is_terminal:
        yield from batches
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=stderr.real,
                  transient=True) as progress:
        task = progress.add_task("reading", total=None)
        rows = 0
        for batch in batches:
            rows += batch.rows
            progress.update(task, description=f"{rows:,} rows")
            yield batch


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
