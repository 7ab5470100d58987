"""The audit log: who did what to which object, and when.

The routes call ``record`` after an action succeeded (create, run, cancel,
share, delete, publish); admins read it with ``query`` through
``GET {prefix}api/admin/audit``. Rows live in the store (``audit_log``), so the
log survives restarts and is the same for every replica of the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from mlrun_kernel.store import Store
from mlrun_kernel.store.models import AuditEntry
from mlrun_kernel.store.types import utcnow

ACTIONS = ("create", "run", "cancel", "share", "delete", "publish", "sync")


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any] | None


def record(
    store: Store,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one entry; ``action`` is one of ``ACTIONS``."""
    if action not in ACTIONS:
        raise ValueError(f"audit action {action!r} is not one of {', '.join(ACTIONS)}")
    with store.session() as s:
        s.add(
            AuditEntry(
                at=utcnow(),
                actor=actor[:255],
                action=action,
                object_type=object_type[:32],
                object_id=object_id[:600],
                detail=detail,
            )
        )


def query(
    store: Store,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditRecord], int]:
    """Entries matching every filter given, newest first, and how many match in all."""
    where = []
    if actor:
        where.append(AuditEntry.actor == actor)
    if action:
        where.append(AuditEntry.action == action)
    if object_type:
        where.append(AuditEntry.object_type == object_type)
    if object_id:
        where.append(AuditEntry.object_id == object_id)
    if since:
        where.append(AuditEntry.at >= since)
    if until:
        where.append(AuditEntry.at < until)
    with store.session() as s:
        total = int(s.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0)
        rows = s.scalars(
            select(AuditEntry)
            .where(*where)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [
            AuditRecord(r.id, r.at, r.actor, r.action, r.object_type, r.object_id, r.detail) for r in rows
        ], total
