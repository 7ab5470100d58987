"""Admins: the audit log (who did what to which object, and when)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mlrun_kernel.service import audit
from mlrun_kernel.service.deps import CallerDep, PlatformDep
from mlrun_kernel.service.threads import in_thread

router = APIRouter(tags=["admin"])


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    entries: list[AuditOut]
    total: int
    limit: int
    offset: int


@router.get("/admin/audit", response_model=AuditPage, summary="Query the audit log")
async def audit_log(
    caller: CallerDep,
    platform: PlatformDep,
    actor: Annotated[str | None, Query(max_length=300)] = None,
    action: Annotated[str | None, Query(max_length=32, description=", ".join(audit.ACTIONS))] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=600)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> AuditPage:
    """Newest first; every filter given must match."""
    entries, total = await in_thread(
        audit.query,
        platform.store,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return AuditPage(
        entries=[AuditOut(**e.__dict__) for e in entries], total=total, limit=limit, offset=offset
    )
