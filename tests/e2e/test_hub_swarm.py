"""MLK_SPAWNER=swarm: the notebook servers as Docker Swarm services, on a one-node swarm.

The swarm is a private engine of this test's own (tests/runs/engines.py), made
a swarm here and left again after, so the shared engine is never turned into
one. The hub runs outside the swarm as jupyterhub_config.py runs it; the
single-user image is copied into the private engine.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import docker
import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.conftest import SINGLEUSER_TAG, HubSession, running_hub
from tests.runs.engines import PrivateEngine

if TYPE_CHECKING:
    from tests.e2e.conftest import Hub

pytestmark = [pytest.mark.docker, pytest.mark.hub]


@pytest.fixture(scope="module")
def swarm_engine(docker_client: docker.DockerClient, singleuser_image: str) -> Iterator[PrivateEngine]:
    state = Path(tempfile.mkdtemp(prefix="mlk-hubswarm-", dir="/tmp"))  # short socket path
    engine = PrivateEngine(state).start()
    client = engine.client()
    made = False
    try:
        if client.info()["Swarm"]["LocalNodeState"] != "active":
            port = free_port()
            client.swarm.init(advertise_addr=f"127.0.0.1:{port}", listen_addr=f"127.0.0.1:{port}")
            made = True
        # The image the hub spawns, copied from the shared engine.
        save = subprocess.Popen(["docker", "save", singleuser_image], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", engine.url, "load", "-q"], stdin=save.stdout, check=True)
        assert save.wait() == 0
        yield engine
    finally:
        with contextlib.suppress(Exception):
            for service in client.services.list():
                service.remove()
        if made:
            with contextlib.suppress(Exception):
                client.swarm.leave(force=True)
        engine.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def swarm_hub(
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    swarm_engine: PrivateEngine,
    singleuser_image: str,
    registry_url: str,
) -> Iterator[Hub]:
    with running_hub(
        tmp_path_factory.mktemp("swarm-hub-data"),
        docker_client,
        DOCKER_HOST=swarm_engine.url,
        MLK_SPAWNER="swarm",
        MLK_AUTHENTICATOR="shared",
        MLK_SHARED_PASSWORD="e2e-shared-password",
        MLK_REGISTRY_URL=registry_url,
        MLK_SINGLEUSER_IMAGE=singleuser_image,
    ) as started:
        yield started


def test_swarm_spawner_runs_each_server_as_a_service_with_the_same_image_limits_and_home(
    swarm_hub: Hub, swarm_engine: PrivateEngine
) -> None:
    client = swarm_engine.client()
    session = HubSession(swarm_hub, "sally")
    try:
        started = time.monotonic()
        session.spawn(timeout=180)
        print(f"[e2e] swarm spawn ready in {time.monotonic() - started:.1f}s")
        (service,) = client.services.list(filters={"name": swarm_hub.container_name("sally")})
        spec = service.attrs["Spec"]
        template = spec["TaskTemplate"]
        assert template["ContainerSpec"]["Image"].startswith(SINGLEUSER_TAG)
        assert template["Resources"]["Limits"]["MemoryBytes"] == 2 * 1024**3
        mounts = {m["Target"]: m for m in template["ContainerSpec"].get("Mounts", [])}
        assert mounts["/home/jovyan"]["Source"] == f"{swarm_hub.prefix}-home-sally"
        assert spec["Labels"]["io.mlkernel.deployment"] == swarm_hub.deployment
        network = client.networks.get(f"mlk-{swarm_hub.deployment}-notebooks")
        assert network.attrs["Driver"] == "overlay"
        assert [n["Target"] for n in template["Networks"]] == [network.id]

        # The server answers through the hub's proxy, and its kernel reaches the model service.
        token = session.new_token()
        api = httpx.get(f"{swarm_hub.url}/user/sally/api/status", headers={"Authorization": f"token {token}"})
        assert api.status_code == 200, api.text
        (container,) = client.containers.list(filters={"label": f"com.docker.swarm.service.id={service.id}"})
        script = "from mlrun_kernel.client import Client; print(Client().health()['status'])"
        code, out = container.exec_run(["python", "-c", script], user="jovyan")
        assert code == 0 and out.decode().strip().endswith("ok"), out.decode()

        stopped = session.api("DELETE", "/users/sally/server")
        assert stopped.status_code in (202, 204), stopped.text
        deadline = time.monotonic() + 60
        while client.services.list(filters={"name": swarm_hub.container_name("sally")}):
            assert time.monotonic() < deadline, "the stopped server's service was not removed"
            time.sleep(0.5)
    finally:
        session.close()
