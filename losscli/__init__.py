"""losscli: loss values, gradient summaries and gradient checks for machine-learning engineers.

Python API::

    import losscli
    result = losscli.compute("huber", pred, target, params={"delta": 2.0})
    result.value, result.gradients["pred"]
"""

from .engine import LossResult, compute
from .errors import InputError, LossCliError, ParameterError, UnknownLossError
from .reduction import Aggregate
from .registry import LOSSES, get_loss, names
from .spec import LossSpec

__version__ = "0.1.0"

__all__ = ["LOSSES", "Aggregate", "InputError", "LossCliError", "LossResult", "LossSpec",
           "ParameterError", "UnknownLossError", "__version__", "compute", "get_loss", "names"]
