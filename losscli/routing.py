"""Several losses on the same inputs: which may go together, and which -p parameter goes to which."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import LossCliError, ParameterError
from .registry import get_loss
from .spec import LossSpec


def input_kind(spec: LossSpec) -> tuple:
    """What a loss takes: (name, domain, shape patterns) per input; equal kinds share inputs."""
    return tuple((item.name, item.domain, item.shapes) for item in spec.inputs)


def check_same_kind(specs: Sequence[LossSpec]) -> None:
    """Raise LossCliError naming the first loss whose inputs differ from the first loss's, and how."""
    first = specs[0]
    for spec in specs[1:]:
        if input_kind(spec) != input_kind(first):
            raise LossCliError(f"cannot compare {first.name} and {spec.name} on the same inputs: "
                               f"{_difference(first, spec)}")


def _difference(first: LossSpec, other: LossSpec) -> str:
    """The first way two losses' inputs differ: names, then per input its domain or shapes."""
    if first.input_names != other.input_names:
        return (f"{first.name} takes ({', '.join(first.input_names)}), "
                f"{other.name} takes ({', '.join(other.input_names)})")
    for mine, theirs in zip(first.inputs, other.inputs, strict=True):
        if mine.domain != theirs.domain:
            return (f"input {mine.name} is {mine.domain.value} for {first.name} "
                    f"but {theirs.domain.value} for {other.name}")
        if mine.shapes != theirs.shapes:
            return (f"input {mine.name} has shape {mine.shape_text()} for {first.name} "
                    f"but {theirs.shape_text()} for {other.name}")
    return "their inputs differ"


def route_params(specs: Sequence[LossSpec], params: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Send each "-p" parameter to its loss: ``huber.delta`` or a plain ``delta``.

    A plain name goes to the one listed loss that has such a parameter; none or several is a
    ParameterError. Returns {loss name: {param: raw value}} for every listed loss.
    """
    routed: dict[str, dict[str, Any]] = {spec.name: {} for spec in specs}
    for key, value in (params or {}).items():
        loss_name, dot, param = key.rpartition(".")
        target = _owner_by_prefix(specs, loss_name, key) if dot else _owner_by_param(specs, param)
        if dot and param not in {item.name for item in target.params}:
            valid = ", ".join(item.name for item in target.params) or "none"
            raise ParameterError(f"unknown parameter {param!r} for {target.name} (valid: {valid})")
        if param in routed[target.name]:  # huber.delta and delta, say
            raise ParameterError(f"-p {target.name}.{param} is given twice: give it once")
        routed[target.name][param] = value
    return routed


def _owner_by_prefix(specs, loss_name, key) -> LossSpec:
    wanted = get_loss(loss_name)
    if wanted not in specs:
        listed = ", ".join(spec.name for spec in specs)
        raise ParameterError(f"parameter {key!r} names {wanted.name}, which is not among the losses ({listed})")
    return wanted


def _owner_by_param(specs, param) -> LossSpec:
    owners = [spec for spec in specs if param in {item.name for item in spec.params}]
    if len(owners) == 1 or len(specs) == 1:
        return (owners or specs)[0]  # one loss: its own check names its valid parameters
    listed = ", ".join(spec.name for spec in specs)
    if not owners:
        raise ParameterError(f"unknown parameter {param!r}: none of {listed} takes it")
    names = ", ".join(spec.name for spec in owners)
    raise ParameterError(f"parameter {param!r} is ambiguous: {names} all take it; "
                         f"write e.g. {owners[0].name}.{param}=VALUE")


def resolve_losses(losses: Sequence[str | LossSpec]) -> list[LossSpec]:
    """Specs for the names, with duplicates and mixed input kinds rejected."""
    specs = [get_loss(loss) for loss in losses]
    if not specs:
        raise LossCliError("expected at least one loss to compare")
    seen = set()
    for spec in specs:
        if spec.name in seen:
            raise LossCliError(f"loss {spec.name} is listed twice")
        seen.add(spec.name)
    check_same_kind(specs)
    return specs
