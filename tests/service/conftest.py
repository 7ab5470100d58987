"""Fixtures of the service tests: a real JupyterHub issuing tokens for each group, a
registry that notifies the service, and the service app served over HTTP.

- ``token_hub``: JupyterHub with this checkout's jupyterhub_config.py (simple
  spawner); ``token_hub.tokens[role]`` for role in ``helpers.USERS``.
- ``seeded_registry``: a registry holding a good model ``team/churn`` and a
  broken one ``team/broken``, configured to notify ``service``.
- ``service``: the app in this process (so tests can reach its store), on a
  real port, checking tokens with ``token_hub``; its executor is not started,
  so runs stay queued until a test moves them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RegistryProcess
from tests.model_labels import model_labels
from tests.service.helpers import (
    EVENTS_SECRET,
    PREFIX,
    ServedApp,
    TokenHub,
    environ,
    free_port,
    service_config,
    start_token_hub,
)


@pytest.fixture(scope="session")
def token_hub(docker_client: object) -> Iterator[TokenHub]:
    data = Path(tempfile.mkdtemp(prefix="mlk-token-hub-", dir="/tmp"))
    # The registry of the hub-managed service: one that answers, empty.
    registry = RegistryProcess(data / "registry").start()
    hub = start_token_hub(data, registry.url)
    yield hub
    hub.stop()
    registry.stop()
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def service_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def seeded_registry(
    tmp_path_factory: pytest.TempPathFactory, service_port: int, docker_client: object
) -> Iterator[RegistryProcess]:
    state = tmp_path_factory.mktemp("notifying-registry")
    notify = f"http://127.0.0.1:{service_port}{PREFIX}api/registry/events"
    with environ(MLK_REGISTRY_EVENTS_SECRET=EVENTS_SECRET):
        registry = RegistryProcess(state, notify_url=notify).start()
    seeder = registry.seeder()
    seeder.image("team/churn", "1.0.0", model_labels("Churn"))
    seeder.image("team/churn", "latest", model_labels("Churn"))
    seeder.image("team/broken", "1.0.0", {**model_labels("Broken"), "io.mlkernel.manifest": "{not json"})
    seeder.close()
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory,
    token_hub: TokenHub,
    seeded_registry: RegistryProcess,
    service_port: int,
) -> Iterator[ServedApp]:
    config = service_config(
        tmp_path_factory.mktemp("service-data"),
        token_hub.api_url,
        seeded_registry.url,
        url=f"http://127.0.0.1:{service_port}",
    )
    with ServedApp(config) as served:
        yield served


@pytest.fixture(scope="session")
def tokens(token_hub: TokenHub) -> dict[str, str]:
    return token_hub.tokens


@pytest.fixture
def as_role(service: ServedApp, tokens: dict[str, str]) -> Iterator[Callable[[str], httpx.Client]]:
    """``as_role("user").get("api/models")``: an HTTP client of the service with a role's token."""
    clients: list[httpx.Client] = []

    def make(role: str) -> httpx.Client:
        headers = {"Authorization": f"token {tokens[role]}"} if role in tokens else {}
        client = httpx.Client(base_url=service.url, headers=headers, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
