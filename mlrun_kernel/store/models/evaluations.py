"""Evaluation tables (migration 0007): metrics history, evaluations, rules, flags, requests.

- ``metric_points``: one number a finished run reported, with the model, version, task,
  datasets and parameters it came from; ``metric_ingested`` marks the runs already read.
- ``evaluation_setups``: per model, the reference dataset, the evaluate task's parameters and
  the schedule; ``evaluations``: one evaluate run of it, unique per (model, slot), so two
  service processes never run one scheduled slot twice.
- ``evaluation_rules`` and ``model_flags``: deterioration rules and the flags they raise.
- ``finetune_requests``, ``evaluation_webhooks``, ``notification_deliveries``: requests to the
  model's experts, where they are announced, and every delivery attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mlrun_kernel.store.models.base import Base
from mlrun_kernel.store.types import IdType, JSONType, utcnow


class MetricPoint(Base):
    """One metric of one finished run: ``iris-classifier@sha256:.. evaluate accuracy=0.97``."""

    __tablename__ = "metric_points"
    __table_args__ = (
        UniqueConstraint("run_id", "name"),
        Index("ix_metric_points_model_name_at", "model", "name", "at"),
        Index("ix_metric_points_model_at", "model", "at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32))
    """The run it came from; the history outlives the run's removal."""
    model: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    task: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column()
    """When the run finished."""
    datasets: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Input name -> ``owner/name:version`` of the dataset version the run read."""
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    evaluation_id: Mapped[int | None] = mapped_column(IdType, default=None)


class MetricIngest(Base):
    """A finished run whose metrics are in ``metric_points`` (or that had none)."""

    __tablename__ = "metric_ingested"

    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationSetup(Base):
    """How one model is evaluated: reference data, parameters, schedule."""

    __tablename__ = "evaluation_setups"

    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(600))
    """``owner/name`` of the labelled reference dataset."""
    dataset_version: Mapped[int] = mapped_column(Integer)
    """The pinned version: every evaluation reads the same rows."""
    input_name: Mapped[str] = mapped_column(String(128))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    schedule: Mapped[str | None] = mapped_column(String(200), default=None)
    """None (on demand only), ``daily``, ``weekly`` or a cron expression."""
    experts_group: Mapped[str] = mapped_column(String(255))
    """The hub group whose members answer this model's fine-tune requests."""
    updated_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    schedule_since: Mapped[datetime] = mapped_column(default=utcnow)
    """Slots before this time never run (a new schedule does not catch up on the past)."""


class Evaluation(Base):
    """One evaluate run of a model on its reference dataset."""

    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("model", "slot"),
        Index("ix_evaluations_model_created", "model", "created_at"),
        Index("ix_evaluations_state", "state"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(255))
    model_ref: Mapped[str] = mapped_column(String(400))
    digest: Mapped[str | None] = mapped_column(String(100), default=None)
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    trigger: Mapped[str] = mapped_column(String(16))
    """``manual``, ``schedule`` or ``resolution`` (a request's new version)."""
    slot: Mapped[datetime | None] = mapped_column(default=None)
    """The scheduled time this evaluation stands for; None when not scheduled."""
    request_id: Mapped[str | None] = mapped_column(String(32), default=None)
    run_id: Mapped[str | None] = mapped_column(String(32), default=None)
    dataset: Mapped[str] = mapped_column(String(650))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="claimed")
    """``claimed`` -> ``running`` -> ``succeeded`` | ``failed``."""
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class EvaluationRule(Base):
    """A deterioration rule on one metric of one model."""

    __tablename__ = "evaluation_rules"
    __table_args__ = (Index("ix_evaluation_rules_model", "model"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(255))
    metric: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    """``threshold`` or ``drop``."""
    threshold: Mapped[float | None] = mapped_column(Float, default=None)
    drop: Mapped[float | None] = mapped_column(Float, default=None)
    """A relative drop, 0.1 = 10 % worse than the baseline."""
    baseline: Mapped[str | None] = mapped_column(String(16), default=None)
    """``pinned`` (``baseline_evaluation_id``) or ``median`` (of the last ``window``)."""
    baseline_evaluation_id: Mapped[int | None] = mapped_column(IdType, default=None)
    window: Mapped[int | None] = mapped_column(Integer, default=None)
    min_consecutive: Mapped[int] = mapped_column(Integer, default=1)
    cooldown_seconds: Mapped[float] = mapped_column(Float, default=86400.0)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelFlag(Base):
    """A model version flagged by a rule: open until a later evaluation passes."""

    __tablename__ = "model_flags"
    __table_args__ = (
        Index("ix_model_flags_model_open", "model", "cleared_at"),
        Index("ix_model_flags_rule", "rule_id", "raised_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    rule_id: Mapped[int] = mapped_column(IdType)
    metric: Mapped[str] = mapped_column(String(128))
    rule: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """The rule as it was when it fired."""
    value: Mapped[float] = mapped_column(Float)
    limit: Mapped[float] = mapped_column(Float)
    """The value the metric had to reach (the threshold, or the baseline less the drop)."""
    baseline: Mapped[float | None] = mapped_column(Float, default=None)
    evaluation_ids: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    """The breaking evaluations, oldest first."""
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(default=None)
    cleared_by_evaluation: Mapped[int | None] = mapped_column(IdType, default=None)


class FineTuneRequest(Base):
    """An admin's request to a model's experts: fine-tune, with this evidence and this data."""

    __tablename__ = "finetune_requests"
    __table_args__ = (Index("ix_finetune_requests_model_state", "model", "state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str | None] = mapped_column(String(100), default=None)
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    datasets: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    experts_group: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="open")
    """``open`` -> ``acknowledged`` -> ``resolved`` | ``closed``."""
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(255), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    close_reason: Mapped[str | None] = mapped_column(Text, default=None)
    resolved_digest: Mapped[str | None] = mapped_column(String(100), default=None)
    resolved_version: Mapped[str | None] = mapped_column(String(100), default=None)
    resolution_evaluation_id: Mapped[int | None] = mapped_column(IdType, default=None)
    comparison: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)


class EvaluationWebhook(Base):
    """Where request events are POSTed, signed with ``secret``."""

    __tablename__ = "evaluation_webhooks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationDelivery(Base):
    """One attempt to deliver one event to one webhook or mailbox."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_request", "request_id", "at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(32), default=None)
    channel: Mapped[str] = mapped_column(String(16))
    """``webhook`` or ``email``."""
    target: Mapped[str] = mapped_column(String(2000))
    attempt: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(default=False)
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
