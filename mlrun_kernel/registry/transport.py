"""The HTTP layer under the registry client: urllib3, pooled and thread-safe.

A catalog sync makes thousands of small requests; urllib3 costs a fraction of
httpx's CPU per request, which on a small machine is most of a sync's time
(bench/bench_catalog_sync.py). Retries, auth and error wording stay in the
client; this module only sends a request and hands back status, headers, body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout


class TransportTimeout(Exception):
    """The server did not answer in time."""


class TransportFailure(Exception):
    """No answer at all: refused, reset, DNS, TLS."""


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: Any  # urllib3's HTTPHeaderDict: case-insensitive
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Transport:
    def __init__(self, *, timeout: float, verify: bool | str, pool_size: int = 16) -> None:
        options: dict[str, Any] = {"maxsize": pool_size, "block": False}
        if verify is False:
            options["cert_reqs"] = "CERT_NONE"
        elif isinstance(verify, str):
            options["ca_certs"] = verify
        self._pool = urllib3.PoolManager(**options)
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        # Our own retry loop decides about statuses; urllib3 only follows redirects
        # (blob downloads may redirect to object storage), dropping auth across hosts.
        self._retries = urllib3.Retry(
            total=None, connect=0, read=0, status=0, other=0, redirect=5, raise_on_status=False
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Response:
        hdrs = dict(headers or {})
        if auth is not None:
            hdrs.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        try:
            r = self._pool.request(method, url, headers=hdrs, timeout=self._timeout, retries=self._retries)
        except NewConnectionError as exc:  # a subclass of urllib3's TimeoutError, for history
            raise TransportFailure(str(exc)) from exc
        except Urllib3Timeout as exc:
            raise TransportTimeout(exc.__class__.__name__) from exc
        except MaxRetryError as exc:
            if isinstance(exc.reason, Urllib3Timeout) and not isinstance(exc.reason, NewConnectionError):
                raise TransportTimeout(exc.reason.__class__.__name__) from exc
            raise TransportFailure(str(exc.reason or exc)) from exc
        except HTTPError as exc:
            raise TransportFailure(str(exc)) from exc
        return Response(r.status, r.headers, r.data or b"")

    def close(self) -> None:
        self._pool.clear()
