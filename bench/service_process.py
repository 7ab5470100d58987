"""The model service as its own process, for the benchmarks that measure it.

Static token, SQLite under ``work``, the run executor off (runs stay queued: the
benchmarks measure the API, not containers). Returns once ``api/health`` answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
PREFIX = "/services/models/"


def start_service(
    work: Path,
    port: int,
    registry_url: str,
    *,
    store_url: str | None = None,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """(the process, the service's base URL); the caller terminates the process."""
    server_env = {
        **os.environ,
        **(env or {}),
        "MLK_DATA_DIR": str(work / "data"),
        "MLK_DATABASE_URL": store_url or f"sqlite:///{work / 'store.sqlite'}",
        "MLK_REGISTRY_URL": registry_url,
        "MLK_SERVICE_STATIC_TOKEN": TOKEN,
        "MLK_SERVICE_RUN_EXECUTOR": "0",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "mlrun_kernel.service", "--log-level", "warning"],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "service.log", "wb"),  # noqa: SIM115 - the child keeps it
    )
    url = f"http://127.0.0.1:{port}{PREFIX}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}api/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"the service did not answer on {url}; see {work / 'service.log'}")
