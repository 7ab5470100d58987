"""Fixtures of the expert's publishing tests: `mlk` as a subprocess against the session registry."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.registry_process import RegistryProcess

Mlk = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def expert_env(tmp_path: Path, session_registry: RegistryProcess) -> dict[str, str]:
    """An expert's environment: their own data folder, the session registry and its push password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLK_", "JUPYTERHUB_"))}
    env.update(
        MLK_DATA_DIR=str(tmp_path / "data"),
        MLK_REGISTRY_URL=session_registry.url,
        MLK_REGISTRY_PUSH_URL=session_registry.push_url,
        MLK_REGISTRY_PASSWORD_FILE=str(session_registry.password_file),
        MLK_REGISTRY_USERNAME="mlk",
        MLK_USER="ana",
    )
    return env


@pytest.fixture
def mlk(expert_env: dict[str, str]) -> Mlk:
    def run(*args: str, check: bool | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "mlrun_kernel.cli", *args],
            env=expert_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if check is True:
            assert done.returncode == 0, f"mlk {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        if check is False:
            assert done.returncode != 0, f"mlk {' '.join(args)} succeeded:\n{done.stdout}"
        return done

    return run


def registry_tags(registry: RegistryProcess, name: str) -> list[str]:
    with registry.access.reader() as reader:
        try:
            return sorted(reader.tags(name))
        except Exception:  # noqa: BLE001 - an unknown repository has no tags
            return []


def listed_versions(mlk: Mlk, name: str, data_dir: str) -> list[str]:
    """The versions the catalog lists for ``name``, in its order (after `mlk models list` synced it)."""
    from mlrun_kernel.catalog import get_model
    from mlrun_kernel.store import open_store
    from mlrun_kernel.store.engine import sqlite_store_url

    done = mlk("models", "list", "--json")
    assert done.returncode == 0, done.stderr
    store = open_store(sqlite_store_url(Path(data_dir)))
    try:
        found = get_model(store, name)
        return [v.version or "" for v in found.versions] if found else []
    finally:
        store.close()


# ---- the service side: a model service whose registry notifies it, and hub tokens per group

from collections.abc import Iterator  # noqa: E402

from tests.service.conftest import token_hub, tokens  # noqa: E402,F401 - shared session fixtures
from tests.service.helpers import (  # noqa: E402
    EVENTS_SECRET,
    PREFIX,
    ServedApp,
    TokenHub,
    environ,
    free_port,
    service_config,
)


@pytest.fixture(scope="module")
def build_service(
    tmp_path_factory: pytest.TempPathFactory,
    token_hub: TokenHub,  # noqa: F811 - the shared session fixture imported above
    docker_client: object,
) -> Iterator[tuple[ServedApp, RegistryProcess]]:
    """The model service with builds on, pushing to a registry that notifies it of every push."""
    port = free_port()
    notify = f"http://127.0.0.1:{port}{PREFIX}api/registry/events"
    with environ(MLK_REGISTRY_EVENTS_SECRET=EVENTS_SECRET):
        registry = RegistryProcess(tmp_path_factory.mktemp("build-registry"), notify_url=notify).start()
    config = service_config(
        tmp_path_factory.mktemp("build-service"),
        token_hub.api_url,
        registry.url,
        url=f"http://127.0.0.1:{port}",
        run_executor=True,  # the notebook test runs the published model
    )
    try:
        with ServedApp(config, registry_access=registry.access) as served:
            yield served, registry
    finally:
        registry.stop()
