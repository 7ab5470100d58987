"""The state moves of runs in the store, and nothing else.

Every change of a run's state goes through :meth:`Transitions.move`: one
transaction that names the state it saw (two processes sharing a SQLite file
cannot both move a run), retried while the store is busy (a log flood never
makes a state move fail on a lock), then the dataset holds released for an
ending state, then anyone waiting told. :meth:`update` writes fields that are
not a state (pull progress, the container id); :meth:`release` lets go of a
run's input datasets.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from sqlalchemy import select, update

from mlrun_kernel.datasets import Datasets
from mlrun_kernel.runs.inputs import release_inputs
from mlrun_kernel.runs.states import TERMINAL, RunState, can_move
from mlrun_kernel.store import Store
from mlrun_kernel.store.busy import retry_busy
from mlrun_kernel.store.models import Run, RunEvent
from mlrun_kernel.store.types import utcnow


class Transitions:
    """Moves runs of ``store`` between states; ``changed`` is notified after each move."""

    def __init__(self, store: Store, datasets: Datasets) -> None:
        self.store = store
        self.datasets = datasets
        self.changed = threading.Condition()
        """Notified after every recorded move (``Executor.wait`` sleeps on it)."""

    def move(
        self,
        run_id: str,
        state: RunState,
        reason: str | None = None,
        *,
        only_from: set[RunState] | None = None,
        **fields: Any,
    ) -> bool:
        """Record a state change (with its time and reason) if the current state allows it.

        An ending state releases the run's dataset holds right after it is recorded,
        before anyone waiting is told. Never before: a claim could take a queued run
        between the release and a cancel that then loses, and run it unprotected.
        """
        moved = None
        while moved is None:  # None: the state changed under us (another process); look again
            moved = retry_busy(
                lambda: self._record_move(run_id, state, reason, only_from, fields),
                what=f"moving run {run_id} to {state.value}",
            )
        if not moved:
            return False
        if state in TERMINAL:
            self.release(run_id)
        self.notify()
        return True

    def notify(self) -> None:
        """Wake everyone waiting for a run to change."""
        with self.changed:
            self.changed.notify_all()

    def _record_move(
        self,
        run_id: str,
        state: RunState,
        reason: str | None,
        only_from: set[RunState] | None,
        fields: dict[str, Any],
    ) -> bool | None:
        """One transaction of :meth:`move`: the UPDATE names the state it saw, so two
        processes sharing a SQLite file (no row locks) cannot both move the run."""
        now = utcnow()
        with self.store.session() as s:
            seen = s.scalar(select(Run.state).where(Run.id == run_id).with_for_update())
            if seen is None:
                return False
            current = RunState(seen)
            if only_from is not None and current not in only_from:
                return False
            if current == state and not fields:
                return False
            if current != state and not can_move(current, state):
                return False
            values: dict[str, Any] = {"state": state.value, "state_changed_at": now, "reason": reason}
            if state in TERMINAL:
                values["finished_at"] = now
            values.update(fields)
            done = s.execute(update(Run).where(Run.id == run_id, Run.state == seen).values(**values))
            if getattr(done, "rowcount", 0) != 1:
                return None
            if current != state:
                s.add(RunEvent(run_id=run_id, at=now, state=state.value, reason=reason))
        return True

    def update(self, run_id: str, **fields: Any) -> None:
        """Write fields of a run that are not its state, retried while the store is busy."""

        def once() -> None:
            with self.store.session() as s:
                s.execute(update(Run).where(Run.id == run_id).values(**fields))

        retry_busy(once, what=f"updating run {run_id}")

    def release(self, run_id: str) -> None:
        """Let go of the run's input datasets (best effort: holds of ended runs are swept too)."""
        with self.store.session() as s:
            run = s.get(Run, run_id)
            inputs = dict(run.inputs or {}) if run else {}
        with contextlib.suppress(Exception):
            retry_busy(
                lambda: release_inputs(self.datasets, run_id, inputs),
                what=f"releasing the datasets of run {run_id}",
            )
