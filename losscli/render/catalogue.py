"""Rendering of the registry: the list table and one loss's reference page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..spec import LossSpec
from .common import box_table, format_number, markdown_table, print_rows, to_json

if TYPE_CHECKING:
    from rich.console import Console

LIST_COLUMNS = ("name", "aliases", "task", "inputs", "output_activation", "formula")


def list_rows(specs: tuple[LossSpec, ...]) -> list[dict]:
    """One row per loss; aliases and inputs are lists (JSON keeps them, other formats join them)."""
    return [{"name": spec.name, "aliases": list(spec.aliases), "task": spec.task.value,
             "inputs": list(spec.input_names), "output_activation": spec.output_activation,
             "formula": spec.formula} for spec in specs]


def print_list(console: Console, rows: list[dict], fmt: str) -> None:
    if fmt != "json":
        rows = [{**row, "aliases": ", ".join(row["aliases"]), "inputs": ", ".join(row["inputs"])} for row in rows]
    print_rows(console, rows, LIST_COLUMNS, fmt, title="Losses")


def example_command(spec: LossSpec) -> str:
    return " ".join(["losscli compute", spec.name, *spec.example_files])


def describe_data(spec: LossSpec) -> dict:
    return {
        "name": spec.name, "aliases": list(spec.aliases), "task": spec.task.value,
        "formula": spec.formula, "gradient_formula": spec.gradient_formula,
        "when_to_use": spec.when_to_use, "output_activation": spec.output_activation,
        "inputs": [{"name": item.name, "shape": item.shape_text(), "domain": item.domain.value,
                    "differentiable": item.differentiable, "help": item.help} for item in spec.inputs],
        "params": [{"name": param.name, "default": param.default, "range": param.range_text(), "help": param.help}
                   for param in spec.params],
        "reductions": list(spec.reductions), "notes": spec.notes, "torch_equivalent": spec.torch_equivalent,
        "accurate_range": spec.accurate_range or None, "example": example_command(spec),
        "conventions": convention_rows(spec),
    }


def convention_rows(spec: LossSpec) -> list[dict]:
    """The frameworks that compute this loss (--convention NAME) and how each differs from the default."""
    from ..conventions import conventions_of

    return [{"framework": item.framework, "computed_as": item.api,
             "differences": "; ".join([knob.text for knob in item.knobs] + ([item.notes] if item.notes else []))
             or "none"} for item in conventions_of(spec)]


def _fields(data: dict) -> list[dict]:
    rows = [("name", data["name"]), ("aliases", ", ".join(data["aliases"]) or "(none)"), ("task", data["task"]),
            ("formula", data["formula"]), ("gradient", data["gradient_formula"]),
            ("when to use", data["when_to_use"]), ("output activation", data["output_activation"]),
            ("reductions", ", ".join(data["reductions"]))]
    if data["notes"]:
        rows.append(("notes", data["notes"]))
    if data["torch_equivalent"]:
        rows.append(("PyTorch", data["torch_equivalent"]))
    if data["accurate_range"]:
        rows.append(("accurate range", data["accurate_range"]))
    rows.append(("example", data["example"]))
    return [{"field": field, "value": value} for field, value in rows]


def _input_rows(data):
    return [{**item, "differentiable": "yes" if item["differentiable"] else "no"} for item in data["inputs"]]


def _param_rows(data):
    return [{**param, "default": format_number(param["default"])} for param in data["params"]]


INPUT_COLUMNS = ("name", "shape", "domain", "differentiable", "help")
PARAM_COLUMNS = ("name", "default", "range", "help")
CONVENTION_COLUMNS = ("framework", "computed_as", "differences")
CONVENTION_TITLE = "Conventions (--convention NAME)"


def print_description(console: Console, data: dict, fmt: str) -> None:
    if fmt == "json":
        console.out(to_json(data))
    elif fmt == "table":
        console.print(box_table(_fields(data), ("field", "value"), title=data["name"]))
        console.print(box_table(_input_rows(data), INPUT_COLUMNS, title="Inputs, in order"))
        if data["params"]:
            console.print(box_table(_param_rows(data), PARAM_COLUMNS, title="Parameters"))
        if data["conventions"]:
            console.print(box_table(data["conventions"], CONVENTION_COLUMNS, title=CONVENTION_TITLE))
    elif fmt == "markdown":
        parts = [f"### {data['name']}", markdown_table(_fields(data), ("field", "value")),
                 "Inputs, in order:", markdown_table(_input_rows(data), INPUT_COLUMNS)]
        if data["params"]:
            parts += ["Parameters:", markdown_table(_param_rows(data), PARAM_COLUMNS)]
        if data["conventions"]:
            parts += [CONVENTION_TITLE + ":", markdown_table(data["conventions"], CONVENTION_COLUMNS)]
        console.out("\n\n".join(parts))
    else:
        print_rows(console, _fields(data), ("field", "value"), fmt)
