"""The run history is one paged query of the executor: filters, sort, window, total, cheap."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest
from sqlalchemy import event

from mlrun_kernel.runs import Executor, InvalidRun, RunQuery
from mlrun_kernel.runs.backends.local import LocalBackend
from mlrun_kernel.store import open_store
from mlrun_kernel.store.models import Run

pytestmark = [pytest.mark.docker]

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[Executor]:
    """An executor (not started) over an empty store that the tests fill with run records."""
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield Executor(store, backend=LocalBackend(docker_client), root=tmp_path / "runs", name="history")
    store.close()


def record(
    executor: Executor,
    owner: str,
    *,
    minute: int,
    task: str = "predict",
    state: str = "queued",
    name: str | None = None,
) -> str:
    """A run as the executor stores it, created ``minute`` minutes after T0."""
    run_id = uuid.uuid4().hex
    with executor.store.session() as s:
        s.add(
            Run(
                id=run_id,
                name=name,
                owner=owner,
                model="iris-classifier",
                model_ref="1.0.0",
                digest="sha256:" + "0" * 64,
                image="127.0.0.1:5000/iris-classifier@sha256:" + "0" * 64,
                task=task,
                reuse_key=run_id,
                state=state,
                created_at=T0 + timedelta(minutes=minute),
                storage=str(executor.root / run_id),
            )
        )
    return run_id


@contextmanager
def statements(executor: Executor) -> Iterator[list[str]]:
    """The SQL statements the store runs inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001 - SQLAlchemy's signature
        seen.append(statement)

    event.listen(executor.store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(executor.store.engine, "before_cursor_execute", record)


def test_an_admin_pages_through_the_history_with_filters_and_a_total(history: Executor) -> None:
    ana = [record(history, "ana", minute=m) for m in range(5)]
    ben = [record(history, "ben", minute=10 + m, task="evaluate", state="succeeded") for m in range(2)]

    first = history.page(owner="ana", limit=2)
    assert [r.id for r in first.runs] == ana[::-1][:2]  # newest first
    assert (first.total, first.next_offset) == (5, 2)
    last = history.page(owner="ana", limit=2, offset=4)
    assert [r.id for r in last.runs] == [ana[0]] and last.next_offset is None

    oldest_first = history.page(sort="created_at", limit=3)
    assert [r.id for r in oldest_first.runs] == ana[:3] and oldest_first.total == 7
    by_owner = history.page(RunQuery(sort="-owner", limit=10)).runs
    assert [r.owner for r in by_owner] == ["ben"] * 2 + ["ana"] * 5

    window = history.page(created_after=T0 + timedelta(minutes=2), created_before=T0 + timedelta(minutes=11))
    assert [r.id for r in window.runs] == [ben[0], ana[4], ana[3], ana[2]]

    evaluations = history.page(task="evaluate", state="succeeded")
    assert evaluations.total == 2 and {r.id for r in evaluations.runs} == set(ben)
    assert all(r.queue_position is None for r in evaluations.runs)
    assert history.page(model="no-such-model").total == 0

    with pytest.raises(InvalidRun, match="cannot be sorted by 'colour'"):
        history.page(sort="colour")
    with pytest.raises(InvalidRun, match="a page holds 1 to 500 runs"):
        history.page(limit=0)


def test_a_page_costs_the_same_few_statements_however_many_runs_it_holds(history: Executor) -> None:
    for m in range(3):
        record(history, "ana", minute=m)
    with statements(history) as small:
        assert len(history.page(limit=2).runs) == 2
    for m in range(3, 30):
        record(history, "ana", minute=m)
    with statements(history) as large:
        page = history.page(limit=25)
    assert len(page.runs) == 25 and page.total == 30
    # the rows, the count, and the queue positions once for the page: never a query per run
    assert len(large) == len(small) <= 6, large
    assert [r.queue_position for r in page.runs] == list(range(30, 5, -1))


def test_a_piece_of_a_name_finds_runs_in_the_same_two_statements(history: Executor) -> None:
    weekly = [record(history, "ana", minute=m, name=f"Weekly check {m}", state="succeeded") for m in range(3)]
    odd = record(history, "ana", minute=5, name="50%_off", state="succeeded")
    record(history, "ana", minute=6, name="daily", state="succeeded")
    record(history, "ana", minute=7, state="succeeded")
    with statements(history) as seen:
        page = history.page(owner="ana", name="weekly CHECK", limit=2)
    assert [r.id for r in page.runs] == weekly[::-1][:2] and page.total == 3
    assert [r.name for r in page.runs] == ["Weekly check 2", "Weekly check 1"]
    assert len(seen) == 2, seen  # the rows and the count, as without the name
    assert [r.id for r in history.page(name="%_").runs] == [odd]  # the text typed, not wildcards
    assert history.page(name="   ").total == 6  # blank: no filter
    names = [r.name for r in history.page(owner="ana", sort="name").runs if r.name]
    assert names == sorted(names) and len(names) == 5


def test_runs_without_a_name_sort_last_both_ways_on_every_database(
    store_url: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    # SQLite puts NULLs first when ascending, PostgreSQL last: the page must not depend on it.
    store = open_store(store_url)
    try:
        executor = Executor(store, backend=LocalBackend(docker_client), root=tmp_path / "runs", name="names")
        record(executor, "ana", minute=0)
        for minute, name in enumerate(["beta", "alpha", "gamma"], start=1):
            record(executor, "ana", minute=minute, name=name)
        assert [r.name for r in executor.page(sort="name").runs] == ["alpha", "beta", "gamma", None]
        assert [r.name for r in executor.page(sort="-name").runs] == ["gamma", "beta", "alpha", None]
    finally:
        store.close()
