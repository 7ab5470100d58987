"""The audit log (migration 0004): who did what to which object, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mlrun_kernel.store.models.base import Base
from mlrun_kernel.store.types import IdType, JSONType, utcnow


class AuditEntry(Base):
    """One action a person (or the registry) took: ``ana`` ``share`` ``dataset`` ``ana/sales``."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    """A hub user or service name; ``registry`` for push notifications."""
    action: Mapped[str] = mapped_column(String(32))
    """``create``, ``run``, ``cancel``, ``share``, ``delete``, ``publish``, ..."""
    object_type: Mapped[str] = mapped_column(String(32))
    """``dataset``, ``upload``, ``run``, ``model``."""
    object_id: Mapped[str] = mapped_column(String(600))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
