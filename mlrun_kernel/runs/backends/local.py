"""The default backend: one Docker engine through docker-py.

Containers are created with the hardening the contract promises (non-root
user, every capability dropped, no-new-privileges, pids/memory/CPU limits,
no network unless allowed, an init process, a read-only root file system
with a small ``/tmp``) and labelled with the run, owner and model, so a
restarted executor finds them again.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import docker
import requests
from docker.errors import APIError, ImageNotFound, NotFound
from docker.types import DeviceRequest

from mlrun_kernel.runs.backends.attach import AttachedOutput
from mlrun_kernel.runs.backends.base import (
    LABEL_EXECUTOR,
    LABEL_RUN,
    LABEL_STORAGE,
    Backend,
    ContainerSpec,
    ExitStatus,
    Handle,
    LogLine,
    OutputStream,
    PullProgress,
)
from mlrun_kernel.runs.backends.engine import engine_call, log_frames, log_line, parse_engine_time
from mlrun_kernel.runs.backends.firewall import NetworkIsolationError, RunFirewall, bridge_name
from mlrun_kernel.runs.backends.hardening import CAP_DROP, SECURITY_OPT, TMP_PATH, Hardening, parse_size
from mlrun_kernel.runs.errors import EngineUnavailable, ImagePullError, InfrastructureError
from mlrun_kernel.runs.process_limit import fork_rejected

NETWORK_PREFIX = "mlk-run-"
LABEL_NETWORK = "io.mlkernel.run-network"


class LocalBackend(Backend):
    """Model containers on one Docker engine (``DOCKER_HOST`` or ``base_url``)."""

    name = "local"

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        base_url: str | None = None,
        read_only_rootfs: bool = True,
        tmp_size: str = "256m",
        firewall: RunFirewall | None = None,
    ) -> None:
        if client is None:
            kwargs: dict[str, Any] = {"timeout": 120, "max_pool_size": 64}
            client = (
                docker.DockerClient(base_url=base_url, **kwargs) if base_url else docker.from_env(**kwargs)
            )
        self.client = client
        self.api = client.api
        self.hardening = Hardening(read_only_rootfs=read_only_rootfs, tmp_size_bytes=parse_size(tmp_size))
        self.firewall = firewall or _default_firewall()

    # ---------------------------------------------------------------- engine

    def ping(self) -> None:
        engine_call("ping", self.api.ping)

    def engine_started_at(self) -> datetime | None:
        """The engine's socket is made anew at each start: its change time is the start time."""
        url = urlsplit(str(self.api.base_url))
        path = url.path if url.scheme in ("http+unix", "unix") else None
        socket_path = getattr(self.api, "_custom_adapter", None)
        socket_path = getattr(socket_path, "socket_path", None) or path
        if not socket_path:
            return None
        try:
            return datetime.fromtimestamp(os.stat(socket_path).st_ctime, UTC)
        except OSError:
            return None

    def hit_process_limit(self, handle: str) -> bool | None:
        """The kernel logs the first refused fork of each container's cgroup (see process_limit)."""
        return fork_rejected(handle)

    # ---------------------------------------------------------------- images

    def pull(self, image: str, on_progress: PullProgress | None = None) -> None:
        try:
            engine_call("inspecting the image", lambda: self.api.inspect_image(image))
            return  # already here: a digest names exactly one image
        except ImageNotFound:
            pass
        except APIError:
            pass
        layers: dict[str, dict[str, Any]] = {}
        try:
            events = engine_call("pulling", lambda: self.api.pull(image, stream=True, decode=True))
            for event in events:
                if "error" in event:
                    detail = event.get("errorDetail", {}).get("message") or event["error"]
                    raise ImagePullError(f"image pull failed: {detail}")
                layer = event.get("id")
                if layer and on_progress is not None:
                    detail = event.get("progressDetail") or {}
                    layers[layer] = {
                        "status": event.get("status"),
                        "current": detail.get("current"),
                        "total": detail.get("total"),
                    }
                    on_progress({"layers": len(layers), "detail": layers})
        except ImagePullError:
            raise
        except EngineUnavailable:
            raise
        except (requests.exceptions.ConnectionError, ConnectionError) as exc:
            raise EngineUnavailable(f"the Docker engine does not answer (pulling): {exc}") from exc
        except APIError as exc:
            raise ImagePullError(f"image pull failed: {exc.explanation or exc}") from exc

    # ---------------------------------------------------------------- containers

    def create(self, spec: ContainerSpec) -> str:
        network = self._run_network(spec) if spec.network else "none"
        hardening = self.hardening
        host_config = self.api.create_host_config(
            # A list, not a dict keyed by host path: one blob given to two inputs is two mounts.
            binds=[f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}" for m in spec.mounts],
            mem_limit=spec.memory_bytes,
            memswap_limit=spec.memory_bytes,  # no swap: the limit is the limit
            nano_cpus=int(spec.cpus * 1e9),
            pids_limit=spec.pids_limit,
            cap_drop=CAP_DROP,
            security_opt=SECURITY_OPT,
            network_mode=network,
            init=True,
            read_only=hardening.read_only_rootfs,
            tmpfs={TMP_PATH: hardening.tmpfs_options()} if hardening.read_only_rootfs else None,
            device_requests=[DeviceRequest(count=spec.gpus, capabilities=[["gpu"]])] if spec.gpus else None,
            log_config={"type": "json-file", "config": {}},
        )

        def create() -> dict[str, Any]:
            return self.api.create_container(
                spec.image,
                command=spec.command,
                user=spec.user,
                environment=spec.env,
                labels=spec.labels,
                name=spec.name,
                working_dir=spec.workdir,
                host_config=host_config,
                network_disabled=not spec.network,
            )

        try:
            created = engine_call("creating the container", create)
        except APIError as exc:
            if exc.status_code == 409:  # a container of this name exists: ours, from before
                return str(self.api.inspect_container(spec.name)["Id"])
            if isinstance(exc, ImageNotFound):
                self._drop_run_network(network)
                raise ImagePullError(f"image {spec.image} is not on the engine: {exc}") from exc
            self._drop_run_network(network)
            raise
        return str(created["Id"])

    # ---------------------------------------------------------------- run networks

    def _run_network(self, spec: ContainerSpec) -> str:
        """A bridge of the run's own, walled off from the host and every other container.

        Created before the container, with its firewall rules in place before
        the model can send a packet (see :mod:`.firewall`); removed with the
        container.
        """
        if not self._engine_on_this_host():
            raise NetworkIsolationError(
                "cannot isolate the run's network: the Docker engine is not on this host, so the "
                "executor cannot install its firewall rules. Run the executor on the engine's host, "
                "or set MLK_ALLOW_NETWORK=false"
            )
        run_id = spec.labels.get(LABEL_RUN) or spec.name
        name = f"{NETWORK_PREFIX}{run_id}"
        bridge = bridge_name(run_id)
        found = [n for n in engine_call("listing networks", lambda: self.api.networks(names=[name]))]
        if not any(n["Name"] == name for n in found):
            engine_call(
                "creating the run's network",
                lambda: self.api.create_network(
                    name,
                    driver="bridge",
                    options={
                        "com.docker.network.bridge.name": bridge,
                        "com.docker.network.bridge.enable_icc": "false",
                        "com.docker.network.bridge.enable_ip_masquerade": "true",
                    },
                    labels={**spec.labels, LABEL_NETWORK: run_id},
                    check_duplicate=True,
                ),
            )
        try:
            self.firewall.isolate(run_id, bridge, default_bridge=self._default_bridge())
        except Exception:
            self._drop_run_network(name)
            raise
        return name

    def _default_bridge(self) -> str:
        with contextlib.suppress(Exception):
            options = self.api.inspect_network("bridge").get("Options") or {}
            return str(options.get("com.docker.network.bridge.name") or "docker0")
        return "docker0"

    def _engine_on_this_host(self) -> bool:
        url = urlsplit(str(self.api.base_url))
        return url.scheme in ("http+unix", "unix") or url.hostname in ("localhost", "127.0.0.1", "::1")

    def _drop_run_network(self, name: str) -> None:
        """Remove a run's network and its rules; no error when it is gone or was never made."""
        if not name.startswith(NETWORK_PREFIX):
            return
        run_id = name.removeprefix(NETWORK_PREFIX)
        for attempt in range(20):  # the container leaves the network a moment after its removal
            try:
                for net in self.api.networks(names=[name]):
                    if net["Name"] == name:
                        self.api.remove_network(net["Id"])
                break
            except NotFound:
                break
            except APIError:
                if attempt == 19:
                    return  # still in use: the next sweep removes it, and its rules with it
                time.sleep(0.1 * (attempt + 1))
        self.firewall.release(run_id)

    def sweep(self, *, executor: str, storage: str, active: set[str]) -> list[str]:
        """Remove run networks of ``executor`` whose run is not ``active``, and dead rules."""
        removed = []
        filters = {"label": [LABEL_NETWORK, f"{LABEL_EXECUTOR}={executor}", f"{LABEL_STORAGE}={storage}"]}
        with contextlib.suppress(APIError):
            for net in engine_call("listing networks", lambda: self.api.networks(filters=filters)):
                run_id = (net.get("Labels") or {}).get(LABEL_NETWORK)
                if run_id and run_id not in active:
                    self._drop_run_network(net["Name"])
                    removed.append(run_id)
        self.firewall.sweep()
        return removed

    def attach(self, handle: str) -> OutputStream | None:
        """Attached before start, as ``docker run`` is: the log endpoint is far slower (attach.py)."""
        return engine_call("attaching to the container", lambda: AttachedOutput(self.api, handle))

    def start(self, handle: str) -> None:
        engine_call("starting the container", lambda: self.api.start(handle))

    def wait(self, handle: str, timeout: float) -> ExitStatus | None:
        try:
            self.api.wait(handle, timeout=max(timeout, 0.01))
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
            # docker-py reports its own read timeout as a ConnectionError: ask the engine.
            if isinstance(exc, requests.exceptions.ReadTimeout) or "timed out" in str(exc):
                self.ping()
                return None
            raise EngineUnavailable(f"the Docker engine does not answer (waiting): {exc}") from exc
        except NotFound:
            return ExitStatus(exit_code=-1, error="the container disappeared")
        except APIError as exc:
            if exc.status_code is not None and exc.status_code >= 500:
                raise InfrastructureError(f"waiting: {exc.explanation or exc}") from exc
            raise
        info = self.inspect(handle)
        return info.exit or ExitStatus(exit_code=-1, error="the container disappeared")

    def logs(self, handle: str, *, since: datetime | None = None) -> Iterator[LogLine]:
        params: dict[str, Any] = {
            "stdout": 1,
            "stderr": 1,
            "follow": 1,
            "timestamps": 1,
            "tail": "all",
        }
        if since is not None:
            params["since"] = f"{since.timestamp():.6f}"
        url = self.api._url("/containers/{0}/logs", handle)
        response = engine_call("reading logs", lambda: self.api._get(url, params=params, stream=True))
        try:
            self.api._raise_for_status(response)
        except NotFound:
            return
        buffers = {"stdout": b"", "stderr": b""}
        try:
            for stream, data in log_frames(self.api, response):
                buffers[stream] += data
                *complete, buffers[stream] = buffers[stream].split(b"\n")
                for raw in complete:
                    yield log_line(stream, raw)
        except (requests.exceptions.ConnectionError, ConnectionError, OSError) as exc:
            raise EngineUnavailable(f"the log stream broke: {exc}") from exc
        finally:
            with contextlib.suppress(Exception):
                response.close()
        for stream, rest in buffers.items():
            if rest:
                yield log_line(stream, rest)

    def stop(self, handle: str, grace: float) -> None:
        try:
            engine_call("stopping", lambda: self.api.stop(handle, timeout=int(grace)))
        except NotFound:
            pass
        except APIError as exc:
            if exc.status_code not in (304, 409):
                raise

    def remove(self, handle: str) -> None:
        network = None
        with contextlib.suppress(NotFound):
            info = engine_call("inspecting", lambda: self.api.inspect_container(handle))
            network = (info.get("HostConfig") or {}).get("NetworkMode")
        try:
            engine_call("removing", lambda: self.api.remove_container(handle, force=True, v=True))
        except NotFound:
            pass
        except APIError as exc:
            if exc.status_code != 409:  # 409: removal already in progress
                raise
        if network:
            self._drop_run_network(network)

    def inspect(self, handle: str) -> Handle:
        try:
            info = engine_call("inspecting", lambda: self.api.inspect_container(handle))
        except NotFound:
            return Handle(id=handle, run_id=None, status="missing")
        return _handle(info["Id"], info["State"], info["Config"].get("Labels") or {})

    def list_runs(self, executor: str | None = None) -> list[Handle]:
        filters = {"label": [LABEL_RUN] + ([f"{LABEL_EXECUTOR}={executor}"] if executor else [])}
        found = engine_call("listing containers", lambda: self.api.containers(all=True, filters=filters))
        handles = []
        for item in found:
            handle = self.inspect(item["Id"])
            if handle.status != "missing":
                handles.append(handle)
        return handles

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


def _handle(handle: str, state: dict[str, Any], labels: dict[str, str]) -> Handle:
    status = state.get("Status")
    exit_status = None
    if status in ("exited", "dead"):
        mapped = "exited"
        exit_status = ExitStatus(
            exit_code=int(state.get("ExitCode", -1)),
            oom_killed=bool(state.get("OOMKilled")),
            error=state.get("Error") or None,
            finished_at=parse_engine_time(state.get("FinishedAt")),
        )
    elif status == "created":
        mapped = "created"
    else:
        mapped = "running"  # running, paused, restarting, removing
    return Handle(
        id=handle,
        run_id=labels.get(LABEL_RUN),
        status=mapped,  # type: ignore[arg-type]
        exit=exit_status,
        labels=labels,
    )


def _default_firewall() -> RunFirewall:
    from mlrun_kernel.runs.limits import run_settings

    return RunFirewall(blocked=run_settings().run_network_blocked)
