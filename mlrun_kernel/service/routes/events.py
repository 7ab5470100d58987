"""The registry's push notifications: ``POST {prefix}api/registry/events``.

The registry (``notifications.endpoints`` in its config, written by
``scripts/registry.sh``) posts an envelope of events after every push and
delete. The route checks the shared secret the registry sends in its
``Authorization`` header (``MLK_REGISTRY_EVENTS_SECRET``), re-syncs just the
repositories named (``apply_registry_events``, in a thread) and records each
pushed tag as a ``publish`` in the audit log. So a pushed model is in the
catalog as soon as the registry says so, without polling.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from mlrun_kernel.service import audit
from mlrun_kernel.service.auth import token_from_header
from mlrun_kernel.service.deps import PlatformDep
from mlrun_kernel.service.errors import ServiceFault
from mlrun_kernel.service.threads import in_thread

router = APIRouter(tags=["registry"])
MAX_ENVELOPE_BYTES = 4 * 1024 * 1024


class EventsOut(BaseModel):
    repositories: list[str]
    new_tags: int
    moved_tags: int
    deleted_tags: int
    error: str | None


def _events(body: bytes) -> list[dict[str, Any]]:
    try:
        envelope = json.loads(body or b"{}")
    except ValueError as exc:
        raise ServiceFault(400, f"the notification is not JSON: {exc}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("events", []), list):
        raise ServiceFault(400, 'a notification is {"events": [...]}')
    return [
        e
        for e in envelope.get("events", [])
        if isinstance(e, dict) and isinstance(e.get("target"), dict) and isinstance(e.get("action"), str)
    ]


def _published(store: Any, events: list[dict[str, Any]]) -> None:
    for event in events:
        target = event["target"]
        if event["action"] == "push" and target.get("tag") and target.get("repository"):
            actor = (event.get("actor") or {}).get("name") or "registry"
            reference = f"{target['repository']}:{target['tag']}"
            audit.record(store, str(actor), "publish", "model", reference, {"digest": target.get("digest")})


@router.post(
    "/registry/events",
    response_model=EventsOut,
    summary="Registry push notifications",
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "The registry's notification envelope",
        }
    },
)
async def registry_events(request: Request, platform: PlatformDep) -> EventsOut:
    """Called by the registry, with ``Authorization: Bearer <MLK_REGISTRY_EVENTS_SECRET>``."""
    secret = platform.config.registry_events_secret
    if not secret:
        raise ServiceFault(403, "registry notifications are off: MLK_REGISTRY_EVENTS_SECRET is not set")
    given = token_from_header(request.headers.get("authorization")) or ""
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ServiceFault(401, "registry notifications need 'Authorization: Bearer <the shared secret>'")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_ENVELOPE_BYTES:
            raise ServiceFault(413, f"a notification envelope may hold at most {MAX_ENVELOPE_BYTES} bytes")
    events = _events(body)
    report = await platform.catalog.apply_events({"events": events})
    await in_thread(_published, platform.store, events)
    repositories = sorted(
        {str(e["target"].get("repository")) for e in events if e["target"].get("repository")}
    )
    return EventsOut(
        repositories=repositories,
        new_tags=report.new_tags,
        moved_tags=report.moved_tags,
        deleted_tags=report.deleted_tags,
        error=report.error,
    )
