"""The catalogue of losses: every built-in :class:`LossSpec`, looked up by name or alias."""

from __future__ import annotations

import difflib

from .errors import UnknownLossError
from .losses import (
    categorical,
    classification,
    cosine,
    embedding,
    focal,
    likelihood,
    margin,
    regression,
    robust,
    sequence,
    tweedie,
)
from .spec import LossSpec

LOSSES: tuple[LossSpec, ...] = (*regression.SPECS, *robust.SPECS, *likelihood.SPECS, *tweedie.SPECS,
                                *classification.SPECS, *categorical.SPECS, *focal.SPECS, *margin.SPECS,
                                *cosine.SPECS, *embedding.SPECS, *sequence.SPECS)


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


_BY_NAME = {_normalise(key): spec for spec in LOSSES for key in (spec.name, *spec.aliases)}
if len(_BY_NAME) != sum(1 + len(spec.aliases) for spec in LOSSES):
    raise RuntimeError("two losses share a name or alias")


def names() -> tuple[str, ...]:
    """Canonical names of every registered loss, in catalogue order."""
    return tuple(spec.name for spec in LOSSES)


def get_loss(name: str | LossSpec) -> LossSpec:
    """The spec for a canonical name or alias (case-insensitive, '-' = '_')."""
    if isinstance(name, LossSpec):
        return name
    try:
        return _BY_NAME[_normalise(name)]
    except KeyError:
        close = difflib.get_close_matches(_normalise(name), list(_BY_NAME), n=1)
        hint = f"; did you mean {_BY_NAME[close[0]].name!r}?" if close else ""
        raise UnknownLossError(f"unknown loss {name!r}{hint} (see 'losscli list')") from None
