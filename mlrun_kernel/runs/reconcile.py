"""Make the store agree with the engine after an executor (or the engine) restarted.

For each run that is active in the store and whose executor is this one (a
restart of the same name) or has been silent longer than the lease:

- its container is running: adopt it (follow its log from the last stored
  line, enforce its time limit, collect it when it exits);
- its container has exited: collect it now (log rest, outputs, exit status);
- it never got a container (pulling, starting): back to the queue, counted
  as an attempt;
- its container is gone while it was running: failed, "engine restarted"
  when the engine started since the run did, else "container lost";
- its container exited and the run's state says collecting: collect again.

Containers labelled for this executor and this run storage whose run is not
active are removed, so nothing is left behind.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import or_, select, true

from mlrun_kernel.runs.backends.base import LABEL_EXECUTOR, LABEL_STORAGE, Backend, Handle
from mlrun_kernel.runs.limits import RunSettings
from mlrun_kernel.runs.outputs_fs import sweep_outputs
from mlrun_kernel.runs.states import ACTIVE, RunState
from mlrun_kernel.runs.transitions import Transitions
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Run, RunExecutor
from mlrun_kernel.store.types import utcnow

log = logging.getLogger(__name__)


class Reconcilable(Protocol):
    """What reconcile needs of an executor (``Executor`` is one); no private members."""

    store: Store
    backend: Backend
    settings: RunSettings
    transitions: Transitions
    name: str
    root: Path

    def held_runs(self) -> set[str]:
        """The runs a worker of this executor holds now."""
        ...

    def take_over(self, run_id: str, *, mode: str, handle: Handle | None) -> None:
        """Give the run a worker: ``adopt`` a running container, ``collect`` an exited one."""
        ...

    def remove_container(self, handle: str) -> None:
        """Remove a container, retried while the engine restarts."""
        ...

    def wake(self) -> None:
        """Look at the queue again now."""
        ...


def reconcile(executor: Reconcilable, *, take_all_of: str | None = None) -> list[str]:
    """Take over orphaned runs; returns the ids adopted, collected, requeued or failed."""
    stale_before = utcnow() - timedelta(seconds=executor.settings.lease_seconds)
    with executor.store.session() as s:
        live = {
            e.name for e in s.scalars(select(RunExecutor).where(RunExecutor.heartbeat_at >= stale_before))
        }
        live.discard(executor.name)
        active = [st.value for st in ACTIVE]
        orphans = [
            (r.id, r.state, r.executor, r.engine_started_at, r.exit_code)
            for r in s.scalars(
                select(Run).where(
                    Run.state.in_(active),
                    or_(Run.executor.is_(None), Run.executor.not_in(live) if live else true()),
                )
            )
        ]
    mine = executor.held_runs()
    orphans = [o for o in orphans if o[0] not in mine]
    if take_all_of is None:
        # Only runs of dead executors, or our own that no worker holds.
        orphans = [o for o in orphans if o[2] != executor.name or o[0] not in mine]
    handled: list[str] = []
    try:
        handles = {h.run_id: h for h in executor.backend.list_runs() if h.run_id}
    except Exception as exc:  # noqa: BLE001 - engine down: try again at the next reconcile
        log.warning("reconcile: cannot list containers: %s", exc)
        return handled
    for run_id, state, _owner, engine_started, exit_code in orphans:
        with executor.store.session() as s:
            run = s.get(Run, run_id)
            if run is None or run.state != state:
                continue
            run.executor = executor.name
        handle = handles.pop(run_id, None)
        handled.append(run_id)
        if handle is not None and handle.status in ("running", "exited"):
            executor.take_over(
                run_id, mode="adopt" if handle.status == "running" else "collect", handle=handle
            )
            continue
        if handle is not None:  # created, never started
            executor.remove_container(handle.id)
        if state in (RunState.PULLING, RunState.STARTING):
            executor.transitions.move(
                run_id,
                RunState.QUEUED,
                "the executor restarted before the container started; queued again",
                container=None,
            )
            continue
        if state == RunState.COLLECTING and exit_code is not None:
            executor.take_over(run_id, mode="collect", handle=None)
            continue
        now_started = executor.backend.engine_started_at()
        restarted = (
            engine_started is not None
            and now_started is not None
            and (now_started - engine_started).total_seconds() > 1
        )
        executor.transitions.move(
            run_id,
            RunState.FAILED,
            "engine restarted" if restarted else "the container was lost (removed outside the platform)",
        )
        executor.transitions.release(run_id)
    # Containers of ours whose run is not active any more (or not in this store).
    with executor.store.session() as s:
        still_active = set(s.scalars(select(Run.id).where(Run.state.in_([st.value for st in ACTIVE]))))
    for run_id, handle in handles.items():
        if handle.labels.get(LABEL_EXECUTOR) != executor.name:
            continue
        if handle.labels.get(LABEL_STORAGE) != str(executor.root):
            continue  # another platform's executor of the same name: not ours to judge
        if run_id in still_active:
            continue
        executor.remove_container(handle.id)
    try:  # run networks and firewall rules a killed executor left behind
        executor.backend.sweep(executor=executor.name, storage=str(executor.root), active=still_active)
        sweep_outputs(executor.root, still_active | executor.held_runs())
    except Exception as exc:  # noqa: BLE001 - best effort: the next reconcile tries again
        log.warning("reconcile: cannot sweep run networks or outputs: %s", exc)
    executor.wake()
    return handled
