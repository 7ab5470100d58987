"""The run record, declared once: ``RunInfo`` is what the library answers, and the wire
shape (the service's ``RunOut``, the embedded CLI's ``--json``) is derived from it.

- :class:`RunInfo` / :class:`RunEventInfo`: a run as callers of the library see it.
- :func:`run_info`: a store row (and its events) as a ``RunInfo``.
- :data:`RunOut` / :data:`RunPageOut`: pydantic models built from the dataclasses'
  fields (:func:`mlrun_kernel.wire.wire_model`), minus :data:`HIDDEN` (the executor
  host's paths), so a field added to ``RunInfo`` reaches the API, its OpenAPI
  schema and the CLI by itself; the client's ``Run`` is generated from that schema.
- :func:`public_record`: a ``RunInfo`` as the JSON object the service sends; the
  service and the embedded CLI both print runs through it.
- :func:`clean_run_name`: the one rule for the name a person gives a run (the
  executor applies it, so the service, the CLI and the widgets agree).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from typing_extensions import TypedDict

from mlrun_kernel.runs.errors import InvalidRun
from mlrun_kernel.runs.states import RunState
from mlrun_kernel.spec.run_name import RunNameError
from mlrun_kernel.spec.run_name import clean_run_name as _clean_name
from mlrun_kernel.store.models import Run, RunEvent
from mlrun_kernel.wire import to_wire, wire_model


class OutputFile(TypedDict):
    """One collected output file, relative to the outputs folder."""

    path: str
    size: int


@dataclass(frozen=True)
class RunEventInfo:
    at: datetime
    state: str
    reason: str | None


@dataclass(frozen=True)
class RunInfo:
    """A run as callers see it."""

    id: str
    name: str | None
    """What the person who started it called it; None: unnamed."""
    owner: str
    model: str
    model_ref: str
    model_version: str | None
    digest: str
    task: str
    inputs: dict[str, Any]
    parameters: dict[str, Any]
    resources: dict[str, Any]
    state: str
    reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    progress: float | None
    progress_message: str | None
    exit_code: int | None
    outputs_dir: Path
    outputs: list[OutputFile]
    outputs_bytes: int | None
    metrics: dict[str, Any] | None
    result: Any
    failure_text: str | None
    warnings: list[str]
    log_lines: int
    log_truncated: bool
    reused_from: str | None
    pull_progress: dict[str, Any] | None = None
    queue_position: int | None = None
    events: list[RunEventInfo] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return RunState(self.state).terminal


def clean_run_name(value: str | None) -> str | None:
    """A run name as stored (:func:`mlrun_kernel.spec.run_name.clean_run_name`: stripped, empty ->
    None); one it refuses raises ``InvalidRun`` with the pointer ``/name`` (a 422 from the service)."""
    try:
        return _clean_name(value)
    except RunNameError as exc:
        raise InvalidRun(f"the run name {exc}", [("/name", str(exc))]) from None


# Fields of RunInfo that are not columns of the same name, or need a copy or a default.
_DERIVED = {"outputs_dir", "queue_position", "events"}
_EMPTY: dict[str, Any] = {
    "inputs": dict,
    "parameters": dict,
    "resources": dict,
    "outputs": list,
    "warnings": list,
}


def run_info(run: Run, events: list[RunEvent] | None = None, position: int | None = None) -> RunInfo:
    """A stored run (with its state history, and its queue position when queued) as a ``RunInfo``."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(RunInfo):
        if f.name in _DERIVED:
            continue
        value = getattr(run, f.name)
        empty = _EMPTY.get(f.name)
        values[f.name] = empty(value or ()) if empty else value
    return RunInfo(
        **values,
        outputs_dir=Path(run.storage) / "outputs",
        queue_position=position,
        events=[RunEventInfo(at=e.at, state=e.state, reason=e.reason) for e in events or []],
    )


@dataclass(frozen=True)
class RunPage:
    """One page of runs: ``total`` matching runs, ``next_offset`` None on the last page."""

    runs: list[RunInfo]
    total: int
    limit: int
    offset: int
    next_offset: int | None


HIDDEN = frozenset({"outputs_dir", "pull_progress"})
"""``RunInfo`` fields that stay on the executor's host: its paths, its engine's pull details."""


RunOut = wire_model(RunInfo, "RunOut", hidden=HIDDEN)
RunPageOut = wire_model(RunPage, "RunPage", replace={"runs": list[RunOut]})  # type: ignore[valid-type]


def _public_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    # A local input's host path stays on the executor's host.
    return {name: {k: v for k, v in (value or {}).items() if k != "path"} for name, value in inputs.items()}


def public_model(info: RunInfo) -> BaseModel:
    """``info`` as the service's ``RunOut``."""
    return to_wire(RunOut, info, inputs=_public_inputs(info.inputs))


def public_record(info: RunInfo) -> dict[str, Any]:
    """``info`` as the JSON object the service answers (times in ISO 8601)."""
    return public_model(info).model_dump(mode="json")


def public_page(page: RunPage) -> BaseModel:
    """``page`` as the service's ``RunPage``."""
    return to_wire(RunPageOut, page, runs=[public_model(r) for r in page.runs])
