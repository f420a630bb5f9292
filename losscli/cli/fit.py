"""`losscli fit`: a linear model fitted to a table by each chosen loss, weights side by side."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import replace
from typing import Annotated

import numpy as np
import typer

from ..errors import InputError, LossCliError
from ..fit import DEFAULT_MAX_ITER, fit_many
from ..inputs import InputPlan
from ..registry import get_loss
from ..render.fit import print_fits
from .common import FormatOption, OutputFormat, ParamOption, error_boundary, parse_params, stderr, stdout


def parse_numbers(text: str, option: str) -> list[float]:
    """"1.5,-2,0.5" -> [1.5, -2.0, 0.5]."""
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise LossCliError(f"{option} expects comma-separated numbers, got {text!r}") from None


def split_table(table, target: str, features: str | None):
    """(features table, target table, dropped {column: why}): --features columns, or every
    numeric column but the target and the id-like ones (see :func:`id_like`)."""
    from .. import io

    if table.format == "npy":
        raise LossCliError(f"{table.source}: fit needs named columns for --target and --features: "
                           "give a .csv or .parquet file")
    for option, text, example in (("--target", target, "--target y"), ("--features", features, "--features a,b,c")):
        if text is not None and not all(part.strip() for part in text.split(",")):
            raise LossCliError(f"{table.source}: {option} {text!r} has an empty column name (e.g. {example})")

    target_table = io.select_columns(table, target)
    if target_table.values.shape[1] != 1:
        raise LossCliError(f"{table.source}: --target names one column, got {len(target_table.columns)}")
    dropped = {name: "text" for name in table.skipped_columns}
    if features is None:
        others = [i for i, name in enumerate(table.columns) if name != target_table.columns[0]]
        dropped |= {table.columns[i]: why for i in others if (why := id_like(table.columns[i], table.values[:, i]))}
        keep = [i for i in others if table.columns[i] not in dropped]
        if not keep:
            raise LossCliError(f"{table.source}: no feature columns besides the target {target!r}"
                               + (f" (dropped: {', '.join(dropped)})" if dropped else ""))
        feature_table = replace(table, columns=tuple(table.columns[i] for i in keep), values=table.values[:, keep])
    else:
        feature_table = io.select_columns(table, features)
    if target_table.columns[0] in feature_table.columns:
        raise LossCliError(f"{table.source}: the target {target!r} is also among the --features")
    return feature_table, target_table, dropped


ID_NAME = re.compile(r"(^|[_\W])(id|ids|index|idx|key|row|uuid)$", re.IGNORECASE)


def id_like(name: str, values: np.ndarray) -> str | None:
    """Why a column looks like a row id rather than a feature (None if it does not): its name
    (id, *_id, index, key, row...) or its values (distinct integers in consecutive order)."""
    if ID_NAME.search(name):
        return "an id by its name"
    if values.size > 2 and np.all(values == np.round(values)) and np.all(np.diff(values) == 1):
        return "an id by its values (consecutive integers)"
    return None


@contextmanager
def progress_bars(show: bool, max_iter: int):
    """A factory of per-loss progress callbacks drawing a transient bar on stderr (terminal only)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("fitting {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[value]}"), console=stderr.real, transient=True,
                  disable=not show) as progress:
        def for_loss(name):
            task = progress.add_task(name, total=max_iter, value="")

            def update(iteration, total, value):
                progress.update(task, completed=iteration, value=f"{value:.6g}")
            return update
        yield for_loss


@error_boundary
def fit(
    data: Annotated[str, typer.Argument(help="Table with features and target (.csv, .parquet; - = CSV on stdin).")],
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.")],
    features: Annotated[str | None, typer.Option(
        "--features", help="Feature columns: a,b,c or a prefix* pattern (default: every other column).")] = None,
    loss: Annotated[str, typer.Option("--loss", "-l", help="Comma-separated losses to fit.")] = "mse,mae,huber",
    true_weights: Annotated[str | None, typer.Option(
        "--true-weights", metavar="W1,W2,...", help="Known weights: show each fit's error against them.")] = None,
    param: ParamOption = None,
    max_iter: Annotated[int, typer.Option(min=1, help="Iteration cap per loss.")] = DEFAULT_MAX_ITER,
    no_header: Annotated[bool, typer.Option("--no-header", help="The CSV file has no header row.")] = False,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Fit a linear model (with intercept) by minimising each loss, and compare the weights.

    Regression losses (mse, mae, huber) fit y ≈ X·w + b by iteratively reweighted least
    squares; bce and focal fit a logistic model p = sigmoid(X·w + b) and bce_logits its
    logits, by L-BFGS. Prints per loss the weights, intercept, final mean loss, iterations and
    whether the optimiser converged; --true-weights adds the largest and the L2 error.

    \b
    Example:
        losscli fit sample_data/regression_outliers.csv --target y --loss mse,mae,huber --true-weights 1.5,-2,0.5
        losscli fit clicks.parquet --target clicked --features age,visits --loss bce,focal --format json
    """
    from .. import io

    losses = [name.strip() for name in loss.split(",") if name.strip()]
    if not losses:
        raise LossCliError("--loss expects at least one loss name")
    for name in losses:
        get_loss(name)  # an unknown name fails before the table is read
    params = parse_params(param)
    expected = parse_numbers(true_weights, "--true-weights") if true_weights is not None else None
    table = InputPlan.build(["data"], [data], header=not no_header).load().tables["data"]
    feature_table, target_table, dropped = split_table(table, target, features)
    if expected is not None and len(expected) != len(feature_table.columns):
        raise LossCliError(f"--true-weights has {len(expected)} values for {len(feature_table.columns)} features "
                           f"({', '.join(feature_table.columns)})")
    with progress_bars(stderr.is_terminal, max_iter) as bars:
        try:
            results = fit_many(feature_table.values, target_table.values[:, 0], losses, params=params,
                               names=feature_table.columns, max_iter=max_iter, progress=bars)
        except InputError as error:
            located = feature_table if error.input_name == "features" else target_table
            raise LossCliError(io.describe_location(error, located)) from None
    # said once the fit succeeded: a bad input stays one line on stderr
    stderr.print(f"fit: features {', '.join(feature_table.columns)}; target {target_table.columns[0]}"
                 + "".join(f"; dropped {name} ({why})" for name, why in dropped.items())
                 + ("; name a column in --features to use it" if dropped else ""), markup=False)
    for result in results:
        if not result.converged:
            stderr.print(f"warning: {result.loss} did not converge in {result.iterations} iterations "
                         "(raise --max-iter)", markup=False)
    print_fits(stdout, results, output_format.value, true_weights=None if expected is None else np.array(expected))
