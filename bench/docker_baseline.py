"""The baseline the run benchmarks measure against: ``docker run --rm`` hardened as the executor does.

Shared by ``bench_runs.py`` and ``bench_log_flood.py`` so both compare against the
same command: the run user, no network, capabilities dropped, the executor's limits,
a read-only root with a tmpfs ``/tmp``, ``params.json`` read-only and an outputs folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def docker_run_args(
    image: str, run_dir: Path, command: list[str], *, params: dict[str, Any], env: dict[str, str]
) -> list[str]:
    """``docker run --rm`` of ``image`` running ``command``, with the executor's mounts and hardening."""
    (run_dir / "outputs").mkdir(parents=True, exist_ok=True)
    (run_dir / "outputs").chmod(0o777)
    (run_dir / "params.json").write_text(json.dumps(params))
    hardening = [
        "--user",
        "65534:65534",
        "--network",
        "none",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "--pids-limit",
        "512",
        "--memory",
        "256m",
        "--memory-swap",
        "256m",
        "--cpus",
        "1",
        "--init",
        "--read-only",
        "--tmpfs",
        "/tmp:rw,nosuid,nodev,size=256m",
    ]
    mounts = [
        "-v",
        f"{run_dir / 'params.json'}:/mlk/params.json:ro",
        "-v",
        f"{run_dir / 'outputs'}:/mlk/outputs:rw",
    ]
    variables = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    return ["docker", "run", "--rm", *hardening, *mounts, *variables, image, *command]
