"""Which queued run starts next: fair between users, within the limits.

Pure functions over plain values, so the policy is tested without a store:
users take turns, the one with the fewest active runs first (ties: who
was served longest ago, then whose oldest waiting run is oldest); within a
user, oldest first. A run waiting
for a retry (``not_before`` in the future) keeps its place but is skipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Waiting:
    id: str
    owner: str
    created_at: datetime
    not_before: datetime | None = None


_NEVER = datetime.min.replace(tzinfo=UTC)


def fair_order(
    queued: Iterable[Waiting],
    active_by_owner: dict[str, int],
    last_served: dict[str, datetime] | None = None,
) -> list[Waiting]:
    """Every queued run in the order the queue would start them.

    ``last_served``: when each owner's newest run started (served longest ago goes first).
    """
    served = dict(last_served or {})
    per_owner: dict[str, deque[Waiting]] = {}
    for run in sorted(queued, key=lambda r: (r.created_at, r.id)):
        per_owner.setdefault(run.owner, deque()).append(run)
    load = {owner: active_by_owner.get(owner, 0) for owner in per_owner}
    order: list[Waiting] = []
    while per_owner:
        owner = min(
            per_owner,
            key=lambda o: (load[o], served.get(o, _NEVER), per_owner[o][0].created_at, o),
        )
        order.append(per_owner[owner].popleft())
        load[owner] += 1
        served[owner] = datetime.max.replace(tzinfo=UTC)  # just served: behind the others
        if not per_owner[owner]:
            del per_owner[owner]
    return order


def positions(
    queued: Iterable[Waiting],
    active_by_owner: dict[str, int],
    last_served: dict[str, datetime] | None = None,
) -> dict[str, int]:
    """Run id -> 1-based place in the queue."""
    order = fair_order(queued, active_by_owner, last_served)
    return {run.id: i for i, run in enumerate(order, start=1)}


def pick(
    queued: Iterable[Waiting],
    active_by_owner: dict[str, int],
    *,
    max_total: int,
    max_per_user: int,
    now: datetime,
    last_served: dict[str, datetime] | None = None,
) -> list[Waiting]:
    """The runs to start now, in order, without passing either limit."""
    free = max_total - sum(active_by_owner.values())
    if free <= 0:
        return []
    active = dict(active_by_owner)
    chosen: list[Waiting] = []
    for run in fair_order(queued, active_by_owner, last_served):
        if len(chosen) >= free:
            break
        if run.not_before is not None and run.not_before > now:
            continue
        if active.get(run.owner, 0) >= max_per_user:
            continue
        chosen.append(run)
        active[run.owner] = active.get(run.owner, 0) + 1
    return chosen
