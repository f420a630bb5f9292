"""Curves of losses and their gradients: the seed's pictures, as data, PNG or text.

Regression losses are drawn against the residual a = ŷ - y (pred = a, target = 0); binary
losses against the predicted probability of the true class p_t (target = 1, pred = p_t, or
logits = log(p_t / (1 - p_t)) for logit losses). Each curve is the per-sample loss ℓ(x) and its
gradient ∂ℓ/∂(first input) from the registry. A parameter given as a comma list
(``focal.gamma=0,1,2,5``) draws one curve per value.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .engine import compute
from .errors import LossCliError
from .registry import get_loss
from .routing import route_params
from .spec import Domain, LossSpec, Task

DEFAULT_RANGES = {"residual": (-3.0, 3.0), "probability": (0.05, 1.0)}
AXIS_LABELS = {"residual": "residual  ŷ - y", "probability": "predicted probability of the true class  p_t"}
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
DEFAULT_POINTS = 401
GRADIENT_TITLES = {"residual": "gradient ∂ℓ/∂ŷ", "probability": "gradient ∂ℓ/∂p  (∂ℓ/∂logit for logit losses)"}
LINE_STYLES = ("-", "--", "-.", ":")


@dataclass(frozen=True)
class Curve:
    """One loss (with one parameter setting) over the x grid: ℓ(x) [P] and ∂ℓ/∂input [P]."""

    label: str
    loss: np.ndarray
    gradient: np.ndarray


@dataclass(frozen=True)
class CurveSet:
    """Curves sharing an x axis ("residual" or "probability") with its grid x [P]."""

    axis: str
    x: np.ndarray
    curves: tuple[Curve, ...]

    @property
    def x_label(self) -> str:
        return AXIS_LABELS[self.axis]


def curve_axis(spec: LossSpec) -> str:
    """"residual" for regression losses, "probability" for binary ones; others cannot be drawn."""
    if spec.task is Task.REGRESSION and spec.input_names == ("pred", "target"):
        return "residual"
    if spec.task is Task.BINARY:
        return "probability"
    raise LossCliError(f"plot draws regression and binary losses, not {spec.name} ({spec.task.value})")


def parse_range(text: str | None, axis: str) -> tuple[float, float]:
    """"a,b" -> (a, b) with a < b (probabilities within [0, 1]); None -> the axis's default."""
    if text is None:
        return DEFAULT_RANGES[axis]
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise LossCliError(f"--range expects two numbers a,b, got {text!r}") from None
    if not low < high:
        raise LossCliError(f"--range expects a < b, got {text!r}")
    if axis == "probability" and not (0.0 <= low and high <= 1.0):
        raise LossCliError(f"--range for probabilities must lie within [0, 1], got {text!r}")
    return low, high


def expand_params(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of comma-listed values: {"gamma": "0,2"} -> [{"gamma": "0"}, {"gamma": "2"}]."""
    names = list(params)
    choices = [str(value).split(",") if isinstance(value, str) else [value] for value in params.values()]
    return [dict(zip(names, combination, strict=True)) for combination in itertools.product(*choices)]


def evaluate(spec: LossSpec, x: np.ndarray, axis: str, params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample ℓ and ∂ℓ/∂(first input) at each grid point (reduction "none")."""
    if axis == "residual":
        inputs = {"pred": x, "target": np.zeros_like(x)}
    else:
        scores = x if spec.inputs[0].domain is Domain.PROBABILITY else _logit(x)
        inputs = {spec.inputs[0].name: scores, spec.inputs[1].name: np.ones_like(x)}
    result = compute(spec, inputs, params=params, reduction="none")
    return np.asarray(result.per_sample), result.gradients[spec.inputs[0].name]


def _logit(prob: np.ndarray) -> np.ndarray:
    # Clip so p_t = 0 or 1 at the ends of the range give large finite logits.
    prob = np.clip(prob, 1e-12, 1.0 - 1e-12)
    return np.log(prob) - np.log1p(-prob)


def loss_curves(losses: Sequence[str | LossSpec], params: Mapping[str, Any] | None = None,
                x_range: str | tuple[float, float] | None = None, points: int = DEFAULT_POINTS) -> CurveSet:
    """Loss and gradient curves of every loss (one per parameter combination) on a shared grid."""
    specs = [get_loss(loss) for loss in losses]
    axes = {spec.name: curve_axis(spec) for spec in specs}
    if len(set(axes.values())) > 1:
        described = ", ".join(f"{name} ({axis})" for name, axis in axes.items())
        raise LossCliError(f"cannot draw regression and classification losses on one axis: {described}")
    axis = axes[specs[0].name]
    low, high = x_range if isinstance(x_range, tuple) else parse_range(x_range, axis)
    x = np.linspace(low, high, points)
    routed = route_params(specs, params)
    curves = []
    for spec in specs:
        for setting in expand_params(routed[spec.name]):
            loss, gradient = evaluate(spec, x, axis, setting)
            curves.append(Curve(_label(spec, setting), loss, gradient))
    return CurveSet(axis, x, tuple(curves))


def _label(spec: LossSpec, setting: Mapping[str, Any]) -> str:
    given = ", ".join(f"{key}={value}" for key, value in setting.items())
    gradient_of = "" if spec.inputs[0].name in ("pred",) else f" [∂/∂{spec.inputs[0].name}]"
    return f"{spec.name}{f' ({given})' if given else ''}{gradient_of}"


def save_image(curves: CurveSet, path: str, dpi: int = 120) -> None:
    """Loss (left) and gradient (right) against x, written with matplotlib (PNG, SVG or PDF)."""
    if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
        raise LossCliError(f"--out {path}: expected a .png, .svg or .pdf file, or - for a text plot")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise LossCliError("writing an image needs matplotlib: pip install 'losscli[plot]' "
                           "(or use --out - for a text plot)") from None
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    loss_axes, gradient_axes = figure.subplots(1, 2)
    for index, curve in enumerate(curves.curves):
        style = LINE_STYLES[index % len(LINE_STYLES)]  # identical curves (bce, focal gamma=0) stay visible
        loss_axes.plot(curves.x, curve.loss, style, label=curve.label)
        gradient_axes.plot(curves.x, curve.gradient, style, label=curve.label)
    for axes, title in ((loss_axes, "loss ℓ"), (gradient_axes, GRADIENT_TITLES[curves.axis])):
        axes.set_title(title)
        axes.set_xlabel(curves.x_label)
        axes.grid(True, alpha=0.3)
        axes.axhline(0.0, color="0.5", linewidth=0.8)
    loss_axes.legend()
    try:
        figure.savefig(path, dpi=dpi)
    except OSError as error:
        raise LossCliError(f"--out {path}: cannot write the image ({error.strerror or error})") from None
