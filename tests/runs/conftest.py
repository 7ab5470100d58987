"""Fixtures for the run executor's tests: tiny test models in the session registry, a
catalog-synced store per test, and executors that leave no container behind."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from mlrun_kernel.catalog import sync_catalog
from mlrun_kernel.registry import RegistryAccess, RegistryClient
from mlrun_kernel.runs import Executor, RunSettings
from mlrun_kernel.runs.backends.base import LABEL_EXECUTOR
from mlrun_kernel.runs.backends.local import LocalBackend
from mlrun_kernel.store import Store, open_store
from tests.runs.image_contexts import build_test_model, image_names

FAST = {
    "max_concurrent_runs": 2,
    "max_runs_per_user": 2,
    "outputs_check_seconds": 0.5,
    "retry_backoff_seconds": 0.2,
    "heartbeat_seconds": 1,
    "lease_seconds": 5,
    "stop_grace_seconds": 1,
    "engine_wait_seconds": 30,
}


def fast_settings(**overrides: Any) -> RunSettings:
    return RunSettings(**(FAST | overrides))


@pytest.fixture(scope="session")
def test_models(registry_access: RegistryAccess) -> dict[str, Any]:
    """The purpose-built test images, built and pushed once per session.

    ``images/shared/`` holds the program several images run with different
    manifests (a well-behaved model, one that asks for the network).
    """
    return {name: build_test_model(name, registry_access) for name in image_names()}


@pytest.fixture(scope="session")
def catalog_template(
    tmp_path_factory: pytest.TempPathFactory, registry_url: str, test_models: dict[str, Any]
) -> Path:
    """A SQLite store with the session registry's catalog synced, copied by each test."""
    path = tmp_path_factory.mktemp("catalog") / "store.sqlite"
    store = open_store(f"sqlite:///{path}")
    with RegistryClient(registry_url) as registry:
        report = sync_catalog(store, registry)
    assert not report.error, report.error
    store.close()
    return path


@pytest.fixture
def store(tmp_path: Path, catalog_template: Path) -> Iterator[Store]:
    path = tmp_path / "store.sqlite"
    shutil.copy(catalog_template, path)
    store = open_store(f"sqlite:///{path}")
    yield store
    store.close()


def sync_into(store: Store, registry_url: str) -> None:
    with RegistryClient(registry_url) as registry:
        report = sync_catalog(store, registry)
    assert not report.error, report.error


def leftover_containers(client: docker.DockerClient, executor_name: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"{LABEL_EXECUTOR}={executor_name}"})


@pytest.fixture
def make_executor(
    store: Store, tmp_path: Path, registry_addr: str, docker_client: docker.DockerClient
) -> Iterator[Callable[..., Executor]]:
    """``make_executor(**settings)``: a started executor; stopped and checked at teardown."""
    made: list[Executor] = []

    def make(*, start: bool = True, name: str | None = None, **overrides: Any) -> Executor:
        executor = Executor(
            store,
            backend=LocalBackend(docker_client),
            settings=fast_settings(**overrides),
            root=tmp_path / "runs",
            registry=registry_addr,
            name=name or f"test-{uuid.uuid4().hex[:8]}",
            data_dir=tmp_path / "datasets",
        )
        made.append(executor)
        return executor.start() if start else executor

    yield make
    for executor in made:
        executor.stop()
    for executor in made:
        for container in leftover_containers(docker_client, executor.name):
            container.remove(force=True)


@pytest.fixture
def executor(make_executor: Callable[..., Executor]) -> Executor:
    return make_executor()


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "rows.csv"
    path.parent.mkdir()
    path.write_text("a,b\n1,2\n3,4\n")
    return path


@pytest.fixture(scope="session")
def private_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A dockerd of the suite's own: restarting it or making it a swarm affects nobody else."""
    import tempfile

    from tests.runs.engines import PrivateEngine

    state = Path(tempfile.mkdtemp(prefix="mlk-engine-", dir="/tmp"))  # short socket path
    engine = PrivateEngine(state).start()
    yield engine
    with contextlib.suppress(Exception):
        client = engine.client()
        for container in client.containers.list(all=True):
            container.remove(force=True)
    engine.stop()
    shutil.rmtree(state, ignore_errors=True)


def private_executor(
    store: Store, engine: Any, root: Path, registry_addr: str, backend: str = "local", **overrides: Any
) -> Executor:
    from mlrun_kernel.runs.backends.swarm import SwarmBackend

    client = engine.client()
    chosen = LocalBackend(client) if backend == "local" else SwarmBackend(client)
    return Executor(
        store,
        backend=chosen,
        settings=fast_settings(**overrides),
        root=root,
        registry=registry_addr,
        name=f"test-{uuid.uuid4().hex[:8]}",
    )
