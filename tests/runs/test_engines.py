"""A restarted Docker engine and a Swarm backend, on a private engine of the suite's own
(so the shared engine others use is never restarted nor turned into a swarm)."""

from __future__ import annotations

import time

import pytest

from mlrun_kernel.runs import RunRequest
from tests.runs.conftest import private_executor

pytestmark = [pytest.mark.docker, pytest.mark.registry]


def test_engine_restart_mid_run_ends_the_run_as_engine_restarted(
    private_engine, store, tmp_path, registry_addr
):
    executor = private_executor(store, private_engine, tmp_path / "runs", registry_addr).start()
    try:
        run = executor.submit(
            RunRequest(model="mlk-test-behaving", task="sleep", owner="ana", parameters={"seconds": 60})
        )
        deadline = time.monotonic() + 120  # the first pull into the private engine
        while executor.get(run.id).state != "running":
            assert time.monotonic() < deadline, executor.get(run.id)
            time.sleep(0.1)
        time.sleep(1)
        private_engine.restart()
        info = executor.wait(run.id, timeout=90)
        assert (info.state, info.reason) == ("failed", "engine restarted")
        assert any(line.text == "tick 0" for line in executor.logs(run.id))
        labelled = private_engine.client().containers.list(
            all=True, filters={"label": f"io.mlkernel.executor={executor.name}"}
        )
        assert labelled == []
    finally:
        executor.stop()


@pytest.fixture
def swarm(private_engine):
    """A one-node swarm on the private engine: initialised only if it is not in one already,
    left only if this fixture made it."""
    client = private_engine.client()
    made = False
    if client.info()["Swarm"]["LocalNodeState"] != "active":
        from tests.conftest import free_port

        port = free_port()
        client.swarm.init(advertise_addr=f"127.0.0.1:{port}", listen_addr=f"127.0.0.1:{port}")
        made = True
    yield private_engine
    if made:
        client.swarm.leave(force=True)


def test_swarm_backend_runs_jobs_with_the_same_contract(swarm, store, tmp_path, registry_addr, csv_file):
    from mlrun_kernel.runs import LocalInput

    executor = private_executor(store, swarm, tmp_path / "runs", registry_addr, backend="swarm").start()
    try:
        ok = executor.submit(
            RunRequest(
                model="mlk-test-behaving", task="predict", owner="ana", inputs={"data": LocalInput(csv_file)}
            )
        )
        failing = executor.submit(RunRequest(model="mlk-test-behaving", task="fail", owner="ben"))
        info = executor.wait(ok.id, timeout=180)
        assert info.state == "succeeded", info.reason
        seen = info.result
        assert (seen["uid"], int(seen["cap_eff"], 16)) == (65534, 0)
        assert seen["pids_max"] == "512"
        assert seen["root_writable"] is False and seen["input_writable"] is False
        assert info.metrics == {"rows": 3.0, "threshold": 0.5}
        assert "done" in [line.text for line in executor.logs(ok.id)]
        isolated = executor.wait(
            executor.submit(RunRequest(model="mlk-test-behaving", task="network", owner="ana")).id,
            timeout=120,
        )
        assert all(v is not True for v in isolated.result["reached"].values()), isolated.result
        bad = executor.wait(failing.id, timeout=120)
        assert (bad.state, bad.reason) == ("failed", "exit code 3: the model could not converge")
        slow = executor.submit(
            RunRequest(model="mlk-test-behaving", task="sleep", owner="ana", parameters={"seconds": 60})
        )
        while executor.get(slow.id).state != "running":
            time.sleep(0.1)
        assert executor.cancel(slow.id) is not None
        assert executor.wait(slow.id, timeout=60).state == "cancelled"
        services = swarm.client().services.list(filters={"label": f"io.mlkernel.executor={executor.name}"})
        assert services == []
        networks = swarm.client().networks.list(filters={"label": f"io.mlkernel.executor={executor.name}"})
        assert networks == []
    finally:
        executor.stop()
