"""``mlk status``: what is running, where, and how to log in."""

from __future__ import annotations

import argparse
from typing import Any

import docker
import httpx

from mlrun_kernel.catalog import list_models
from mlrun_kernel.cli.models import synced_store
from mlrun_kernel.config import settings


def add_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="show the engine, registry, models and hub")
    p.set_defaults(handler=run)


def _check(name: str, probe: Any) -> str:
    try:
        return str(probe())
    except Exception as exc:  # noqa: BLE001 - a status line, never a crash
        return f"DOWN ({exc})"


def run(args: argparse.Namespace) -> int:
    cfg = settings()
    hub_url = (cfg.public_url or "http://127.0.0.1:8000").rstrip("/")
    lines = {
        "docker engine": _check("docker", lambda: "up, server " + docker.from_env().version()["Version"]),
        "registry": _check(
            "registry",
            lambda: (
                f"up at {cfg.registry_url}"
                if httpx.get(cfg.registry_url + "/v2/", timeout=3).is_success
                else "DOWN"
            ),
        ),
        "models": _check(
            "models",
            lambda: (
                ", ".join(f"{m.name}:{tag}" for m in list_models(synced_store()) for tag in sorted(m.tags))
                or "none"
            ),
        ),
        "hub": _check(
            "hub",
            lambda: (
                f"up at {hub_url}/hub/"
                if httpx.get(hub_url + "/hub/health", timeout=3).is_success
                else "DOWN"
            ),
        ),
        "data": str(cfg.data_dir),
    }
    width = max(map(len, lines))
    for key, value in lines.items():
        print(f"{key.ljust(width)}  {value}")
    # Who logs in with what: what the hub's config wrote at its last start.
    from mlrun_kernel.hub.accounts import LoginInfo, login_lines  # the hub's side: imported when used

    info = LoginInfo.read(cfg.data_dir / "hub")
    print()
    for line in login_lines(info) if info else [f"Log in at {hub_url}/hub/login once the hub runs."]:
        print(line)
    return 0
