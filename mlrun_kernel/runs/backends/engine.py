"""What both engine backends share: one guarded engine call, and the engine's log stream.

The local backend and the Swarm backend speak to the same Docker API: a dead
engine must become ``EngineUnavailable`` the same way for both, and both read
the same multiplexed log frames with engine timestamps.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from docker.errors import APIError, NotFound

from mlrun_kernel.runs.backends.base import LogLine
from mlrun_kernel.runs.errors import EngineUnavailable, InfrastructureError

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


def engine_call(what: str, fn: Callable[[], T]) -> T:
    """Run one engine call; a dead engine becomes ``EngineUnavailable``."""
    try:
        return fn()
    except (requests.exceptions.ConnectionError, ConnectionError) as exc:
        raise EngineUnavailable(f"the Docker engine does not answer ({what}): {exc}") from exc
    except APIError as exc:
        if exc.status_code is not None and exc.status_code >= 500 and not isinstance(exc, NotFound):
            raise InfrastructureError(f"{what}: {exc.explanation or exc}") from exc
        raise


def log_frames(api: Any, response: Any) -> Iterator[tuple[str, bytes]]:
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


def log_line(stream: str, raw: bytes) -> LogLine:
    text = raw.decode("utf-8", errors="replace")
    stamp, sep, rest = text.partition(" ")
    at = None
    if sep:
        with contextlib.suppress(ValueError):
            at = parse_engine_time(stamp)
    if at is None:
        at, rest = datetime.now(UTC), text
    return LogLine(at=at, stream=stream, text=rest.rstrip("\r"))  # type: ignore[arg-type]
