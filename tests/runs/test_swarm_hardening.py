"""A model run on Docker Swarm is as hardened as one on the local engine, or refused.

The swarm is a one-node swarm on the suite's private engine (see engines.py),
so the shared engine is never turned into one. What the swarm API 1.41
cannot express (no-new-privileges per service) is said in docs/runs.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrun_kernel.runs import LocalInput, RunRequest
from tests.runs.conftest import private_executor

pytestmark = [pytest.mark.docker, pytest.mark.registry]


@pytest.fixture
def swarm(private_engine: Any) -> Iterator[Any]:
    """A one-node swarm on the private engine, left only if this fixture made it."""
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


def test_a_swarm_run_gets_the_local_engines_hardening(swarm, store, tmp_path: Path, registry_addr, csv_file):
    executor = private_executor(
        store, swarm, tmp_path / "runs", registry_addr, backend="swarm", pids_limit=128
    ).start()
    try:
        run = executor.submit(
            RunRequest(
                model="mlk-test-behaving", task="predict", owner="ana", inputs={"data": LocalInput(csv_file)}
            )
        )
        info = executor.wait(run.id, timeout=240)
        assert info.state == "succeeded", info.reason
        seen = info.result
        assert (seen["uid"], seen["gid"]) == (65534, 65534)
        assert int(seen["cap_eff"], 16) == 0 and int(seen["cap_bnd"], 16) == 0
        assert seen["pids_max"] == "128"
        assert int(seen["memory_max"]) == 256 * 1024 * 1024
        assert seen["root_writable"] is False, "the root file system is read-only"
        assert seen["tmp_writable"] is True, "/tmp is a writable tmpfs, as on the local engine"
        assert seen["input_writable"] is False
        assert seen["interfaces"] == ["eth0", "lo"]  # its own internal network: no route out
    finally:
        executor.stop()


def test_a_network_run_on_swarm_is_refused_with_a_reason(swarm, store, tmp_path: Path, registry_addr):
    executor = private_executor(
        store,
        swarm,
        tmp_path / "runs",
        registry_addr,
        backend="swarm",
        allow_network=True,
        retry_max_attempts=1,
    ).start()
    try:
        run = executor.submit(RunRequest(model="mlk-test-network", task="predict", owner="ana"))
        info = executor.wait(run.id, timeout=180)
        assert info.state == "failed"
        assert info.reason.startswith("network runs are refused on Swarm"), info.reason
        services = swarm.client().services.list(filters={"label": f"io.mlkernel.executor={executor.name}"})
        assert services == []
    finally:
        executor.stop()
