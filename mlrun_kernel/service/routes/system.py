"""The service itself: health (no token), who am I, Prometheus metrics, browser login."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from mlrun_kernel import __version__
from mlrun_kernel.service.deps import CallerDep, PlatformDep
from mlrun_kernel.service.errors import ServiceFault
from mlrun_kernel.service.metrics import CONTENT_TYPE
from mlrun_kernel.service.origin import cookie_is_secure
from mlrun_kernel.service.threads import in_thread

api = APIRouter(tags=["service"])
top = APIRouter(tags=["service"])


class Health(BaseModel):
    status: str
    version: str


class Me(BaseModel):
    name: str
    kind: str
    groups: list[str]
    scopes: list[str]
    is_admin: bool


@api.get("/health", response_model=Health, summary="Liveness (no token)")
async def health() -> Health:
    return Health(status="ok", version=__version__)


@api.get("/me", response_model=Me, summary="Who the token belongs to")
async def me(caller: CallerDep) -> Me:
    """The caller's name, groups and the service scopes the token grants."""
    return Me(
        name=caller.name,
        kind=caller.kind,
        groups=sorted(caller.groups),
        scopes=sorted(caller.scopes),
        is_admin=caller.is_admin,
    )


@top.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(caller: CallerDep, platform: PlatformDep) -> Response:
    """Runs by state, queue length, run durations, API latency (text exposition format)."""
    return Response(await in_thread(platform.metrics.render), media_type=CONTENT_TYPE)


def _browser(platform: PlatformDep) -> Any:
    if platform.browser is None:
        raise ServiceFault(404, "browser login needs the hub (this service runs without one)")
    return platform.browser


@top.get("/login", summary="Log in with the hub (browsers)", response_class=RedirectResponse)
async def login(
    request: Request, platform: PlatformDep, next: Annotated[str | None, Query(max_length=2000)] = None
) -> RedirectResponse:
    """Send the browser to the hub's OAuth page; it comes back to ``oauth_callback``."""
    browser = _browser(platform)
    url, state = browser.start(next)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        browser.state_cookie_name,
        state,
        max_age=600,
        path=platform.config.prefix,
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(platform.config.public_url, request.headers, request.url.scheme),
    )
    return response


@top.get("/oauth_callback", summary="End of the hub's OAuth flow", response_class=RedirectResponse)
async def oauth_callback(
    request: Request,
    platform: PlatformDep,
    code: Annotated[str, Query(max_length=2000)],
    state: Annotated[str, Query(max_length=2000)],
) -> RedirectResponse:
    browser = _browser(platform)
    token, next_url = await browser.finish(code, state, request.cookies.get(browser.state_cookie_name))
    response = RedirectResponse(next_url, status_code=302)
    response.delete_cookie(browser.state_cookie_name, path=platform.config.prefix)
    response.set_cookie(
        browser.cookie_name,
        token,
        path=platform.config.prefix,
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(platform.config.public_url, request.headers, request.url.scheme),
    )
    return response
