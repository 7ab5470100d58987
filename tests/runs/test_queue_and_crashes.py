"""The queue is persistent, fair and limited; cancel works anywhere; crashes lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from mlrun_kernel.runs import Executor, RunRequest
from mlrun_kernel.runs.backends.base import LABEL_RUN
from mlrun_kernel.runs.backends.local import LocalBackend
from mlrun_kernel.runs.errors import ImagePullError
from tests.paths import ROOT
from tests.runs.conftest import leftover_containers

pytestmark = [pytest.mark.docker, pytest.mark.registry]


def sleep(executor: Executor, owner: str, seconds: float = 30):
    return executor.submit(
        RunRequest(model="mlk-test-behaving", task="sleep", owner=owner, parameters={"seconds": seconds})
    )


def until(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_limits_fairness_positions_and_cancel_in_every_state(make_executor):
    executor = make_executor(max_concurrent_runs=2, max_runs_per_user=1)
    a1, a2, a3 = (sleep(executor, "ana") for _ in range(3))
    b1 = sleep(executor, "ben")
    until(
        lambda: executor.get(a1.id).state == "running" and executor.get(b1.id).state == "running",
        what="one run per user",
    )
    # per-user limit: ana's second waits although a slot... is taken by ben; positions are fair
    assert executor.get(a2.id).state == "queued"
    assert (executor.get(a2.id).queue_position, executor.get(a3.id).queue_position) == (1, 2)
    # cancel a queued run: ends at once, never started
    cancelled = executor.cancel(a3.id, by="ana")
    assert cancelled.state == "cancelled" and [e.state for e in cancelled.events] == ["queued", "cancelled"]
    # cancel a running run: stopped, container removed, state cancelled
    executor.cancel(a1.id)
    assert executor.wait(a1.id, timeout=30).state == "cancelled"
    until(lambda: executor.get(a2.id).state == "running", what="ana's next run")
    for run in (a2, b1):
        executor.cancel(run.id)
    for run in (a2, b1):
        assert executor.wait(run.id, timeout=30).state == "cancelled"
    # cancelling an ended run changes nothing
    assert executor.cancel(a1.id).state == "cancelled"


def test_fair_turns_between_users(make_executor):
    executor = make_executor(start=False, max_concurrent_runs=1, max_runs_per_user=1)
    ana = [sleep(executor, "ana", 0.2) for _ in range(3)]
    ben = sleep(executor, "ben", 0.2)
    assert executor.get(ben.id).queue_position == 2  # ben goes before ana's 2nd and 3rd
    executor.start()
    for run in [*ana, ben]:
        assert executor.wait(run.id, timeout=60).state == "succeeded"
    started = sorted([*ana, ben], key=lambda r: executor.get(r.id).started_at)
    assert [r.id for r in started][:2] == [ana[0].id, ben.id]


class FlakyPulls(LocalBackend):
    """The registry fails the first ``failures`` pulls (an infrastructure failure)."""

    def __init__(self, client, failures: int, hang: float = 0) -> None:
        super().__init__(client)
        self.failures = failures
        self.hang = hang
        self.pulls = 0

    def pull(self, image, on_progress=None):
        self.pulls += 1
        if self.hang:
            time.sleep(self.hang)
        if self.pulls <= self.failures:
            raise ImagePullError("image pull failed: registry answered 503")
        super().pull(image, on_progress)


def test_infrastructure_failures_are_retried_with_backoff(make_executor, docker_client):
    executor = make_executor(start=False, retry_max_attempts=3, retry_backoff_seconds=0.2)
    executor.backend = FlakyPulls(docker_client, failures=2)
    executor.start()
    info = executor.submit(RunRequest(model="mlk-test-behaving", task="noop", owner="ana"))
    info = executor.wait(info.id, timeout=60)
    assert info.state == "succeeded" and info.attempts == 3
    retries = [e for e in info.events if e.state == "queued" and e.reason]
    assert len(retries) == 2 and "image pull failed: registry answered 503" in retries[0].reason


def test_pull_failures_past_the_limit_fail_the_run_with_the_reason(make_executor, docker_client):
    executor = make_executor(start=False, retry_max_attempts=2, retry_backoff_seconds=0.1)
    executor.backend = FlakyPulls(docker_client, failures=99)
    executor.start()
    info = executor.submit(RunRequest(model="mlk-test-behaving", task="noop", owner="ana"))
    info = executor.wait(info.id, timeout=60)
    assert info.state == "failed"
    assert info.reason == "image pull failed: registry answered 503 (after 2 attempts)"


def test_a_pull_stuck_past_its_limit_fails_with_a_named_reason(make_executor, docker_client):
    executor = make_executor(start=False, stuck_pulling_seconds=1)
    executor.backend = FlakyPulls(docker_client, failures=0, hang=5)
    executor.start()
    info = executor.submit(RunRequest(model="mlk-test-behaving", task="noop", owner="ana"))
    info = executor.wait(info.id, timeout=30)
    assert (info.state, info.reason) == ("failed", "stuck pulling for more than 1 s")


def _executor_process(store_url: str, root: Path, registry: str, name: str) -> subprocess.Popen:
    env = os.environ | {
        "MLK_HEARTBEAT_SECONDS": "1",
        "MLK_LEASE_SECONDS": "5",
        "MLK_STOP_GRACE_SECONDS": "1",
        "MLK_MAX_CONCURRENT_RUNS": "3",
        "MLK_MAX_RUNS_PER_USER": "3",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlrun_kernel.runs",
            "--store",
            store_url,
            "--root",
            str(root),
            "--registry",
            registry,
            "--name",
            name,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    assert b"ready" in proc.stdout.readline()
    return proc


def test_sigkill_of_the_executor_mid_run_loses_nothing(
    store, tmp_path, registry_addr, docker_client: docker.DockerClient, make_executor
):
    url = str(store.engine.url)
    root = tmp_path / "runs"
    name = "crash-test"
    proc = _executor_process(url, root, registry_addr, name)
    submitter = make_executor(start=False, name="submit-only")
    running = sleep(submitter, "ana", 4)  # still running after the restart: adopted
    exiting = sleep(submitter, "ana", 1)  # exits while no executor watches: collected
    queued_ = sleep(submitter, "ana", 0.5)
    until(
        lambda: all(submitter.get(r.id).state == "running" for r in (running, exiting, queued_)),
        what="three running runs",
    )
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1.5)  # the short runs exit while nobody watches
    proc = _executor_process(url, root, registry_addr, name)
    try:
        for run in (running, exiting, queued_):
            info = submitter.wait(run.id, timeout=60)
            assert info.state == "succeeded", (info.state, info.reason)
            assert (info.outputs_dir / "slept.txt").read_text() == "yes\n"
            texts = [line.text for line in submitter.logs(run.id)]
            assert texts[0] == "sleeping" and "tick 0" in texts
            assert len([t for t in texts if t == "sleeping"]) == 1  # no line twice
        adopted = submitter.logs(running.id)
        assert any("adopted this run" in line.text for line in adopted)
        until(lambda: not leftover_containers(docker_client, name), what="no containers left")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.postgres
def test_runs_work_the_same_on_postgresql(store_url, registry_url, registry_addr, tmp_path, docker_client):
    import uuid

    from mlrun_kernel.store import open_store
    from tests.runs.conftest import fast_settings, sync_into

    pg = open_store(store_url)
    try:
        sync_into(pg, registry_url)
        executor = Executor(
            pg,
            backend=LocalBackend(docker_client),
            settings=fast_settings(),
            root=tmp_path / "runs",
            registry=registry_addr,
            name=f"pg-{uuid.uuid4().hex[:8]}",
        ).start()
        try:
            ok = executor.submit(RunRequest(model="mlk-test-behaving", task="noop", owner="ana"))
            bad = executor.submit(RunRequest(model="mlk-test-behaving", task="reject", owner="ben"))
            assert executor.wait(ok.id, timeout=60).state == "succeeded"
            assert executor.wait(bad.id, timeout=60).reason.startswith("model rejected its input")
            assert [e.state for e in executor.get(ok.id).events][-1] == "succeeded"
        finally:
            executor.stop()
    finally:
        pg.close()


class SlowCreate(LocalBackend):
    """The engine takes ``hang`` seconds to create a container (a stuck start)."""

    def __init__(self, client, hang: float) -> None:
        super().__init__(client)
        self.hang = hang

    def create(self, spec):
        time.sleep(self.hang)
        return super().create(spec)


def test_a_start_stuck_past_its_limit_fails_and_leaves_no_container(make_executor, docker_client):
    executor = make_executor(start=False, stuck_starting_seconds=1)
    executor.backend = SlowCreate(docker_client, hang=3)
    executor.start()
    info = executor.submit(RunRequest(model="mlk-test-behaving", task="noop", owner="ana"))
    info = executor.wait(info.id, timeout=30)
    assert (info.state, info.reason) == ("failed", "stuck starting for more than 1 s")
    time.sleep(4)  # the engine's late answer arrives after the run has ended
    left = docker_client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={info.id}"})
    assert left == [], [c.name for c in left]
