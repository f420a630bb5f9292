"""`losscli history`: the trend of the runs appended by `losscli compute --log FILE.jsonl`."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import LossCliError
from ..history import read_history, trend
from ..render.history import print_history
from .common import FormatOption, OutputFormat, error_boundary, stdout


@error_boundary
def history(
    log: Annotated[str, typer.Argument(metavar="FILE.jsonl", help="A log written by 'losscli compute --log'.")],
    loss: Annotated[str | None, typer.Option("--loss", help="Only this loss's runs (a name or alias).")] = None,
    last: Annotated[int | None, typer.Option("--last", min=1, metavar="N", help="Only the last N runs.")] = None,
    no_time: Annotated[bool, typer.Option(
        "--no-time", help="Leave out the time column (output that does not change from run to run).")] = False,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Show the trend of a --log file: each run's value and change, a sparkline per loss.

    One row per run appended by 'losscli compute --log': time (UTC), loss, params, value, the
    change since the previous run of the same loss (in the whole log, also when --loss or --last
    hides that run) and the gate verdict; then per loss the last, min and max value and a
    sparkline of the shown runs, oldest to newest. JSON prints the records as logged too.

    \b
    Example:
        losscli compute mae sample_data/outliers_pred.csv sample_data/outliers_target.csv --log runs.jsonl
        losscli history runs.jsonl --last 20
    """
    records = read_history(log)
    if loss is not None:
        loss = _logged_name(loss, records, log)
    print_history(stdout, trend(records, loss=loss, last=last), output_format.value, show_time=not no_time)


def _logged_name(loss: str, records: list[dict], log: str) -> str:
    """The loss as logged: the name itself, else its canonical name (aliases such as l2 -> mse)."""
    logged = list(dict.fromkeys(record["loss"] for record in records))
    if loss not in logged:
        from ..registry import get_loss

        loss = get_loss(loss).name
    if loss not in logged:
        raise LossCliError(f"expected a loss logged in {log} ({', '.join(logged) or 'none'}), got {loss!r}")
    return loss
