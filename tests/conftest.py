"""Services the suite starts itself: the Docker engine must answer (``make test``
runs scripts/setup.sh first), and each session gets its own throwaway registry
(anonymous pulls, authenticated pushes: tests/registry_process.py) with the
example models pushed into it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from mlrun_kernel.registry import RegistryAccess
from tests.paths import EXAMPLES, ROOT
from tests.registry_process import RegistryProcess, free_port

__all__ = ["RegistryProcess", "free_port"]  # imported from here by other tests and benchmarks


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"the Docker engine does not answer ({exc}); run `make test`, which starts it")
    return client


@pytest.fixture(scope="session")
def session_registry(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[RegistryProcess]:
    """The session's registry with the project's config: anonymous pulls on ``addr``,
    pushes with ``credentials`` on ``push_addr`` (docs/registry.md)."""
    process = RegistryProcess(tmp_path_factory.mktemp("registry")).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def registry_addr(session_registry: RegistryProcess) -> str:
    """``127.0.0.1:PORT`` of the session registry's pull side: what image references name."""
    return session_registry.addr


@pytest.fixture(scope="session")
def registry_url(registry_addr: str) -> str:
    return f"http://{registry_addr}"


@pytest.fixture(scope="session")
def registry_access(session_registry: RegistryProcess) -> RegistryAccess:
    """Where the session registry serves pulls and takes pushes, with its push credentials."""
    return session_registry.access


@pytest.fixture(scope="session")
def published_examples(registry_access: RegistryAccess) -> dict[str, object]:
    """Every example model built and pushed to the session registry, by folder name."""
    from mlrun_kernel.build import build_model

    return {folder.name: build_model(folder, registry=registry_access, push=True) for folder in EXAMPLES}


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


@pytest.fixture
def fresh_registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    """An empty registry for one test."""
    registry = RegistryProcess(tmp_path / "registry").start()
    yield registry
    registry.stop()
