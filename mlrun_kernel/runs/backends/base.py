"""The seam between the executor and whatever runs containers.

A backend knows how to pull an image, create a run's container (or Swarm
service, or later a Kubernetes Job) from a :class:`ContainerSpec`, start it,
follow its log, wait for it, stop and remove it, and find the ones it made by
label. It knows nothing of the store, the queue or the contract's files: the
executor turns a run into a :class:`ContainerSpec` and a backend's answers
into run states.

Every method blocks. The service (async) calls the executor through
:func:`mlrun_kernel.service.threads.in_waiting_thread` / ``in_thread``, the one
door from the event loop to blocking code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

T = TypeVar("T")

LABEL_RUN = "io.mlkernel.run-id"
LABEL_OWNER = "io.mlkernel.owner"
LABEL_MODEL = "io.mlkernel.model"
LABEL_DIGEST = "io.mlkernel.model-digest"
LABEL_EXECUTOR = "io.mlkernel.executor"
LABEL_STORAGE = "io.mlkernel.run-storage"


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a backend needs to run one model container, hardened."""

    name: str
    image: str
    command: list[str] | None
    env: dict[str, str]
    labels: dict[str, str]
    mounts: list[Mount]
    user: str = "65534:65534"
    memory_bytes: int = 1024**3
    cpus: float = 1.0
    pids_limit: int = 512
    network: bool = False
    gpus: int = 0
    workdir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExitStatus:
    exit_code: int
    oom_killed: bool = False
    error: str | None = None
    finished_at: datetime | None = None


Status = Literal["created", "running", "exited", "missing"]


@dataclass(frozen=True)
class Handle:
    """A container (or service) the backend made, as found by label."""

    id: str
    run_id: str | None
    status: Status
    exit: ExitStatus | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LogLine:
    at: datetime
    stream: Literal["stdout", "stderr", "system"]
    text: str


PullProgress = Callable[[dict[str, Any]], None]


class OutputStream(Protocol):
    """A container's stdout/stderr as ``(stream, bytes)`` chunks until it exits; ``close`` ends it."""

    def __iter__(self) -> Iterator[tuple[str, bytes]]: ...

    def close(self) -> None: ...


class Backend(ABC):
    """Runs model containers. Errors the platform should retry are ``InfrastructureError``."""

    name: str = "abstract"

    @abstractmethod
    def ping(self) -> None:
        """Raise ``EngineUnavailable`` when the engine does not answer."""

    def engine_started_at(self) -> datetime | None:
        """When the engine last started, if the backend can tell; detects engine restarts."""
        return None

    def hit_process_limit(self, handle: str) -> bool | None:
        """Whether the exited container was refused a fork by its pids limit (None: cannot tell)."""
        return None

    @abstractmethod
    def pull(self, image: str, on_progress: PullProgress | None = None) -> None:
        """Make ``image`` (``host/repo@sha256:...``) available; ``ImagePullError`` if it cannot."""

    @abstractmethod
    def create(self, spec: ContainerSpec) -> str:
        """Create (not start) the container; return its handle id."""

    @abstractmethod
    def start(self, handle: str) -> None: ...

    @abstractmethod
    def wait(self, handle: str, timeout: float) -> ExitStatus | None:
        """Block until the container exits (its status) or ``timeout`` seconds pass (None)."""

    @abstractmethod
    def logs(self, handle: str, *, since: datetime | None = None) -> Iterator[LogLine]:
        """Follow the log from ``since`` (exclusive of nothing: callers drop repeats) to the end."""

    def attach(self, handle: str) -> OutputStream | None:
        """Before ``start``: the container's raw output as it is written (what ``docker run``
        reads), or None where the backend cannot; the executor then follows :meth:`logs`."""
        return None

    @abstractmethod
    def stop(self, handle: str, grace: float) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; no error if already stopped."""

    @abstractmethod
    def remove(self, handle: str) -> None:
        """Remove the container and its anonymous state; no error if already gone."""

    @abstractmethod
    def inspect(self, handle: str) -> Handle: ...

    @abstractmethod
    def list_runs(self, executor: str | None = None) -> list[Handle]:
        """Every container this platform made (label ``io.mlkernel.run-id``)."""

    def outputs_on_this_host(self) -> bool:
        """Whether the containers see this host's mounts (so outputs can be a mounted file system)."""
        return True

    def sweep(self, *, executor: str, storage: str, active: set[str]) -> list[str]:
        """Remove what runs of ``executor`` left besides containers (networks, firewall rules)
        when their run is not in ``active``; returns those run ids. Called by reconcile."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
