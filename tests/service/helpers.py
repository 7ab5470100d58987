"""Helpers for the service tests: a JupyterHub that issues tokens, and apps served over HTTP."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from mlrun_kernel.service import ServiceSettings, create_app
from tests.paths import ROOT

PREFIX = "/services/models/"
EVENTS_SECRET = "registry-events-test-secret"

# Who the hub knows, by the role the tests give them.
USERS = {
    "user": "uma",  # model-users
    "user2": "ben",  # model-users
    "expert": "eve",  # model-experts
    "admin": "ada",  # model-admins
    "none": "nora",  # in no group (open access off): may not use the service
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def bridge_ip() -> str:
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "docker0"], capture_output=True, text=True, check=False
    ).stdout.split()
    if "inet" not in out:
        raise RuntimeError("docker0 has no IPv4 address: is the Docker engine running?")
    return out[out.index("inet") + 1].split("/")[0]


@dataclass
class TokenHub:
    """A running JupyterHub (simple spawner) with the project's groups, scopes and roles."""

    url: str
    api_url: str
    service_url: str
    data_dir: Path
    issuer_token: str
    process: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)

    def _api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"token {self.issuer_token}"}
        return httpx.request(method, f"{self.api_url}{path}", headers=headers, timeout=30, **kwargs)

    def token(self, user: str, scopes: list[str] | None = None) -> str:
        """A new API token of ``user`` (all the user's permissions unless ``scopes``)."""
        if self._api("GET", f"/users/{user}").status_code == 404:
            self._api("POST", f"/users/{user}").raise_for_status()
        body: dict[str, Any] = {"note": "service tests", "expires_in": 7200}
        if scopes is not None:
            body["scopes"] = scopes
        response = self._api("POST", f"/users/{user}/tokens", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def log_tail(self, lines: int = 40) -> str:
        log = self.data_dir / "hub.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def start_token_hub(data_dir: Path, registry_url: str) -> TokenHub:
    bridge = bridge_ip()
    public = free_port()
    api_port = free_port(bridge)
    service_port = free_port(bridge)
    issuer = secrets.token_hex(16)
    env = {
        **os.environ,
        "MLK_DATA_DIR": str(data_dir),
        "MLK_HUB_BIND_URL": f"http://127.0.0.1:{public}",
        "MLK_HUB_API_PORT": str(api_port),
        "MLK_PROXY_API_URL": f"http://127.0.0.1:{free_port()}",
        "MLK_SERVICE_PORT": str(service_port),
        "MLK_REGISTRY_URL": registry_url,
        "MLK_AUTHENTICATOR": "shared",  # throwaway users with one password (uma: model-users)
        "MLK_SHARED_PASSWORD": "service-tests-password",
        "MLK_MODEL_USERS": "uma,ben",
        "MLK_MODEL_EXPERTS": "eve",
        "MLK_MODEL_ADMINS": "ada",
        "MLK_OPEN_ACCESS": "0",
        "MLK_DEPLOYMENT": f"svc-{issuer[:8]}",
        "MLK_SERVICE_RUN_EXECUTOR": "0",
        "MLK_TEST_REAL_CONFIG": str(ROOT / "jupyterhub_config.py"),
        "MLK_TEST_ISSUER_TOKEN": issuer,
    }
    jupyterhub = ROOT / ".venv" / "bin" / "jupyterhub"
    log = (data_dir / "hub.log").open("ab")
    process = subprocess.Popen(
        [str(jupyterhub), "-f", str(Path(__file__).with_name("hub_config.py"))],
        cwd=data_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    hub = TokenHub(
        url=f"http://127.0.0.1:{public}",
        api_url=f"http://{bridge}:{api_port}/hub/api",
        service_url=f"http://{bridge}:{service_port}{PREFIX}",
        data_dir=data_dir,
        issuer_token=issuer,
        process=process,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the test hub exited:\n{hub.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{hub.url}/hub/health", timeout=2).status_code == 200:
                break
        time.sleep(0.3)
    else:
        hub.stop()
        raise RuntimeError(f"the test hub did not answer in 90 s:\n{hub.log_tail()}")
    for role, user in USERS.items():
        hub.tokens[role] = hub.token(user)
    return hub


class ServedApp:
    """A service app served by uvicorn in a thread, on a free port: real HTTP, real streaming."""

    def __init__(self, config: ServiceSettings, **app_kwargs: Any) -> None:
        self.port = config.url.rsplit(":", 1)[-1]
        self.app = create_app(config, **app_kwargs)
        self.url = f"http://127.0.0.1:{self.port}{config.prefix}"
        self.origin = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app, host="127.0.0.1", port=int(self.port), log_level="warning", lifespan="on"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    @property
    def platform(self) -> Any:
        return self.app.state.platform


def service_config(data_dir: Path, hub_api_url: str, registry_url: str, **overrides: Any) -> ServiceSettings:
    data_dir.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "url": f"http://127.0.0.1:{free_port()}",
        "hub_api_url": hub_api_url,
        "registry_url": registry_url,
        "data_dir": data_dir,
        "store_url": f"sqlite:///{data_dir / 'store.sqlite'}",
        "registry_events_secret": EVENTS_SECRET,
        "quick_sync_seconds": 3600,
        "deep_sync_seconds": 3600,
        "run_executor": False,
        "hub_oauth": False,
        "auth_cache_seconds": 30,
    }
    values.update(overrides)
    return ServiceSettings(**values)


def wait_for(predicate: Any, timeout: float, interval: float = 0.05) -> float:
    """Seconds until ``predicate()`` was true; AssertionError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"not true after {timeout} s")


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def service_process(env: dict[str, str], port: int, timeout: float = 90) -> subprocess.Popen[bytes]:
    """``python -m mlrun_kernel.service`` as a process of its own with ``env`` (which names its
    port and prefix: ``JUPYTERHUB_SERVICE_URL``/``_PREFIX``); returns once ``api/health`` answers,
    so a test can kill it (SIGKILL included) and start another on the same store."""
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlrun_kernel.service", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the service ended at start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}{prefix}api/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the service did not come up")
