"""Services the suite starts itself: the Docker engine must answer (``make test``
runs scripts/setup.sh first), and each session gets its own throwaway registry
with the example models pushed into it."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
import docker
import pytest

from tests.paths import EXAMPLES, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"the Docker engine does not answer ({exc}); run `make test`, which starts it")
    return client


@pytest.fixture(scope="session")
def registry_addr(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient) -> Iterator[str]:
    """``127.0.0.1:PORT`` of a registry started for this session with the project's config."""
    state = tmp_path_factory.mktemp("registry")
    addr = f"127.0.0.1:{free_port()}"
    subprocess.run([ROOT / "scripts" / "registry.sh", "start", addr, state], check=True)
    yield addr
    subprocess.run([ROOT / "scripts" / "registry.sh", "stop", state], check=False)


@pytest.fixture(scope="session")
def registry_url(registry_addr: str) -> str:
    return f"http://{registry_addr}"


@pytest.fixture(scope="session")
def published_examples(registry_addr: str) -> dict[str, object]:
    """Every example model built and pushed to the session registry, by folder name."""
    from mlrun_kernel.build import build_model

    return {folder.name: build_model(folder, registry=registry_addr, push=True) for folder in EXAMPLES}
