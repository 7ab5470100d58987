"""A real hub for end-to-end tests: the single-user image built, JupyterHub started.

- ``singleuser_image``: builds hub/images/singleuser/Dockerfile with the
  project's own build tool (layers cached, so a rebuild takes seconds).
- ``hub``: ``scripts/hub.sh start`` with this checkout's jupyterhub_config.py on
  free ports, a temporary data dir and the session registry holding the example
  models (``published_examples`` from tests/conftest.py). Teardown stops it and
  removes whatever it left: containers by label, processes by their
  ``MLK_DEPLOYMENT`` environment variable. Its throwaway users log in with a
  shared password, so it runs in the demo mode ``MLK_AUTHENTICATOR=shared``.
- ``start_hub``: the same start and teardown for hubs that only log people in
  (no image, no registry), in whatever mode the test asks for.
- ``browser``: Debian's Chromium driven by Playwright.
- ``HubSession``: a user logged in through the hub's form over plain HTTP, for
  tokens and REST calls.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from tests.paths import EXAMPLES, ROOT

HUB_SH = ROOT / "scripts" / "hub.sh"
SINGLEUSER_TAG = "mlrun-kernel/singleuser:e2e"
PASSWORD = "e2e-shared-password"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = ROOT / "data" / "screenshots"


def _log(message: str) -> None:
    print(f"[e2e] {message}", flush=True)


def _bridge_ip() -> str:
    """The host's address on Docker's bridge, as jupyterhub_config.py finds it."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "docker0"], capture_output=True, text=True, check=False
    ).stdout.split()
    if "inet" not in out:
        pytest.fail("docker0 has no IPv4 address: is the Docker engine running?")
    return out[out.index("inet") + 1].split("/")[0]


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _processes_with_env(name: str, value: str) -> list[int]:
    """PIDs whose environment has ``name=value``: the hub, proxy and service of one test hub."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@dataclass(frozen=True)
class ExpectedModel:
    """What an example's mlk.yaml promises the gallery will show."""

    folder: str
    title: str
    description: str
    version: str


@pytest.fixture(scope="session")
def expected_models() -> list[ExpectedModel]:
    from mlrun_kernel.build import load_build_file

    models = []
    for folder in EXAMPLES:
        build = load_build_file(folder)
        models.append(
            ExpectedModel(
                folder.name,
                build.metadata.title,
                build.metadata.description,
                build.metadata.version,
            )
        )
    assert len(models) >= 2, f"expected at least two example models, found {EXAMPLES}"
    return models


@pytest.fixture(scope="session")
def singleuser_image(docker_client: docker.DockerClient) -> str:
    """The single-user image, really built from this checkout."""
    from mlrun_kernel.build import build_image
    from mlrun_kernel.config import settings

    started = time.monotonic()
    build_image(
        ROOT,
        [SINGLEUSER_TAG],
        dockerfile="hub/images/singleuser/Dockerfile",
        ca_bundle=settings().build_ca_bundle,
    )
    _log(f"single-user image {SINGLEUSER_TAG} built in {time.monotonic() - started:.1f}s")
    return SINGLEUSER_TAG


@dataclass(frozen=True)
class Hub:
    url: str  # public, through the proxy
    service_url: str  # the model service as containers (and this host) reach it
    deployment: str  # label io.mlkernel.deployment of its containers
    prefix: str  # container names are <prefix>-<user>
    data_dir: Path
    password: str = PASSWORD
    start_output: str = ""  # what `scripts/hub.sh start` printed

    @property
    def log(self) -> Path:
        return self.data_dir / "hub" / "hub.log"

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no hub log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def container_name(self, user: str) -> str:
        """DockerSpawner's name for ``user``'s container (its escaping: demo-user -> demo-2duser)."""
        from dockerspawner import DockerSpawner

        return f"{self.prefix}-{DockerSpawner._escape(user)}"


def hub_env(data_dir: Path, deployment: str, **options: str) -> tuple[dict[str, str], str, str]:
    """The environment of a test hub on free ports; also its public and service URLs."""
    bridge = _bridge_ip()
    public_port = _free_port("127.0.0.1")
    service_port = _free_port(bridge)
    env = {
        **os.environ,
        "MLK_DATA_DIR": str(data_dir),
        "MLK_HUB_BIND_URL": f"http://127.0.0.1:{public_port}",
        "MLK_HUB_API_PORT": str(_free_port(bridge)),
        "MLK_PROXY_API_URL": f"http://127.0.0.1:{_free_port('127.0.0.1')}",
        "MLK_SERVICE_PORT": str(service_port),
        "MLK_SINGLEUSER_PREFIX": f"mlk-{deployment}",
        "MLK_DEPLOYMENT": deployment,
        **options,
    }
    return env, f"http://127.0.0.1:{public_port}", f"http://{bridge}:{service_port}/services/models/"


@contextlib.contextmanager
def running_hub(
    data_dir: Path,
    docker_client: docker.DockerClient,
    password: str = PASSWORD,
    deployment: str | None = None,
    keep_homes: bool = False,
    **options: str,
) -> Iterator[Hub]:
    """``scripts/hub.sh start`` with ``options`` (MLK_* variables); stopped and cleaned up after.

    ``deployment`` and ``keep_homes`` let a test stop a hub and start it again on the same
    data, as `make down` / `make up` do: the users' home volumes then stay for the next start.
    """
    deployment = deployment or f"e2e-{uuid.uuid4().hex[:8]}"
    env, url, service_url = hub_env(data_dir, deployment, **options)
    hub = Hub(
        url=url,
        service_url=service_url,
        deployment=deployment,
        prefix=f"mlk-{deployment}",
        data_dir=data_dir,
        password=password,
    )
    started = time.monotonic()
    result = subprocess.run(
        [HUB_SH, "start"], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    try:
        if result.returncode != 0:
            pytest.fail(f"scripts/hub.sh start failed:\n{result.stdout}\n{result.stderr}\n{hub.log_tail()}")
        _log(f"hub up at {hub.url} in {time.monotonic() - started:.1f}s ({deployment})")
        yield dataclasses.replace(hub, start_output=result.stdout)
    finally:
        subprocess.run([HUB_SH, "stop"], env=env, capture_output=True, timeout=180, check=False)
        leftovers = docker_client.containers.list(
            all=True, filters={"label": f"io.mlkernel.deployment={deployment}"}
        )
        for container in leftovers:
            _log(f"removing leftover container {container.name}")
            container.remove(force=True)
        # The users' home volumes (<prefix>-home-<user>) and the notebooks' network outlive
        # the containers on purpose; a test hub's go with it.
        homes = [] if keep_homes else docker_client.volumes.list(filters={"name": f"{hub.prefix}-home-"})
        for volume in homes:
            with contextlib.suppress(docker.errors.APIError):
                volume.remove(force=True)
        for network in docker_client.networks.list(filters={"label": f"io.mlkernel.deployment={deployment}"}):
            with contextlib.suppress(docker.errors.APIError):
                network.remove()
        for pid in _processes_with_env("MLK_DEPLOYMENT", deployment):
            _log(f"stopping leftover process {pid}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


@pytest.fixture(scope="session")
def hub(
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    singleuser_image: str,
    registry_url: str,
    published_examples: dict[str, object],
) -> Iterator[Hub]:
    """The full hub; its throwaway users log in with the shared password (demo mode)."""
    with running_hub(
        tmp_path_factory.mktemp("hub-data"),
        docker_client,
        MLK_AUTHENTICATOR="shared",
        MLK_SHARED_PASSWORD=PASSWORD,
        MLK_REGISTRY_URL=registry_url,
        MLK_SINGLEUSER_IMAGE=singleuser_image,
        MLK_MODEL_USERS="ada",
    ) as started:
        yield started


@pytest.fixture(scope="session")
def up_hub(
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    singleuser_image: str,
    registry_url: str,
    published_examples: dict[str, object],
) -> Iterator[Hub]:
    """The full hub as `make up` runs it: NativeAuthenticator with the demo accounts
    (demo-user, demo-expert, demo-admin; passwords in <data>/hub/demo-*-password) and admin."""
    with running_hub(
        tmp_path_factory.mktemp("native-hub-data"),
        docker_client,
        password="",
        MLK_AUTHENTICATOR="native",
        MLK_DEMO_ACCOUNTS="1",
        # The service asks the hub about every token at every request, so a group change
        # shows at the next request (the deployment's default keeps answers for 60 s).
        MLK_AUTH_CACHE_SECONDS="0",
        MLK_REGISTRY_URL=registry_url,
        MLK_SINGLEUSER_IMAGE=singleuser_image,
    ) as started:
        yield started


def kept_password(hub: Hub, account: str) -> str:
    """The password a native hub keeps for ``account`` (admin, demo-user, ...)."""
    return (hub.data_dir / "hub" / f"{account}-password").read_text().strip()


def try_login(http: httpx.Client, user: str, password: str) -> httpx.Response:
    """Post the hub's login form (with its xsrf token): 302 when the hub let the user in."""
    http.get("/hub/login").raise_for_status()
    xsrf = http.cookies.get("_xsrf", path="/hub/") or ""
    return http.post("/hub/login", data={"username": user, "password": password, "_xsrf": xsrf})


class HubSession:
    """A user logged in through the hub's login form (cookies + xsrf), over plain HTTP."""

    def __init__(self, hub: Hub, user: str, password: str | None = None) -> None:
        self.hub = hub
        self.user = user
        self.http = httpx.Client(base_url=hub.url, timeout=30.0)
        response = try_login(self.http, user, hub.password if password is None else password)
        assert response.status_code == 302, f"login as {user} failed: {response.status_code}"
        # The hub binds xsrf tokens to the login session: take the one it sets now.
        self.http.get("/hub/token").raise_for_status()
        self.xsrf = self.http.cookies.get("_xsrf", path="/hub/") or ""

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-XSRFToken": self.xsrf, **kwargs.pop("headers", {})}
        return self.http.request(method, f"/hub/api{path}", headers=headers, **kwargs)

    def new_token(self, scopes: list[str] | None = None) -> str:
        """A fresh API token of this user (all of the user's permissions unless ``scopes``)."""
        body: dict[str, Any] = {"note": "e2e test", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        response = self.api("POST", f"/users/{self.user}/tokens", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def spawn(self, timeout: float = 120.0) -> dict[str, Any]:
        """Start the user's default server through the REST API; the server model once ready."""
        token = self.new_token()
        headers = {"Authorization": f"token {token}"}
        # The hub answers once the spawn is done or after slow_spawn_timeout (10 s).
        response = httpx.post(f"{self.hub.url}/hub/api/users/{self.user}/server", headers=headers, timeout=60)
        assert response.status_code in (201, 202, 400), response.text  # 400: already running
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            user_url = f"{self.hub.url}/hub/api/users/{self.user}"
            model = httpx.get(user_url, headers=headers, timeout=30).json()
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return dict(server)
            time.sleep(0.5)
        raise AssertionError(f"{self.user}'s server not ready in {timeout}s\n{self.hub.log_tail()}")

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def hub_session(hub: Hub) -> Iterator[Callable[[str], HubSession]]:
    """Log users in over HTTP: ``hub_session("grace").new_token()``; closed after the test."""
    sessions: list[HubSession] = []

    def login(user: str) -> HubSession:
        session = HubSession(hub, user)
        sessions.append(session)
        return session

    yield login
    for session in sessions:
        session.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where browser tests leave their screenshots (data/ is not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Playwright's sync API keeps an event loop running in
    this thread while it is open, so it must not outlive the browser tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()
