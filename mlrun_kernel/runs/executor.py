"""The executor: the public face of runs, over a scheduler and a pool of workers.

Layers, from the outside in:

- :class:`Executor` (this module) is what the CLI and the service call:
  ``submit``, ``get``/``page``/``list``, ``logs``/``follow``, ``wait``,
  ``cancel``, ``rerun``, ``remove``; and ``start``/``stop``. It validates a
  request against the catalog and queues it; everything after is below.
- :mod:`.scheduler`: one thread that beats the executor's heartbeat,
  reconciles runs of dead executors (:mod:`.reconcile`), passes cancels on, and
  claims queued runs in fair order within the limits (:mod:`.queue`).
- :mod:`.worker`: one thread per active run that walks it through pulling,
  starting, running and collecting on a :class:`~.backends.base.Backend`, and
  gives its verdict; the container is removed whatever happens.
- :mod:`.transitions` (every state move in the store), :mod:`.contract` (what
  the container sees), :mod:`.inputs` (datasets as mounted folders).

State lives in the store, so a killed executor loses nothing: the next one
adopts running containers, collects exited ones and requeues runs that never
started.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from mlrun_kernel.catalog import resolve_version
from mlrun_kernel.datasets import Datasets, Principal
from mlrun_kernel.runs.backends.base import Backend, Handle
from mlrun_kernel.runs.errors import InvalidRun, RunConflict, RunNotFound
from mlrun_kernel.runs.history import RunQuery, next_offset, select_page
from mlrun_kernel.runs.inputs import DatasetVersionInput, InputSource, LocalInput, hold_inputs, resolve_inputs
from mlrun_kernel.runs.limits import RunSettings, effective_resources, run_settings
from mlrun_kernel.runs.logfile import index_for
from mlrun_kernel.runs.logs import LogHub, RunLogEntry, stored_lines
from mlrun_kernel.runs.outputs_fs import CappedOutputs
from mlrun_kernel.runs.record import RunInfo, RunPage, clean_run_name
from mlrun_kernel.runs.record import run_info as _info
from mlrun_kernel.runs.reuse import find_reusable, reuse_key
from mlrun_kernel.runs.run_user import parse_run_user
from mlrun_kernel.runs.scheduler import Scheduler, queue_positions
from mlrun_kernel.runs.states import TERMINAL, RunState
from mlrun_kernel.runs.transitions import Transitions
from mlrun_kernel.runs.worker import Workers
from mlrun_kernel.spec import ManifestError, ParameterError, parse_manifest, validate_parameters
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Run, RunEvent
from mlrun_kernel.store.types import utcnow

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class RunRequest:
    """What a user asks for: a model (``name``, ``name:tag``, ``name@sha256:...``), a task,
    datasets for its inputs, parameters; ``reuse`` returns an identical earlier run's results."""

    model: str
    task: str = "predict"
    inputs: dict[str, InputSource] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    owner: Principal | str = "anonymous"
    """A user name, or a ``Principal`` (its groups open group-shared datasets)."""
    reuse: bool = False
    name: str | None = None
    """What the person calls the run (optional; ``clean_run_name`` says what is accepted)."""


def _owner_name(owner: Principal | str) -> str:
    return owner.name if isinstance(owner, Principal) else owner


def split_model_ref(text: str) -> tuple[str, str]:
    """``iris@sha256:ab..`` -> (``iris``, ``sha256:ab..``); ``iris:1.0`` -> (``iris``, ``1.0``)."""
    if "@" in text:
        name, _, ref = text.partition("@")
        return name, ref
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, ref = text.rpartition(":")
        return name, ref
    return text, "latest"


# --------------------------------------------------------------------------- executor


class Executor:
    """Runs model containers from the queue in the store; see the module docstring."""

    def __init__(
        self,
        store: Store,
        *,
        backend: Backend | None = None,
        settings: RunSettings | None = None,
        root: Path | str | None = None,
        registry: str | None = None,
        name: str | None = None,
        hub: LogHub | None = None,
        data_dir: Path | str | None = None,
        datasets: Datasets | None = None,
    ) -> None:
        """``datasets`` is where run inputs come from (default: ``Datasets(store, data_dir)``,
        ``data_dir`` defaulting to MLK_DATA_DIR); the other arguments default to the settings."""
        from mlrun_kernel.config import settings as platform_settings

        self.store = store
        self.settings = settings or run_settings()
        self.run_user = parse_run_user(self.settings.run_user)
        """Who model containers run as, and who owns their outputs folder; never root."""
        if backend is None:
            from mlrun_kernel.runs.backends import make_backend

            backend = make_backend(self.settings.run_backend)
        self.root = Path(root or self.settings.runs_dir or platform_settings().data_dir / "runs").resolve()
        self.registry = registry or platform_settings().registry_host
        self.datasets = datasets if datasets is not None else Datasets(store, data_dir)
        """Where run inputs come from: resolved, held and laid out by dataset version id."""
        self.name = name or self.settings.executor_name
        self.instance = uuid.uuid4().hex
        self.hub = hub or LogHub()
        self.transitions = Transitions(store, self.datasets)
        """The one way a run's state changes in the store."""
        self.workers = Workers(
            store=store,
            backend=backend,
            settings=self.settings,
            transitions=self.transitions,
            hub=self.hub,
            executor=self.name,
            root=self.root,
            datasets=self.datasets,
            run_user=self.run_user,
            on_end=self.wake,
        )
        self.scheduler = Scheduler(self, self.workers, instance=self.instance)

    @property
    def backend(self) -> Backend:
        """The engine runs go to; set it before ``start`` to run on another one."""
        return self.workers.backend

    @backend.setter
    def backend(self, value: Backend) -> None:
        self.workers.backend = value

    # ------------------------------------------------------------------ submit

    def submit(self, request: RunRequest) -> RunInfo:
        """Validate ``request`` and queue it (or, with ``reuse``, answer from an earlier run).

        Raises :class:`InvalidRun` saying what to fix: unknown model or task,
        parameters that do not validate (``issues`` has JSON pointers),
        missing or wrong inputs, resources the operator does not allow.
        """
        owner = _owner_name(request.owner)
        run_name = clean_run_name(request.name)
        name, ref = split_model_ref(request.model)
        version = resolve_version(self.store, name, ref)
        if version is None:
            raise InvalidRun(f"no model {request.model} in the catalog (see `mlk models list`)")
        if version.problem or not version.manifest:
            raise InvalidRun(f"model {request.model} cannot run: {version.problem or 'no manifest'}")
        try:
            manifest = parse_manifest(version.manifest)
        except ManifestError as exc:
            raise InvalidRun(f"model {request.model} has a broken manifest: {exc}") from exc
        task = manifest.tasks.get(request.task)
        if task is None:
            raise InvalidRun(
                f"model {name} has no task {request.task!r} (tasks: {', '.join(manifest.tasks)})"
            )
        try:
            parameters = validate_parameters(task.parameters, dict(request.parameters))
        except ParameterError as exc:
            issues = [(i.path, i.message) for i in exc.errors]
            raise InvalidRun(f"parameters do not validate:\n{exc}", issues) from exc
        resources = effective_resources(manifest.resources, self.settings)
        inputs = resolve_inputs(self.datasets, request.owner, task.inputs, dict(request.inputs))
        key = reuse_key(version.digest, task.name, inputs, parameters)
        run_id = secrets.token_hex(8)
        now = utcnow()
        row = Run(
            id=run_id,
            name=run_name,
            owner=owner,
            model=name,
            model_ref=ref,
            model_version=version.version,
            digest=version.digest,
            image=f"{self.registry}/{name}@{version.digest}",
            task=task.name,
            command=list(task.command) if task.command else None,
            inputs=inputs,
            parameters=parameters,
            resources={
                "memory_bytes": resources.memory_bytes,
                "cpus": resources.cpus,
                "gpus": resources.gpus,
                "timeout_seconds": resources.timeout_seconds,
                "network": resources.network,
                "pids_limit": resources.pids_limit,
            },
            reuse_key=key,
            state=RunState.QUEUED.value,
            created_at=now,
            state_changed_at=now,
            storage=str(self.root / run_id),
            warnings=list(resources.notes),
        )
        earlier = find_reusable(self.store, self.datasets, key, request.owner) if request.reuse else None
        if earlier is not None:
            row.state = RunState.SUCCEEDED.value
            row.reused_from = earlier.id
            row.storage = earlier.storage
            row.finished_at = now
            for attr in ("outputs", "outputs_bytes", "metrics", "result", "exit_code"):
                setattr(row, attr, getattr(earlier, attr))
            row.progress = 1.0
            with self.store.session() as s:
                s.add(row)
                s.flush()
                s.add(RunEvent(run_id=run_id, at=now, state="queued"))
                s.add(
                    RunEvent(
                        run_id=run_id,
                        at=now,
                        state="succeeded",
                        reason=f"reused the results of run {earlier.id}",
                    )
                )
            return self.get(run_id)
        with self.store.session() as s:
            s.add(row)
            s.flush()
            s.add(RunEvent(run_id=run_id, at=now, state="queued"))
        try:
            hold_inputs(self.datasets, run_id, inputs)
        except Exception as exc:
            self.transitions.move(run_id, RunState.FAILED, f"could not hold the input datasets: {exc}")
            raise InvalidRun(f"could not hold the input datasets: {exc}") from exc
        self.wake()
        return self.get(run_id)

    # ------------------------------------------------------------------ read

    def get(self, run_id: str) -> RunInfo:
        with self.store.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise RunNotFound(run_id)
            events = list(s.scalars(select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id)))
            position = None
            if run.state == RunState.QUEUED:
                position = queue_positions(s).get(run_id)
            return _info(run, events, position)

    def page(self, query: RunQuery | None = None, /, **filters: Any) -> RunPage:
        """One page of runs (``RunQuery``, or its fields as keywords), with the total count.

        Two statements for the rows and the count; queue positions once per page."""
        q = query if query is not None else RunQuery(**filters)
        with self.store.session() as s:
            rows, total = select_page(s, q)
            positions = queue_positions(s) if any(r.state == RunState.QUEUED for r in rows) else {}
            runs = [_info(r, None, positions.get(r.id)) for r in rows]
        after = next_offset(q, total)
        return RunPage(runs=runs, total=total, limit=q.limit, offset=q.offset, next_offset=after)

    def list(self, **filters: Any) -> list[RunInfo]:
        """The runs of one page (``RunQuery``'s fields as keywords), newest first by default."""
        return self.page(**filters).runs

    def logs(self, run_id: str, *, after: int = 0, limit: int = 10_000) -> builtins.list[RunLogEntry]:
        """Stored log lines with ``seq > after``."""
        self.get(run_id)
        return stored_lines(self.store, run_id, after=after, limit=limit)

    def follow(self, run_id: str, *, after: int = 0, poll: float = 0.25) -> Iterator[RunLogEntry]:
        """Every log line from ``after`` on, live, until the run ends."""
        for lines in self.follow_batches(run_id, after=after, poll=poll):
            yield from lines

    def follow_batches(
        self, run_id: str, *, after: int = 0, poll: float = 0.25
    ) -> Iterator[builtins.list[RunLogEntry]]:
        """The lines of :meth:`follow` as they are read, a batch at a time, so that a
        printer can write and flush once per batch instead of once per line."""
        sub = self.hub.subscribe(run_id)  # wakes us when this process's recorder writes
        last, batch = after, 10_000
        try:
            while True:
                with self.store.session() as s:
                    state = s.scalar(select(Run.state).where(Run.id == run_id))
                if state is None:
                    raise RunNotFound(run_id)
                ended = RunState(state).terminal  # the log is complete before a run ends
                lines = stored_lines(self.store, run_id, after=last, limit=batch)
                if lines:
                    last = lines[-1].seq
                    yield lines
                if len(lines) == batch:
                    continue
                if ended:
                    return
                if not lines:
                    sub.wait(poll)  # another process's recorder: seen at the next poll
        finally:
            sub.close()

    def wait(self, run_id: str, timeout: float | None = None) -> RunInfo:
        """Block until the run ends; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            info = self.get(run_id)
            if info.terminal:
                return info
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"run {run_id} is still {info.state} after {timeout} s")
            with self.transitions.changed:
                self.transitions.changed.wait(timeout=min(0.5, left) if left is not None else 0.5)

    # ------------------------------------------------------------------ change

    def cancel(self, run_id: str, *, by: str | None = None) -> RunInfo:
        """Cancel in any state: queued runs end at once, active ones are stopped."""
        reason = f"cancelled by {by}" if by else "cancelled"
        with self.store.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise RunNotFound(run_id)
            if run.state in TERMINAL:
                return self.get(run_id)
            run.cancel_requested = True
        if self.transitions.move(run_id, RunState.CANCELLED, reason, only_from={RunState.QUEUED}):
            return self.get(run_id)
        self.workers.cancel(run_id, reason)
        return self.get(run_id)

    def rerun(self, run_id: str, *, owner: Principal | str | None = None, reuse: bool = False) -> RunInfo:
        """The same model digest, task, inputs and parameters, as a new run."""
        old = self.get(run_id)
        inputs: dict[str, InputSource] = {}
        for name, info in old.inputs.items():
            if info["kind"] == "local":
                inputs[name] = LocalInput(Path(info["path"]))
            else:
                inputs[name] = DatasetVersionInput.of(info)
        return self.submit(
            RunRequest(
                model=f"{old.model}@{old.digest}",
                task=old.task,
                inputs=inputs,
                parameters=old.parameters,
                owner=owner if owner is not None else old.owner,
                reuse=reuse,
                name=old.name,
            )
        )

    def remove(self, run_id: str) -> None:
        """Delete an ended run: its row, log and stored outputs (unless another run reuses them)."""
        info = self.get(run_id)
        if not info.terminal:
            raise RunConflict(f"run {run_id} is {info.state}; cancel it first (`mlk runs cancel`)")
        with self.store.session() as s:
            run = s.get(Run, run_id)
            assert run is not None
            storage, log_file = run.storage, run.log_path
            shared = s.scalar(select(func.count()).where(Run.storage == storage, Run.id != run_id))
            s.delete(run)
        self.transitions.release(run_id)
        if not shared:
            with contextlib.suppress(Exception):  # never rmtree into a mount
                CappedOutputs(Path(storage)).discard()
            shutil.rmtree(storage, ignore_errors=True)
        elif log_file:  # the storage stays for the runs that reuse it; the log was this run's
            for path in (Path(log_file), index_for(Path(log_file))):
                path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Executor:
        """Reconcile with the engine, then start taking runs from the queue (a thread)."""
        if self.scheduler.running:
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        self.scheduler.start()
        return self

    def stop(self, *, wait: float = 10.0) -> None:
        """Stop taking runs; active runs are left running, for the next start to adopt."""
        self.scheduler.stop(wait=wait)
        self.workers.detach_all(wait=wait)

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until this executor has no active worker (tests, shutdown)."""
        self.workers.drain(timeout)

    # ------------------------------------------------------------------ for reconcile

    def held_runs(self) -> set[str]:
        """The runs a worker of this executor holds now."""
        return self.workers.held()

    def take_over(self, run_id: str, *, mode: str, handle: Handle | None) -> None:
        """Give the run a worker: ``adopt`` a running container, ``collect`` an exited one."""
        self.workers.spawn(run_id, mode=mode, handle=handle)

    def remove_container(self, handle: str) -> None:
        """Remove a container, retried while the engine restarts."""
        self.workers.remove_container(handle)

    def wake(self) -> None:
        """Look at the queue again now."""
        self.scheduler.wake()

    def __enter__(self) -> Executor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
