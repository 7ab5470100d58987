"""The navigation bar every Voilà app opens with, and the page that puts it above an app.

``NavBar`` shows the platform's name, one link per app of the user's role
(``mlrun_kernel.hub.roles.apps_for``: Models, Runs, Datasets; JupyterLab for
experts; Evaluations and Admin for admins), the signed-in
user and sign-out. ``nav_links`` computes the links from plain values so tests
need no hub. ``app_page`` stacks the bar over an app's content, building the
content inside a guard: a broken service, an expired token or a refused
action becomes a short message saying what to do, never a traceback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipyvuetify as v

from mlrun_kernel.client import AuthenticationFailed, PermissionDenied, ServiceError, ServiceUnavailable
from mlrun_kernel.config import client_settings
from mlrun_kernel.hub.roles import Role, apps_for, known_role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NavLink:
    key: str
    title: str
    url: str


@dataclass(frozen=True)
class Where:
    """Where this server and the hub are, as JupyterHub's environment says (plain values for tests)."""

    user: str
    server_prefix: str  # /user/<name>/
    hub_prefix: str  # /hub/
    platform: str

    @classmethod
    def from_env(cls) -> Where:
        user = os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or "you"
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
        hub = (os.environ.get("JUPYTERHUB_BASE_URL") or "/").rstrip("/") + "/hub/"
        return cls(user, prefix if prefix.endswith("/") else prefix + "/", hub, _platform_name())


def _platform_name() -> str:
    # The hub passes its MLK_PLATFORM_NAME to every server (jupyterhub_config.py).
    return client_settings().platform_name


def nav_links(role: Role, where: Where) -> list[NavLink]:
    """The bar's links for ``role``: its apps (the admins' evaluation app among them), then the
    hub's admin panel for admins."""
    links = [NavLink(app.key, app.title, where.server_prefix + app.path) for app in apps_for(role)]
    if role == "model-admin":
        links.append(NavLink("admin", "Admin", f"{where.hub_prefix}admin"))
    return links


def current_role() -> Role:
    """The signed-in user's role, from the hub (model user when it cannot be asked)."""
    from mlrun_kernel.hub.guard import HubRole

    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    api_url = os.environ.get("JUPYTERHUB_API_URL")
    fallback = known_role(client_settings().role)
    if not token or not api_url:
        return fallback
    return HubRole(api_url, token, fallback).current()


class NavBar(v.Toolbar):
    """The platform's bar: name, the apps of the user's role, the user, sign-out."""

    def __init__(
        self, current: str = "", *, role: Role | None = None, where: Where | None = None, **kwargs: Any
    ) -> None:
        where = where or Where.from_env()
        role = role or current_role()
        buttons = [
            v.Btn(
                children=[link.title],
                href=link.url,
                variant="flat" if link.key == current else "text",
                class_=f"mlk-nav-{link.key} text-none",
                color="white" if link.key == current else None,
            )
            for link in nav_links(role, where)
        ]
        super().__init__(
            class_="mlk-nav mb-4",
            color="blue-darken-3",
            density="compact",
            children=[
                v.ToolbarTitle(children=[where.platform], class_="mlk-nav-platform"),
                *buttons,
                v.Spacer(),
                v.Chip(
                    children=[where.user],
                    prepend_icon="mdi-account",
                    variant="outlined",
                    class_="mlk-nav-user mr-2",
                ),
                v.Btn(
                    children=["Sign out"],
                    href=f"{where.hub_prefix}logout",
                    variant="text",
                    class_="mlk-nav-signout text-none",
                ),
            ],
            **kwargs,
        )
        self.role = role
        self.links = nav_links(role, where)


def friendly_message(exc: BaseException, hub_prefix: str = "/hub/") -> tuple[str, str]:
    """(title, what to do) for a failure while an app starts; the same words on every app."""
    if isinstance(exc, AuthenticationFailed):
        return (
            "Your session has expired",
            f"Sign in again ({hub_prefix}login), then reload this page.",
        )
    if isinstance(exc, PermissionDenied):
        return (
            "Your account may not do this",
            "Ask an admin for the rights you need (the groups model-users, model-experts, model-admins).",
        )
    if isinstance(exc, ServiceUnavailable) or (isinstance(exc, ServiceError) and (exc.status or 0) >= 500):
        return ("The model service is not answering", "Try again in a minute; if it persists, tell an admin.")
    if isinstance(exc, ServiceError):
        return ("The model service refused this", str(exc))
    return ("This app could not start", "Reload the page; if it happens again, tell an admin what you did.")


def app_page(current: str, build: Callable[[], Any], *, nav: Any | None = None) -> v.Html:
    """The navigation bar over the app ``build()`` makes; a failure shows a friendly message instead."""
    where = Where.from_env()
    bar = nav if nav is not None else NavBar(current, where=where)
    try:
        content = build()
    except Exception as exc:  # shown to the user in words, never as a traceback
        log.exception("the %s app could not start", current)  # the traceback goes to the server's log
        title, todo = friendly_message(exc, where.hub_prefix)
        content = v.Alert(type="error", variant="tonal", title=title, text=todo, class_="mlk-app-error")
    return v.Html(tag="div", class_="mlk-app", children=[bar, content])
