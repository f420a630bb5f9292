"""The report of `losscli gradcheck`: one dict per checked loss (the JSON contract), rendered.

JSON contract (``--format json``) of one loss, ``passed`` at the top level::

    {"passed": true, "loss": "mse", "differentiated": "sum of per-sample losses", "method": "full",
     "framework": null, "settings": {"eps": 1e-06, "atol": 0.0, "rtol": 0.001, "mode": "auto",
                                     "directions": 5, "seed": 0, "size": 100},
     "inputs": [{"name": "pred", "method": "full", "checked": 100, "unit": "elements", "kinks": 0,
                 "below_noise": 0, "failed": 0, "max_abs_error": ..., "max_rel_error": ...,
                 "worst_index": [45], "analytic": ..., "numeric": ..., "ratio": ..., "tolerance": ...,
                 "worst_inputs": {"pred": ..., "target": ...}, "worst": [up to 3 such elements],
                 "passed": true}],
     "against": null}

``against`` (user code with --against): {"reference", "matched_as", "tolerance", "passed",
"worst": {"case", "relative", "yours", "reference", "row"}, "cases": [...]}. ``--all`` gives
``{"passed": ..., "losses": [one such object per loss]}``. worst_index is an index into the
input (full mode) or the direction number (directional mode).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from .common import format_number, print_rows, to_json

if TYPE_CHECKING:
    from rich.console import Console

INPUT_COLUMNS = ("input", "method", "checked", "kinks", "below noise", "failed", "max rel err", "worst at",
                 "analytic", "numeric", "ratio", "verdict")
SUMMARY_COLUMNS = ("loss", "input", "method", "checked", "kinks", "below noise", "failed", "max rel err", "verdict")


def _element(element) -> dict:
    return {"index": list(element.index), "analytic": element.analytic, "numeric": element.numeric,
            "ratio": element.ratio, "tolerance": element.tolerance, "inputs": element.inputs,
            "passed": element.passed}


def check_data(check) -> dict:
    """One input's check; the worst element's fields flattened for the table and the verdict."""
    worst = [_element(element) for element in check.worst]
    first = worst[0] if worst else {"index": None, "analytic": None, "numeric": None, "ratio": None,
                                     "tolerance": None, "inputs": {}}
    return {"name": check.name, "method": check.method, "checked": check.checked, "unit": check.unit,
            "kinks": check.kinks, "below_noise": check.below_noise, "failed": check.failed,
            "max_abs_error": check.max_abs_error, "max_rel_error": check.max_rel_error,
            "worst_index": first["index"], "analytic": first["analytic"], "numeric": first["numeric"],
            "ratio": first["ratio"], "tolerance": first["tolerance"], "worst_inputs": first["inputs"],
            "worst": worst, "passed": check.passed}


def _against_data(comparison) -> dict | None:
    if comparison is None:
        return None
    return {"reference": comparison.reference, "matched_as": comparison.matched_as,
            "tolerance": comparison.tolerance, "passed": comparison.passed, "worst": asdict(comparison.worst),
            "cases": [asdict(case) for case in comparison.cases]}


def result_data(result) -> dict:
    """The JSON-ready report of one :class:`~losscli.checker.GradcheckResult`."""
    return {"passed": result.passed, "loss": result.loss, "differentiated": result.differentiated,
            "method": result.method, "framework": result.framework, "settings": asdict(result.settings),
            "inputs": [check_data(check) for check in result.inputs], "against": _against_data(result.against)}


def all_data(results) -> dict:
    return {"passed": all(result.passed for result in results), "losses": [result_data(r) for r in results]}


def _where(item: dict, index=None) -> str:
    index = item["worst_index"] if index is None else index
    if index is None:
        return ""
    if item["unit"] == "directions":
        return f"direction {index[0]}"
    return "[" + ", ".join(map(str, index)) + "]"


def input_row(item: dict, loss: str | None = None) -> dict:
    """One table row: the relative error to 3 significant digits, the worst values to 7 (enough to see 1 %)."""
    checked = str(item["checked"]) if item["unit"] == "elements" else f"{item['checked']} dirs"
    row = {"input": item["name"], "method": item["method"], "checked": checked, "kinks": item["kinks"],
           "below noise": item["below_noise"], "failed": item["failed"],
           "max rel err": format_number(item["max_rel_error"], 3), "worst at": _where(item),
           "analytic": format_number(item["analytic"], 7), "numeric": format_number(item["numeric"], 7),
           "ratio": format_number(item["ratio"], 7), "verdict": "pass" if item["passed"] else "FAIL"}
    return row if loss is None else {"loss": loss, **row}


def _values(inputs: dict) -> str:
    def shown(value):
        if isinstance(value, list):
            flat = [format_number(v, 7) for v in value][:12]
            return "[" + ", ".join(flat) + (", …]" if len(value) > 12 else "]")
        return format_number(value, 7)

    return ", ".join(f"{name} = {shown(value)}" for name, value in inputs.items())


def verdict_lines(data: dict) -> list[str]:
    """"PASSED" or "FAILED", and for a failure each failing input's count and worst elements:
    where, analytic vs numeric, their ratio and the inputs there (which branch of the code)."""
    lines = []
    for item in data["inputs"]:
        if item["passed"]:
            continue
        lines.append(f"FAILED: d/d{item['name']}: {item['failed']} of {item['checked']} {item['unit']} outside "
                     f"the tolerance")
        for element in (e for e in item["worst"] if not e["passed"]):
            lines.append(f"  at {_where(item, element['index'])}: analytic {format_number(element['analytic'])} vs "
                         f"numeric {format_number(element['numeric'])} (ratio {format_number(element['ratio'])}, "
                         f"tolerance {format_number(element['tolerance'], 3)})"
                         + (f"; inputs there: {_values(element['inputs'])}" if element["inputs"] else ""))
    against = data["against"]
    if against is not None:
        worst = against["worst"]
        where = "" if worst["row"] is None else f", row {worst['row']}"
        lines.append(f"{'values' if against['passed'] else 'FAILED: values'} vs {against['reference']} "
                     f"({against['matched_as']}): worst relative difference {format_number(worst['relative'], 3)} "
                     f"on {worst['case']}{where} (yours {format_number(worst['yours'])}, {against['reference']} "
                     f"{format_number(worst['reference'])}); tolerance {format_number(against['tolerance'])}")
    if data["passed"]:
        left_out = [f"{sum(item[key] for item in data['inputs'])} {label}"
                    for key, label in (("kinks", "at kinks"), ("below_noise", "below rounding noise"))
                    if any(item[key] for item in data["inputs"])]
        lines.insert(0, "PASSED" + (f" ({', '.join(left_out)}, left out of the verdict)" if left_out else ""))
    return lines


def print_result(console: Console, result, fmt: str) -> None:
    """One loss: a row per differentiable input, then the verdict."""
    data = result_data(result)
    if fmt == "json":
        console.out(to_json(data))
        return
    settings = data["settings"]
    title = (f"gradcheck {data['loss']}: {data['differentiated']}"
             + (f" ({data['framework']})" if data["framework"] else "")
             + f", eps={format_number(settings['eps'])} rtol={format_number(settings['rtol'])}"
             + (f" atol={format_number(settings['atol'])}" if settings["atol"] else ""))
    print_rows(console, [input_row(item) for item in data["inputs"]], INPUT_COLUMNS, fmt, title)
    if fmt in ("table", "markdown"):
        for line in verdict_lines(data):
            console.print(line, markup=False)


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
