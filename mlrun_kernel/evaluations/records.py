"""What the evaluations area answers: frozen records built from rows inside a session.

The service's wire models are built from these dataclasses' fields (``wire_model``), so a
field added here reaches the API, its OpenAPI schema and the client by itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_type_hints

from pydantic import BaseModel, create_model

from mlrun_kernel.store.models import (
    Evaluation,
    EvaluationRule,
    EvaluationSetup,
    EvaluationWebhook,
    FineTuneRequest,
    ModelFlag,
    NotificationDelivery,
)


@dataclass(frozen=True)
class SetupInfo:
    """How a model is evaluated."""

    model: str
    dataset: str
    dataset_version: int
    input_name: str
    parameters: dict[str, Any]
    schedule: str | None
    next_slot: datetime | None
    experts_group: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class EvaluationInfo:
    """One evaluation: an evaluate run of a model version on its reference dataset."""

    id: int
    model: str
    model_ref: str
    digest: str | None
    version: str | None
    trigger: str
    slot: datetime | None
    request_id: str | None
    run_id: str | None
    dataset: str
    parameters: dict[str, Any]
    state: str
    reason: str | None
    metrics: dict[str, Any] | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class RuleInfo:
    id: int
    model: str
    metric: str
    kind: str
    threshold: float | None
    drop: float | None
    baseline: str | None
    baseline_evaluation_id: int | None
    window: int | None
    min_consecutive: int
    cooldown_seconds: float
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class FlagInfo:
    """A model version a rule flagged, with the rule and the numbers."""

    id: int
    model: str
    digest: str
    version: str | None
    rule_id: int
    metric: str
    rule: dict[str, Any]
    value: float
    limit: float
    baseline: float | None
    evaluation_ids: list[int]
    message: str
    raised_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    cleared_by_evaluation: int | None

    @property
    def open(self) -> bool:
        return self.cleared_at is None


@dataclass(frozen=True)
class RequestInfo:
    """A fine-tune request from an admin to a model's experts."""

    id: str
    model: str
    digest: str | None
    version: str | None
    reason: str
    evidence: dict[str, Any]
    datasets: list[str]
    experts_group: str
    state: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    close_reason: str | None
    resolved_digest: str | None
    resolved_version: str | None
    resolution_evaluation_id: int | None
    comparison: dict[str, Any] | None


@dataclass(frozen=True)
class WebhookInfo:
    id: int
    url: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    event_id: str
    event: str
    request_id: str | None
    channel: str
    target: str
    attempt: int
    ok: bool
    status: int | None
    error: str | None
    at: datetime


def _copy(cls: type, row: Any, **renamed: Any) -> Any:
    values = {}
    for f in dataclasses.fields(cls):
        values[f.name] = renamed[f.name] if f.name in renamed else getattr(row, f.name)
    return cls(**values)


def setup_info(row: EvaluationSetup, next_slot: datetime | None) -> SetupInfo:
    return _copy(SetupInfo, row, parameters=dict(row.parameters or {}), next_slot=next_slot)


def evaluation_info(row: Evaluation) -> EvaluationInfo:
    return _copy(EvaluationInfo, row, version=row.model_version, parameters=dict(row.parameters or {}))


def rule_info(row: EvaluationRule) -> RuleInfo:
    return _copy(RuleInfo, row)


def flag_info(row: ModelFlag) -> FlagInfo:
    return _copy(
        FlagInfo,
        row,
        version=row.model_version,
        rule=dict(row.rule or {}),
        evaluation_ids=[int(i) for i in row.evaluation_ids or []],
    )


def request_info(row: FineTuneRequest) -> RequestInfo:
    return _copy(
        RequestInfo,
        row,
        version=row.model_version,
        evidence=dict(row.evidence or {}),
        datasets=[str(d) for d in row.datasets or []],
    )


def webhook_info(row: EvaluationWebhook) -> WebhookInfo:
    return _copy(WebhookInfo, row)


def delivery_info(row: NotificationDelivery) -> DeliveryInfo:
    return _copy(DeliveryInfo, row)


def wire_model(cls: type, name: str | None = None, **replace: Any) -> type[BaseModel]:
    """A pydantic model with the dataclass ``cls``'s fields and types (every field sent)."""
    hints = get_type_hints(cls)
    fields: dict[str, Any] = {
        f.name: (replace.get(f.name, hints[f.name]), ...) for f in dataclasses.fields(cls)
    }
    return create_model(name or cls.__name__.removesuffix("Info") + "Out", __doc__=cls.__doc__, **fields)


def plain(info: Any) -> dict[str, Any]:
    """A record as JSON-ready data (times in ISO 8601)."""
    from pydantic_core import to_jsonable_python

    return dict(to_jsonable_python(dataclasses.asdict(info)))
