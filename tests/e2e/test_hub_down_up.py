"""`make down` then `make up` brings back every user, dataset, run, result, model and home file.

The test runs the Makefile's own targets, as an operator types them, on one data
folder and one deployment name (free ports, so it never meets a hub or registry
already running here): `make up` builds and publishes the example models into
its own registry, starts the hub with the demo accounts and prints how to log
in; work is done (an account made by the admin and put in a group, a dataset
uploaded, a run finished, a file written in a user's home); `make down` leaves
nothing running (no container, no process, no port answering); and the next
`make up` finds it all again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from mlrun_kernel.client import Client
from tests.e2e.conftest import (
    SINGLEUSER_TAG,
    Hub,
    HubSession,
    _free_port,
    _log,
    _processes_with_env,
    hub_env,
    kept_password,
)
from tests.paths import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub]

ROWS = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"


def make(target: str, env: dict[str, str]) -> str:
    """``make TARGET`` in this checkout with ``env``; its output (the test fails on an error)."""
    started = time.monotonic()
    result = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    _log(f"make {target}: exit {result.returncode} in {time.monotonic() - started:.0f}s")
    assert result.returncode == 0, f"make {target} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return True


@contextlib.contextmanager
def make_deployment(data: Path, docker_client: docker.DockerClient) -> Iterator[tuple[Hub, dict[str, str]]]:
    """The environment `make up` / `make down` run in, and the hub they start; all of it removed after."""
    deployment = f"e2e-makeup-{time.monotonic_ns() % 10**6}"
    env, url, service_url = hub_env(data, deployment)
    registry = f"127.0.0.1:{_free_port('127.0.0.1')}"
    push = f"127.0.0.1:{_free_port('127.0.0.1')}"
    env.update(
        MLK_REGISTRY_ADDR=registry,
        MLK_REGISTRY_URL=f"http://{registry}",
        MLK_REGISTRY_PUSH_ADDR=push,
        MLK_REGISTRY_PUSH_URL=f"http://{push}",
        MLK_SINGLEUSER_IMAGE=SINGLEUSER_TAG,
    )
    for name in ("MLK_REGISTRY_PASSWORD", "MLK_REGISTRY_PASSWORD_FILE", "MLK_DEMO_ACCOUNTS", "MAKEFLAGS"):
        env.pop(name, None)
    hub = Hub(
        url=url, service_url=service_url, deployment=deployment, prefix=f"mlk-{deployment}", data_dir=data
    )
    try:
        yield hub, env
    finally:
        subprocess.run(["make", "down"], cwd=ROOT, env=env, capture_output=True, timeout=180, check=False)
        label = {"label": f"io.mlkernel.deployment={deployment}"}
        for container in docker_client.containers.list(all=True, filters=label):
            container.remove(force=True)
        for volume in docker_client.volumes.list(filters={"name": f"{hub.prefix}-home-"}):
            with contextlib.suppress(docker.errors.APIError):
                volume.remove(force=True)
        for network in docker_client.networks.list(filters=label):
            with contextlib.suppress(docker.errors.APIError):
                network.remove()
        for pid in _processes_with_env("MLK_DEPLOYMENT", deployment):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def test_make_down_and_make_up_keep_users_datasets_runs_results_models_and_homes(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    with make_deployment(tmp_path / "data", docker_client) as (hub, env):
        printed = make("up", env)
        # `make up` ends with where to log in and the accounts, once.
        assert printed.count(f"Log in at {hub.url}/hub/login as:") == 1, printed
        for account in ("admin", "demo-user", "demo-expert", "demo-admin"):
            assert kept_password(hub, account) in printed
        assert "iris-classifier:1.0.0" in printed and "up: all up in" in printed

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
            models = sorted(m["name"] for m in client.list_models())
        user.spawn()
        container = docker_client.containers.get(hub.container_name("demo-user"))
        code, out = container.exec_run(["sh", "-c", "echo mine > ~/notes.txt"], user="jovyan")
        assert code == 0, out
        password = kept_password(hub, "demo-user")
        user.close()
        admin.close()

        make("down", env)
        # Nothing runs: no container, no hub, proxy, service or registry process, no port answering.
        assert not docker_client.containers.list(
            all=True, filters={"label": f"io.mlkernel.deployment={hub.deployment}"}
        )
        assert _processes_with_env("MLK_DEPLOYMENT", hub.deployment) == []
        for url in (hub.url, hub.service_url, env["MLK_REGISTRY_URL"], env["MLK_REGISTRY_PUSH_URL"]):
            assert not answers(url), f"{url} still answers after make down"

        printed = make("up", env)
        assert printed.count(f"Log in at {hub.url}/hub/login as:") == 1, printed
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
            assert sorted(m["name"] for m in client.list_models()) == models
        user.spawn()
        container = docker_client.containers.get(hub.container_name("demo-user"))
        code, out = container.exec_run(["cat", "/home/jovyan/notes.txt"], user="jovyan")
        assert (code, out.decode().strip()) == (0, "mine")
        user.close()
        admin.close()
