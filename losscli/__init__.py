"""losscli: loss values, gradient summaries and gradient checks for machine-learning engineers.

Python API::

    import losscli
    result = losscli.compute("huber", pred, target, params={"delta": 2.0})
    result.value, result.gradients["pred"]
    check = losscli.gradcheck("huber")               # or "my_losses.py:SoftmaxCE", or the object
    check.passed, check.inputs[0].worst              # see losscli.checking
    plan = losscli.InputPlan.build("mse", ["preds.parquet"], columns={"pred": "yhat", "target": "y"})
    [item.result.value for item in losscli.compare(["mse", "mae"], plan)]   # streamed, file of any size

The names below load on first use, so that ``losscli --version`` and ``--help`` start without
importing NumPy.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "LOSSES": "registry", "get_loss": "registry", "names": "registry",
    "compute": "engine", "LossResult": "engine", "gradcheck": "checking", "GradcheckResult": "checker",
    "GradcheckError": "checker",
    "InputError": "errors", "LossCliError": "errors", "ParameterError": "errors", "UnknownLossError": "errors",
    "Aggregate": "reduction", "LossSpec": "spec", "compare": "compare", "InputPlan": "inputs",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'losscli' has no attribute {name!r}")
