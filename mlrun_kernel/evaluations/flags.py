"""Rules in the store, and the flags they raise on model versions.

:func:`apply_rules` runs once per finished evaluation, inside the session that records it:
for every rule of the model it judges the metric's series of evaluations (oldest first)
with :func:`~mlrun_kernel.evaluations.rules.judge`, then

- a break with an open flag for the rule updates that flag (no new alert);
- a break within the rule's cooldown of the last flag it raised reopens that flag quietly:
  one bad day raises one alert, not ten;
- any other break raises a new flag, returned so the caller announces it;
- a pass clears the rule's open flag.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mlrun_kernel.evaluations.errors import InvalidSetting, NotFound
from mlrun_kernel.evaluations.records import FlagInfo, RuleInfo, flag_info, rule_info
from mlrun_kernel.evaluations.rules import RuleSpec, check_rule_fields, judge
from mlrun_kernel.evaluations.setups import declared_metrics
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Evaluation, EvaluationRule, ModelFlag


def add_rule(store: Store, by: str, model: str, *, default_cooldown: float, **fields: Any) -> RuleInfo:
    """Store a rule after checking it against the manifest's metrics; nothing stored on error."""
    metric = fields.pop("metric", None)
    kind = fields.pop("kind", None)
    if not isinstance(metric, str) or not isinstance(kind, str):
        raise InvalidSetting("a rule needs a metric and a kind ('threshold' or 'drop')")
    pinned = fields.pop("baseline_evaluation_id", None)
    checked = check_rule_fields(metric=metric, kind=kind, declared=declared_metrics(store, model), **fields)
    checked.pop("goal")
    with store.session() as s:
        if checked.get("baseline") == "pinned":
            if pinned is None:
                raise InvalidSetting("a drop rule against a pinned evaluation needs baseline_evaluation_id")
            ev = s.get(Evaluation, int(pinned))
            if ev is None or ev.model != model or ev.state != "succeeded":
                raise InvalidSetting(
                    f"baseline_evaluation_id {pinned!r} is not a succeeded evaluation of {model!r}"
                )
            if metric not in (ev.metrics or {}):
                raise InvalidSetting(f"evaluation {pinned} of {model!r} has no value of {metric!r}")
            checked["baseline_evaluation_id"] = ev.id
        checked.setdefault("cooldown_seconds", default_cooldown)
        row = EvaluationRule(model=model, created_by=by, **checked)
        s.add(row)
        s.flush()
        return rule_info(row)


def list_rules(store: Store, model: str | None = None) -> list[RuleInfo]:
    with store.session() as s:
        stmt = select(EvaluationRule).order_by(EvaluationRule.id)
        if model:
            stmt = stmt.where(EvaluationRule.model == model)
        return [rule_info(r) for r in s.scalars(stmt)]


def delete_rule(store: Store, rule_id: int) -> None:
    with store.session() as s:
        row = s.get(EvaluationRule, rule_id)
        if row is None:
            raise NotFound(f"no rule {rule_id}")
        s.delete(row)


def list_flags(store: Store, model: str | None = None, *, open_only: bool = True) -> list[FlagInfo]:
    with store.session() as s:
        stmt = select(ModelFlag).order_by(ModelFlag.raised_at.desc(), ModelFlag.id.desc())
        if model:
            stmt = stmt.where(ModelFlag.model == model)
        if open_only:
            stmt = stmt.where(ModelFlag.cleared_at.is_(None))
        return [flag_info(f) for f in s.scalars(stmt)]


def get_flag(store: Store, flag_id: int) -> FlagInfo:
    with store.session() as s:
        row = s.get(ModelFlag, flag_id)
        if row is None:
            raise NotFound(f"no flag {flag_id}")
        return flag_info(row)


def _series(s: Session, model: str, metric: str, upto: Evaluation) -> tuple[list[float], list[int]]:
    rows = s.execute(
        select(Evaluation.id, Evaluation.metrics)
        .where(
            Evaluation.model == model,
            Evaluation.state == "succeeded",
            Evaluation.finished_at <= upto.finished_at,
        )
        .order_by(Evaluation.finished_at, Evaluation.id)
    ).all()
    values: list[float] = []
    ids: list[int] = []
    for eid, metrics in rows:
        value = (metrics or {}).get(metric)
        if isinstance(value, int | float) and not isinstance(value, bool):
            values.append(float(value))
            ids.append(int(eid))
    return values, ids


def _spec(s: Session, rule: EvaluationRule) -> RuleSpec:
    pinned = None
    if rule.baseline == "pinned" and rule.baseline_evaluation_id is not None:
        ev = s.get(Evaluation, rule.baseline_evaluation_id)
        value = (ev.metrics or {}).get(rule.metric) if ev else None
        pinned = float(value) if isinstance(value, int | float) else None
    return RuleSpec(
        metric=rule.metric,
        kind=rule.kind,
        threshold=rule.threshold,
        drop=rule.drop,
        baseline=rule.baseline,
        window=rule.window,
        min_consecutive=rule.min_consecutive,
        pinned_value=pinned,
    )


def apply_rules(
    s: Session, evaluation: Evaluation, goals: dict[str, str], now: datetime
) -> tuple[list[FlagInfo], list[FlagInfo]]:
    """Judge ``evaluation`` (succeeded, its row flushed) by every rule of its model;
    (flags newly raised, flags cleared)."""
    raised: list[FlagInfo] = []
    cleared: list[FlagInfo] = []
    rules = s.scalars(select(EvaluationRule).where(EvaluationRule.model == evaluation.model)).all()
    for rule in rules:
        goal = goals.get(rule.metric)
        if goal not in ("maximize", "minimize"):
            continue
        values, ids = _series(s, evaluation.model, rule.metric, evaluation)
        if not ids or ids[-1] != evaluation.id:
            continue  # this evaluation did not report the metric
        spec = _spec(s, rule)
        verdict = judge(spec, goal, values)
        if verdict is None:
            continue
        open_flag = s.scalars(
            select(ModelFlag).where(ModelFlag.rule_id == rule.id, ModelFlag.cleared_at.is_(None))
        ).first()
        if not verdict.breaking:
            if open_flag is not None:
                open_flag.cleared_at = now
                open_flag.cleared_by_evaluation = evaluation.id
                open_flag.updated_at = now
                cleared.append(flag_info(open_flag))
            continue
        breaking_ids = ids[-max(verdict.consecutive, 1) :]
        numbers = {
            "value": verdict.value,
            "limit": float(verdict.limit if verdict.limit is not None else 0.0),
            "baseline": verdict.baseline,
            "message": verdict.message,
            "digest": evaluation.digest or "",
            "model_version": evaluation.model_version,
            "updated_at": now,
        }
        if open_flag is not None:
            for key, value in numbers.items():
                setattr(open_flag, key, value)
            open_flag.evaluation_ids = list(dict.fromkeys([*open_flag.evaluation_ids, *breaking_ids]))
            continue
        recent = s.scalars(
            select(ModelFlag)
            .where(
                ModelFlag.rule_id == rule.id,
                ModelFlag.raised_at > now - timedelta(seconds=rule.cooldown_seconds),
            )
            .order_by(ModelFlag.raised_at.desc())
        ).first()
        if recent is not None:  # inside the cooldown: the same flag again, no new alert
            for key, value in numbers.items():
                setattr(recent, key, value)
            recent.cleared_at = None
            recent.cleared_by_evaluation = None
            recent.evaluation_ids = list(dict.fromkeys([*recent.evaluation_ids, *breaking_ids]))
            continue
        flag = ModelFlag(
            model=evaluation.model,
            rule_id=rule.id,
            metric=rule.metric,
            rule=asdict(spec) | {"id": rule.id, "goal": goal, "cooldown_seconds": rule.cooldown_seconds},
            evaluation_ids=breaking_ids,
            raised_at=now,
            **numbers,
        )
        s.add(flag)
        s.flush()
        raised.append(flag_info(flag))
    return raised, cleared
