"""`losscli compare`: several losses on the same inputs, side by side, with outlier influence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..compare import DEFAULT_TOP
from ..compare import compare as compare_losses
from ..conventions import apply_convention
from ..errors import LossCliError, UnknownLossError
from ..influence import DEFAULT_SHOWN_ROWS
from ..inputs import InputPlan
from ..registry import get_loss
from ..render.compare import print_comparison
from ..routing import resolve_losses, route_params
from ..spec import LossSpec
from .common import (
    DEFAULT_WORKERS,
    ColumnsOption,
    Engine,
    EngineOption,
    FormatOption,
    NoHeaderOption,
    OutputFormat,
    ParamOption,
    SchedulerOption,
    TimeoutOption,
    WeightsOption,
    WorkersOption,
    check_engine,
    error_boundary,
    parse_params,
    stdout,
)
from .crosscheck import ConventionOption


def split_arguments(arguments: list[str]) -> tuple[list[LossSpec], list[str]]:
    """Leading registry names are the losses; everything from the first other argument is a path.

    A first non-loss argument that is not an existing file (nor '-' or a URL/glob) is reported as
    an unknown loss, with the registry's "did you mean" hint.
    """
    specs: list[LossSpec] = []
    for position, argument in enumerate(arguments):
        try:
            specs.append(get_loss(argument))
        except UnknownLossError as error:
            if not specs or not _looks_like_path(argument):
                raise LossCliError(f"no such input file {argument!r}, and {error}" if specs else str(error)) from None
            return specs, arguments[position:]
    return specs, []


def _looks_like_path(argument: str) -> bool:
    return argument == "-" or "://" in argument or any(char in argument for char in "*?[") or Path(argument).exists()


@error_boundary
def compare(
    arguments: Annotated[list[str], typer.Argument(
        metavar="LOSS|INPUT",
        help="Loss names, then the input files shared by all of them (none: a built-in outlier example).")],
    top: Annotated[float, typer.Option(
        "--top", help="Fraction of rows whose share of loss and gradient is reported (at least one row).")
    ] = DEFAULT_TOP,
    param: ParamOption = None,
    weights: WeightsOption = None,
    col: ColumnsOption = None,
    no_header: NoHeaderOption = False,
    group_by: Annotated[str | None, typer.Option(
        "--group-by", metavar="[FILE:]COLUMN",
        help="Also the value of every loss per slice: a column of the first input's file, or FILE:COLUMN.")] = None,
    output_format: FormatOption = OutputFormat.table,
    engine: EngineOption = Engine.local,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = DEFAULT_WORKERS,
    timeout: TimeoutOption = None,
    convention: ConventionOption = None,
) -> None:
    """Compare losses on the same inputs: value, gradient size and outlier influence.

    For each loss: the mean value, the gradient's L2 norm, the largest |gradient| and its row,
    and the share of the loss and of the squared gradient norm held by the top --top fraction
    of rows (at least one), plus the most influential rows. Parameters go to one loss as
    -p huber.delta=2, or as -p delta=2 when only one of the losses has that parameter. Rows
    are 1-based data rows, as in compute.

    \b
    Example:
        losscli compare mse mae huber
        losscli compare mse mae huber sample_data/outliers_pred.csv sample_data/outliers_target.csv --top 0.25
        losscli compare huber mae sample_data/eval.parquet --col pred=yhat --col target=y -p huber.delta=2 -w weight
        losscli compare mse mae 'shards/pred/*.parquet' 'shards/target/*.parquet' --engine dask --workers 4
    """
    specs, paths = split_arguments(arguments)
    specs = [apply_convention(spec, convention) for spec in specs]
    params = parse_params(param)
    check_engine(engine, scheduler, workers, timeout)
    if not paths:
        if weights is not None or col or group_by:
            raise LossCliError("--weights, --col and --group-by need input files")
        if engine is Engine.dask:
            raise LossCliError("--engine dask reads input files: give them (the built-in example runs locally)")
        comparisons = compare_losses(specs, params=params, top=top)
        title = "Outlier example (targets 1, 2, 3, 100; predictions 1.5, 2.5, 3.5, 4.0)"
    else:
        resolve_losses(specs)  # mixed input kinds fail before any file is read
        plan = InputPlan.build(specs[0], paths, columns=col, weights=weights, group_by=group_by,
                               header=not no_header)
        if engine is Engine.dask:
            comparisons = _compare_on_dask(specs, plan, params, top, scheduler, workers, timeout)
        else:
            comparisons = compare_losses(specs, plan, params=params, top=top)
        title = None
    groups = None if group_by is None else {item.name: item.groups for item in comparisons}
    print_comparison(stdout, comparisons, output_format.value, title, groups)


def _compare_on_dask(specs, plan, params, top, scheduler, workers, timeout):
    """Every loss reduced over the shards on a Dask cluster."""
    from ..dask_engine import compare_on_dask

    routed = route_params(specs, params)
    resolved = [spec.resolve_params(routed[spec.name]) for spec in specs]
    return compare_on_dask(specs, resolved, plan, top=top, shown=DEFAULT_SHOWN_ROWS, scheduler=scheduler,
                           workers=workers, timeout=timeout)
