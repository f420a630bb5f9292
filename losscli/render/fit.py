"""Rendering of fitted linear models: losses side by side (one column each), CSV rows or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .common import format_number, print_rows, to_json
from .compare import params_text, side_by_side

if TYPE_CHECKING:
    from rich.console import Console

VALUE_DIGITS = 10


def _weight_key(feature: str) -> str:
    return f"w_{feature}"


def named_weights(result) -> dict[str, float]:
    """{feature name: weight}."""
    return {name: float(value) for name, value in zip(result.features, result.weights, strict=True)}


def weight_errors(weights: np.ndarray, true_weights) -> dict:
    """max_j |w_j - w_true_j| and ||w - w_true||₂."""
    difference = np.asarray(weights) - np.asarray(true_weights, dtype=np.float64)
    return {"max_error": float(np.max(np.abs(difference))), "l2_error": float(np.linalg.norm(difference))}


def fit_record(result, true_weights=None, dataset: str | None = None) -> dict:
    """One flat record (the CSV row) for a :class:`losscli.fit.FitResult`."""
    record = {"dataset": dataset, "loss": result.loss, "params": params_text(result.params)}
    record.update({_weight_key(name): value for name, value in named_weights(result).items()})
    record.update({"intercept": result.intercept, "value": result.value, "iterations": result.iterations,
                   "converged": result.converged, "method": result.method})
    if true_weights is not None:
        record.update(weight_errors(result.weights, true_weights))
    return record


def fit_dict(result, true_weights=None, dataset: str | None = None) -> dict:
    """Everything about one fit as plain data (the JSON output)."""
    data = {"dataset": dataset} if dataset else {}
    data.update({
        "loss": result.loss, "params": result.params, "method": result.method, "link": result.link,
        "weights": named_weights(result), "intercept": result.intercept, "value": result.value,
        "iterations": result.iterations, "converged": result.converged,
    })
    if true_weights is not None:
        data["weight_error"] = weight_errors(result.weights, true_weights)
    return data


def csv_columns(features: Sequence[str], *, dataset: bool, errors: bool) -> list[str]:
    columns = (["dataset"] if dataset else []) + ["loss", "params"] + [_weight_key(name) for name in features]
    columns += ["intercept", "value", "iterations", "converged", "method"]
    return columns + (["max_error", "l2_error"] if errors else [])


def _metrics(features: Sequence[str], errors: bool) -> list[tuple[str, str]]:
    metrics = [("params", "params")] + [(_weight_key(name), f"w {name}") for name in features]
    metrics += [("intercept", "intercept"), ("value", "final loss"), ("iterations", "iterations")]
    return metrics + ([("max_error", "max |w - w_true|"), ("l2_error", "||w - w_true||")] if errors else [])


def _table_record(record: dict) -> dict:
    shown = dict(record)
    shown["value"] = format_number(record["value"], VALUE_DIGITS)
    shown["iterations"] = f"{record['iterations']}{'' if record['converged'] else ' (not converged)'}"
    return shown


def print_fits(console: Console, results: Sequence, fmt: str, *, true_weights=None,
               datasets: Sequence[str] | None = None, title: str | None = None) -> None:
    """Fitted models in ``fmt``; ``datasets`` labels each result, one table per data set ("TITLE: LABEL")."""
    labels = list(datasets) if datasets is not None else [None] * len(results)
    pairs = list(zip(results, labels, strict=True))
    if fmt == "json":
        console.out(to_json([fit_dict(result, true_weights, label) for result, label in pairs]))
        return
    records = [fit_record(result, true_weights, label) for result, label in pairs]
    features, errors = results[0].features, true_weights is not None
    if fmt == "csv":
        print_rows(console, records, csv_columns(features, dataset=datasets is not None, errors=errors), fmt)
        return
    for position, label in enumerate(dict.fromkeys(labels)):
        chosen = [_table_record(record) for record in records if record["dataset"] == label]
        rows, columns = side_by_side(chosen, "loss", _metrics(features, errors))
        heading = ": ".join(part for part in (title, label) if part) or None
        if position:
            console.print()
        print_rows(console, rows, columns, fmt, heading)
