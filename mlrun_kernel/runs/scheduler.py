"""The scheduler: which queued run starts next, and the executor's pulse.

One thread per executor (:class:`Scheduler`) does, every tick (0.5 s, or at
once when woken by a submit or a run that ended):

- beats the executor's heartbeat in the store (``run_executors``), so other
  executors sharing the store know it is alive;
- reconciles (:mod:`.reconcile`) every half lease: runs of executors that went
  silent are adopted, collected or requeued;
- passes cancels requested through the store (by another process) to this
  executor's workers;
- starts queued runs in fair order within the limits (:mod:`.queue`): each is
  claimed by one conditional UPDATE (two executors sharing a store cannot both
  take it), then handed to a worker (:mod:`.worker`).

:func:`queue_positions` is the same fair order as places in the queue, for
``RunInfo.queue_position``.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mlrun_kernel.runs import queue as fair_queue
from mlrun_kernel.runs.reconcile import Reconcilable, reconcile
from mlrun_kernel.runs.states import ACTIVE, RunState
from mlrun_kernel.runs.worker import Workers
from mlrun_kernel.store.busy import retry_busy
from mlrun_kernel.store.models import Run, RunEvent, RunExecutor
from mlrun_kernel.store.types import utcnow

log = logging.getLogger(__name__)


class Scheduler:
    """The scheduler thread of ``executor``, starting runs on ``workers``."""

    def __init__(self, executor: Reconcilable, workers: Workers, *, instance: str) -> None:
        self.executor = executor
        self.workers = workers
        self.instance = instance
        """This process's executor instance (a restart of the same name gets a new one)."""
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reconcile = 0.0
        self._last_beat = 0.0

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Beat, reconcile everything of this executor's name, then tick in a thread."""
        if self._thread is not None:
            return
        ex = self.executor
        self._heartbeat(force=True)
        reconcile(ex, take_all_of=ex.name)
        self._last_reconcile = time.monotonic()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=f"mlk-scheduler-{ex.name}", daemon=True)
        self._thread.start()

    def stop(self, *, wait: float) -> None:
        """Stop ticking (the workers are the executor's to detach)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=wait)
            self._thread = None

    def wake(self) -> None:
        """Look at the queue again now."""
        self._wake.set()

    def _heartbeat(self, force: bool = False) -> None:
        ex = self.executor
        now = time.monotonic()
        if not force and now - self._last_beat < ex.settings.heartbeat_seconds:
            return
        self._last_beat = now

        def beat() -> None:
            with ex.store.session() as s:
                row = s.get(RunExecutor, ex.name)
                if row is None:
                    s.add(RunExecutor(name=ex.name, instance=self.instance))
                else:
                    row.instance = self.instance
                    row.heartbeat_at = utcnow()

        retry_busy(beat, what=f"beating the heartbeat of executor {ex.name}")

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick()
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not stop the scheduler
                log.warning("run scheduler tick failed (tried again in 0.5 s): %s", exc)
                log.debug("run scheduler tick failed", exc_info=True)
            self._wake.wait(0.5)
            self._wake.clear()

    def _tick(self) -> None:
        ex = self.executor
        self._heartbeat()
        if time.monotonic() - self._last_reconcile > ex.settings.lease_seconds / 2:
            reconcile(ex)
            self._last_reconcile = time.monotonic()
        with ex.store.session() as s:
            cancels = list(
                s.scalars(
                    select(Run.id).where(
                        Run.executor == ex.name,
                        Run.cancel_requested.is_(True),
                        Run.state.in_([st.value for st in ACTIVE]),
                    )
                )
            )
        for run_id in cancels:
            self.workers.cancel(run_id, "cancelled", unless_cancelling=True)
        self._start_queued()

    def _start_queued(self) -> None:
        ex = self.executor
        now = utcnow()
        with ex.store.session() as s:
            queued = [
                fair_queue.Waiting(id=r.id, owner=r.owner, created_at=r.created_at, not_before=r.not_before)
                for r in s.execute(
                    select(Run.id, Run.owner, Run.created_at, Run.not_before).where(
                        Run.state == RunState.QUEUED
                    )
                )
            ]
            active = _active_by_owner(s)
            served = _last_served(s, queued)
        for waiting in fair_queue.pick(
            queued,
            active,
            max_total=ex.settings.max_concurrent_runs,
            max_per_user=ex.settings.max_runs_per_user,
            now=now,
            last_served=served,
        ):
            self._claim_and_start(waiting.id)

    def _claim_and_start(self, run_id: str) -> None:
        """queued -> pulling, if no other executor took it first; then a worker carries it on."""
        ex = self.executor
        now = utcnow()
        with ex.store.session() as s:
            claimed = s.execute(
                update(Run)
                .where(Run.id == run_id, Run.state == RunState.QUEUED, Run.cancel_requested.is_(False))
                .values(
                    state=RunState.PULLING.value,
                    state_changed_at=now,
                    reason=None,
                    executor=ex.name,
                    backend=ex.backend.name,
                    attempts=Run.attempts + 1,
                    not_before=None,
                )
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return
            s.add(RunEvent(run_id=run_id, at=now, state=RunState.PULLING.value))
        self.workers.spawn(run_id, mode="new")


def queue_positions(s: Session) -> dict[str, int]:
    """Each queued run's place in the fair order (1: next), read in session ``s``."""
    queued = [
        fair_queue.Waiting(id=r.id, owner=r.owner, created_at=r.created_at)
        for r in s.execute(select(Run.id, Run.owner, Run.created_at).where(Run.state == RunState.QUEUED))
    ]
    return fair_queue.positions(queued, _active_by_owner(s), _last_served(s, queued))


def _last_served(s: Session, queued: list[fair_queue.Waiting]) -> dict[str, datetime]:
    owners = {w.owner for w in queued}
    if len(owners) < 2:
        return {}
    rows = s.execute(
        select(Run.owner, func.max(Run.started_at))
        .where(Run.owner.in_(owners), Run.started_at.is_not(None))
        .group_by(Run.owner)
    )
    return {owner: at for owner, at in rows if at is not None}


def _active_by_owner(s: Session) -> dict[str, int]:
    rows = s.execute(
        select(Run.owner, func.count()).where(Run.state.in_([st.value for st in ACTIVE])).group_by(Run.owner)
    )
    return {owner: int(n) for owner, n in rows}
