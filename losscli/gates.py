"""CI gates: "did this model get worse, in any slice, against the baseline?"

A :class:`Limit` is one gate option: ``--fail-above`` / ``--fail-below`` (a threshold on the
value) or ``--max-increase`` / ``--max-decrease`` (a change against a baseline run, absolute or
a percentage of the baseline), for every loss or for one (``mae=1.5``). Thresholds apply to the
overall value and to every ``--group-by`` slice; baseline limits to the overall value and, when
the baseline run has the same slices, to each slice. A NaN never passes. :func:`check_run`
returns one :class:`Check` per comparison made; a failed check says what failed in one line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import LossCliError

THRESHOLDS = ("fail_above", "fail_below")
CHANGES = ("max_increase", "max_decrease")
OVERALL = None


@dataclass(frozen=True)
class Limit:
    """One gate: kind (fail_above, fail_below, max_increase, max_decrease), the loss it is for
    (None: every loss), the amount and whether it is a fraction of the baseline (``2%``)."""

    kind: str
    amount: float
    loss: str | None = None
    relative: bool = False

    @classmethod
    def parse(cls, kind: str, text: str) -> Limit:
        """"1.5", "mae=1.5"; for max_increase / max_decrease also "2%" and "mae=2%"."""
        loss, sep, amount = str(text).rpartition("=")
        relative = amount.strip().endswith("%")
        number = amount.strip().removesuffix("%")
        try:
            value = float(number)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (relative and kind in THRESHOLDS) or (kind in CHANGES and value < 0):
            shape = "a number" if kind in THRESHOLDS else "a number >= 0 or a percentage such as 2%"
            raise LossCliError(f"{cls.option_of(kind)} expects [LOSS=]{shape}, got {text!r}")
        return cls(kind, value / 100 if relative else value, loss.strip() if sep else None, relative)

    @staticmethod
    def option_of(kind: str) -> str:
        return "--" + kind.replace("_", "-")

    @property
    def option(self) -> str:
        return self.option_of(self.kind)

    def amount_text(self) -> str:
        return f"{self.amount * 100:.15g}%" if self.relative else f"{self.amount:.15g}"

    def applies_to(self, loss: str) -> bool:
        return self.loss is None or self.loss == loss


@dataclass(frozen=True)
class Check:
    """One comparison: a limit, the loss and slice (group None: the overall value), the value,
    the baseline value (change limits), and whether it passed."""

    limit: Limit
    loss: str
    group: str | None
    value: float
    baseline: float | None
    passed: bool

    @property
    def change(self) -> float | None:
        return None if self.baseline is None else self.value - self.baseline

    def line(self) -> str:
        """The verdict in one line, e.g. "mae [segment=north] = 1.92 is above --fail-above 1.5"."""
        name = self.loss + ("" if self.group is None else f" [group {self.group}]")
        if self.limit.kind in THRESHOLDS:
            side = "above" if self.limit.kind == "fail_above" else "below"
            verb = "is" if not self.passed else "is not"
            return f"{name} = {_number(self.value)} {verb} {side} {self.limit.option} {self.limit.amount_text()}"
        relative = f" ({_signed(100 * self.change / abs(self.baseline))}%)" if self.baseline else ""
        verdict = "exceeds" if not self.passed else "is within"
        return (f"{name} = {_number(self.value)} vs baseline {_number(self.baseline)}: {_signed(self.change)}"
                f"{relative} {verdict} {self.limit.option} {self.limit.amount_text()}")

    def as_dict(self) -> dict:
        return {"option": self.limit.option, "limit": self.limit.amount_text(), "loss": self.loss,
                "group": self.group, "value": self.value, "baseline": self.baseline, "change": self.change,
                "passed": self.passed}


def _number(value: float) -> str:
    return f"{value:.10g}"


def _signed(value: float) -> str:
    return f"{value:+.4g}"


def passes(limit: Limit, value: float, baseline: float | None = None) -> bool:
    """Whether ``value`` (and ``baseline`` for change limits) passes ``limit``; NaN never does."""
    if limit.kind == "fail_above":
        return value <= limit.amount
    if limit.kind == "fail_below":
        return value >= limit.amount
    change = value - baseline
    allowed = limit.amount * abs(baseline) if limit.relative else limit.amount
    return (change if limit.kind == "max_increase" else -change) <= allowed


@dataclass(frozen=True)
class Baseline:
    """A previous run of one loss: its value and its slices' values (None without --group-by)."""

    value: float
    groups: dict[str, float] | None
    source: str


def check_run(limits: Sequence[Limit], loss: str, value: float, groups: Mapping[str, float] | None = None,
              baseline: Baseline | None = None) -> list[Check]:
    """Every check of ``limits`` on one loss's value and slices."""
    checks = []
    for limit in (limit for limit in limits if limit.applies_to(loss)):
        if limit.kind in THRESHOLDS:
            slices = {OVERALL: value, **(groups or {})}
            checks += [Check(limit, loss, group, item, None, passes(limit, item)) for group, item in slices.items()]
            continue
        if baseline is None:
            raise LossCliError(f"{limit.option} compares with a previous run: give --baseline FILE")
        pairs = {OVERALL: (value, baseline.value)}
        if groups and baseline.groups and set(groups) == set(baseline.groups):
            pairs.update({group: (groups[group], baseline.groups[group]) for group in groups})
        checks += [Check(limit, loss, group, new, old, passes(limit, new, old)) for group, (new, old) in pairs.items()]
    return checks


def named(limits: Sequence[Limit], losses: Sequence[str]) -> list[Limit]:
    """The limits with each loss they name by its canonical name (an alias such as l1 = mae),
    which must be among the computed ``losses``."""
    from dataclasses import replace

    from .errors import UnknownLossError
    from .registry import get_loss

    canonical = []
    for limit in limits:
        try:
            name = None if limit.loss is None else get_loss(limit.loss).name
        except UnknownLossError:
            name = limit.loss
        if name is not None and name not in losses:
            raise LossCliError(f"{limit.option} {limit.loss}=...: {limit.loss} is not among the losses computed "
                               f"({', '.join(losses)})")
        canonical.append(replace(limit, loss=name))
    return canonical


def read_baseline(path: str, loss: str, params: Mapping | None = None) -> Baseline:
    """The run of ``loss`` in a previous ``--format json`` output, or the last run of ``loss`` with
    the same parameters in a ``--log`` JSON-lines file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise LossCliError(f"{path}: cannot read the baseline: {error.strerror or error}") from None
    try:
        runs = _runs_of(json.loads(text))
    except json.JSONDecodeError:
        from .history import read_history

        runs = read_history(path)
    matching = [run for run in runs if isinstance(run, Mapping) and run.get("loss") == loss
                and (params is None or "params" not in run or _same_params(run["params"], params))]
    if not matching:
        raise LossCliError(f"{path}: no run of {loss}{' with the same parameters' if params else ''} "
                           "to compare with (a --format json output or a --log file)")
    return _baseline(matching[-1], path)


def _runs_of(data) -> list:
    if isinstance(data, Mapping) and isinstance(data.get("losses"), list):
        return data["losses"]
    return [data]


def _same_params(logged, params: Mapping) -> bool:
    def plain(value):
        return list(value) if isinstance(value, tuple) else value

    return isinstance(logged, Mapping) and {key: plain(value) for key, value in params.items()} == dict(logged)


def _baseline(run: Mapping, path: str) -> Baseline:
    value = _finite_or_nan(run.get("value"), path)
    groups = None
    if isinstance(run.get("groups"), list):
        groups = {str(item.get("group")): _finite_or_nan(item.get("value"), path) for item in run["groups"]
                  if isinstance(item, Mapping)}
    return Baseline(value, groups, path)


def _finite_or_nan(value, path: str) -> float:
    """A logged value: a number, or null / "nan" / "inf" for a non-finite one."""
    if value is None:
        return math.nan
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LossCliError(f"{path}: expected a number as the baseline value, got {json.dumps(value)[:60]}")
    return float(value)


def verdict(result, limits: Sequence[Limit], baseline_path: str | None = None,
            allow_nonfinite: bool = False) -> dict | None:
    """The verdict of every gate on one loss's result (a :class:`~losscli.stream.StreamResult`):
    {"passed", "failed": [one line each], "checks": [...]}, or None when nothing was checked. A
    NaN or infinite value fails unless ``allow_nonfinite``; the baseline is read from
    ``baseline_path`` only for change limits of this loss."""
    failed = []
    if result.value is not None and not math.isfinite(result.value) and not allow_nonfinite:
        failed.append(f"{result.spec.name} = {result.value} is not finite (--allow-nonfinite accepts it)")
    mine = [limit for limit in limits if limit.applies_to(result.spec.name)]
    if not mine and not failed:
        return None
    groups = None if result.groups is None else {group.label: group.value for group in result.groups}
    baseline = None
    if baseline_path is not None and any(limit.kind in CHANGES for limit in mine):
        baseline = read_baseline(baseline_path, result.spec.name, result.params)
    checks = check_run(mine, result.spec.name, result.value, groups, baseline)
    failed += [check.line() for check in checks if not check.passed]
    return {"passed": not failed, "failed": failed, "checks": [check.as_dict() for check in checks]}
