"""Services the suite starts itself: the Docker engine must answer (``make test``
runs scripts/setup.sh first), and each session gets its own throwaway registry
with the example models pushed into it."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

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
def registry_addr(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[str]:
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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster started for this session; yields its admin URL."""
    import shutil
    import tempfile

    state = tempfile.mkdtemp(prefix="mlk-pg-", dir="/tmp")
    script = ROOT / "scripts" / "postgres.sh"
    try:
        out = subprocess.run(
            [script, "start", str(free_port()), state], check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"PostgreSQL did not start: {exc.stderr}")
    yield out.stdout.strip()
    subprocess.run([script, "stop", state], check=False)
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend the store supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    import uuid

    from sqlalchemy import create_engine, text

    admin_url = request.getfixturevalue("postgres_server")
    name = f"mlk_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class RegistryProcess:
    """A registry the test controls: it can be stopped and started again on the same storage."""

    def __init__(self, state: Path, notify_url: str | None = None) -> None:
        self.state = state
        self.addr = f"127.0.0.1:{free_port()}"
        self.url = f"http://{self.addr}"
        self.notify_url = notify_url

    def start(self) -> RegistryProcess:
        args = [ROOT / "scripts" / "registry.sh", "start", self.addr, self.state]
        subprocess.run(args + ([self.notify_url] if self.notify_url else []), check=True, capture_output=True)
        return self

    def stop(self) -> None:
        subprocess.run([ROOT / "scripts" / "registry.sh", "stop", self.state], check=False)
        import time

        for _ in range(50):  # wait until the port is closed
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", int(self.addr.rsplit(":", 1)[1]))) != 0:
                    return
            time.sleep(0.1)


@pytest.fixture
def fresh_registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    """An empty registry for one test."""
    registry = RegistryProcess(tmp_path / "registry").start()
    yield registry
    registry.stop()
