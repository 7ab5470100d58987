"""Scheduled evaluations with a clock the test moves: a cron slot fires at its time, once; a
restart after missed slots runs the newest one once; two service processes ticking at the
same moment run a slot once (the store's unique (model, slot) row), on SQLite and PostgreSQL.

The run executor is real but not started: evaluations' runs are queued, which is all a
schedule decides."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest
from sqlalchemy import func, select

from mlrun_kernel.datasets import Datasets, Principal
from mlrun_kernel.evaluations import Evaluations, EvaluationSettings, InvalidSetting
from mlrun_kernel.runs import Executor
from mlrun_kernel.runs.backends.local import LocalBackend
from mlrun_kernel.store import Store, open_store
from mlrun_kernel.store.models import Evaluation, EvaluationSetup, Run
from tests.evaluations.conftest import MODEL, reference_rows, sync_into
from tests.runs.conftest import fast_settings

pytestmark = [pytest.mark.docker, pytest.mark.registry]

ADMIN = Principal(name="ada", is_admin=True)
T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def scheduled(
    store_url: str,
    tmp_path: Path,
    registry_url: str,
    registry_addr: str,
    drifting_model: object,
    docker_client: docker.DockerClient,
) -> Iterator[tuple[Store, Callable[[Clock], Evaluations]]]:
    store = open_store(store_url)
    sync_into(store, registry_url)
    datasets = Datasets(store, tmp_path / "data")
    source = tmp_path / "labelled.csv"
    source.write_text(reference_rows(0))
    datasets.upload_file("ada", "labelled", source)
    executor = Executor(
        store,
        backend=LocalBackend(docker_client),
        settings=fast_settings(),
        root=tmp_path / "runs",
        registry=registry_addr,
        name=f"test-sched-{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path / "data",
    )  # never started: its runs stay queued

    def service_process(clock: Clock) -> Evaluations:
        """What one service process holds: its own Evaluations on the shared store."""
        return Evaluations(
            store, datasets, submit=executor.submit, clock=clock, settings=EvaluationSettings()
        )

    yield store, service_process
    store.close()


def slots(store: Store) -> list[datetime]:
    with store.session() as s:
        return list(
            s.scalars(select(Evaluation.slot).where(Evaluation.slot.is_not(None)).order_by(Evaluation.slot))
        )


def test_a_cron_schedule_fires_at_its_slot_and_a_restart_runs_a_missed_slot_once(scheduled) -> None:
    store, service_process = scheduled
    clock = Clock(T0)
    first = service_process(clock)
    setup = first.put_setup(ADMIN, MODEL, dataset="ada/labelled", schedule="30 2 * * *")
    assert setup.next_slot == T0.replace(hour=2, minute=30)

    clock.now = T0.replace(hour=2, minute=29, second=59)
    assert first.tick().started == []
    clock.now = T0.replace(hour=2, minute=30)
    started = first.tick().started
    assert len(started) == 1
    evaluation = first.get(started[0])
    assert evaluation.trigger == "schedule" and evaluation.slot == T0.replace(hour=2, minute=30)
    assert evaluation.dataset == "ada/labelled:1" and evaluation.run_id
    with store.session() as s:
        run = s.get(Run, evaluation.run_id)
        assert run is not None and run.task == "evaluate" and run.state == "queued"
    clock.now = T0.replace(hour=9)
    assert first.tick().started == [], "a slot runs once"

    # Down from March 1st 09:00 to March 4th 09:00: three slots missed; the restarted
    # service runs the newest once.
    restarted = service_process(Clock(T0 + timedelta(days=3, hours=9)))
    assert len(restarted.tick().started) == 1
    assert restarted.tick().started == []
    assert slots(store) == [T0.replace(hour=2, minute=30), T0.replace(day=4, hour=2, minute=30)]


def test_two_service_processes_never_run_the_same_slot_twice(scheduled) -> None:
    store, service_process = scheduled
    moment = Clock(T0.replace(hour=2, minute=30))
    processes = [service_process(moment) for _ in range(2)]
    processes[0].put_setup(ADMIN, MODEL, dataset="ada/labelled", schedule="daily")
    with store.session() as s:  # the schedule was set long before
        s.get(EvaluationSetup, MODEL).schedule_since = T0 - timedelta(days=30)
    for day in range(3):
        moment.now = T0 + timedelta(days=day, hours=1)
        barrier = threading.Barrier(2)
        results: list[list[int]] = []

        def tick(evaluations: Evaluations, barrier: threading.Barrier, results: list[list[int]]) -> None:
            barrier.wait()
            results.append(evaluations.tick().started)

        threads = [threading.Thread(target=tick, args=(p, barrier, results)) for p in processes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(len(r) for r in results) == [0, 1], results
    assert slots(store) == [T0 + timedelta(days=d) for d in range(3)]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Run).where(Run.task == "evaluate")) == 3


def test_a_cron_expression_that_does_not_parse_is_refused_and_nothing_is_stored(scheduled) -> None:
    store, service_process = scheduled
    evaluations = service_process(Clock(T0))
    with pytest.raises(InvalidSetting, match="cron expression"):
        evaluations.put_setup(ADMIN, MODEL, dataset="ada/labelled", schedule="every 5 minutes")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(EvaluationSetup)) == 0
