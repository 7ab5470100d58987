"""Execution backends: the local Docker engine (default) and Docker Swarm.

``make_backend(name)`` builds the one the configuration names
(``MLK_RUN_BACKEND``); both implement :class:`~.base.Backend`.
"""

from __future__ import annotations

from typing import Any

from mlrun_kernel.runs.backends.base import (
    Backend,
    ContainerSpec,
    ExitStatus,
    Handle,
    LogLine,
    Mount,
)


def make_backend(name: str = "local", **kwargs: Any) -> Backend:
    if name == "local":
        from mlrun_kernel.runs.backends.local import LocalBackend

        return LocalBackend(**kwargs)
    if name == "swarm":
        from mlrun_kernel.runs.backends.swarm import SwarmBackend

        return SwarmBackend(**kwargs)
    raise ValueError(f"unknown run backend {name!r}: use 'local' or 'swarm' (MLK_RUN_BACKEND)")


__all__ = [
    "Backend",
    "ContainerSpec",
    "ExitStatus",
    "Handle",
    "LogLine",
    "Mount",
    "make_backend",
]
