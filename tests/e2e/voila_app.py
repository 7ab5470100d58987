"""A Voilà app in front of a model service, the way the hub serves one, without the hub.

``voila_app(notebooks, service_origin, kernel_env)`` starts, from the project
venv, Voilà (the ``mlk`` template of the single-user image, sources stripped,
no tracebacks) on the notebooks, and configurable-http-proxy (the hub's proxy)
with two routes: ``/services/models/`` to the service and everything else to
Voilà. So the page and the service share one origin, as behind the hub, and
the browser's signed-URL uploads take the same path they take there. The
kernels get ``kernel_env`` (``MLK_SERVICE_URL``, ``MLK_SERVICE_TOKEN``), which
is what the hub gives a single-user server.

Used by the browser tests (tests/e2e/test_widgets_browser.py) and the
benchmark bench/bench_browser_upload.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
CHP = ROOT / ".tools" / "node_modules" / ".bin" / "configurable-http-proxy"
TEMPLATES = ROOT / "hub" / "images" / "singleuser" / "voila-templates"
SERVICE_PREFIX = "/services/models/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class VoilaApp:
    url: str  # the proxy's public URL: pages and /services/models/ both go through it
    voila_pid: int
    log: Path

    def render_url(self, notebook: str) -> str:
        return f"{self.url}/voila/render/{notebook}"

    def kernel_pids(self) -> list[int]:
        """The kernels Voilà started (children of its process)."""
        children = Path(f"/proc/{self.voila_pid}/task/{self.voila_pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _wait(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer at {url} in 60 s:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def voila_app(notebooks: Path, service_origin: str, kernel_env: dict[str, str]) -> Iterator[VoilaApp]:
    """Voilà on ``notebooks`` and the proxy in front of it and of ``service_origin``."""
    work = Path(tempfile.mkdtemp(prefix="mlk-voila-", dir="/tmp"))
    share = work / "share" / "jupyter" / "voila" / "templates"
    share.mkdir(parents=True)
    shutil.copytree(TEMPLATES / "mlk", share / "mlk")
    voila_port, proxy_port, api_port = _free_port(), _free_port(), _free_port()
    log = work / "voila.log"
    env = {
        **os.environ,
        **kernel_env,
        "JUPYTER_PATH": str(work / "share" / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "JUPYTER_CONFIG_DIR": str(work / "config"),
    }
    voila = subprocess.Popen(
        [
            str(VENV_BIN / "voila"),
            "--no-browser",
            f"--port={voila_port}",
            "--Voila.ip=127.0.0.1",
            "--template=mlk",
            "--theme=light",
            "--strip_sources=True",
            "--show_tracebacks=False",
            "--VoilaConfiguration.file_allowlist=['.*']",
            str(notebooks),
        ],
        cwd=notebooks,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proxy_log = work / "proxy.log"
    token = "voila-app-proxy-token"
    proxy = subprocess.Popen(
        [
            str(CHP),
            "--ip=127.0.0.1",
            f"--port={proxy_port}",
            "--api-ip=127.0.0.1",
            f"--api-port={api_port}",
            f"--default-target=http://127.0.0.1:{voila_port}",
            "--log-level=warn",
        ],
        env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": token},
        stdout=proxy_log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait(f"http://127.0.0.1:{voila_port}/", voila, "Voilà", log)
        _wait(f"http://127.0.0.1:{api_port}/api/routes", proxy, "configurable-http-proxy", proxy_log)
        route = httpx.post(
            f"http://127.0.0.1:{api_port}/api/routes{SERVICE_PREFIX.rstrip('/')}",
            json={"target": service_origin},
            headers={"Authorization": f"token {token}"},
            timeout=10,
        )
        route.raise_for_status()
        yield VoilaApp(url=f"http://127.0.0.1:{proxy_port}", voila_pid=voila.pid, log=log)
    finally:
        _stop(proxy)
        _stop(voila)
        shutil.rmtree(work, ignore_errors=True)
