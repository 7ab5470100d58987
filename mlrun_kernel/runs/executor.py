"""The executor: takes runs from the queue and carries each to a true end.

Layers, from the outside in:

- :class:`Executor` is the public face: ``submit``, ``get``, ``list``,
  ``cancel``, ``rerun``, ``remove``, ``logs``/``follow``, ``wait``; and
  ``start``/``stop`` of its scheduler thread. The CLI and the service call
  these and nothing else.
- The scheduler thread beats the executor's heartbeat, reconciles runs of
  dead executors (:mod:`.reconcile`), passes cancels to workers, and starts
  queued runs in fair order within the limits (:mod:`.queue`).
- One worker thread per active run walks it through pulling, starting,
  running and collecting on a :class:`~.backends.base.Backend`, recording
  every move in the store; the container is removed whatever happens.

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
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select, update

from mlrun_kernel.catalog import resolve_version
from mlrun_kernel.datasets.records import Principal
from mlrun_kernel.runs import queue as fair_queue
from mlrun_kernel.runs.backends.base import (
    Backend,
    ContainerSpec,
    ExitStatus,
    Handle,
    OutputStream,
)
from mlrun_kernel.runs.contract import container_spec, outputs_fs_problem
from mlrun_kernel.runs.errors import (
    EngineUnavailable,
    InfrastructureError,
    InvalidRun,
    RunConflict,
    RunNotFound,
)
from mlrun_kernel.runs.history import RunQuery, next_offset, select_page
from mlrun_kernel.runs.inputs import (
    InputSource,
    hold_inputs,
    resolve_inputs,
)
from mlrun_kernel.runs.limits import (
    RunSettings,
    effective_resources,
    format_bytes,
    format_duration,
    run_settings,
)
from mlrun_kernel.runs.logfile import index_for
from mlrun_kernel.runs.logs import LogHub, LogRecorder, RunLogEntry, stored_lines
from mlrun_kernel.runs.outputs import OutputReport, collect_outputs, outputs_size
from mlrun_kernel.runs.outputs_fs import CappedOutputs
from mlrun_kernel.runs.reconcile import reconcile
from mlrun_kernel.runs.record import RunInfo, RunPage
from mlrun_kernel.runs.record import run_info as _info
from mlrun_kernel.runs.reuse import find_reusable, reuse_key
from mlrun_kernel.runs.run_user import parse_run_user
from mlrun_kernel.runs.states import ACTIVE, TERMINAL, RunState
from mlrun_kernel.runs.transitions import Transitions
from mlrun_kernel.spec import ManifestError, ParameterError, parse_manifest, validate_parameters
from mlrun_kernel.store import Store
from mlrun_kernel.store.busy import retry_busy
from mlrun_kernel.store.models import Run, RunEvent, RunExecutor
from mlrun_kernel.store.types import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

EXIT_REJECTED = 64


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


# --------------------------------------------------------------------------- worker state


class _Outcome:
    EXITED = "exited"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    OVER_CAP = "over_cap"
    ENGINE_LOST = "engine_lost"
    DETACHED = "detached"


@dataclass
class _Worker:
    run_id: str
    thread: threading.Thread | None = None
    handle: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    detach: threading.Event = field(default_factory=threading.Event)
    cancel_reason: str = "cancelled"
    output: OutputStream | None = None
    """The container's output, attached before start (None: its log is followed instead)."""


class _Stuck(Exception):
    def __init__(self, state: str, limit: float) -> None:
        super().__init__(f"stuck {state} for more than {format_duration(limit)}")


class _Cancelled(Exception):
    pass


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
    ) -> None:
        from mlrun_kernel.config import settings as platform_settings

        self.store = store
        self.settings = settings or run_settings()
        self.run_user = parse_run_user(self.settings.run_user)
        """Who model containers run as, and who owns their outputs folder; never root."""
        if backend is None:
            from mlrun_kernel.runs.backends import make_backend

            backend = make_backend(self.settings.run_backend)
        self.backend = backend
        self.root = Path(root or self.settings.runs_dir or platform_settings().data_dir / "runs").resolve()
        self.registry = registry or platform_settings().registry_host
        self.data_dir = Path(data_dir) if data_dir else None
        """Where datasets keep their blobs (default: MLK_DATA_DIR)."""
        self.name = name or self.settings.executor_name
        self.instance = uuid.uuid4().hex
        self.hub = hub or LogHub()
        self.transitions = Transitions(store, self.data_dir)
        """The one way a run's state changes in the store."""
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._scheduler: threading.Thread | None = None
        self._last_reconcile = 0.0
        self._last_beat = 0.0

    # ------------------------------------------------------------------ submit

    def submit(self, request: RunRequest) -> RunInfo:
        """Validate ``request`` and queue it (or, with ``reuse``, answer from an earlier run).

        Raises :class:`InvalidRun` saying what to fix: unknown model or task,
        parameters that do not validate (``issues`` has JSON pointers),
        missing or wrong inputs, resources the operator does not allow.
        """
        owner = _owner_name(request.owner)
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
        inputs = resolve_inputs(self.store, self.data_dir, request.owner, task.inputs, dict(request.inputs))
        key = reuse_key(version.digest, task.name, inputs, parameters)
        run_id = secrets.token_hex(8)
        now = utcnow()
        row = Run(
            id=run_id,
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
        earlier = find_reusable(self.store, key, request.owner, self.data_dir) if request.reuse else None
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
            hold_inputs(self.store, self.data_dir, run_id, inputs)
        except Exception as exc:
            self.transitions.move(run_id, RunState.FAILED, f"could not hold the input datasets: {exc}")
            raise InvalidRun(f"could not hold the input datasets: {exc}") from exc
        self._wake.set()
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
                position = self._positions(s).get(run_id)
            return _info(run, events, position)

    def page(self, query: RunQuery | None = None, /, **filters: Any) -> RunPage:
        """One page of runs (``RunQuery``, or its fields as keywords), with the total count.

        Two statements for the rows and the count; queue positions once per page."""
        q = query if query is not None else RunQuery(**filters)
        with self.store.session() as s:
            rows, total = select_page(s, q)
            positions = self._positions(s) if any(r.state == RunState.QUEUED for r in rows) else {}
            runs = [_info(r, None, positions.get(r.id)) for r in rows]
        after = next_offset(q, total)
        return RunPage(runs=runs, total=total, limit=q.limit, offset=q.offset, next_offset=after)

    def list(self, **filters: Any) -> list[RunInfo]:
        """The runs of one page (``RunQuery``'s fields as keywords), newest first by default."""
        return self.page(**filters).runs

    def _positions(self, s: Any) -> dict[str, int]:
        queued = [
            fair_queue.Waiting(id=r.id, owner=r.owner, created_at=r.created_at)
            for r in s.execute(select(Run.id, Run.owner, Run.created_at).where(Run.state == RunState.QUEUED))
        ]
        active = self._active_by_owner(s)
        return fair_queue.positions(queued, active, self._last_served(s, queued))

    @staticmethod
    def _last_served(s: Any, queued: builtins.list[fair_queue.Waiting]) -> dict[str, datetime]:
        owners = {w.owner for w in queued}
        if len(owners) < 2:
            return {}
        rows = s.execute(
            select(Run.owner, func.max(Run.started_at))
            .where(Run.owner.in_(owners), Run.started_at.is_not(None))
            .group_by(Run.owner)
        )
        return {owner: at for owner, at in rows if at is not None}

    @staticmethod
    def _active_by_owner(s: Any) -> dict[str, int]:
        rows = s.execute(
            select(Run.owner, func.count())
            .where(Run.state.in_([st.value for st in ACTIVE]))
            .group_by(Run.owner)
        )
        return {owner: int(n) for owner, n in rows}

    def logs(self, run_id: str, *, after: int = 0, limit: int = 10_000) -> builtins.list[RunLogEntry]:
        """Stored log lines with ``seq > after``."""
        self.get(run_id)
        return stored_lines(self.store, run_id, after=after, limit=limit)

    def follow(self, run_id: str, *, after: int = 0, poll: float = 0.25) -> Iterator[RunLogEntry]:
        """Every log line from ``after`` on, live, until the run ends."""
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
                for entry in lines:
                    last = entry.seq
                    yield entry
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
        with self._lock:
            worker = self._workers.get(run_id)
        if worker is not None:
            self._signal_cancel(worker, reason)
        return self.get(run_id)

    def _signal_cancel(self, worker: _Worker, reason: str) -> None:
        worker.cancel_reason = reason
        worker.cancel.set()
        handle = worker.handle
        if handle is not None:
            threading.Thread(
                target=self._quiet,
                args=(self.backend.stop, handle, self.settings.stop_grace_seconds),
                daemon=True,
            ).start()

    @staticmethod
    def _quiet(fn: Callable[..., Any], *args: Any) -> None:
        with contextlib.suppress(Exception):
            fn(*args)

    def rerun(self, run_id: str, *, owner: Principal | str | None = None, reuse: bool = False) -> RunInfo:
        """The same model digest, task, inputs and parameters, as a new run."""
        old = self.get(run_id)
        inputs: dict[str, InputSource] = {}
        from mlrun_kernel.runs.inputs import LocalInput

        for name, info in old.inputs.items():
            if info["kind"] == "local":
                inputs[name] = LocalInput(Path(info["path"]))
            else:
                inputs[name] = f"{info['ref']}:{info['version']}"
        return self.submit(
            RunRequest(
                model=f"{old.model}@{old.digest}",
                task=old.task,
                inputs=inputs,
                parameters=old.parameters,
                owner=owner if owner is not None else old.owner,
                reuse=reuse,
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
            self._quiet(CappedOutputs(Path(storage)).discard)  # never rmtree into a mount
            shutil.rmtree(storage, ignore_errors=True)
        elif log_file:  # the storage stays for the runs that reuse it; the log was this run's
            for path in (Path(log_file), index_for(Path(log_file))):
                path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Executor:
        """Reconcile with the engine, then start taking runs from the queue (a thread)."""
        if self._scheduler is not None:
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        self._heartbeat(force=True)
        reconcile(self, take_all_of=self.name)
        self._last_reconcile = time.monotonic()
        self._stopping.clear()
        self._scheduler = threading.Thread(
            target=self._schedule_loop, name=f"mlk-scheduler-{self.name}", daemon=True
        )
        self._scheduler.start()
        return self

    def stop(self, *, wait: float = 10.0) -> None:
        """Stop taking runs; active runs are left running, for the next start to adopt."""
        self._stopping.set()
        self._wake.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout=wait)
            self._scheduler = None
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.detach.set()
        for worker in workers:
            if worker.thread is not None:
                worker.thread.join(timeout=wait)

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until this executor has no active worker (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._workers:
                    return
            time.sleep(0.05)
        raise TimeoutError("runs are still active")

    # ------------------------------------------------------------------ for reconcile

    def held_runs(self) -> set[str]:
        """The runs a worker of this executor holds now."""
        with self._lock:
            return set(self._workers)

    def take_over(self, run_id: str, *, mode: str, handle: Handle | None) -> None:
        """Give the run a worker: ``adopt`` a running container, ``collect`` an exited one."""
        self._spawn(run_id, mode=mode, handle=handle)

    def remove_container(self, handle: str) -> None:
        """Remove a container, retried while the engine restarts."""
        self._remove_container(handle)

    def wake(self) -> None:
        """Look at the queue again now."""
        self._wake.set()

    def __enter__(self) -> Executor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _heartbeat(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_beat < self.settings.heartbeat_seconds:
            return
        self._last_beat = now

        def beat() -> None:
            with self.store.session() as s:
                row = s.get(RunExecutor, self.name)
                if row is None:
                    s.add(RunExecutor(name=self.name, instance=self.instance))
                else:
                    row.instance = self.instance
                    row.heartbeat_at = utcnow()

        retry_busy(beat, what=f"beating the heartbeat of executor {self.name}")

    def _schedule_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick()
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not stop the scheduler
                log.warning("run scheduler tick failed (tried again in 0.5 s): %s", exc)
                log.debug("run scheduler tick failed", exc_info=True)
            self._wake.wait(0.5)
            self._wake.clear()

    def _tick(self) -> None:
        self._heartbeat()
        if time.monotonic() - self._last_reconcile > self.settings.lease_seconds / 2:
            reconcile(self)
            self._last_reconcile = time.monotonic()
        with self.store.session() as s:
            cancels = list(
                s.scalars(
                    select(Run.id).where(
                        Run.executor == self.name,
                        Run.cancel_requested.is_(True),
                        Run.state.in_([st.value for st in ACTIVE]),
                    )
                )
            )
        for run_id in cancels:
            with self._lock:
                worker = self._workers.get(run_id)
            if worker is not None and not worker.cancel.is_set():
                self._signal_cancel(worker, "cancelled")
        self._start_queued()

    def _start_queued(self) -> None:
        now = utcnow()
        with self.store.session() as s:
            queued = [
                fair_queue.Waiting(id=r.id, owner=r.owner, created_at=r.created_at, not_before=r.not_before)
                for r in s.execute(
                    select(Run.id, Run.owner, Run.created_at, Run.not_before).where(
                        Run.state == RunState.QUEUED
                    )
                )
            ]
            active = self._active_by_owner(s)
            served = self._last_served(s, queued)
        for waiting in fair_queue.pick(
            queued,
            active,
            max_total=self.settings.max_concurrent_runs,
            max_per_user=self.settings.max_runs_per_user,
            now=now,
            last_served=served,
        ):
            self._claim_and_start(waiting.id)

    def _claim_and_start(self, run_id: str) -> None:
        now = utcnow()
        with self.store.session() as s:
            claimed = s.execute(
                update(Run)
                .where(Run.id == run_id, Run.state == RunState.QUEUED, Run.cancel_requested.is_(False))
                .values(
                    state=RunState.PULLING.value,
                    state_changed_at=now,
                    reason=None,
                    executor=self.name,
                    backend=self.backend.name,
                    attempts=Run.attempts + 1,
                    not_before=None,
                )
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return
            s.add(RunEvent(run_id=run_id, at=now, state=RunState.PULLING.value))
        self._spawn(run_id, mode="new")

    def _spawn(self, run_id: str, *, mode: str, handle: Handle | None = None) -> None:
        with self._lock:
            if run_id in self._workers:
                return
            worker = _Worker(run_id=run_id, handle=handle.id if handle else None)
            self._workers[run_id] = worker
        worker.thread = threading.Thread(
            target=self._guarded_work, args=(worker, mode, handle), name=f"mlk-run-{run_id}", daemon=True
        )
        worker.thread.start()

    # ------------------------------------------------------------------ one run

    def _run_row(self, run_id: str) -> Run:
        with self.store.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise RunNotFound(run_id)
            s.expunge(run)
            return run

    def _guarded_work(self, worker: _Worker, mode: str, adopted: Handle | None) -> None:
        """A worker thread's body. What escapes :meth:`_work` (a store locked past every retry)
        becomes one log line, not a traceback on the terminal of the ``mlk run`` user; the
        run stays active in the store, and reconcile takes it up again."""
        try:
            self._work(worker, mode, adopted)
        except Exception as exc:  # noqa: BLE001 - see above
            log.error("run %s: the executor let go of it: %s: %s", worker.run_id, type(exc).__name__, exc)
            log.debug("run %s: the executor let go of it", worker.run_id, exc_info=True)
            with self._lock:
                self._workers.pop(worker.run_id, None)

    def _work(self, worker: _Worker, mode: str, adopted: Handle | None) -> None:
        run_id = worker.run_id
        run = self._run_row(run_id)
        recorder = LogRecorder(
            self.store,
            run_id,
            hub=self.hub,
            max_bytes=self.settings.log_max_bytes,
            max_line_bytes=self.settings.log_max_line_bytes,
            storage=Path(run.storage),
        )
        remove_container = True
        try:
            if mode == "new":
                self._launch(worker, run, recorder)
            elif adopted is not None:
                recorder.system(f"executor {self.name} adopted this run ({adopted.status})")
            run = self._run_row(run_id)
            exit_status: ExitStatus | None
            if mode == "collect" and adopted is None:
                exit_status = ExitStatus(exit_code=run.exit_code if run.exit_code is not None else -1)
                outcome = _Outcome.EXITED
            else:
                outcome, exit_status = self._supervise(worker, run, recorder)
            if outcome == _Outcome.DETACHED:
                remove_container = False
                return
            self._finish(worker, run, recorder, outcome, exit_status)
        except _Cancelled:
            self._end(worker, recorder, RunState.CANCELLED, worker.cancel_reason)
        except _Stuck as exc:
            recorder.system(str(exc))
            self._end(worker, recorder, RunState.FAILED, str(exc))
        except InfrastructureError as exc:
            self._retry_or_fail(worker, exc, recorder)
        except Exception as exc:  # noqa: BLE001 - the run must end, whatever broke
            log.error("run %s failed inside the executor: %s: %s", run_id, type(exc).__name__, exc)
            log.debug("run %s failed inside the executor", run_id, exc_info=True)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            self._end(worker, recorder, RunState.FAILED, reason)
        finally:
            try:
                if remove_container and worker.handle is not None:
                    self._remove_container(worker.handle)
                if remove_container:  # ended without collection (cancelled, stuck): no mount left
                    self._quiet(CappedOutputs(Path(run.storage)).discard)
            finally:
                if worker.output is not None:
                    worker.output.close()
                recorder.close()
                with self._lock:
                    self._workers.pop(run_id, None)
                if remove_container:
                    info = self._run_row(run_id)
                    if info.state in TERMINAL:
                        self.transitions.release(run_id)
                self.transitions.notify()
                self._wake.set()

    def _end(
        self,
        worker: _Worker,
        recorder: LogRecorder,
        state: RunState,
        reason: str | None,
        **fields: Any,
    ) -> bool:
        """The last move: log stored, container removed, then the state (in that order)."""
        recorder.close()
        if worker.handle is not None:
            self._remove_container(worker.handle)
            worker.handle = None
        return self.transitions.move(worker.run_id, state, reason, **fields)

    def _remove_container(self, handle: str) -> None:
        for attempt in range(5):
            try:
                self.backend.remove(handle)
                return
            except Exception:  # noqa: BLE001 - the engine may be restarting; reconcile retries
                time.sleep(0.5 * (attempt + 1))

    def _bounded(
        self,
        what: str,
        limit: float,
        worker: _Worker,
        fn: Callable[[], T],
        on_late: Callable[[T], None] | None = None,
    ) -> T:
        """Run ``fn`` in a thread; cancel and the per-state stuck limit cut the wait short.

        The engine may still answer after the run gave up on it: ``on_late``
        then gets that late result (a container created too late is removed).
        """
        box: dict[str, Any] = {}
        lock = threading.Lock()

        def target() -> None:
            try:
                value = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                box["error"] = exc
                return
            with lock:
                box["value"] = value
                late = box.get("abandoned", False)
            if late and on_late is not None:
                self._quiet(on_late, value)

        def give_up(error: Exception) -> Exception:
            with lock:
                box["abandoned"] = True
                done = "value" in box
            if done and on_late is not None:
                self._quiet(on_late, box["value"])
            return error

        thread = threading.Thread(target=target, name=f"mlk-{what}", daemon=True)
        thread.start()
        deadline = time.monotonic() + limit
        while thread.is_alive():
            thread.join(timeout=0.1)
            if thread.is_alive() and worker.cancel.is_set():
                raise give_up(_Cancelled())
            if thread.is_alive() and time.monotonic() > deadline:
                raise give_up(_Stuck(what, limit))
        if "error" in box:
            raise box["error"]
        return box.get("value")  # type: ignore[return-value]

    def _launch(self, worker: _Worker, run: Run, recorder: LogRecorder) -> None:
        """pulling -> starting -> running."""
        settings = self.settings

        def progress(data: dict[str, Any]) -> None:
            now = time.monotonic()
            if now - getattr(progress, "last", 0.0) > 1.0:
                progress.last = now  # type: ignore[attr-defined]
                with contextlib.suppress(Exception):
                    self.transitions.update(run.id, pull_progress=data)

        self._bounded(
            "pulling", settings.stuck_pulling_seconds, worker, lambda: self.backend.pull(run.image, progress)
        )
        if worker.cancel.is_set():
            raise _Cancelled()
        if not self.transitions.move(run.id, RunState.STARTING):
            raise _Cancelled()
        spec = self._container_spec(run)
        if (problem := self._outputs_fs_problem()) is not None:
            recorder.system(
                f"outputs cap measured every {self.settings.outputs_check_seconds:g} s "
                f"(no size-limited file system: {problem})"
            )
        handle = self._bounded(
            "starting",
            settings.stuck_starting_seconds,
            worker,
            lambda: self.backend.create(spec),
            on_late=self._remove_container,
        )
        worker.handle = handle
        self.transitions.update(run.id, container=handle)
        worker.output = self._attach(handle)
        engine_started = self.backend.engine_started_at()
        self._bounded("starting", settings.stuck_starting_seconds, worker, lambda: self.backend.start(handle))
        if worker.cancel.is_set():
            raise _Cancelled()
        self.transitions.move(run.id, RunState.RUNNING, started_at=utcnow(), engine_started_at=engine_started)

    def _container_spec(self, run: Run) -> ContainerSpec:
        return container_spec(
            run,
            store=self.store,
            data_dir=self.data_dir,
            settings=self.settings,
            run_user=self.run_user,
            executor=self.name,
            root=self.root,
            capped=self._outputs_fs_problem() is None,
        )

    def _outputs_fs_problem(self) -> str | None:
        return outputs_fs_problem(self.settings, self.backend)

    def _collect(self, run: Run) -> OutputReport:
        """Check the outputs in place, then keep what passed on a plain folder (see outputs_fs)."""
        capped = CappedOutputs(Path(run.storage))
        capped.ensure_mounted()
        report = collect_outputs(capped.folder, max_bytes=self.settings.outputs_max_bytes)
        lost = capped.seal([f["path"] for f in report.files])
        if lost:
            report.warnings.extend(lost.values())
            report.files = [f for f in report.files if f["path"] not in lost]
            report.total_bytes = sum(int(f["size"]) for f in report.files)
        return report

    def _attach(self, handle: str) -> OutputStream | None:
        """The container's output before it starts; None (follow its log instead) if that fails."""
        try:
            return self.backend.attach(handle)
        except Exception as exc:  # noqa: BLE001 - the log endpoint still works, only slower
            log.warning("cannot attach to %s (%s); following its log instead", handle[:12], exc)
            return None

    def _follow_logs(
        self,
        handle: str,
        recorder: LogRecorder,
        lost: threading.Event,
        output: OutputStream | None = None,
    ) -> None:
        try:
            if output is not None:
                for stream, data in output:
                    recorder.add_output(stream, data)
                recorder.end_output()
                return
            for line in self.backend.logs(handle, since=recorder.resume_after):
                recorder.add(line)
        except EngineUnavailable:
            lost.set()
        except Exception as exc:  # noqa: BLE001 - the log is best effort; the run goes on
            log.warning("log stream of %s failed: %s", handle[:12], exc)
            log.debug("log stream of %s failed", handle, exc_info=True)

    def _start_log_thread(
        self,
        handle: str,
        recorder: LogRecorder,
        lost: threading.Event,
        output: OutputStream | None = None,
    ) -> threading.Thread:
        thread = threading.Thread(
            target=self._follow_logs,
            args=(handle, recorder, lost, output),
            daemon=True,
            name=f"mlk-logs-{handle[:12]}",
        )
        thread.start()
        return thread

    def _drain_log(
        self,
        handle: str,
        recorder: LogRecorder,
        thread: threading.Thread,
        output: OutputStream | None,
        broken: bool,
    ) -> None:
        """After exit: the rest of the log. A stream still delivering is given the time it
        needs; one that broke (or stalled) is followed again from its last stored line."""
        seen = -1
        while thread.is_alive() and recorder.received != seen:
            seen = recorder.received
            thread.join(timeout=10 if output is None else 2)
        if thread.is_alive():
            broken = True
            if output is not None:
                output.close()
                thread.join(timeout=2)
        if (broken or thread.is_alive()) and not recorder.truncated:
            recorder.resume()
            retry = self._start_log_thread(handle, recorder, threading.Event())
            retry.join(timeout=10)

    def _supervise(self, worker: _Worker, run: Run, recorder: LogRecorder) -> tuple[str, ExitStatus | None]:
        """Follow the running container until it exits, is cancelled, times out or overflows."""
        handle = worker.handle
        assert handle is not None
        settings = self.settings
        lost = threading.Event()
        log_thread = self._start_log_thread(handle, recorder, lost, worker.output)
        started = run.started_at or utcnow()
        deadline = started + timedelta(seconds=int(run.resources["timeout_seconds"]))
        cap = settings.outputs_max_bytes
        outputs = Path(run.storage) / "outputs"
        outcome: str | None = None
        engine_lost = False
        last_size_check = time.monotonic()
        while True:
            if worker.detach.is_set() and outcome is None:
                return _Outcome.DETACHED, None
            if worker.cancel.is_set() and outcome is None:
                outcome = _Outcome.CANCELLED
                self._quiet(self.backend.stop, handle, settings.stop_grace_seconds)
            left = (deadline - utcnow()).total_seconds()
            if left <= 0 and outcome is None and (status := self._exited_by(handle, deadline)):
                break  # it ended in time; this loop only saw it late
            if left <= 0 and outcome is None:
                outcome = _Outcome.TIMED_OUT
                recorder.system(
                    f"time limit of {format_duration(run.resources['timeout_seconds'])} reached; stopping"
                )
                self._quiet(self.backend.stop, handle, settings.stop_grace_seconds)
            slice_ = max(0.05, min(settings.outputs_check_seconds, left if left > 0 else 1.0, 1.0))
            try:
                status = self.backend.wait(handle, slice_)
            except EngineUnavailable as exc:
                engine_lost = True
                recorder.system(f"the engine went away: {exc}")
                self._await_engine(worker)
                continue
            if status is not None:
                break
            if outcome is None and time.monotonic() - last_size_check >= settings.outputs_check_seconds:
                last_size_check = time.monotonic()
                written = outputs_size(outputs)
                if written > cap:
                    outcome = _Outcome.OVER_CAP
                    recorder.system(f"outputs passed the cap of {format_bytes(cap)}; stopping the run")
                    self._quiet(self.backend.stop, handle, 0)
        # Exited: drain the log (a broken stream is followed again from where it stopped).
        self._drain_log(handle, recorder, log_thread, worker.output, lost.is_set() or engine_lost)
        if engine_lost or self._engine_restarted_since(run):
            engine_lost = True
        elif outcome is None and status.exit_code in (137, 143) and not status.oom_killed:
            # Killed by a signal we did not send: an engine shutting down stops its
            # containers before it stops answering. Watch it for a moment.
            engine_lost = self._engine_going_down(worker, run)
        if outcome is None and worker.cancel.is_set():
            outcome = _Outcome.CANCELLED
        if outcome is None:
            killed_by_engine = engine_lost and status.exit_code != 0
            outcome = _Outcome.ENGINE_LOST if killed_by_engine else _Outcome.EXITED
        return outcome, status

    def _exited_by(self, handle: str, deadline: datetime) -> ExitStatus | None:
        """The container's exit status if it exited no later than ``deadline``."""
        try:
            status = self.backend.wait(handle, 0.01)
        except Exception:  # noqa: BLE001 - unknown: the time limit applies
            return None
        if status is None or (status.finished_at is not None and status.finished_at > deadline):
            return None
        return status

    def _engine_going_down(self, worker: _Worker, run: Run, watch: float = 3.0) -> bool:
        deadline = time.monotonic() + watch
        while time.monotonic() < deadline:
            try:
                self.backend.ping()
            except Exception:  # noqa: BLE001 - it went away: wait for it, then clean up
                with contextlib.suppress(Exception):
                    self._await_engine(worker)
                return True
            if self._engine_restarted_since(run):
                return True
            time.sleep(0.2)
        return False

    def _engine_restarted_since(self, run: Run) -> bool:
        before = run.engine_started_at
        if before is None:
            with self.store.session() as s:
                before = s.scalar(select(Run.engine_started_at).where(Run.id == run.id))
        now = self.backend.engine_started_at()
        return before is not None and now is not None and (now - before).total_seconds() > 1

    def _await_engine(self, worker: _Worker) -> None:
        deadline = time.monotonic() + self.settings.engine_wait_seconds
        while time.monotonic() < deadline:
            try:
                self.backend.ping()
                return
            except Exception:  # noqa: BLE001 - still down
                if worker.detach.is_set():
                    return
                time.sleep(0.5)
        raise _EngineGone(
            f"the engine did not come back within {format_duration(self.settings.engine_wait_seconds)}"
        )

    def _finish(
        self,
        worker: _Worker,
        run: Run,
        recorder: LogRecorder,
        outcome: str,
        status: ExitStatus | None,
    ) -> None:
        """collecting -> succeeded | failed | cancelled | timed_out, with the reason."""
        exit_code = status.exit_code if status else None
        self.transitions.move(run.id, RunState.COLLECTING, exit_code=exit_code)
        report = self._bounded(
            "collecting",
            self.settings.stuck_collecting_seconds,
            _Worker(run_id=run.id),
            lambda: self._collect(run),
        )
        limited = self._hit_process_limit(worker, run, outcome, status)
        state, reason = self._verdict(run, outcome, status, report, worker, limited=limited)
        notes = list(report.warnings)
        if limited and state == RunState.SUCCEEDED:
            pids = int(run.resources["pids_limit"])
            notes.append(f"the model reached its process limit (pids {pids}); some of its forks were refused")
        warnings = list(run.warnings or []) + notes
        for warning in notes:
            recorder.system(f"warning: {warning}")
        self._end(
            worker,
            recorder,
            state,
            reason,
            outputs=report.files,
            outputs_bytes=report.total_bytes,
            metrics=report.metrics,
            result=report.result,
            failure_text=report.failure_text,
            warnings=warnings,
            exit_code=exit_code,
            progress=1.0 if state == RunState.SUCCEEDED else run.progress,
        )

    def _verdict(
        self,
        run: Run,
        outcome: str,
        status: ExitStatus | None,
        report: OutputReport,
        worker: _Worker,
        *,
        limited: bool = False,
    ) -> tuple[RunState, str | None]:
        """The end state and its reason; ``limited``: the pids limit refused the model a fork."""
        failure = f": {report.failure_text}" if report.failure_text else ""
        pids = f"process limit reached (pids {int(run.resources['pids_limit'])})"
        if outcome == _Outcome.CANCELLED:
            return RunState.CANCELLED, worker.cancel_reason
        if outcome == _Outcome.TIMED_OUT:
            limit = format_duration(run.resources["timeout_seconds"])
            return RunState.TIMED_OUT, f"timed out after {limit}" + (f"; {pids}" if limited else "")
        if outcome == _Outcome.OVER_CAP or report.over_cap:
            return RunState.FAILED, (
                f"outputs over the cap of {format_bytes(self.settings.outputs_max_bytes)}"
            )
        if status is None:
            return RunState.FAILED, "the container's exit status is unknown"
        if status.oom_killed:
            limit = format_bytes(int(run.resources["memory_bytes"]))
            return RunState.FAILED, f"out of memory (limit {limit})"
        if outcome == _Outcome.ENGINE_LOST:
            return RunState.FAILED, "engine restarted"
        if status.exit_code == 0:
            return RunState.SUCCEEDED, None
        cause = f"{pids}: " if limited else ""
        if status.exit_code == EXIT_REJECTED:
            text = report.failure_text or "no reason given (the model wrote no _failure.txt)"
            return RunState.FAILED, f"{cause}model rejected its input (exit 64): {text}"
        if status.exit_code == 137 and not failure:
            return RunState.FAILED, f"{cause}exit code 137 (killed)"
        return RunState.FAILED, f"{cause}exit code {status.exit_code}{failure}"

    def _hit_process_limit(self, worker: _Worker, run: Run, outcome: str, status: ExitStatus | None) -> bool:
        """Whether the pids limit refused the model a fork: asked of the backend after exit.

        Only where it can change the verdict: not for cancels, outputs over the
        cap, a lost engine or the out-of-memory killer, which say why already.
        """
        if outcome not in (_Outcome.EXITED, _Outcome.TIMED_OUT) or status is None or status.oom_killed:
            return False
        handle = worker.handle or run.container
        if not handle:
            return False
        try:
            return bool(self.backend.hit_process_limit(handle))
        except Exception:  # noqa: BLE001 - a detail of the reason; never fails the run
            log.warning("could not tell whether run %s hit its pids limit", run.id, exc_info=True)
            return False

    def _retry_or_fail(self, worker: _Worker, exc: Exception, recorder: LogRecorder) -> None:
        """Infrastructure failures before the model ran go back to the queue, with backoff."""
        run_id = worker.run_id
        run = self._run_row(run_id)
        message = str(exc)
        recorder.system(message)
        recorder.close()
        if worker.handle is not None:
            self._remove_container(worker.handle)
            worker.handle = None
        if isinstance(exc, _EngineGone) or run.state in (RunState.RUNNING, RunState.COLLECTING):
            self.transitions.move(run_id, RunState.FAILED, message)
            return
        if run.attempts < self.settings.retry_max_attempts and not run.cancel_requested:
            delay = min(self.settings.retry_backoff_seconds * 2 ** (run.attempts - 1), 300.0)
            recorder.system(f"attempt {run.attempts} failed ({message}); retrying in {delay:g} s")
            if self.transitions.move(
                run_id,
                RunState.QUEUED,
                f"retrying in {delay:g} s after: {message}",
                not_before=utcnow() + timedelta(seconds=delay),
                container=None,
            ):
                return
        tries = f" (after {run.attempts} attempts)" if run.attempts > 1 else ""
        self.transitions.move(run_id, RunState.FAILED, f"{message}{tries}")


class _EngineGone(InfrastructureError):
    """The engine vanished mid-run and did not come back: not retried (the model had started)."""
