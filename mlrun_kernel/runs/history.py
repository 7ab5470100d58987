"""The run history as pages: one filter, sort and window for the service, the CLI and the client.

``RunQuery`` says which runs (owner, model, task, state, a range of creation
times, a piece of the run's name), in which order and which window (``offset``/``limit``).
:func:`select_page` answers it with exactly two statements, whatever the page
size: one for the rows of the page, one for the total count. The executor
turns the rows into ``RunInfo`` and adds the queue positions, computed once
for the whole page (``Executor.page``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mlrun_kernel.runs.errors import InvalidRun
from mlrun_kernel.store.models import Run

SORTS: dict[str, Any] = {
    "created_at": Run.created_at,
    "started_at": Run.started_at,
    "finished_at": Run.finished_at,
    "state": Run.state,
    "model": Run.model,
    "owner": Run.owner,
    "name": Run.name,
}
"""What a page can be sorted by; ``-name`` sorts newest (or highest) first."""

MAX_LIMIT = 500


@dataclass(frozen=True)
class RunQuery:
    """Which runs, in which order, which window of them. ``None`` filters nothing."""

    owner: str | None = None
    model: str | None = None
    task: str | None = None
    state: str | None = None
    created_after: datetime | None = None
    """Runs created at or after this time."""
    created_before: datetime | None = None
    """Runs created strictly before this time."""
    name: str | None = None
    """Runs whose name holds this text (any case); one more condition on the same two statements."""
    sort: str = "-created_at"
    offset: int = 0
    limit: int = 50

    def __post_init__(self) -> None:
        if self.sort.lstrip("-") not in SORTS:
            known = ", ".join(sorted(SORTS))
            raise InvalidRun(
                f"runs cannot be sorted by {self.sort!r}; use one of {known} (prefix - to reverse)"
            )
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidRun(f"a page holds 1 to {MAX_LIMIT} runs, not {self.limit}")
        if self.offset < 0:
            raise InvalidRun(f"a page's offset is 0 or more, not {self.offset}")


def _where(q: RunQuery) -> list[Any]:
    where = []
    for column, value in (
        (Run.owner, q.owner),
        (Run.model, q.model),
        (Run.task, q.task),
        (Run.state, q.state),
    ):
        if value:
            where.append(column == value)
    if q.created_after is not None:
        where.append(Run.created_at >= q.created_after)
    if q.created_before is not None:
        where.append(Run.created_at < q.created_before)
    if q.name and q.name.strip():
        text = q.name.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(Run.name.ilike(f"%{text}%", escape="\\"))
    return where


def select_page(s: Session, q: RunQuery) -> tuple[list[Run], int]:
    """The page's rows and the total number of matching runs: two statements."""
    where = _where(q)
    column = SORTS[q.sort.lstrip("-")]
    descending = q.sort.startswith("-")
    ordered = column.desc() if descending else column.asc()
    if column.nullable:  # unnamed, unstarted, unfinished runs last, both ways, on every database
        ordered = ordered.nulls_last()
    order = [ordered, Run.id.desc() if descending else Run.id.asc()]
    rows = list(s.scalars(select(Run).where(*where).order_by(*order).offset(q.offset).limit(q.limit)))
    if q.offset == 0 and len(rows) < q.limit:
        return rows, len(rows)  # the whole answer is on this page: no count needed
    total = int(s.scalar(select(func.count()).select_from(Run).where(*where)) or 0)
    return rows, total


def next_offset(q: RunQuery, total: int) -> int | None:
    return q.offset + q.limit if q.offset + q.limit < total else None
