"""Docker Swarm: each run is a replicated-job service with one task, placed by the swarm.

The mapping to the :class:`~.base.Backend` seam (the same one a Kubernetes
Job backend would fill):

- ``create`` makes the service (a job service starts at once; ``start`` is a
  no-op), with the run's labels on the service and its container;
- ``wait`` polls the service's task until it is complete, failed, rejected
  or shut down; its exit code comes from the task status, and OOM kills are
  read from the task's container when this engine holds it;
- ``logs`` polls the service log (a job's log stream never ends by itself);
- ``stop`` and ``remove`` remove the service (and so its task containers).

Hardening through the swarm API (1.41), from :mod:`.hardening` like the
local backend's: non-root user, every capability dropped, pids/memory/CPU
limits, an init process, a read-only root file system with a tmpfs ``/tmp``
(size-limited; the swarm API sets no ``nosuid``/``nodev`` on it), and a
network of the run's own with no route out. What differs: the service API
1.41 has no no-new-privileges option per service (set
``"no-new-privileges": true`` in each node's daemon.json), and runs whose
manifest asks for network are refused (a task's way out, the node's
``docker_gwbridge``, reaches the host; see docs/runs.md).

Bind mounts need the run storage at the same path on every node (shared
storage), or a one-node swarm.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.types import (
    ContainerSpec as SwarmContainerSpec,
)
from docker.types import (
    Mount as SwarmMount,
)
from docker.types import (
    Resources,
    RestartPolicy,
    ServiceMode,
    TaskTemplate,
)

from mlrun_kernel.runs.backends.base import (
    LABEL_EXECUTOR,
    LABEL_RUN,
    Backend,
    ContainerSpec,
    ExitStatus,
    Handle,
    LogLine,
    PullProgress,
)
from mlrun_kernel.runs.backends.engine import engine_call, log_frames, log_line
from mlrun_kernel.runs.backends.firewall import NetworkIsolationError
from mlrun_kernel.runs.backends.hardening import CAP_DROP, TMP_PATH, Hardening
from mlrun_kernel.runs.backends.local import LocalBackend
from mlrun_kernel.runs.errors import EngineUnavailable, InfrastructureError
from mlrun_kernel.runs.process_limit import fork_rejected

_DONE = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"}
POLL_SECONDS = 0.25


class SwarmBackend(Backend):
    """Model runs as Swarm job services on the manager ``client`` talks to."""

    name = "swarm"

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        base_url: str | None = None,
        hardening: Hardening | None = None,
    ) -> None:
        self.local = LocalBackend(client, base_url=base_url)
        self.client = self.local.client
        self.api = self.local.api
        self.hardening = hardening or Hardening()

    def ping(self) -> None:
        self.local.ping()
        info = engine_call("reading swarm state", self.api.info)
        if info.get("Swarm", {}).get("LocalNodeState") != "active":
            raise InfrastructureError(
                "this engine is not in a swarm (run `docker swarm init`, or MLK_RUN_BACKEND=local)"
            )

    def engine_started_at(self) -> datetime | None:
        return self.local.engine_started_at()

    def hit_process_limit(self, handle: str) -> bool | None:
        """Known on a one-node swarm only: the kernel log read is this host's (see process_limit)."""
        if len(engine_call("listing nodes", self.api.nodes)) != 1:
            return None
        task = self._task(handle)
        container_id = (task or {}).get("Status", {}).get("ContainerStatus", {}).get("ContainerID")
        return fork_rejected(container_id) if container_id else None

    def outputs_on_this_host(self) -> bool:
        """Only a one-node swarm runs its tasks where this host's mounts are."""
        try:
            return len(engine_call("listing nodes", self.api.nodes)) == 1
        except Exception:  # noqa: BLE001 - cannot tell: assume the tasks are elsewhere
            return False

    def pull(self, image: str, on_progress: PullProgress | None = None) -> None:
        """Nodes pull when their task starts; pulling here on the manager checks the image early."""
        self.local.pull(image, on_progress)

    def _isolated(self, spec: ContainerSpec) -> str:
        """A network of the run's own, internal: no route out, nobody else on it.

        (A swarm task with no network joins the default bridge, and swarm on
        20.10 cannot attach a service to ``none``.)
        """
        found = [n for n in self.api.networks(names=[spec.name]) if n["Name"] == spec.name]
        if found:
            return str(found[0]["Id"])
        created = engine_call(
            "creating the run's isolated network",
            lambda: self.api.create_network(
                spec.name, driver="overlay", internal=True, labels=dict(spec.labels)
            ),
        )
        return str(created["Id"])

    def create(self, spec: ContainerSpec) -> str:
        if spec.network:
            raise NetworkIsolationError(
                "network runs are refused on Swarm: a task reaches the outside through the node's "
                "docker_gwbridge, from which the host (hub API, model service, registry) answers, "
                "and the executor cannot wall it off per task. Run network models on the local "
                "backend (MLK_RUN_BACKEND=local), or set MLK_ALLOW_NETWORK=false"
            )
        hardening = self.hardening
        mounts = [SwarmMount(m.target, m.source, type="bind", read_only=m.read_only) for m in spec.mounts]
        if hardening.read_only_rootfs:
            mounts.append(
                SwarmMount(
                    TMP_PATH, None, type="tmpfs", tmpfs_size=hardening.tmp_size_bytes, tmpfs_mode=0o1777
                )
            )
        container = SwarmContainerSpec(
            spec.image,
            command=spec.command,
            env=spec.env,
            user=spec.user,
            labels=spec.labels,
            workdir=spec.workdir,
            mounts=mounts,
            init=True,
            read_only=hardening.read_only_rootfs,
            cap_drop=CAP_DROP,
        )
        resources = Resources(
            cpu_limit=int(spec.cpus * 1e9),
            mem_limit=spec.memory_bytes,
            generic_resources={"gpu": spec.gpus} if spec.gpus else None,
        )
        resources["Limits"]["Pids"] = spec.pids_limit
        template = TaskTemplate(
            container_spec=container,
            resources=resources,
            restart_policy=RestartPolicy(condition="none"),
            networks=[self._isolated(spec)],
        )
        try:
            created = engine_call(
                "creating the service",
                lambda: self.api.create_service(
                    template,
                    name=spec.name,
                    labels=spec.labels,
                    mode=ServiceMode("replicated-job", concurrency=1),
                ),
            )
        except APIError as exc:
            if exc.status_code == 409:  # ours, from before a restart
                return str(self.api.inspect_service(spec.name)["ID"])
            raise
        return str(created["ID"])

    def start(self, handle: str) -> None:
        """A job service runs as soon as it exists."""

    def _task(self, handle: str) -> dict[str, Any] | None:
        tasks = engine_call("listing tasks", lambda: self.api.tasks(filters={"service": handle}))
        if not tasks:
            return None
        return max(tasks, key=lambda t: t.get("CreatedAt", ""))

    def _exit(self, task: dict[str, Any]) -> ExitStatus:
        status = task.get("Status", {})
        container = status.get("ContainerStatus", {})
        code = container.get("ExitCode")
        oom = False
        container_id = container.get("ContainerID")
        if container_id:
            with contextlib.suppress(Exception):
                oom = bool(self.api.inspect_container(container_id)["State"].get("OOMKilled"))
        if code is None:
            code = 0 if status.get("State") == "complete" else -1
        error = status.get("Err") if status.get("State") in ("rejected", "failed") else None
        return ExitStatus(exit_code=int(code), oom_killed=oom, error=error)

    def wait(self, handle: str, timeout: float) -> ExitStatus | None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                task = self._task(handle)
            except NotFound:
                return ExitStatus(exit_code=-1, error="the service disappeared")
            state = (task or {}).get("Status", {}).get("State")
            if task is not None and state in _DONE:
                if state == "rejected":
                    raise InfrastructureError(f"the swarm rejected the task: {task['Status'].get('Err')}")
                return self._exit(task)
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.01)))

    def _log_batch(self, handle: str, since: float | None) -> list[LogLine]:
        params: dict[str, Any] = {"stdout": 1, "stderr": 1, "timestamps": 1, "follow": 0}
        if since is not None:
            params["since"] = f"{since:.6f}"
        url = self.api._url("/services/{0}/logs", handle)
        response = engine_call("reading logs", lambda: self.api._get(url, params=params, stream=True))
        try:
            self.api._raise_for_status(response)
        except NotFound:
            return []
        lines: list[LogLine] = []
        buffers = {"stdout": b"", "stderr": b""}
        try:
            for stream, data in log_frames(self.api, response):
                buffers[stream] += data
                *complete, buffers[stream] = buffers[stream].split(b"\n")
                lines.extend(log_line(stream, raw) for raw in complete)
        finally:
            with contextlib.suppress(Exception):
                response.close()
        lines.extend(log_line(s, rest) for s, rest in buffers.items() if rest)
        return lines

    def logs(self, handle: str, *, since: datetime | None = None) -> Iterator[LogLine]:
        last = since
        seen: set[tuple[datetime, str]] = set()
        while True:
            try:
                task = self._task(handle)
            except NotFound:
                return
            done = task is not None and task.get("Status", {}).get("State") in _DONE
            try:
                batch = self._log_batch(handle, last.timestamp() if last else None)
            except EngineUnavailable:
                raise
            for line in batch:
                key = (line.at, line.text)
                if (last is not None and line.at < last) or key in seen:
                    continue
                seen.add(key)
                last = line.at
                yield line
            seen = {k for k in seen if last is None or k[0] >= last}
            if done:
                return
            time.sleep(POLL_SECONDS)

    def stop(self, handle: str, grace: float) -> None:
        task = None
        with contextlib.suppress(Exception):
            task = self._task(handle)
        container_id = (task or {}).get("Status", {}).get("ContainerStatus", {}).get("ContainerID")
        if container_id:  # this engine holds the task: stop it and keep its exit status
            with contextlib.suppress(NotFound):
                self.api.stop(container_id, timeout=int(grace))
                return
        self.remove(handle)

    def remove(self, handle: str) -> None:
        name = None
        with contextlib.suppress(NotFound):
            name = self.api.inspect_service(handle)["Spec"]["Name"]
            engine_call("removing the service", lambda: self.api.remove_service(handle))
        if name is None:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the task leaves the network a moment later
            try:
                for net in self.api.networks(names=[name]):
                    if net["Name"] == name:
                        self.api.remove_network(net["Id"])
                return
            except NotFound:
                return
            except APIError:
                time.sleep(0.25)

    def inspect(self, handle: str) -> Handle:
        try:
            service = engine_call("inspecting", lambda: self.api.inspect_service(handle))
        except NotFound:
            return Handle(id=handle, run_id=None, status="missing")
        return self._handle(service)

    def _handle(self, service: dict[str, Any]) -> Handle:
        labels = service.get("Spec", {}).get("Labels") or {}
        task = self._task(service["ID"])
        state = (task or {}).get("Status", {}).get("State")
        if task is not None and state in _DONE:
            return Handle(service["ID"], labels.get(LABEL_RUN), "exited", self._exit(task), labels)
        # Pending, assigned, preparing, starting, running: the swarm is carrying it out.
        return Handle(service["ID"], labels.get(LABEL_RUN), "running", None, labels)

    def list_runs(self, executor: str | None = None) -> list[Handle]:
        filters = {"label": [LABEL_RUN] + ([f"{LABEL_EXECUTOR}={executor}"] if executor else [])}
        services = engine_call("listing services", lambda: self.api.services(filters=filters))
        return [
            self._handle(s)
            for s in services
            if (s.get("Spec", {}).get("Labels") or {}).get(LABEL_RUN) != "network"
        ]

    def close(self) -> None:
        self.local.close()
