"""A private Docker engine the tests may restart and turn into a swarm without touching
the shared engine other work depends on."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import docker


class PrivateEngine:
    """``dockerd`` on its own socket, data and exec roots, own bridge, no iptables.

    It must not use ``--bridge none``: a daemon started that way deletes the
    host's ``docker0`` interface, and every container of the shared engine then
    fails to start. It gets a bridge of its own (``mlkpriv0``) instead.
    """

    BRIDGE = "mlkpriv0"
    BRIDGE_ADDR = "10.254.213.1/24"

    def __init__(self, state: Path) -> None:
        self.state = state
        self.socket = state / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.pidfile = state / "docker.pid"
        self.proc: subprocess.Popen[bytes] | None = None

    def _ensure_bridge(self) -> None:
        if subprocess.run(["ip", "link", "show", self.BRIDGE], capture_output=True).returncode != 0:
            subprocess.run(["ip", "link", "add", self.BRIDGE, "type", "bridge"], check=True)
            subprocess.run(["ip", "addr", "add", self.BRIDGE_ADDR, "dev", self.BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", self.BRIDGE, "up"], check=True)

    def start(self, timeout: float = 60) -> PrivateEngine:
        self._ensure_bridge()
        log = open(self.state / "dockerd.log", "ab")  # noqa: SIM115 - kept open by the daemon
        self.proc = subprocess.Popen(
            [
                "dockerd",
                "--host",
                self.url,
                "--data-root",
                str(self.state / "data"),
                "--exec-root",
                str(self.state / "exec"),
                "--pidfile",
                str(self.pidfile),
                "--bridge",
                self.BRIDGE,
                "--iptables=false",
                "--ip-masq=false",
                "--shutdown-timeout",
                "2",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.client().ping()
                return self
            except Exception:  # noqa: BLE001 - not up yet
                if self.proc.poll() is not None:
                    raise RuntimeError(f"dockerd exited; see {self.state / 'dockerd.log'}") from None
                time.sleep(0.2)
        raise TimeoutError("the private dockerd did not answer")

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, timeout=60)

    def stop(self) -> None:
        if self.proc is None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def load_image(self, ref: str) -> None:
        """Copy an image from the shared engine (no registry round trip)."""
        save = subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "-H", self.url, "load", "-q"],
            stdin=save.stdout,
            check=True,
            capture_output=True,
        )
        save.wait()
