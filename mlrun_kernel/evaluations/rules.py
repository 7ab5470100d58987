"""Deterioration rules, as pure functions of a metric's evaluation series.

A rule watches one metric of one model; its direction comes from the manifest's metric
``goal`` (``maximize``: lower is worse; ``minimize``: higher is worse):

- ``threshold``: worse than a fixed number;
- ``drop``: worse than a baseline by more than a fraction ``drop`` of it; the baseline is a
  pinned evaluation's value, or the median of the ``window`` evaluations before the one
  judged;
- ``min_consecutive``: the rule breaks only when that many latest evaluations all break.

:func:`judge` takes the series (oldest first) and says whether the latest evaluation breaks
the rule, with the numbers a flag shows.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from mlrun_kernel.evaluations.errors import InvalidSetting

KINDS = ("threshold", "drop")
BASELINES = ("pinned", "median")
GOALS = ("maximize", "minimize")


@dataclass(frozen=True)
class RuleSpec:
    """A rule as checked: the stored rule plus the pinned baseline's value, when it has one."""

    metric: str
    kind: str
    threshold: float | None = None
    drop: float | None = None
    baseline: str | None = None
    window: int | None = None
    min_consecutive: int = 1
    pinned_value: float | None = None


@dataclass(frozen=True)
class Verdict:
    breaking: bool
    value: float
    limit: float | None
    baseline: float | None
    consecutive: int
    """How many latest evaluations in a row break the rule (0 when the latest passes)."""
    message: str


def number(value: Any, what: str) -> float:
    """``value`` as a finite float; InvalidSetting naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidSetting(f"{what} must be a number, not {value!r}")
    try:
        result = float(value)
    except ValueError:
        raise InvalidSetting(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(result):
        raise InvalidSetting(f"{what} must be a finite number, not {value!r}")
    return result


def worse(value: float, limit: float, goal: str) -> bool:
    return value < limit if goal == "maximize" else value > limit


def _limit(rule: RuleSpec, goal: str, before: list[float]) -> tuple[float | None, float | None]:
    """(limit, baseline) for an evaluation preceded by ``before``; (None, None): cannot judge."""
    if rule.kind == "threshold":
        return rule.threshold, None
    if rule.baseline == "pinned":
        base = rule.pinned_value
    else:
        window = before[-(rule.window or 1) :]
        base = statistics.median(window) if window else None
    if base is None:
        return None, None
    margin = (rule.drop or 0.0) * abs(base)
    return (base - margin if goal == "maximize" else base + margin), base


def judge(rule: RuleSpec, goal: str, series: list[float]) -> Verdict | None:
    """Whether the latest value of ``series`` (oldest first) breaks ``rule``; None if empty."""
    if not series:
        return None
    run = 0
    limit: float | None = None
    base: float | None = None
    for i in range(len(series) - 1, -1, -1):
        lim, b = _limit(rule, goal, series[:i])
        if i == len(series) - 1:
            limit, base = lim, b
        if lim is None or not worse(series[i], lim, goal):
            break
        run += 1
        if run >= rule.min_consecutive:
            break
    value = series[-1]
    breaking = run >= rule.min_consecutive
    word = "below" if goal == "maximize" else "above"
    if limit is None:
        message = f"{rule.metric}={value:g}: no baseline yet"
    elif rule.kind == "threshold":
        message = f"{rule.metric}={value:g} is {word} the threshold {limit:g}" if run else ""
    else:
        pct = (rule.drop or 0) * 100
        message = (
            f"{rule.metric}={value:g} is {word} {limit:g}, more than {pct:g} % worse than the "
            f"{'pinned evaluation' if rule.baseline == 'pinned' else f'median of the last {rule.window}'}"
            f" ({base:g})"
            if run
            else ""
        )
    if breaking and rule.min_consecutive > 1:
        message += f", {run} evaluations in a row"
    if not run and limit is not None:
        message = f"{rule.metric}={value:g} passes (limit {limit:g})"
    return Verdict(breaking, value, limit, base, run, message)


def check_rule_fields(
    *,
    metric: str,
    kind: str,
    declared: dict[str, Any],
    threshold: Any = None,
    drop: Any = None,
    baseline: str | None = None,
    window: Any = None,
    min_consecutive: Any = 1,
    cooldown_seconds: Any = None,
) -> dict[str, Any]:
    """A rule's fields, checked against the metrics the manifest ``declared``; InvalidSetting
    (saying what to fix) for the first wrong one."""
    if metric not in declared:
        names = ", ".join(sorted(declared)) or "none"
        raise InvalidSetting(
            f"metric {metric!r} is not declared by the model's evaluate task (it declares: {names})"
        )
    goal = (declared.get(metric) or {}).get("goal")
    if goal not in GOALS:
        raise InvalidSetting(
            f"metric {metric!r} has no goal (maximize or minimize) in the manifest, so a rule "
            "cannot tell better from worse; add one to the model's mlk.yaml"
        )
    if kind not in KINDS:
        raise InvalidSetting(f"rule kind {kind!r} is not one of {', '.join(KINDS)}")
    out: dict[str, Any] = {"metric": metric, "kind": kind}
    if kind == "threshold":
        if threshold is None:
            raise InvalidSetting("a threshold rule needs a threshold")
        out["threshold"] = number(threshold, "threshold")
    else:
        if drop is None:
            raise InvalidSetting("a drop rule needs drop, a fraction such as 0.1 for 10 %")
        out["drop"] = number(drop, "drop")
        if not 0 < out["drop"] < 1:
            raise InvalidSetting(f"drop must be between 0 and 1 (a fraction), not {drop!r}")
        if baseline not in BASELINES:
            raise InvalidSetting(f"a drop rule's baseline is 'pinned' or 'median', not {baseline!r}")
        out["baseline"] = baseline
        if baseline == "median":
            n = number(window if window is not None else 5, "window")
            if n != int(n) or not 1 <= n <= 1000:
                raise InvalidSetting(f"window must be a whole number from 1 to 1000, not {window!r}")
            out["window"] = int(n)
    k = number(min_consecutive if min_consecutive is not None else 1, "min_consecutive")
    if k != int(k) or not 1 <= k <= 100:
        raise InvalidSetting(f"min_consecutive must be a whole number from 1 to 100, not {min_consecutive!r}")
    out["min_consecutive"] = int(k)
    if cooldown_seconds is not None:
        c = number(cooldown_seconds, "cooldown_seconds")
        if c < 0:
            raise InvalidSetting(f"cooldown_seconds cannot be negative ({cooldown_seconds!r})")
        out["cooldown_seconds"] = c
    out["goal"] = goal
    return out
