"""Arrays read from files given the shapes a loss declares.

CSV and Parquet files are flat: an [N, K, D] input is stored as K·D columns per row, an [N, D]
input may be a one-column file, and class targets are one column of ids or one column per class.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .spec import Domain, LossSpec


def shape_arrays(spec: LossSpec, arrays: dict[str, np.ndarray], target_format: str | None) -> dict[str, np.ndarray]:
    """Give flat CSV/Parquet arrays the shapes the spec declares.

    3-D inputs stored as K·D columns per row are folded with D taken from another input;
    ``target_format`` ("index" or "onehot") overrides the detection of class targets.
    """
    shaped = dict(arrays)
    sizes = {pattern[-1]: array.shape[-1] for input_spec in spec.inputs
             for pattern in input_spec.shapes for array in [arrays[input_spec.name]]
             if len(pattern) == array.ndim and array.ndim > 1}
    for input_spec in spec.inputs:
        array = shaped[input_spec.name]
        ranks = {len(pattern) for pattern in input_spec.shapes if "..." not in pattern}
        if ranks == {3} and array.ndim == 2:
            shaped[input_spec.name] = _fold(array, input_spec, sizes)
        elif ranks and min(ranks) >= 2 and array.ndim == 1:
            shaped[input_spec.name] = array[:, None]  # a one-column file of a [N, D] input
        if input_spec.domain is Domain.CLASS_TARGET and target_format is not None:
            _check_target_format(array, input_spec.name, target_format)
    return shaped


def _fold(array, input_spec, sizes):
    last = input_spec.shapes[0][-1]
    width = sizes.get(last)
    if not width or array.shape[1] % width:
        raise InputError(f"expected {input_spec.shape_text()} stored as groups of {last}={width} columns, "
                         f"got {array.shape[1]} columns", input_name=input_spec.name)
    return array.reshape(array.shape[0], array.shape[1] // width, width)


def _check_target_format(array, name, target_format):
    if target_format == "index" and array.ndim != 1:
        raise InputError(f"--target-format index expects one column of class ids, got {array.shape[1]} columns",
                         input_name=name)
    if target_format == "onehot" and array.ndim != 2:
        raise InputError("--target-format onehot expects one column per class, got a single column",
                         input_name=name)
