"""The one-run worker: carries one run from pulling to its verdict, then lets go.

Layers, from the outside in:

- :class:`Workers` is this executor's pool of worker threads, one per active
  run: :meth:`~Workers.spawn` (a new run, or one reconcile adopts or collects),
  :meth:`~Workers.signal_cancel`, :meth:`~Workers.detach_all` (stop without
  harming running containers), :meth:`~Workers.held`, :meth:`~Workers.drain`.
- A worker thread's body (``_work``) walks the run through ``_launch``
  (pulling -> starting -> running), ``_supervise`` (the running container: its
  log, time limit, cancels, a lost engine), then ``_finish`` (collecting, and
  the ``_verdict`` with its reason). Infrastructure failures before the model
  ran go back to the queue (``_retry_or_fail``). Every call into the engine
  that can hang is a ``_bounded`` wait that a cancel or the per-state stuck
  limit cuts short.
- Every state move goes through :class:`~.transitions.Transitions`; the
  container is removed whatever happens (``_end``), then ``on_end`` tells the
  scheduler a slot is free.

Nothing here decides which run starts next: that is :mod:`.scheduler`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from mlrun_kernel.datasets import Datasets
from mlrun_kernel.runs.backends.base import Backend, ContainerSpec, ExitStatus, Handle, OutputStream
from mlrun_kernel.runs.contract import container_spec, outputs_fs_problem
from mlrun_kernel.runs.errors import EngineUnavailable, InfrastructureError, RunNotFound
from mlrun_kernel.runs.limits import RunSettings, format_bytes, format_duration
from mlrun_kernel.runs.logs import LogHub, LogRecorder
from mlrun_kernel.runs.outputs import OutputReport, collect_outputs, outputs_size
from mlrun_kernel.runs.outputs_fs import CappedOutputs
from mlrun_kernel.runs.run_user import RunUser
from mlrun_kernel.runs.states import TERMINAL, RunState
from mlrun_kernel.runs.transitions import Transitions
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Run
from mlrun_kernel.store.types import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

EXIT_REJECTED = 64
"""The exit code by which a model says it rejects its input (MODEL_SPEC.md)."""


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


class _EngineGone(InfrastructureError):
    """The engine vanished mid-run and did not come back: not retried (the model had started)."""


class Workers:
    """The worker threads of one executor, one per active run; see the module docstring."""

    def __init__(
        self,
        *,
        store: Store,
        backend: Backend,
        settings: RunSettings,
        transitions: Transitions,
        hub: LogHub,
        executor: str,
        root: Path,
        datasets: Datasets,
        run_user: RunUser,
        on_end: Callable[[], None],
    ) -> None:
        self.store = store
        self.backend = backend
        self.settings = settings
        self.transitions = transitions
        self.hub = hub
        self.name = executor
        self.root = root
        self.datasets = datasets
        self.run_user = run_user
        self._on_end = on_end
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ the pool

    def spawn(self, run_id: str, *, mode: str, handle: Handle | None = None) -> None:
        """Give ``run_id`` a worker thread (``new``, ``adopt`` or ``collect``), unless it has one."""
        with self._lock:
            if run_id in self._workers:
                return
            worker = _Worker(run_id=run_id, handle=handle.id if handle else None)
            self._workers[run_id] = worker
        worker.thread = threading.Thread(
            target=self._guarded_work, args=(worker, mode, handle), name=f"mlk-run-{run_id}", daemon=True
        )
        worker.thread.start()

    def held(self) -> set[str]:
        """The runs a worker holds now."""
        with self._lock:
            return set(self._workers)

    def cancel(self, run_id: str, reason: str, *, unless_cancelling: bool = False) -> None:
        """Tell the run's worker (if this executor has one) to stop the run for ``reason``."""
        with self._lock:
            worker = self._workers.get(run_id)
        if worker is None or (unless_cancelling and worker.cancel.is_set()):
            return
        self._signal_cancel(worker, reason)

    def detach_all(self, *, wait: float) -> None:
        """Let go of every run, leaving its container running for the next executor to adopt."""
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.detach.set()
        for worker in workers:
            if worker.thread is not None:
                worker.thread.join(timeout=wait)

    def drain(self, timeout: float) -> None:
        """Wait until no worker is active (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._workers:
                    return
            time.sleep(0.05)
        raise TimeoutError("runs are still active")

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
                    self.remove_container(worker.handle)
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
                self._on_end()

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
            self.remove_container(worker.handle)
            worker.handle = None
        return self.transitions.move(worker.run_id, state, reason, **fields)

    def remove_container(self, handle: str) -> None:
        """Remove a container, retried while the engine restarts (reconcile retries after)."""
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
            on_late=self.remove_container,
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
            datasets=self.datasets,
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
            self.remove_container(worker.handle)
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
