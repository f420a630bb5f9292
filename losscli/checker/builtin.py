"""Gradient checks of registered losses: their closed-form gradients vs finite differences."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..engine import compute, prepare, validate
from ..errors import LossCliError
from ..registry import LOSSES, get_loss
from ..spec import LossSpec
from .run import GradcheckResult, Settings, check_gradients

DIFFERENTIATED = "sum of per-sample losses"
DEFAULTS = Settings()


def per_sample_losses(spec: LossSpec, params: Mapping):
    """The per-sample losses as ``compute(..., reduction="none")`` returns them, by input name."""

    def losses(values):
        per_sample = spec.forward(*(values[name] for name in spec.input_names), **params)
        return spec.transform.function(per_sample) if spec.transform is not None else per_sample

    return losses


def check_registered(loss: str | LossSpec, inputs=None, *, params: Mapping | None = None,
                     settings: Settings = DEFAULTS) -> GradcheckResult:
    """Check every differentiable input of ``loss`` on the sum of its per-sample losses.

    ``inputs`` (positional in the loss's input order, or a mapping by name) default to
    ``settings.size`` rows drawn from the loss's own generator with ``settings.seed``.
    """
    spec = get_loss(loss)
    resolved = spec.resolve_params(params)
    if inputs is None:
        inputs = spec.sample(np.random.default_rng(settings.seed), settings.size, resolved)
    _, arrays, resolved = prepare(spec, inputs, params, "none")
    arrays, _, _ = validate(spec, arrays, resolved)
    gradients = compute(spec, arrays, params=resolved, reduction="none").gradients
    missing = [name for name in spec.differentiable_inputs if gradients.get(name) is None]
    if missing:
        raise LossCliError(f"{spec.name}: its gradient function gives nothing for {', '.join(missing)}")
    wanted = {name: gradients[name] for name in spec.differentiable_inputs}
    return check_gradients(spec.name, DIFFERENTIATED, per_sample_losses(spec, resolved), arrays, wanted, settings)


def check_all(losses=LOSSES, settings: Settings = DEFAULTS) -> tuple[GradcheckResult, ...]:
    """:func:`check_registered` of every registered loss with its default parameters and random inputs."""
    return tuple(check_registered(spec, settings=settings) for spec in losses)
