"""Builds: an expert's build context in, a tested, published model image out (publish scope).

A thin layer over :class:`mlrun_kernel.builds.queue.BuildQueue`. ``POST /builds``
takes the model folder as a tar stream (``application/x-tar``), refused past
the size cap (413) or when it breaks the safe-archive rules (422); a caller
over the per-user limit gets 429. Builds are private like runs: a caller sees
their own, admins see all, anything else is 404.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from mlrun_kernel.builds.context import ContextRefused, receive, unpack
from mlrun_kernel.builds.queue import TERMINAL, BuildInfo, BuildLine, BuildQueue, BuildRefused
from mlrun_kernel.service.auth import Caller
from mlrun_kernel.service.deps import CallerDep
from mlrun_kernel.service.errors import ServiceFault
from mlrun_kernel.service.threads import in_thread
from mlrun_kernel.wire import to_wire, wire_model

router = APIRouter(tags=["builds"])
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0

BuildOut = wire_model(BuildInfo, "BuildOut")
BuildLineOut = wire_model(BuildLine, "BuildLineOut")


def _queue(request: Request) -> BuildQueue:
    queue: BuildQueue | None = getattr(request.app.state, "builds", None)
    if queue is None:
        raise ServiceFault(503, "this service runs no builds (its Docker engine could not be reached)")
    return queue


async def _visible(queue: BuildQueue, caller: Caller, build_id: str) -> BuildInfo:
    try:
        info: BuildInfo = await in_thread(queue.get, build_id)
    except BuildRefused as exc:
        raise ServiceFault(exc.status, str(exc)) from exc
    if info.owner != caller.name and not caller.is_admin:
        raise ServiceFault(404, f"no build {build_id}")
    return info


@router.post(
    "/builds",
    response_model=BuildOut,
    status_code=201,
    summary="Build, test and publish a model folder sent as a tar stream",
    openapi_extra={"requestBody": {"content": {"application/x-tar": {"schema": {"type": "string"}}}}},
)
async def create_build(
    request: Request,
    caller: CallerDep,
    force: Annotated[bool, Query(description="publish although the tag exists with another image")] = False,
) -> Any:
    """Queue a build of the model folder in the body; follow it with ``/builds/{id}/log/stream``."""
    queue = _queue(request)
    try:
        build_id = await in_thread(queue.new_id, caller.name)
    except BuildRefused as exc:
        raise ServiceFault(exc.status, str(exc)) from exc
    folder = queue.folder(build_id)
    limits = queue.settings
    try:
        size = await receive(request.stream(), folder / "context.tar", limits.build_context_max_bytes)
        await in_thread(
            unpack,
            folder / "context.tar",
            folder / "context",
            max_bytes=limits.build_context_max_bytes,
            max_files=limits.build_context_max_files,
        )
    except ContextRefused as exc:
        await in_thread(queue.discard, build_id)
        raise ServiceFault(exc.status, str(exc)) from exc
    except BaseException:
        await in_thread(queue.discard, build_id)
        raise
    info = await in_thread(queue.submit, build_id, caller.name, size, {"force": force})
    return to_wire(BuildOut, info)


@router.get("/builds", response_model=list[BuildOut], summary="Your builds, newest first")  # type: ignore[valid-type]
async def list_builds(request: Request, caller: CallerDep) -> Any:
    queue = _queue(request)
    found = await in_thread(queue.recent, None if caller.is_admin else caller.name)
    return [to_wire(BuildOut, b) for b in found]


@router.get("/builds/{build_id}", response_model=BuildOut, summary="One build")
async def get_build(build_id: str, request: Request, caller: CallerDep) -> Any:
    return to_wire(BuildOut, await _visible(_queue(request), caller, build_id))


@router.post("/builds/{build_id}/cancel", response_model=BuildOut, summary="Cancel a build")
async def cancel_build(build_id: str, request: Request, caller: CallerDep) -> Any:
    queue = _queue(request)
    await _visible(queue, caller, build_id)
    try:
        info = await in_thread(queue.cancel, build_id, caller.name)
    except BuildRefused as exc:
        raise ServiceFault(exc.status, str(exc)) from exc
    return to_wire(BuildOut, info)


@router.get(
    "/builds/{build_id}/log",
    response_model=list[BuildLineOut],  # type: ignore[valid-type]
    summary="A build's log lines",
)
async def build_log(
    build_id: str,
    request: Request,
    caller: CallerDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Any:
    queue = _queue(request)
    await _visible(queue, caller, build_id)
    return [
        to_wire(BuildLineOut, line)
        for line in await in_thread(queue.lines, build_id, after=after, limit=limit)
    ]


def _sse(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def _state(info: BuildInfo) -> dict[str, Any]:
    return {"state": info.state, "reason": info.reason, "progress": info.progress}


@router.get(
    "/builds/{build_id}/log/stream",
    summary="A build's live log and progress (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_build_log(
    build_id: str,
    request: Request,
    caller: CallerDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=30)] = None,
) -> StreamingResponse:
    """``event: log`` per line (``id`` = its number), ``event: state`` when the state or
    progress moves, ``event: end`` with the final build."""
    queue = _queue(request)
    info = await _visible(queue, caller, build_id)
    if last_event_id and last_event_id.isdigit():
        after = max(after, int(last_event_id))

    async def events() -> AsyncIterator[bytes]:
        last, seen, quiet = after, _state(info), 0.0
        yield _sse("state", seen)
        while True:
            lines = await in_thread(queue.lines, build_id, after=last, limit=1000)
            for line in lines:
                last = line.seq
                yield _sse("log", {"seq": line.seq, "text": line.text}, line.seq)
            if len(lines) == 1000:
                continue
            now = await in_thread(queue.get, build_id)
            if _state(now) != seen:
                seen = _state(now)
                yield _sse("state", seen)
            if now.state in TERMINAL:
                for line in await in_thread(queue.lines, build_id, after=last):
                    last = line.seq
                    yield _sse("log", {"seq": line.seq, "text": line.text}, line.seq)
                yield _sse("end", to_wire(BuildOut, now).model_dump(mode="json"))
                return
            await anyio.sleep(POLL_SECONDS)
            quiet = 0.0 if lines else quiet + POLL_SECONDS
            if quiet >= KEEPALIVE_SECONDS:
                quiet = 0.0
                yield b": keep-alive\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
