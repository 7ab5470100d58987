"""`make down` then `make up` brings back every user, dataset, run, result and home file.

`make down` is `scripts/hub.sh stop` (plus the registry's stop) and `make up`
is `scripts/hub.sh start` on the same data folder; this test does exactly
those two steps on one data folder and one deployment name, with work done
before in between: an account made by the admin, a dataset uploaded, a run
finished, a file written in a user's home.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import docker
import pytest

from mlrun_kernel.client import Client
from tests.e2e.conftest import HubSession, kept_password, running_hub

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub]

ROWS = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"


def test_down_and_up_keep_users_datasets_runs_results_and_homes(
    tmp_path: Path,
    docker_client: docker.DockerClient,
    singleuser_image: str,
    registry_url: str,
    published_examples: dict[str, object],
) -> None:
    data = tmp_path / "data"
    options = {
        "MLK_AUTHENTICATOR": "native",
        "MLK_DEMO_ACCOUNTS": "1",
        "MLK_REGISTRY_URL": registry_url,
        "MLK_SINGLEUSER_IMAGE": singleuser_image,
    }
    deployment = f"e2e-downup-{time.monotonic_ns() % 10**6}"
    try:
        with running_hub(data, docker_client, "", deployment, keep_homes=True, **options) as hub:
            admin = HubSession(hub, "demo-admin", kept_password(hub, "demo-admin"))
            assert admin.api("POST", "/users/newbie").status_code == 201
            joined = admin.api("POST", "/groups/model-experts/users", json={"users": ["newbie"]})
            assert joined.status_code == 200, joined.text
            user = HubSession(hub, "demo-user", kept_password(hub, "demo-user"))
            with Client(hub.service_url, token=user.new_token()) as client:
                version = client.upload_dataset(ROWS.encode(), "flowers", filename="flowers.csv")
                run = client.start_run("iris-classifier", inputs={"data": version["ref"]})
                assert client.wait_run(run["id"], timeout=240)["state"] == "succeeded"
                predictions = client.read_output(run["id"], "predictions.csv")
            user.spawn()
            container = docker_client.containers.get(hub.container_name("demo-user"))
            code, out = container.exec_run(["sh", "-c", "echo mine > ~/notes.txt"], user="jovyan")
            assert code == 0, out
            password = kept_password(hub, "demo-user")
            user.close()
            admin.close()

        # `make down` stopped the hub, its service and the users' containers.
        assert not docker_client.containers.list(filters={"label": f"io.mlkernel.deployment={deployment}"})

        with running_hub(data, docker_client, "", deployment, **options) as hub:
            assert kept_password(hub, "demo-user") == password  # the kept passwords do not change
            admin = HubSession(hub, "demo-admin", kept_password(hub, "demo-admin"))
            newbie = admin.api("GET", "/users/newbie").json()
            assert "model-experts" in newbie["groups"]
            user = HubSession(hub, "demo-user", password)
            with Client(hub.service_url, token=user.new_token()) as client:
                assert [d["name"] for d in client.list_datasets()] == ["flowers"]
                again = client.get_run(run["id"])
                assert again["state"] == "succeeded"
                assert client.read_output(run["id"], "predictions.csv") == predictions
            user.spawn()
            container = docker_client.containers.get(hub.container_name("demo-user"))
            code, out = container.exec_run(["cat", "/home/jovyan/notes.txt"], user="jovyan")
            assert (code, out.decode().strip()) == (0, "mine")
            user.close()
            admin.close()
    finally:
        for volume in docker_client.volumes.list(filters={"name": f"mlk-{deployment}-home-"}):
            with contextlib.suppress(docker.errors.APIError):
                volume.remove(force=True)
