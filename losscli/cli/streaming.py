"""`losscli compute` run locally: batches streamed through every loss's reducer, the per-row
files (--per-sample, --gradient) written as they stream and committed with --log, and a
progress line in a terminal."""

from __future__ import annotations

import numpy as np

from ..outputs import OutputSet
from ..render.common import snake_case
from ..stream import plan_batches, reduce_batches
from .common import parameter_files, stderr


def output_set(plan, per_sample, gradient, log, param) -> OutputSet:
    """Every file this run writes: never one it reads (inputs, weights, ids, groups, glob and
    directory members, the file behind stdin, -p data files), committed together or not at all."""
    return OutputSet({"--per-sample": per_sample, "--gradient": gradient, "--log": log},
                     reads=[*plan.files(), *plan.read_paths(), *parameter_files(param)])


def run_locally(reducers, plan, outputs, per_sample, gradient, quiet):
    """Stream the inputs through every reducer, writing the --per-sample and --gradient tables:
    row (1-based), the --id columns, then a block per loss ({loss} or {loss}_1..k;
    {loss}_grad_{input column}); .npy files hold the values alone, in row order.
    (results, per-sample values to print or None, per loss, and their id columns)."""
    kept_values = reducers[0].reduction == "none" and not quiet
    per_sample_values, kept_ids = [[] for _ in reducers], []
    names = [reducer.spec.name for reducer in reducers]
    tables = {role: outputs.table(path) for role, path in (("loss", per_sample), ("grad", gradient)) if path}
    input_columns, rows = [], [0]

    def on_outputs(batch, batch_outputs):
        input_columns[:] = [snake_case(column) for column in batch.tables[reducers[0].gradient_input].columns]
        first_row = rows[0] + 1
        rows[0] += batch.rows
        by_loss = list(zip(names, batch_outputs, strict=True))
        blocks = {"loss": {name: output.per_sample for name, output in by_loss},
                  "grad": {f"{name}_grad": output.gradient for name, output in by_loss}}
        exponents = {"loss": {}, "grad": {f"{name}_grad": output.gradient_exponent for name, output in by_loss}}
        for role, table in tables.items():
            keys = {} if table.kind == "npy" else {"row": np.arange(first_row, first_row + batch.rows),
                                                   **id_blocks(batch.ids)}
            table.append(exponents[role], **keys, **blocks[role])
        if kept_values:
            kept_ids.append(batch.ids)
            for values, output in zip(per_sample_values, batch_outputs, strict=True):
                values.append(output.per_sample)

    reduce_batches(_with_progress(plan_batches(plan, [reducer.spec for reducer in reducers]), quiet), reducers,
                   on_outputs)
    results = [reducer.result() for reducer in reducers]
    if "loss" in tables:
        tables["loss"].finish()
    if "grad" in tables:
        columns = {f"{name}_grad": [f"{name}_grad_{column}" for column in input_columns] for name in names}
        factors = {f"{name}_grad": result.factor_for for name, result in zip(names, results, strict=True)}
        tables["grad"].finish(factors, {block: given for block, given in columns.items()
                                        if len(given) == _row_width(tables["grad"].shapes.get(block, ()))})
    ids = {name: np.concatenate([item[name] for item in kept_ids]) for name in (kept_ids[0] if kept_ids else {})}
    return results, [np.concatenate(values) if values else None for values in per_sample_values], ids


def id_blocks(ids: dict) -> dict:
    """The --id columns as output blocks, named in the outputs' scheme."""
    return {snake_case(name): np.asarray(values) for name, values in ids.items()}


def _row_width(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


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
