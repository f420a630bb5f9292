"""JAX code: a function of arrays, jax.custom_vjp / custom_jvp, or jitted. jax.vjp gives
d(Σ losses)/d(input), so custom_vjp and custom_jvp rules are what gets checked. Calls run with
64-bit types enabled (jax.enable_x64), so inputs and defaults are float64."""

from __future__ import annotations

import sys
from pathlib import Path

from .base import Arrays, UserLoss, to_float64
from .loading import UserCodeError, require, running


def is_jax_object(obj) -> bool:
    return "jax" in sys.modules and type(obj).__module__.partition(".")[0] in ("jax", "jaxlib")


def jax_loss(label: str, path: Path, name: str, obj, init: dict) -> UserLoss:
    jax = require("jax")
    if init:
        raise UserCodeError(f"--init applies to a class; {name} is a JAX function")
    if not callable(obj):
        raise UserCodeError(f"{path}: {name} is not callable")

    def call(*inputs):
        with running(path, name, obj):
            return obj(*inputs)

    def losses(arrays: Arrays):
        with jax.enable_x64(True):
            return to_float64(call(*(jax.numpy.asarray(value) for value in arrays.values())), f"{path}: {name}")

    def gradients(arrays: Arrays, wanted):
        keys = list(arrays)
        with jax.enable_x64(True):
            values = [jax.numpy.asarray(value) for value in arrays.values()]

            def of_wanted(*moving):
                given = dict(zip(wanted, moving, strict=True))
                return call(*(given.get(key, value) for key, value in zip(keys, values, strict=True)))

            with running(path, name, obj):
                total, pullback = jax.vjp(of_wanted, *(values[keys.index(key)] for key in wanted))
                found = pullback(jax.numpy.ones_like(total))
        return {key: to_float64(gradient, f"{path}: {name} (its VJP)")
                for key, gradient in zip(wanted, found, strict=True)}

    return UserLoss(label, "jax", losses, gradients, first_input_only=False)
