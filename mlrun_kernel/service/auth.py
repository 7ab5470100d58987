"""Who is calling the model service: JupyterHub tokens, checked with the hub.

Layers, from the wire inwards:

- ``token_from_header``: pulls the token out of ``Authorization: token ...`` or
  ``Authorization: Bearer ...``.
- ``HubTokenAuth``: asks the hub who owns a token (``GET {hub_api_url}/user``
  with that very token, as JupyterHub's own ``HubAuth`` does), keeps the answer
  for ``cache_seconds``, and checks that the token carries the service's access
  scope (``access:services!service=<name>``, or ``access:services``).
- ``HubUser``: what the hub says about the owner of a token.
- ``Caller``: what the rest of the service learns: name, groups, and the custom
  scopes (``scopes.py``) the token grants, with ``is_admin`` for
  ``custom:models:admin``. A static development token (``MLK_SERVICE_STATIC_TOKEN``)
  makes an admin caller without asking any hub.
- ``oauth.py`` adds the browser side: the hub's OAuth flow ending in a cookie
  that holds the token, checked here like any other token.

``deps.py`` turns ``Authenticator.authenticate`` into the dependency that
checks every request against the route table. Failures are ``AuthError`` with
an HTTP status (401: no or bad token, 403: valid token without the scope, 502:
the hub could not be asked) and a message that says what to do.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from dataclasses import dataclass

import httpx

from mlrun_kernel.datasets import Principal
from mlrun_kernel.service import scopes as scope_table


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


@dataclass(frozen=True)
class Caller:
    """Who is calling and what they may do (custom scopes, with what they imply)."""

    name: str
    groups: frozenset[str]
    scopes: frozenset[str]
    kind: str = "user"

    @property
    def is_admin(self) -> bool:
        return scope_table.ADMIN in self.scopes

    @property
    def sees_problems(self) -> bool:
        """Experts and admins see models whose labels are broken."""
        return scope_table.PUBLISH in self.scopes

    def can(self, scope: str) -> bool:
        return scope in self.scopes

    def principal(self) -> Principal:
        """The caller as ``mlrun_kernel.datasets.Principal`` (rights over datasets)."""
        return Principal(name=self.name, groups=self.groups, is_admin=self.is_admin)

    @classmethod
    def from_hub(cls, user: HubUser) -> Caller:
        granted = scope_table.expand(set(user.scopes), name=user.name, groups=user.groups)
        return cls(name=user.name, groups=user.groups, scopes=granted, kind=user.kind)


class Authenticator:
    """Tokens to callers: the static development token first, then the hub."""

    def __init__(self, hub: HubTokenAuth | None, *, static_token: str | None, static_user: str) -> None:
        self.hub = hub
        self.static_token = static_token
        self.static_user = static_user

    async def authenticate(self, token: str | None) -> Caller:
        if token and self.static_token and hmac.compare_digest(token.encode(), self.static_token.encode()):
            return Caller(
                name=self.static_user,
                groups=frozenset(),
                scopes=scope_table.expand({scope_table.ADMIN}),
                kind="static",
            )
        if self.hub is None:
            if not token:
                raise AuthError(401, "missing token: send 'Authorization: token <MLK_SERVICE_STATIC_TOKEN>'")
            raise AuthError(401, "invalid token: this service runs without a hub and knows one token only")
        return Caller.from_hub(await self.hub.authenticate(token))

    async def aclose(self) -> None:
        if self.hub is not None:
            await self.hub.aclose()
