"""Operator options for runs: one declaration each, a default for one machine, an ``MLK_*`` variable.

The manifest's ``resources`` are requests; :func:`effective_resources` caps
them at these limits (it never raises them), and refuses what the operator
does not allow (network, GPUs) with a message the model's expert can act on.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from mlrun_kernel.config import MlkSettings
from mlrun_kernel.spec import Resources
from mlrun_kernel.spec.manifest import _memory_bytes

MiB = 1024 * 1024


class RunSettings(MlkSettings):
    """How runs are executed and capped: backend, queue, resource ceilings, logs, outputs,
    retries, liveness; each reads ``MLK_<NAME>`` (e.g. ``MLK_RUN_BACKEND=swarm``)."""

    section: ClassVar[str] = "Runs"

    run_backend: Literal["local", "swarm"] = Field(
        default="local",
        description="Where model containers run: 'local' (one Docker engine) or 'swarm' "
        "(replicated-job services on a Docker Swarm).",
    )
    runs_dir: Path | None = Field(
        default=None,
        description="Folder of run storage (params, outputs); default <data_dir>/runs. "
        "Must be bind-mountable by the engine (the same path on every Swarm node).",
    )
    executor_name: str = Field(
        default_factory=socket.gethostname,
        description="Name of this executor (default: the host name); a restarted executor "
        "with the same name adopts its predecessor's runs at once.",
    )
    max_concurrent_runs: int = Field(default=2, ge=1, description="Runs active at once.")
    max_runs_per_user: int = Field(default=2, ge=1, description="Runs active at once per owner.")
    max_memory: str = Field(default="8g", description="Ceiling on a run's memory limit.")
    max_cpus: float = Field(default=2.0, gt=0, description="Ceiling on a run's CPUs.")
    max_gpus: int = Field(default=0, ge=0, description="GPUs a run may get (0: none allowed).")
    max_timeout_seconds: int = Field(default=6 * 3600, ge=1, description="Ceiling on run time.")
    allow_network: bool = Field(
        default=False, description="Whether models whose manifest asks for network get it."
    )
    run_network_blocked: list[str] = Field(
        default=["169.254.0.0/16"],
        description="Address ranges (JSON list of CIDRs) a network-enabled run may not reach, "
        "besides the host itself and other containers, which it never reaches (e.g. the "
        "registry's or the database's machines).",
    )
    pids_limit: int = Field(default=512, ge=16, description="Processes a run may hold.")
    run_user: str = Field(
        default="65534:65534",
        description="Numeric uid:gid model containers run as, owner of their outputs folder; "
        "root (uid or gid 0) is refused when the executor starts.",
    )
    log_max_bytes: int = Field(
        default=16 * MiB, ge=1024, description="Log kept per run; the rest is cut with a marker."
    )
    log_max_line_bytes: int = Field(default=16 * 1024, ge=80, description="Longest log line kept.")
    outputs_max_bytes: int = Field(
        default=2048 * MiB, ge=1, description="Total size of a run's collected outputs."
    )
    outputs_filesystem: Literal["auto", "capped", "folder"] = Field(
        default="auto",
        description="How the outputs cap holds while a model writes: 'capped' (each run's outputs "
        "on an ext4 image of the cap's size: needs root, loop devices and a backend whose "
        "containers see this host's mounts), 'folder' (a plain folder measured every "
        "MLK_OUTPUTS_CHECK_SECONDS), 'auto' (capped where possible, else folder).",
    )
    outputs_check_seconds: float = Field(
        default=2.0, gt=0, description="How often a running run's outputs are measured."
    )
    retry_max_attempts: int = Field(
        default=3, ge=1, description="Tries of a run whose infrastructure fails (pull, engine)."
    )
    retry_backoff_seconds: float = Field(
        default=2.0, ge=0, description="First retry delay; doubled each retry, at most 5 min."
    )
    stuck_pulling_seconds: float = Field(default=900, gt=0, description="Longest pull.")
    stuck_starting_seconds: float = Field(default=120, gt=0, description="Longest start.")
    stuck_collecting_seconds: float = Field(default=900, gt=0, description="Longest collection.")
    engine_wait_seconds: float = Field(
        default=60, ge=0, description="How long a run waits for a lost engine to come back."
    )
    stop_grace_seconds: int = Field(
        default=5, ge=0, description="SIGTERM to SIGKILL delay on cancel and time-out."
    )
    heartbeat_seconds: float = Field(default=5, gt=0, description="Executor liveness beat.")
    lease_seconds: float = Field(
        default=30, gt=0, description="Silence after which another executor adopts the runs."
    )


@lru_cache(maxsize=1)
def run_settings() -> RunSettings:
    """The process-wide run options, read once from the environment."""
    return RunSettings.from_env()


@dataclass(frozen=True)
class EffectiveResources:
    """What a run gets: the manifest's requests capped by the operator's limits."""

    memory_bytes: int
    cpus: float
    gpus: int
    timeout_seconds: int
    network: bool
    pids_limit: int
    notes: tuple[str, ...] = ()
    """What was lowered, for the run's warnings."""


def effective_resources(requested: Resources, limits: RunSettings) -> EffectiveResources:
    """Cap ``requested`` at ``limits``; refuse network or GPUs the operator does not allow.

    Raises :class:`~mlrun_kernel.runs.errors.InvalidRun` when the model needs
    something the operator forbids.
    """
    from mlrun_kernel.runs.errors import InvalidRun

    notes: list[str] = []
    max_memory = _memory_bytes(limits.max_memory)
    memory = min(requested.memory_bytes, max_memory)
    if memory < requested.memory_bytes:
        notes.append(f"memory lowered to {format_bytes(memory)} (operator limit)")
    cpus = min(requested.cpus, limits.max_cpus)
    if cpus < requested.cpus:
        notes.append(f"cpus lowered to {cpus:g} (operator limit)")
    timeout = min(requested.timeout_seconds, limits.max_timeout_seconds)
    if timeout < requested.timeout_seconds:
        notes.append(f"time limit lowered to {format_duration(timeout)} (operator limit)")
    if requested.gpus > limits.max_gpus:
        raise InvalidRun(
            f"the model asks for {requested.gpus} GPU(s) but this platform allows "
            f"{limits.max_gpus} (operator setting MLK_MAX_GPUS)"
        )
    if requested.network and not limits.allow_network:
        raise InvalidRun(
            "the model asks for network access, which this platform does not allow "
            "(operator setting MLK_ALLOW_NETWORK)"
        )
    return EffectiveResources(
        memory_bytes=memory,
        cpus=cpus,
        gpus=requested.gpus,
        timeout_seconds=timeout,
        network=requested.network,
        pids_limit=limits.pids_limit,
        notes=tuple(notes),
    )


def format_bytes(n: int) -> str:
    """``536870912`` -> ``512 MiB``; ``1610612736`` -> ``1.5 GiB``."""
    for unit, size in (("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def format_duration(seconds: float) -> str:
    """``1800`` -> ``30 min``; ``45`` -> ``45 s``; ``5400`` -> ``1 h 30 min``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {sec} s" if sec else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")
