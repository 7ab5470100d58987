"""Keeps model users in their apps: JupyterLab and the file tree answer a friendly page.

A jupyter-server extension of the single-user image (enabled in
``hub/images/singleuser/jupyter_server_config.d/mlk-guard.json``). Model users
work in the Voilà apps; JupyterLab, the classic tree, editors, terminals and
consoles are the experts' workbench (``mlrun_kernel.hub.roles``). For a model
user those pages answer 403 with a short page pointing back to the apps, not
a traceback.

How: a tornado router put in front of the server's own. For a page of the
workbench it asks the hub who the user is now (``GET /hub/api/user`` with the
server's token, cached for a few seconds), so moving someone between groups in
the admin panel counts at their next page load, without a restart. Allowed:
the router steps aside and JupyterLab answers as usual. The APIs (kernels,
contents) stay: the apps need them, and the model service, not this server,
is where rights are enforced.
"""

from __future__ import annotations

import html
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from mlrun_kernel.config import client_settings
from mlrun_kernel.hub.roles import Role, apps_for, known_role, may_use_jupyterlab, role_of

#: pages of the workbench (not their APIs: /lab/api/... is for JupyterLab's own scripts)
WORKBENCH_PAGES = re.compile(
    r"(lab(/(tree|workspaces|doc)(/.*)?)?/?|tree(/.*)?|notebooks/.*|edit/.*|terminals/.*|consoles/.*|doc(/.*)?)$"
)
ROLE_TTL_SECONDS = 3.0


@dataclass
class HubRole:
    """The user's current role, read from the hub (a few seconds' cache; the last answer if the hub fails)."""

    api_url: str
    token: str
    fallback: Role = "model-user"
    _role: Role | None = None
    _read_at: float = field(default=-1e9)

    def current(self) -> Role:
        if self._role is not None and time.monotonic() - self._read_at < ROLE_TTL_SECONDS:
            return self._role
        try:
            import httpx

            response = httpx.get(
                f"{self.api_url.rstrip('/')}/user",
                headers={"Authorization": f"token {self.token}"},
                timeout=3.0,
            )
            response.raise_for_status()
            model = response.json()
            self._role = role_of(model.get("groups") or [], bool(model.get("admin")))
            self._read_at = time.monotonic()
        except Exception:  # the hub is restarting, ...: keep what we knew
            return self._role or self.fallback
        return self._role


def not_for_you_page(platform: str, server_prefix: str, hub_prefix: str, role: Role) -> str:
    """The page a model user gets instead of JupyterLab: what this is, and the way back."""
    links = "".join(
        f'<li><a href="{html.escape(server_prefix + app.path)}">{html.escape(app.title)}</a>'
        f" — {html.escape(app.description)}</li>"
        for app in apps_for(role)
    )
    name = html.escape(platform)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name}: not here</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}}
h1{{font-size:1.4em}} a{{color:#0d6efd}} li{{margin:.4em 0}}</style></head>
<body><h1 id="mlk-guard-title">This page is for model experts</h1>
<p>JupyterLab and the file browser are where model experts build and publish models.
Your account runs models through the apps of {name}:</p>
<ul id="mlk-guard-apps">{links}</ul>
<p>If you need JupyterLab, ask an admin to add you to the <code>model-experts</code> group,
then reload this page. <a href="{html.escape(hub_prefix)}home">Home</a></p>
</body></html>"""


def _router(server_app: Any, hub_role: HubRole) -> Any:
    from tornado import web
    from tornado.routing import PathMatches, Router, Rule

    base_url = server_app.base_url  # /user/<name>/
    hub_prefix = os.environ.get("JUPYTERHUB_BASE_URL", "/").rstrip("/") + "/hub/"
    platform = client_settings().platform_name

    class NotForModelUsers(web.RequestHandler):
        def get(self, *args: Any) -> None:
            self.set_status(403)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish(not_for_you_page(platform, base_url, hub_prefix, hub_role.current()))

    class Guard(Router):
        """Steps aside (None: the next rule routes) unless the caller is a model user."""

        def find_handler(self, request: Any, **kwargs: Any) -> Any:
            if request.method != "GET" or may_use_jupyterlab(hub_role.current()):
                return None
            return server_app.web_app.get_handler_delegate(request, NotForModelUsers)

    return Rule(PathMatches(re.escape(base_url) + WORKBENCH_PAGES.pattern), Guard())


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mlrun_kernel.hub.guard"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Put the guard in front of every other route of the server."""
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    api_url = os.environ.get("JUPYTERHUB_API_URL")
    if not token or not api_url:
        server_app.log.info("mlk guard: not under JupyterHub, nothing to guard")
        return
    fallback = known_role(client_settings().role)
    rule = _router(server_app, HubRole(api_url, token, fallback))
    server_app.web_app.default_router.rules.insert(0, rule)
    server_app.log.info("mlk guard: JupyterLab and the file tree are for model experts and admins")
