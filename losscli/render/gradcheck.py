"""The report of `losscli gradcheck`: one dict per checked loss (the JSON contract), rendered.

JSON contract (``--format json``) of one loss, ``passed`` at the top level::

    {"passed": true, "loss": "mse", "differentiated": "sum of per-sample losses", "method": "full",
     "settings": {"eps": 1e-06, "atol": 1e-05, "rtol": 0.001, "mode": "auto", "directions": 5,
                  "seed": 0, "size": 100},
     "inputs": [{"name": "pred", "method": "full", "checked": 100, "unit": "elements", "kinks": 0,
                 "max_abs_error": ..., "max_rel_error": ..., "worst_index": [45], "analytic": ...,
                 "numeric": ..., "tolerance": ..., "passed": true}]}

``--all`` gives ``{"passed": ..., "losses": [one such object per loss]}``. worst_index is an
index into the input (full mode) or the direction number (directional mode); null when every
entry was at a kink.
"""

from __future__ import annotations

from dataclasses import asdict

from rich.console import Console

from .common import format_number, print_rows, to_json

INPUT_COLUMNS = ("input", "method", "checked", "kinks", "max abs err", "max rel err", "worst at",
                 "analytic", "numeric", "verdict")
SUMMARY_COLUMNS = ("loss", "input", "method", "checked", "kinks", "max abs err", "max rel err", "verdict")


def result_data(result) -> dict:
    """The JSON-ready report of one :class:`~losscli.gradcheck.GradcheckResult`."""
    inputs = []
    for check in result.inputs:
        item = asdict(check)
        item["worst_index"] = None if check.worst_index is None else list(check.worst_index)
        inputs.append({**item, "unit": check.unit})
    return {"passed": result.passed, "loss": result.loss, "differentiated": result.differentiated,
            "method": result.method, "settings": asdict(result.settings), "inputs": inputs}


def all_data(results) -> dict:
    return {"passed": all(result.passed for result in results), "losses": [result_data(r) for r in results]}


def _worst(item: dict) -> str:
    if item["worst_index"] is None:
        return ""
    if item["unit"] == "directions":
        return f"direction {item['worst_index'][0]}"
    return "[" + ", ".join(map(str, item["worst_index"])) + "]"


def input_row(item: dict, loss: str | None = None) -> dict:
    """One table row: errors to 3 significant digits, the worst values to 7 (enough to see 1 %)."""
    checked = str(item["checked"]) if item["unit"] == "elements" else f"{item['checked']} dirs"
    row = {"input": item["name"], "method": item["method"], "checked": checked, "kinks": item["kinks"],
           "max abs err": format_number(item["max_abs_error"], 3),
           "max rel err": format_number(item["max_rel_error"], 3), "worst at": _worst(item),
           "analytic": format_number(item["analytic"], 7), "numeric": format_number(item["numeric"], 7),
           "verdict": "pass" if item["passed"] else "FAIL"}
    return row if loss is None else {"loss": loss, **row}


def verdict_line(data: dict) -> str:
    """"PASSED" or "FAILED" with the worst failing entry's analytic and numeric values side by side."""
    if data["passed"]:
        kinks = sum(item["kinks"] for item in data["inputs"])
        return "PASSED" + (f" ({kinks} at kinks, left out of the verdict)" if kinks else "")
    item = next(item for item in data["inputs"] if not item["passed"])
    return (f"FAILED: d/d{item['name']} at {_worst(item)}: analytic {format_number(item['analytic'])} "
            f"vs numeric {format_number(item['numeric'])} (tolerance {format_number(item['tolerance'])})")


def print_result(console: Console, result, fmt: str) -> None:
    """One loss: a row per differentiable input, then the verdict."""
    data = result_data(result)
    if fmt == "json":
        console.out(to_json(data))
        return
    settings = data["settings"]
    title = (f"gradcheck {data['loss']}: {data['differentiated']}, eps={format_number(settings['eps'])} "
             f"atol={format_number(settings['atol'])} rtol={format_number(settings['rtol'])}")
    print_rows(console, [input_row(item) for item in data["inputs"]], INPUT_COLUMNS, fmt, title)
    if fmt in ("table", "markdown"):
        console.print(verdict_line(data), markup=False)


def print_summary(console: Console, results, fmt: str) -> None:
    """--all: one table, a row per loss and differentiable input, then the overall verdict."""
    data = all_data(results)
    if fmt == "json":
        console.out(to_json(data))
        return
    rows = [input_row(item, loss["loss"]) for loss in data["losses"] for item in loss["inputs"]]
    print_rows(console, rows, SUMMARY_COLUMNS, fmt, "gradcheck --all: sum of per-sample losses")
    if fmt in ("table", "markdown"):
        failed = [loss["loss"] for loss in data["losses"] if not loss["passed"]]
        console.print(f"FAILED: {', '.join(failed)}" if failed else f"PASSED: all {len(results)} losses",
                      markup=False)
