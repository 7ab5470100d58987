"""A project registry the tests and benchmarks start themselves (scripts/registry.sh).

Anonymous pulls on ``addr`` (what image references name), authenticated pushes on
``push_addr``; the password is made once in the state folder. ``access`` is the
:class:`RegistryAccess` to build and push with, ``seeder()`` pushes synthetic images.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from mlrun_kernel.registry import RegistryAccess
from mlrun_kernel.registry.seed import RegistrySeeder

ROOT = Path(__file__).resolve().parent.parent
REGISTRY_SH = ROOT / "scripts" / "registry.sh"
USERNAME = "mlk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RegistryProcess:
    """A registry the test controls: it can be stopped and started again on the same storage."""

    def __init__(self, state: Path, notify_url: str | None = None) -> None:
        self.state = Path(state)
        self.addr = f"127.0.0.1:{free_port()}"
        self.url = f"http://{self.addr}"
        self.push_addr = f"127.0.0.1:{free_port()}"
        self.push_url = f"http://{self.push_addr}"
        self.password_file = self.state / "registry-password"
        self.notify_url = notify_url

    def env(self) -> dict[str, str]:
        """What scripts/registry.sh is started with: this registry's push address and password file."""
        env = {
            k: v for k, v in os.environ.items() if k not in ("MLK_REGISTRY_PASSWORD", "MLK_REGISTRY_USERNAME")
        }
        env.update(
            MLK_REGISTRY_PUSH_ADDR=self.push_addr,
            MLK_REGISTRY_PASSWORD_FILE=str(self.password_file),
            MLK_REGISTRY_USERNAME=USERNAME,
        )
        return env

    @property
    def credentials(self) -> tuple[str, str]:
        return USERNAME, self.password_file.read_text().strip()

    @property
    def access(self) -> RegistryAccess:
        """Pull and push sides with the push credentials, for build_model and clients."""
        return RegistryAccess(self.url, self.push_url, self.credentials)

    def seeder(self) -> RegistrySeeder:
        """Pushes synthetic images to the push side, with the credentials."""
        return RegistrySeeder.to(self.access)

    def start(self, env: Mapping[str, str] | None = None) -> RegistryProcess:
        """Start both sides (``env``: more variables for scripts/registry.sh, say the events secret)."""
        args = [str(REGISTRY_SH), "start", self.addr, str(self.state)]
        if self.notify_url:
            args.append(self.notify_url)
        subprocess.run(args, check=True, capture_output=True, env={**self.env(), **(env or {})})
        return self

    def stop(self) -> None:
        subprocess.run([str(REGISTRY_SH), "stop", str(self.state)], check=False)
        for addr in (self.addr, self.push_addr):  # wait until both ports are closed
            for _ in range(50):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", int(addr.rsplit(":", 1)[1]))) != 0:
                        break
                time.sleep(0.1)
