"""The gradient checker: finite differences (:mod:`.differences`, :mod:`.methods`), the verdict
(:mod:`.verdict`), the driver (:mod:`.run`) and registered losses (:mod:`.builtin`).
Pure: returns result objects, never prints."""

from .builtin import check_all, check_registered
from .differences import GradcheckError
from .run import (
    DEFAULT_ATOL,
    DEFAULT_DIRECTIONS,
    DEFAULT_EPS,
    DEFAULT_RTOL,
    DEFAULT_SIZE,
    DEFAULT_VALUE_TOL,
    ELEMENTWISE_LIMIT,
    FULL_MODE_LIMIT,
    MODES,
    GradcheckResult,
    Settings,
    check_gradients,
)
from .verdict import Element, InputCheck

__all__ = ["DEFAULT_ATOL", "DEFAULT_DIRECTIONS", "DEFAULT_EPS", "DEFAULT_RTOL", "DEFAULT_SIZE", "DEFAULT_VALUE_TOL",
           "ELEMENTWISE_LIMIT", "FULL_MODE_LIMIT", "MODES", "Element", "GradcheckError", "GradcheckResult",
           "InputCheck", "Settings", "check_all", "check_gradients", "check_registered"]
