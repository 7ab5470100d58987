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
import struct
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import docker
import requests
from docker.errors import APIError, ImageNotFound, NotFound
from docker.types import DeviceRequest

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
from mlrun_kernel.runs.errors import EngineUnavailable, ImagePullError, InfrastructureError

T = TypeVar("T")


def parse_engine_time(text: str | None) -> datetime | None:
    """``2024-05-01T10:00:00.123456789Z`` (nanoseconds) -> an aware datetime; zero time -> None."""
    if not text or text.startswith("0001-"):
        return None
    text = text.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        offset = ""
        for sign in ("+", "-"):
            if sign in frac:
                frac, offset = frac.split(sign, 1)
                offset = sign + offset
        text = f"{head}.{frac[:6].ljust(6, '0')}{offset}"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _engine_call(what: str, fn: Callable[[], T]) -> T:
    """Run one engine call; a dead engine becomes ``EngineUnavailable``."""
    try:
        return fn()
    except (requests.exceptions.ConnectionError, ConnectionError) as exc:
        raise EngineUnavailable(f"the Docker engine does not answer ({what}): {exc}") from exc
    except APIError as exc:
        if exc.status_code is not None and exc.status_code >= 500 and not isinstance(exc, NotFound):
            raise InfrastructureError(f"{what}: {exc.explanation or exc}") from exc
        raise


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
    ) -> None:
        if client is None:
            kwargs: dict[str, Any] = {"timeout": 120, "max_pool_size": 64}
            client = (
                docker.DockerClient(base_url=base_url, **kwargs) if base_url else docker.from_env(**kwargs)
            )
        self.client = client
        self.api = client.api
        self.read_only_rootfs = read_only_rootfs
        self.tmp_size = tmp_size

    # ---------------------------------------------------------------- engine

    def ping(self) -> None:
        _engine_call("ping", self.api.ping)

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

    # ---------------------------------------------------------------- images

    def pull(self, image: str, on_progress: PullProgress | None = None) -> None:
        try:
            _engine_call("inspecting the image", lambda: self.api.inspect_image(image))
            return  # already here: a digest names exactly one image
        except ImageNotFound:
            pass
        except APIError:
            pass
        layers: dict[str, dict[str, Any]] = {}
        try:
            events = _engine_call("pulling", lambda: self.api.pull(image, stream=True, decode=True))
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
        host_config = self.api.create_host_config(
            binds={m.source: {"bind": m.target, "mode": "ro" if m.read_only else "rw"} for m in spec.mounts},
            mem_limit=spec.memory_bytes,
            memswap_limit=spec.memory_bytes,  # no swap: the limit is the limit
            nano_cpus=int(spec.cpus * 1e9),
            pids_limit=spec.pids_limit,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            network_mode="bridge" if spec.network else "none",
            init=True,
            read_only=self.read_only_rootfs,
            tmpfs={"/tmp": f"rw,nosuid,nodev,size={self.tmp_size}"} if self.read_only_rootfs else None,
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
            created = _engine_call("creating the container", create)
        except APIError as exc:
            if exc.status_code == 409:  # a container of this name exists: ours, from before
                return str(self.api.inspect_container(spec.name)["Id"])
            if isinstance(exc, ImageNotFound):
                raise ImagePullError(f"image {spec.image} is not on the engine: {exc}") from exc
            raise
        return str(created["Id"])

    def start(self, handle: str) -> None:
        _engine_call("starting the container", lambda: self.api.start(handle))

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
        response = _engine_call("reading logs", lambda: self.api._get(url, params=params, stream=True))
        try:
            self.api._raise_for_status(response)
        except NotFound:
            return
        buffers = {"stdout": b"", "stderr": b""}
        try:
            for stream, data in _frames(self.api, response):
                buffers[stream] += data
                *complete, buffers[stream] = buffers[stream].split(b"\n")
                for raw in complete:
                    yield _log_line(stream, raw)
        except (requests.exceptions.ConnectionError, ConnectionError, OSError) as exc:
            raise EngineUnavailable(f"the log stream broke: {exc}") from exc
        finally:
            with contextlib.suppress(Exception):
                response.close()
        for stream, rest in buffers.items():
            if rest:
                yield _log_line(stream, rest)

    def stop(self, handle: str, grace: float) -> None:
        try:
            _engine_call("stopping", lambda: self.api.stop(handle, timeout=int(grace)))
        except NotFound:
            pass
        except APIError as exc:
            if exc.status_code not in (304, 409):
                raise

    def remove(self, handle: str) -> None:
        try:
            _engine_call("removing", lambda: self.api.remove_container(handle, force=True, v=True))
        except NotFound:
            pass
        except APIError as exc:
            if exc.status_code != 409:  # 409: removal already in progress
                raise

    def inspect(self, handle: str) -> Handle:
        try:
            info = _engine_call("inspecting", lambda: self.api.inspect_container(handle))
        except NotFound:
            return Handle(id=handle, run_id=None, status="missing")
        return _handle(info["Id"], info["State"], info["Config"].get("Labels") or {})

    def list_runs(self, executor: str | None = None) -> list[Handle]:
        filters = {"label": [LABEL_RUN] + ([f"{LABEL_EXECUTOR}={executor}"] if executor else [])}
        found = _engine_call("listing containers", lambda: self.api.containers(all=True, filters=filters))
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


def _frames(api: Any, response: Any) -> Iterator[tuple[str, bytes]]:
    """The engine's multiplexed log stream as ``(stream, bytes)``; never times out on silence."""
    api._disable_socket_timeout(api._get_raw_response_socket(response))
    while True:
        header = response.raw.read(8)
        if not header or len(header) < 8:
            return
        kind, length = struct.unpack(">BxxxL", header)
        data = response.raw.read(length) if length else b""
        if not data and length:
            return
        yield ("stderr" if kind == 2 else "stdout"), data


def _log_line(stream: str, raw: bytes) -> LogLine:
    text = raw.decode("utf-8", errors="replace")
    stamp, sep, rest = text.partition(" ")
    at = None
    if sep:
        with contextlib.suppress(ValueError):
            at = parse_engine_time(stamp)
    if at is None:
        at, rest = datetime.now(UTC), text
    return LogLine(at=at, stream=stream, text=rest.rstrip("\r"))  # type: ignore[arg-type]
