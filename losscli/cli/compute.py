"""`losscli compute`: one or several losses over the same inputs, read once: values, gradient summaries, CI gates."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import numpy as np
import typer

from ..engine import check_reduction
from ..errors import LossCliError
from ..inputs import InputPlan
from ..render.compute import print_reports, report
from ..routing import resolve_losses, route_params
from ..stream import StreamReducer
from .common import (
    DEFAULT_WORKERS,
    EXIT_CHECK_FAILED,
    ColumnsOption,
    Engine,
    EngineOption,
    NoHeaderOption,
    ParamOption,
    QuietOption,
    SchedulerOption,
    TargetFormatOption,
    TimeoutOption,
    WeightsOption,
    WorkersOption,
    check_engine,
    complete_loss,
    error_boundary,
    parse_params,
    stderr,
    stdout,
)
from .crosscheck import ConventionOption, ExplainOption, explain_convention
from .streaming import id_blocks, output_set, run_locally


class Reduction(str, Enum):
    mean = "mean"
    sum = "sum"
    none = "none"


class NanPolicy(str, Enum):
    raise_ = "raise"
    omit = "omit"
    propagate = "propagate"


class ComputeFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    value = "value"



@error_boundary
def compute(
    loss: Annotated[str, typer.Argument(
        help="Loss name or alias (see 'losscli list'), or a comma list of losses sharing the inputs, read once.",
        autocompletion=complete_loss)],
    inputs: Annotated[list[str], typer.Argument(
        help="Input files in the loss's input order (.csv, .parquet, .npy; - reads CSV from stdin).")],
    param: ParamOption = None,
    reduction: Annotated[Reduction, typer.Option(help="mean, sum, or none (one value per sample).")] = Reduction.mean,
    weights: WeightsOption = None,
    col: ColumnsOption = None,
    ids: Annotated[list[str] | None, typer.Option(
        "--id", metavar="[FILE:]COLUMN",
        help="An id column carried into top rows and --per-sample/--gradient files (repeatable; text allowed).")
    ] = None,
    no_header: NoHeaderOption = False,
    target_format: TargetFormatOption = None,
    output_format: Annotated[ComputeFormat, typer.Option(
        "--format", "-f", help="Output format; value prints the value alone, one per loss.")] = ComputeFormat.table,
    per_sample: Annotated[str | None, typer.Option(
        "--per-sample", metavar="PATH", help="Write each sample's loss (.csv, .parquet or .npy).")] = None,
    gradient: Annotated[str | None, typer.Option(
        "--gradient", metavar="PATH", help="Write dL/d(first input) for the chosen reduction.")] = None,
    fail_above: Annotated[list[str] | None, typer.Option(
        metavar="[LOSS=]X", help="Exit 1 when the value, or any --group-by slice, is above X.")] = None,
    fail_below: Annotated[list[str] | None, typer.Option(
        metavar="[LOSS=]X", help="Exit 1 when the value, or any --group-by slice, is below X.")] = None,
    baseline: Annotated[str | None, typer.Option(
        metavar="FILE", help="A previous --format json output, or a --log file (its last run of the loss).")] = None,
    max_increase: Annotated[list[str] | None, typer.Option(
        metavar="[LOSS=]X[%]", help="Exit 1 when the value (or a slice) rose more than X, or X% of the baseline.")
    ] = None,
    max_decrease: Annotated[list[str] | None, typer.Option(
        metavar="[LOSS=]X[%]", help="Exit 1 when the value (or a slice) fell more than X, or X% of the baseline.")
    ] = None,
    allow_nonfinite: Annotated[bool, typer.Option(
        "--allow-nonfinite", help="Exit 0 even when a value is NaN or infinite.")] = False,
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
    label: Annotated[str | None, typer.Option(
        metavar="TEXT", help="A label for this run (e.g. a commit id), kept in --log and shown by history.")] = None,
    convention: ConventionOption = None,
    explain: ExplainOption = False,
) -> None:
    """Compute one or several losses over predictions and targets read from files.

    Prints the value, the resolved parameters and a gradient summary (L2 norm, largest
    |gradient| and its row, the rows that drive training). Rows are 1-based data rows. Gates
    exit 1 when the value, or any --group-by slice, crosses a threshold or moved too far from a
    --baseline run; a NaN or infinite value exits 1 too (unless --allow-nonfinite).

    \b
    Example:
        losscli compute mse sample_data/outliers_pred.csv sample_data/outliers_target.csv
        losscli compute mse,mae,huber sample_data/eval.parquet --col pred=yhat --col target=y --fail-above mae=2
        losscli compute mae sample_data/eval.parquet --col pred=yhat --col target=y --group-by segment --fail-above 2
    """
    specs = resolve_losses([name for name in loss.split(",") if name.strip()])
    if convention is not None:
        from ..conventions import apply_convention

        specs = [apply_convention(spec, convention) for spec in specs]
    routed = route_params(specs, parse_params(param))
    params = [spec.resolve_params(routed[spec.name]) for spec in specs]
    for spec in specs:
        check_reduction(spec, reduction.value)
    limits = _limits(specs, fail_above, fail_below, max_increase, max_decrease, baseline)
    _check_usage(reduction, limits, log, baseline, per_sample, gradient, engine, output_format, len(specs))
    plan = InputPlan.build(specs[0], inputs, columns=col, weights=weights, ids=ids or (), group_by=group_by,
                           header=not no_header, target_format=target_format.value if target_format else None)
    outputs = output_set(plan, per_sample, gradient, log, param)
    check_engine(engine, scheduler, workers, timeout)
    reducers = [StreamReducer(spec, resolved, reduction.value, nan_policy=nan_policy.value, top=top)
                for spec, resolved in zip(specs, params, strict=True)]
    with outputs:
        if engine is Engine.dask:
            from ..dask_engine import reduce_on_dask

            reduce_on_dask(plan, lambda _: reducers, scheduler=scheduler, workers=workers, timeout=timeout)
            results, per_sample_values = [reducer.result() for reducer in reducers], [None] * len(reducers)
            row_ids = {}
        else:
            results, per_sample_values, row_ids = run_locally(reducers, plan, outputs, per_sample, gradient,
                                                                  quiet)
        sources = {source.name: source.path for source in plan.sources}
        reports = [report(result, sources, _verdict(result, limits, baseline, allow_nonfinite), values, label,
                          id_blocks(row_ids)) for result, values in zip(results, per_sample_values, strict=True)]
        explanations = [_explanation(spec, convention, explain, inputs, param, col, weights, no_header,
                                     target_format, data) for spec, data in zip(specs, reports, strict=True)]
        if log is not None:
            from ..history import encode_record, log_record

            for data in reports:
                outputs.append_line(log, encode_record(log_record(data)))
        outputs.commit()
    if not quiet:
        print_reports(stdout, reports, output_format.value)
        for explanation in filter(None, explanations):
            from ..render.crosscheck import print_explanation

            if output_format is not ComputeFormat.json:
                print_explanation(stdout if output_format is ComputeFormat.table or output_format is
                                  ComputeFormat.markdown else stderr, convention, *explanation)
    failed = [line for data in reports if data["gate"] for line in data["gate"]["failed"]]
    if failed:
        if not quiet:
            for line in failed:
                stderr.print(f"losscli: gate failed: {line}", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)


def _explanation(spec, convention, explain, inputs, param, col, weights, no_header, target_format, data):
    """--convention NAME goes into the report; with --explain, what it changed (also in the report)."""
    if convention is None:
        if explain:
            raise LossCliError("--explain says what a --convention changes: give one")
        return None
    explanation = explain_convention(spec, convention, inputs, parse_params(param), col=col, weights=weights,
                                     header=not no_header, target_format=target_format) if explain else None
    data["convention"] = convention
    data["explanation"] = explanation and explanation[2]
    return explanation


def _limits(specs, fail_above, fail_below, max_increase, max_decrease, baseline) -> list:
    """The gate options as limits (losscli.gates.Limit), each naming a computed loss or none."""
    if not (fail_above or fail_below or max_increase or max_decrease or baseline):
        return []
    from ..gates import CHANGES, Limit, named

    limits = [Limit.parse(kind, text) for kind, texts in (("fail_above", fail_above), ("fail_below", fail_below),
                                                          ("max_increase", max_increase),
                                                          ("max_decrease", max_decrease))
              for text in texts or ()]
    limits = named(limits, [spec.name for spec in specs])
    if baseline is not None and not any(limit.kind in CHANGES for limit in limits):
        raise LossCliError("--baseline is compared through --max-increase or --max-decrease: give one")
    return limits


def _verdict(result, limits, baseline, allow_nonfinite) -> dict | None:
    """The gates' verdict on one result (losscli.gates, imported only when there is a gate or a
    non-finite value to report)."""
    if not limits and (result.value is None or np.isfinite(result.value)):
        return None
    from ..gates import verdict

    return verdict(result, limits, baseline, allow_nonfinite)


def _check_usage(reduction, limits, log, baseline, per_sample, gradient, engine, output_format, losses) -> None:
    """Conflicting options, rejected before anything is read, naming the options."""
    if reduction is Reduction.none and (limits or log is not None or baseline is not None):
        raise LossCliError("gates, --baseline and --log need a single value: use --reduction mean or sum")
    if reduction is Reduction.none and output_format is ComputeFormat.value and losses > 1:
        raise LossCliError("--format value with --reduction none prints one loss's per-sample values: give one loss")
    if engine is Engine.dask and (per_sample or gradient or reduction is Reduction.none):
        raise LossCliError("--engine dask gives the reduced value: drop --per-sample, --gradient, --reduction none")
