"""Run tables (migrations 0003, 0005, 0008): runs, their state history, their logs, the executors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mlrun_kernel.store.models.base import Base
from mlrun_kernel.store.types import JSONType, utcnow


class Run(Base):
    """One run: model digest, task, inputs, parameters, owner, and where it stands."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_state_created", "state", "created_at"),
        Index("ix_runs_owner_created", "owner", "created_at"),
        Index("ix_runs_reuse_key", "reuse_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    """What the person who started it called it (migration 0008); None: unnamed."""
    owner: Mapped[str] = mapped_column(String(255))
    model: Mapped[str] = mapped_column(String(255))
    """Repository name, e.g. ``iris-classifier``."""
    model_ref: Mapped[str] = mapped_column(String(255))
    """What the user asked for (a tag or a digest)."""
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    digest: Mapped[str] = mapped_column(String(100))
    image: Mapped[str] = mapped_column(String(600))
    """The reference pulled: ``host/name@sha256:...``."""
    task: Mapped[str] = mapped_column(String(64))
    command: Mapped[list[Any] | None] = mapped_column(JSONType, default=None)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    resources: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reuse_key: Mapped[str] = mapped_column(String(64))
    reused_from: Mapped[str | None] = mapped_column(String(32), default=None)

    state: Mapped[str] = mapped_column(String(16), default="queued")
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(default=False)

    backend: Mapped[str | None] = mapped_column(String(32), default=None)
    executor: Mapped[str | None] = mapped_column(String(255), default=None)
    container: Mapped[str | None] = mapped_column(String(128), default=None)
    engine_started_at: Mapped[datetime | None] = mapped_column(default=None)
    exit_code: Mapped[int | None] = mapped_column(Integer, default=None)

    progress: Mapped[float | None] = mapped_column(Float, default=None)
    progress_message: Mapped[str | None] = mapped_column(Text, default=None)
    pull_progress: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    storage: Mapped[str] = mapped_column(String(1024))
    outputs: Mapped[list[Any] | None] = mapped_column(JSONType, default=None)
    outputs_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    result: Mapped[Any | None] = mapped_column(JSONType, default=None)
    failure_text: Mapped[str | None] = mapped_column(Text, default=None)
    warnings: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    log_lines: Mapped[int] = mapped_column(Integer, default=0)
    log_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    log_truncated: Mapped[bool] = mapped_column(default=False)
    log_path: Mapped[str | None] = mapped_column(String(1024), default=None)
    """The run's append-only log file (migration 0005); None: its lines are in ``run_log_lines``."""


class RunEvent(Base):
    """A state change of a run, with its time and reason."""

    __tablename__ = "run_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, default=None)


class RunLogLine(Base):
    """One line a run's container printed, for runs recorded before log files (migration 0005)."""

    __tablename__ = "run_log_lines"
    __table_args__ = (Index("ix_run_log_lines_run_seq", "run_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column()
    stream: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)


class RunExecutor(Base):
    """A live executor: adopts nobody else's runs until their heartbeat is older than the lease."""

    __tablename__ = "run_executors"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    instance: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
