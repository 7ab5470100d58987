"""Runs: create, list, show, queue position, live logs (SSE), outputs, cancel, re-run, delete.

A thin layer over ``mlrun_kernel.runs.Executor``. Runs are private: a caller
sees their own runs, admins see all; any other run answers 404, the same as
one that does not exist, so run ids cannot be probed. Bad parameters answer
422 with ``errors``: a JSON pointer and a message for each problem.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from mlrun_kernel.runs import RunConflict, RunInfo, RunNotFound, RunPage, RunQuery, RunRequest, RunState
from mlrun_kernel.runs.history import MAX_LIMIT, SORTS
from mlrun_kernel.runs.logs import RunLogEntry
from mlrun_kernel.runs.record import OutputFile, RunOut, RunPageOut, public_model, public_page, public_record
from mlrun_kernel.service import audit
from mlrun_kernel.service.auth import Caller
from mlrun_kernel.service.deps import CallerDep, Platform, PlatformDep
from mlrun_kernel.service.errors import ServiceFault
from mlrun_kernel.service.threads import in_thread
from mlrun_kernel.spec.run_name import RUN_NAME_MAX
from mlrun_kernel.wire import to_wire, wire_model

router = APIRouter(tags=["runs"])
LOG_POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0


class RunIn(BaseModel):
    model: str = Field(max_length=600, description="name, name:tag or name@sha256:...")
    task: str = Field(default="predict", max_length=64)
    inputs: dict[str, str] = Field(
        default_factory=dict, description="input name -> dataset (owner/name:version)"
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    reuse: bool = Field(default=False, description="answer from an identical earlier run if there is one")
    name: str | None = Field(
        default=None,
        description=f"what you call the run: stripped, up to {RUN_NAME_MAX} characters, no control "
        "characters (422 with pointer /name otherwise); empty or null: unnamed",
    )


class QueueOut(BaseModel):
    id: str
    state: str
    position: int | None = Field(description="1 = next to start; null when not queued")


LogLineOut = wire_model(RunLogEntry, "LogLineOut")


def _out(info: RunInfo) -> Any:
    """The one place a ``RunInfo`` becomes the API's ``RunOut``."""
    return public_model(info)


def _executor(platform: Platform) -> Any:
    if platform.executor is None:
        raise ServiceFault(503, "this service runs no executor (MLK_SERVICE_RUN_EXECUTOR=0)")
    return platform.executor


async def _visible_run(platform: Platform, caller: Caller, run_id: str) -> RunInfo:
    """The run if the caller may see it (own, or admin); 404 otherwise, never 403."""
    info: RunInfo = await in_thread(_executor(platform).get, run_id)
    if info.owner != caller.name and not caller.is_admin:
        raise RunNotFound(run_id)
    return info


@router.post("/runs", response_model=RunOut, status_code=201, summary="Start a run")
async def create_run(body: RunIn, caller: CallerDep, platform: PlatformDep) -> Any:
    """Queue a run of a model's task on datasets with parameters; 422 says what to fix."""
    request = RunRequest(
        model=body.model,
        task=body.task,
        inputs=dict(body.inputs),
        parameters=dict(body.parameters),
        owner=caller.principal(),
        reuse=body.reuse,
        name=body.name,
    )
    info: RunInfo = await in_thread(_executor(platform).submit, request)
    await in_thread(
        audit.record,
        platform.store,
        caller.name,
        "run",
        "run",
        info.id,
        {"model": f"{info.model}@{info.digest}", "task": info.task, "inputs": body.inputs, "name": info.name},
    )
    return _out(info)


@router.get("/runs", response_model=RunPageOut, summary="List runs")
async def list_runs(
    caller: CallerDep,
    platform: PlatformDep,
    owner: Annotated[str | None, Query(max_length=300, description="admins: anyone's; others: own")] = None,
    state: RunState | None = None,
    model: Annotated[str | None, Query(max_length=600)] = None,
    task: Annotated[str | None, Query(max_length=64)] = None,
    created_after: Annotated[datetime | None, Query(description="created at or after")] = None,
    created_before: Annotated[datetime | None, Query(description="created before")] = None,
    name: Annotated[
        str | None, Query(max_length=RUN_NAME_MAX, description="runs whose name holds this text (any case)")
    ] = None,
    sort: Annotated[str, Query(max_length=20, description=f"one of {', '.join(SORTS)}; -name reverses")] = (
        "-created_at"
    ),
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Any:
    """Newest first by default, with the total count. Others' runs are visible to admins only."""
    if not caller.is_admin:
        if owner not in (None, caller.name):
            raise ServiceFault(403, f"{caller.name} may list only their own runs")
        owner = caller.name
    query = RunQuery(
        owner=owner,
        model=model,
        task=task,
        state=state.value if state else None,
        created_after=created_after,
        created_before=created_before,
        name=name,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    page: RunPage = await in_thread(_executor(platform).page, query)
    return public_page(page)


@router.get("/runs/{run_id}", response_model=RunOut, summary="Show a run")
async def show_run(run_id: str, caller: CallerDep, platform: PlatformDep) -> Any:
    return _out(await _visible_run(platform, caller, run_id))


@router.get("/runs/{run_id}/queue", response_model=QueueOut, summary="Queue position")
async def queue_position(run_id: str, caller: CallerDep, platform: PlatformDep) -> QueueOut:
    info = await _visible_run(platform, caller, run_id)
    return QueueOut(id=info.id, state=info.state, position=info.queue_position)


@router.get("/runs/{run_id}/logs", response_model=list[LogLineOut], summary="Stored log lines")  # type: ignore[valid-type]
async def run_logs(
    run_id: str,
    caller: CallerDep,
    platform: PlatformDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="lines with seq > after")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[BaseModel]:
    await _visible_run(platform, caller, run_id)
    lines = await in_thread(_executor(platform).logs, run_id, after=after, limit=limit)
    return [to_wire(LogLineOut, e) for e in lines]


def _sse(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


@router.get(
    "/runs/{run_id}/logs/stream",
    summary="Live logs (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_logs(
    run_id: str,
    caller: CallerDep,
    platform: PlatformDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=30)] = None,
) -> StreamingResponse:
    """``event: log`` per line (``id`` = its seq, so a reconnect resumes), ``event: state`` on
    every state change, and ``event: end`` with the final run once it has ended."""
    info = await _visible_run(platform, caller, run_id)
    if last_event_id and last_event_id.isdigit():
        after = max(after, int(last_event_id))
    executor = _executor(platform)

    async def events() -> AsyncIterator[bytes]:
        last, state, quiet = after, info.state, 0.0
        yield _sse("state", {"state": state, "reason": info.reason})
        while True:
            lines = await in_thread(executor.logs, run_id, after=last, limit=1000)
            for e in lines:
                last = e.seq
                yield _sse("log", {"seq": e.seq, "at": e.at, "stream": e.stream, "text": e.text}, e.seq)
            if len(lines) == 1000:
                continue
            try:
                now: RunInfo = await in_thread(executor.get, run_id)
            except RunNotFound:
                yield _sse("end", {"state": "deleted"})
                return
            if now.state != state:
                state = now.state
                yield _sse("state", {"state": state, "reason": now.reason})
            if now.terminal:
                for e in await in_thread(executor.logs, run_id, after=last):
                    last = e.seq
                    yield _sse("log", {"seq": e.seq, "at": e.at, "stream": e.stream, "text": e.text}, e.seq)
                yield _sse("end", public_record(now))
                return
            await anyio.sleep(LOG_POLL_SECONDS)
            quiet = 0.0 if lines else quiet + LOG_POLL_SECONDS
            if quiet >= KEEPALIVE_SECONDS:
                quiet = 0.0
                yield b": keep-alive\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/runs/{run_id}/outputs", response_model=list[OutputFile], summary="Outputs of a run")
async def list_outputs(run_id: str, caller: CallerDep, platform: PlatformDep) -> list[OutputFile]:
    return (await _visible_run(platform, caller, run_id)).outputs


def _output_file(info: RunInfo, path: str) -> Path:
    """The collected output ``path`` of a run, refusing anything the collector did not list."""
    if path not in {str(o.get("path")) for o in info.outputs}:
        raise ServiceFault(404, f"run {info.id} has no output {path!r} (see its outputs list)")
    root = info.outputs_dir.resolve()
    file = (info.outputs_dir / path).resolve()
    if not file.is_relative_to(root) or (info.outputs_dir / path).is_symlink() or not file.is_file():
        raise ServiceFault(404, f"run {info.id} has no output {path!r} any more")
    return file


@router.get("/runs/{run_id}/outputs/{path:path}", summary="Download an output")
async def download_output(run_id: str, path: str, caller: CallerDep, platform: PlatformDep) -> FileResponse:
    info = await _visible_run(platform, caller, run_id)
    file = await in_thread(_output_file, info, path)
    return FileResponse(file, filename=os.path.basename(path))


def _output_preview(file: Path) -> dict[str, Any]:
    from mlrun_kernel.datasets import DatasetError, dataset_settings
    from mlrun_kernel.datasets.detect import HEAD_BYTES, extension_type, sniff
    from mlrun_kernel.datasets.preview import file_preview

    cfg = dataset_settings()
    size = file.stat().st_size
    with file.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    media = extension_type(file.name) or sniff(head)
    try:
        preview = file_preview(
            file,
            media,
            size,
            rows=cfg.preview_rows,
            sample=cfg.preview_sample_rows,
            max_bytes=cfg.preview_max_bytes,
            inline_max=cfg.thumbnail_max_bytes,
        )
    except DatasetError as exc:
        preview = {"kind": "none", "reason": str(exc)}
    return {"media_type": media, "size": size, **preview}


@router.get("/runs/{run_id}/preview/{path:path}", response_model=dict[str, Any], summary="Preview an output")
async def preview_output(run_id: str, path: str, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """Like a dataset preview: first rows with types, a thumbnail, or the head of a text."""
    info = await _visible_run(platform, caller, run_id)
    file = await in_thread(_output_file, info, path)
    return await in_thread(_output_preview, file)


class TableColumnOut(BaseModel):
    name: str
    type: str


class TablePageOut(BaseModel):
    columns: list[TableColumnOut]
    rows: list[list[Any]]
    total: int = Field(description="rows in the whole table")
    offset: int
    limit: int
    sort: str | None
    descending: bool


def _output_table(file: Path, req: Any) -> dict[str, Any]:
    from mlrun_kernel.datasets.detect import HEAD_BYTES, extension_type, sniff
    from mlrun_kernel.runs.tables import TableError, table_page

    with file.open("rb") as fh:
        media = extension_type(file.name) or sniff(fh.read(HEAD_BYTES))
    try:
        return table_page(file, media, req)
    except TableError as exc:
        raise ServiceFault(exc.status, str(exc)) from exc


@router.get(
    "/runs/{run_id}/table/{path:path}", response_model=TablePageOut, summary="A page of a table output"
)
async def output_table(
    run_id: str,
    path: str,
    caller: CallerDep,
    platform: PlatformDep,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: Annotated[str | None, Query(max_length=200, description="a column name")] = None,
    descending: bool = False,
) -> dict[str, Any]:
    """One page of a CSV, TSV or Parquet output, sorted by a column: the file stays on the service."""
    from mlrun_kernel.runs.tables import PageRequest

    info = await _visible_run(platform, caller, run_id)
    file = await in_thread(_output_file, info, path)
    req = PageRequest(offset=offset, limit=limit, sort=sort, descending=descending)
    return await in_thread(_output_table, file, req)


class OutputUrlOut(BaseModel):
    url: str
    method: str
    expires: int


def _output_signer(platform: Platform) -> Any:
    from mlrun_kernel.service.signing import Signer

    return Signer(platform.config.secret, platform.config.signed_url_seconds, clock=platform.clock)


@router.post(
    "/runs/{run_id}/output-url", response_model=OutputUrlOut, summary="A URL to fetch an output, tokenless"
)
async def output_url(
    run_id: str,
    caller: CallerDep,
    platform: PlatformDep,
    path: Annotated[str, Query(max_length=2000)],
) -> OutputUrlOut:
    """A short-lived URL a browser can download one output from (a link in a results view)."""
    info = await _visible_run(platform, caller, run_id)
    await in_thread(_output_file, info, path)
    url_path = f"{platform.config.prefix}api/signed/runs/{run_id}/output"
    bound = {"path": path, "admin": "1" if caller.is_admin else "0"}
    signed = _output_signer(platform).sign("GET", url_path, caller.name, bound=bound)
    return OutputUrlOut(url=signed.url, method="GET", expires=signed.expires)


@router.get("/signed/runs/{run_id}/output", summary="Download an output from a signed URL")
async def output_signed(
    run_id: str,
    request: Request,
    platform: PlatformDep,
    path: Annotated[str, Query(max_length=2000)],
    admin: Annotated[str, Query(max_length=1)] = "0",
    user: str | None = None,
    expires: str | None = None,
    signature: str | None = None,
) -> FileResponse:
    """The output the URL names, if its signer may still see the run now (else 403, with why)."""
    from mlrun_kernel.service.signing import SignatureError

    bound = {"path": path, "admin": admin}
    signer = _output_signer(platform).verify("GET", request.url.path, user, expires, signature, bound)
    try:
        info: RunInfo = await in_thread(_executor(platform).get, run_id)
        if info.owner != signer and admin != "1":
            raise RunNotFound(run_id)
        file = await in_thread(_output_file, info, path)
    except (RunNotFound, ServiceFault):
        raise SignatureError(
            f"this signed URL no longer works: run {run_id} or its output {path!r} is gone"
        ) from None
    return FileResponse(file, filename=os.path.basename(path))


@router.post("/runs/{run_id}/cancel", response_model=RunOut, summary="Cancel a run")
async def cancel_run(run_id: str, caller: CallerDep, platform: PlatformDep) -> Any:
    """Queued runs end at once; active ones are stopped. Ended runs are left as they are."""
    await _visible_run(platform, caller, run_id)
    info = await in_thread(_executor(platform).cancel, run_id, by=caller.name)
    await in_thread(audit.record, platform.store, caller.name, "cancel", "run", run_id)
    return _out(info)


@router.post("/runs/{run_id}/rerun", response_model=RunOut, status_code=201, summary="Re-run")
async def rerun(run_id: str, caller: CallerDep, platform: PlatformDep, reuse: bool = False) -> Any:
    """A new run with the same model digest, task, dataset versions and parameters."""
    old = await _visible_run(platform, caller, run_id)
    if any((i or {}).get("kind") == "local" for i in old.inputs.values()):
        raise RunConflict(
            f"run {run_id} read files from the executor's host; re-run it with `mlk runs rerun`"
        )
    info: RunInfo = await in_thread(_executor(platform).rerun, run_id, owner=caller.principal(), reuse=reuse)
    await in_thread(audit.record, platform.store, caller.name, "run", "run", info.id, {"rerun_of": run_id})
    return _out(info)


@router.delete("/runs/{run_id}", status_code=204, summary="Delete a run")
async def delete_run(run_id: str, caller: CallerDep, platform: PlatformDep) -> Response:
    """An ended run, with its logs and outputs; 409 while it is active (cancel it first)."""
    await _visible_run(platform, caller, run_id)
    await in_thread(_executor(platform).remove, run_id)
    await in_thread(audit.record, platform.store, caller.name, "delete", "run", run_id)
    return Response(status_code=204)
