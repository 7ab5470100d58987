"""What every route depends on: the platform objects, and who is calling.

``authorize`` runs before every route of the API routers. It finds the route's
rule in ``scopes.ROUTE_SCOPES`` (a route without one is refused, so a new route
cannot be open by accident), authenticates the caller for token routes (the
``Authorization`` header, else the OAuth cookie of a browser), checks the
custom scope, and leaves the ``Caller`` on ``request.state``. Routes ask for it
with the ``CallerDep`` annotation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from mlrun_kernel.datasets import Datasets
from mlrun_kernel.service import scopes
from mlrun_kernel.service.auth import Authenticator, AuthError, Caller, token_from_header
from mlrun_kernel.service.catalog import CatalogKeeper
from mlrun_kernel.service.config import ServiceSettings
from mlrun_kernel.service.metrics import ServiceMetrics
from mlrun_kernel.service.origin import OriginRefused, check_origin
from mlrun_kernel.store import Store

if TYPE_CHECKING:
    from mlrun_kernel.runs import Executor
    from mlrun_kernel.service.oauth import BrowserLogin

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Platform:
    """The objects the routes are thin layers over; one per app, on ``app.state.platform``."""

    config: ServiceSettings
    store: Store
    datasets: Datasets
    catalog: CatalogKeeper
    auth: Authenticator
    metrics: ServiceMetrics
    registry_host: str
    executor: Executor | None = None
    browser: BrowserLogin | None = None
    clock: Callable[[], float] = time.time  # what signed URLs expire by; tests move their own


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


@dataclass(frozen=True)
class ServiceRoute:
    """One route of the app: method, path below the prefix (as declared), endpoint."""

    method: str
    path: str
    endpoint: Callable[..., Any] | None


def route_rule(request: Request) -> tuple[str, str | None]:
    """``(path below the prefix, rule)`` of the route serving ``request``.

    ``create_app`` records each endpoint's path below the prefix
    (``app.state.route_rules``), whatever way the framework nests routers.
    """
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    method = "GET" if request.method == "HEAD" else request.method
    relative = request.app.state.route_rules.get((method, endpoint), "")
    return relative, scopes.rule_for(method, relative)


def _request_token(request: Request, platform: Platform) -> str | None:
    token = token_from_header(request.headers.get("authorization"))
    if token or platform.browser is None:
        return token
    cookie = request.cookies.get(platform.browser.cookie_name)
    if not cookie:
        return None
    # A browser sends cookies to any request, a forged form's too: changes need a header
    # that only scripts of the same origin can add (CORS is not enabled here).
    if request.method not in SAFE_METHODS:
        if "x-requested-with" not in request.headers:
            raise AuthError(403, "a cookie-authenticated change needs the X-Requested-With header")
        try:
            check_origin(platform.config.public_url, request.headers, request.url.scheme)
        except OriginRefused as exc:
            raise AuthError(403, str(exc)) from exc
    return cookie


async def authorize(request: Request, platform: PlatformDep) -> Caller | None:
    """Check the request against the route table; the caller, or None for non-token routes."""
    relative, rule = route_rule(request)
    if rule is None:
        raise AuthError(
            403, f"{request.method} {relative or request.url.path} has no rule in the scope table"
        )
    if rule in (scopes.PUBLIC, scopes.SIGNED, scopes.REGISTRY):
        return None  # the route checks its signature or secret itself
    caller = await platform.auth.authenticate(_request_token(request, platform))
    if rule != scopes.AUTHENTICATED and not caller.can(rule):
        raise AuthError(
            403,
            f"{caller.name} may not {request.method} {relative}: it needs the scope {rule!r}, "
            "which the hub grants through the groups model-users, model-experts and model-admins",
        )
    request.state.caller = caller
    return caller


async def current_caller(caller: Annotated[Caller | None, Depends(authorize)]) -> Caller:
    if caller is None:  # pragma: no cover - only token routes ask for a caller
        raise AuthError(401, "this route needs a token")
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
