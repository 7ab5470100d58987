"""The states of a run and the moves between them.

::

    queued -> pulling -> starting -> running -> collecting -> succeeded
       ^         |           |           |           |      -> failed
       +---------+-----------+  (infrastructure retry)      -> timed_out
    any non-terminal state -> cancelled | failed

Every move is recorded as a :class:`~mlrun_kernel.store.models.RunEvent` with
its time and, for failures, a reason a person can read.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    QUEUED = "queued"
    PULLING = "pulling"
    STARTING = "starting"
    RUNNING = "running"
    COLLECTING = "collecting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def active(self) -> bool:
        """Holding an executor slot (pulling, starting, running, collecting)."""
        return self in ACTIVE


TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.TIMED_OUT})
ACTIVE = frozenset({RunState.PULLING, RunState.STARTING, RunState.RUNNING, RunState.COLLECTING})

_ENDINGS = {RunState.FAILED, RunState.CANCELLED}
ALLOWED: dict[RunState, frozenset[RunState]] = {
    RunState.QUEUED: frozenset({RunState.PULLING, *_ENDINGS}),
    RunState.PULLING: frozenset({RunState.STARTING, RunState.QUEUED, *_ENDINGS}),
    RunState.STARTING: frozenset({RunState.RUNNING, RunState.QUEUED, *_ENDINGS}),
    RunState.RUNNING: frozenset({RunState.COLLECTING, RunState.TIMED_OUT, *_ENDINGS}),
    RunState.COLLECTING: frozenset({RunState.SUCCEEDED, RunState.TIMED_OUT, *_ENDINGS}),
}
"""Which state may follow which; terminal states have no successor."""


def can_move(current: RunState | str, new: RunState | str) -> bool:
    return RunState(new) in ALLOWED.get(RunState(current), frozenset())
