"""Who is calling the model service: JupyterHub tokens, checked with the hub.

Layers, from the wire inwards:

- ``token_from_header``: pulls the token out of ``Authorization: token ...`` or
  ``Authorization: Bearer ...``.
- ``HubTokenAuth``: asks the hub who owns a token (``GET {hub_api_url}/user``
  with that very token, as JupyterHub's own ``HubAuth`` does), keeps the answer
  for ``cache_seconds``, and checks that the token carries the service's access
  scope (``access:services!service=<name>``, or ``access:services``).
- ``HubUser``: what the rest of the service learns about the caller.

``app.py`` turns ``HubTokenAuth.authenticate`` into the FastAPI dependency
that every route except health uses. Failures are ``AuthError`` with an HTTP
status (401: no or bad token, 403: valid token without the scope, 502: the hub
could not be asked) and a message that says what to do.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

import httpx


class AuthError(Exception):
    """The caller could not be let in; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class HubUser:
    """The caller, as the hub describes the owner of the token."""

    name: str
    admin: bool
    groups: frozenset[str]
    scopes: frozenset[str]
    kind: str = "user"  # "user" or "service"


def token_from_header(authorization: str | None) -> str | None:
    """The token in an ``Authorization`` header (``token X`` or ``Bearer X``), else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None


class HubTokenAuth:
    """Resolve JupyterHub tokens to users through the hub's REST API, with a small cache."""

    def __init__(
        self,
        hub_api_url: str,
        service_name: str,
        *,
        client: httpx.AsyncClient | None = None,
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
    ) -> None:
        self.hub_api_url = hub_api_url.rstrip("/")
        self.service_name = service_name
        self.access_scopes = frozenset({"access:services", f"access:services!service={service_name}"})
        self.cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._cache: OrderedDict[str, tuple[float, HubUser | None]] = OrderedDict()
        self._client = client or httpx.AsyncClient(timeout=10.0)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def authenticate(self, token: str | None) -> HubUser:
        """The owner of ``token`` if it may use this service; AuthError otherwise."""
        if not token:
            raise AuthError(
                401,
                "missing JupyterHub token: send 'Authorization: token <JUPYTERHUB_API_TOKEN>'",
            )
        user = await self._lookup(token)
        if user is None:
            raise AuthError(401, "invalid or expired JupyterHub token: the hub does not know it")
        if not (user.scopes & self.access_scopes):
            raise AuthError(
                403,
                f"the token of {user.kind} {user.name!r} lacks the scope "
                f"'access:services!service={self.service_name}'; "
                "ask an admin to grant it (a role or the hub's server_token_scopes)",
            )
        return user

    async def _lookup(self, token: str) -> HubUser | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached and cached[0] > now:
            return cached[1]
        user = await self._ask_hub(token)
        self._cache[key] = (now + self.cache_seconds, user)
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return user

    async def _ask_hub(self, token: str) -> HubUser | None:
        url = f"{self.hub_api_url}/user"
        try:
            response = await self._client.get(url, headers={"Authorization": f"token {token}"})
        except httpx.HTTPError as exc:
            raise AuthError(502, f"cannot reach the hub at {url} to check the token: {exc}") from exc
        if response.status_code in (401, 403, 404):
            return None
        if response.status_code != 200:
            raise AuthError(502, f"the hub answered {response.status_code} at {url} when checking the token")
        model = response.json()
        return HubUser(
            name=str(model.get("name", "")),
            admin=bool(model.get("admin", False)),
            groups=frozenset(model.get("groups") or ()),
            scopes=frozenset(model.get("scopes") or ()),
            kind=str(model.get("kind", "user")),
        )
