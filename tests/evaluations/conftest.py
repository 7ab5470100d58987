"""Fixtures of the evaluations tests: the drifting test model in the session registry, a
store synced from it, a started run executor on the real engine, and local receivers of
notifications (an HTTP webhook that fails on demand, an SMTP server with STARTTLS and auth).

- ``build_drifting(version, threshold, resolves=None)``: build and push a version of
  ``mlk-test-drifting`` (its "training" is the threshold baked into the image);
- ``eval_store``: a fresh SQLite store with the session registry's catalog;
- ``run_executor``: an executor on the local engine, stopped at teardown with no container left;
- ``reference_data(n)``: labelled CSV rows whose true threshold drifts with ``n``;
- ``webhook_receiver`` / ``smtp_server``: what the notifications reach.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

import tests.e2e.conftest as _e2e_fixtures
import tests.service.conftest as _service_fixtures
from mlrun_kernel.build import ModelBuild, build_model
from mlrun_kernel.catalog import sync_catalog
from mlrun_kernel.registry import RegistryAccess, RegistryClient
from mlrun_kernel.runs import Executor
from mlrun_kernel.runs.backends.base import LABEL_EXECUTOR
from mlrun_kernel.runs.backends.local import LocalBackend
from mlrun_kernel.store import Store, open_store
from tests.conftest import RegistryProcess
from tests.model_labels import model_labels
from tests.runs.conftest import fast_settings
from tests.service.helpers import ServedApp, TokenHub, service_config

# Fixtures of other folders this one reuses: the suite's token-issuing JupyterHub and Chromium.
token_hub = _service_fixtures.token_hub
browser = _e2e_fixtures.browser
page = _e2e_fixtures.page
screenshots = _e2e_fixtures.screenshots

IMAGE = Path(__file__).parent / "images" / "drifting"
MODEL = "mlk-test-drifting"


def build_drifting_version(
    registry: RegistryAccess, version: str, threshold: float, resolves: str | None = None
) -> ModelBuild:
    """Build and push ``mlk-test-drifting:<version>`` scoring with ``threshold``."""
    with tempfile.TemporaryDirectory(prefix="mlk-test-drifting-") as tmp:
        context = Path(tmp) / "drifting"
        shutil.copytree(IMAGE, context)
        (context / "threshold.txt").write_text(f"{threshold}\n")
        spec = yaml.safe_load((context / "mlk.yaml").read_text())
        spec["version"] = version
        spec["manifest"]["release_notes"] = {version: f"Scores with threshold {threshold}."}
        if resolves:
            spec["manifest"]["resolves"] = resolves
        (context / "mlk.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        return build_model(context, registry=registry, push=True)


@pytest.fixture(scope="session")
def drifting_model(registry_access: RegistryAccess) -> ModelBuild:
    return build_drifting_version(registry_access, "1.0.0", 0.5)


@pytest.fixture
def build_drifting(registry_access: RegistryAccess) -> Callable[..., ModelBuild]:
    def build(version: str, threshold: float, resolves: str | None = None) -> ModelBuild:
        return build_drifting_version(registry_access, version, threshold, resolves)

    return build


def sync_into(store: Store, registry_url: str) -> None:
    with RegistryClient(registry_url) as registry:
        report = sync_catalog(store, registry)
    assert not report.error, report.error


@pytest.fixture
def eval_store(tmp_path: Path, registry_url: str, drifting_model: ModelBuild) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    sync_into(store, registry_url)
    yield store
    store.close()


@pytest.fixture
def run_executor(
    eval_store: Store, tmp_path: Path, registry_addr: str, docker_client: docker.DockerClient
) -> Iterator[Executor]:
    executor = Executor(
        eval_store,
        backend=LocalBackend(docker_client),
        settings=fast_settings(),
        root=tmp_path / "runs",
        registry=registry_addr,
        name=f"test-eval-{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path / "data",
    ).start()
    yield executor
    executor.stop()
    for container in docker_client.containers.list(
        all=True, filters={"label": f"{LABEL_EXECUTOR}={executor.name}"}
    ):
        container.remove(force=True)


def reference_rows(drift: int, rows: int = 200) -> str:
    """Labelled rows ``x,label`` whose true threshold is 0.5 + 0.1 * ``drift``: a model that
    learnt 0.5 scores 1 - 0.1 * ``drift``."""
    truth = 0.5 + 0.1 * drift
    lines = ["x,label"]
    for i in range(rows):
        x = (i + 0.5) / rows
        lines.append(f"{x:.4f},{int(x > truth)}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def reference_data(tmp_path: Path) -> Callable[[int], Path]:
    def make(drift: int) -> Path:
        path = tmp_path / "reference" / f"labelled-{drift}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(reference_rows(drift))
        return path

    return make


# ---------------------------------------------------------------------------- receivers


@dataclass
class WebhookReceiver:
    """A local HTTP endpoint that answers 500 to its first ``fail_first`` requests."""

    url: str
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self, event: str) -> list[dict[str, Any]]:
        """Bodies of ``event`` deliveries that were answered 200."""
        with self.lock:
            return [
                r
                for r, a in zip(self.received, self.answers, strict=True)
                if a == 200 and r["event"] == event
            ]


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                status = 500 if len(receiver.answers) < receiver.fail_first else 200
                receiver.received.append(
                    {
                        "raw": raw,
                        "headers": dict(self.headers),
                        "event": self.headers.get("X-MLK-Event"),
                        "body": json.loads(raw),
                    }
                )
                receiver.answers.append(status)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/mlk"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@dataclass
class SmtpServer:
    host: str
    port: int
    ca_file: Path
    user: str
    password: str
    messages: list[Any] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1 that requires STARTTLS before AUTH, and AUTH before mail."""
    import ssl
    from email import message_from_bytes

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    from tests.service.helpers import free_port

    server = SmtpServer(
        host="127.0.0.1", port=free_port(), ca_file=cert, user="mlk", password="smtp-test-password"
    )

    class Handler:
        async def handle_DATA(self, smtp_server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            server.messages.append(message_from_bytes(envelope.content))
            server.tls.append(session.ssl is not None)
            return "250 OK"

    def authenticator(smtp_server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        ok = auth_data.login.decode() == server.user and auth_data.password.decode() == server.password
        if ok:
            server.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=server.port,
        tls_context=context,
        require_starttls=True,
        auth_require_tls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    controller.start()
    yield server
    controller.stop()


# ---------------------------------------------------------------------------- the service

SCORED = {
    "tasks": {
        "evaluate": {
            "description": "Score.",
            "parameters": {"type": "object", "properties": {"k": {"type": "integer", "default": 1}}},
            "inputs": {"data": {"media_types": ["text/csv"], "required": True}},
            "metrics": {"accuracy": {"goal": "maximize"}, "latency": {"goal": "minimize"}},
        }
    }
}


@contextmanager
def seeded_service(
    state: Path, token_hub: TokenHub, manifests: dict[str, dict[str, Any]], static_token: str
) -> Iterator[ServedApp]:
    """The service over a registry of its own holding ``name:1.0.0`` with each manifest."""
    registry = RegistryProcess(state / "registry").start()
    try:
        seeder = registry.seeder()
        for name, manifest in manifests.items():
            seeder.image(name, "1.0.0", model_labels(name.rsplit("/", 1)[-1].title(), manifest=manifest))
        seeder.close()
        config = service_config(state / "data", token_hub.api_url, registry.url, static_token=static_token)
        with ServedApp(config) as served:
            yield served
    finally:
        registry.stop()


@pytest.fixture(scope="module")
def eval_service(tmp_path_factory: pytest.TempPathFactory, token_hub: TokenHub) -> Iterator[ServedApp]:
    state = tmp_path_factory.mktemp("eval-service")
    with seeded_service(state, token_hub, {"team/scored": SCORED}, "eval-static-token") as served:
        yield served
