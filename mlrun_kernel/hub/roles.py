"""Who someone is on the platform (model user, expert, admin) and which apps that opens.

One table, :data:`APPS`, says which Voilà apps exist and which roles see
them. The hub's home page lists them (``jupyterhub_config.py`` passes
:func:`home_apps` to the templates), the spawner sends each role to its
landing page (:func:`landing_url`), the navigation bar of the apps draws its
links from it (``mlrun_kernel.widgets.nav``) and the single-user server's
guard (``mlrun_kernel.hub.guard``) keeps model users out of JupyterLab. Pure
logic: nothing here talks to the hub or Docker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Role = Literal["model-user", "model-expert", "model-admin"]

# The group names of mlrun_kernel.hub.groups, written out: that module needs the
# service's scopes, which the notebook servers (where this runs too) do not have.
MODEL_EXPERTS = "model-experts"
MODEL_ADMINS = "model-admins"

#: the folder of the single-user image the Voilà apps live in (``/home/jovyan/apps``)
APPS_DIR = "apps"
VOILA_PREFIX = f"voila/render/{APPS_DIR}/"


@dataclass(frozen=True)
class App:
    """One Voilà app: ``path`` is relative to a user's server (``/user/<name>/``)."""

    key: str
    title: str
    description: str
    path: str
    roles: frozenset[Role]


#: what members of model-admins may do in the hub itself: the admin panel, people,
#: groups, sign-up approvals (NativeAuthenticator's /hub/authorize needs admin:users),
#: starting and stopping servers. Not access:servers: an admin manages a user's
#: server but does not open it (what is inside is the user's).
HUB_ADMIN_SCOPES: tuple[str, ...] = (
    "admin-ui",
    "list:users",
    "read:users",
    "admin:users",
    "list:groups",
    "read:groups",
    "admin:groups",
    "servers",
)

_EVERYONE: frozenset[Role] = frozenset({"model-user", "model-expert", "model-admin"})

APPS: tuple[App, ...] = (
    App(
        "models",
        "Models",
        "Browse the models, read their cards and run one.",
        f"{VOILA_PREFIX}models.ipynb",
        _EVERYONE,
    ),
    App(
        "runs",
        "Runs",
        "Your runs: progress, logs, results; re-run or compare.",
        f"{VOILA_PREFIX}runs.ipynb",
        _EVERYONE,
    ),
    App(
        "datasets",
        "Datasets",
        "Your datasets: upload, preview, share, delete.",
        f"{VOILA_PREFIX}datasets.ipynb",
        _EVERYONE,
    ),
    App(
        "lab",
        "JupyterLab",
        "Build, test and publish model images with the curated notebooks.",
        "lab/tree/notebooks",
        frozenset({"model-expert", "model-admin"}),
    ),
    App(
        "evaluations",
        "Evaluations",
        "How every model performs over time: rules, schedules, fine-tune requests.",
        f"{VOILA_PREFIX}evaluate.ipynb",
        frozenset({"model-admin"}),
    ),
)


def role_of(groups: Iterable[str], admin: bool = False) -> Role:
    """The strongest role a user's groups (and the hub's admin flag) give them.

    Everyone else is a model user: with ``MLK_OPEN_ACCESS=1`` anyone who may log
    in runs models, and a user in no group sees only the model apps.
    """
    names = set(groups)
    if admin or MODEL_ADMINS in names:
        return "model-admin"
    if MODEL_EXPERTS in names:
        return "model-expert"
    return "model-user"


def known_role(name: str | None) -> Role:
    """``name`` if it is a role, else the weakest (a stray value never grants more)."""
    return name if name in ("model-user", "model-expert", "model-admin") else "model-user"  # type: ignore[return-value]


def apps_for(role: Role) -> list[App]:
    """The apps ``role`` may open, in the order the home page and the navigation bar show them."""
    return [app for app in APPS if role in app.roles]


def may_use_jupyterlab(role: Role) -> bool:
    """JupyterLab and the classic file tree are the experts' (and admins') workbench."""
    return role != "model-user"


def landing_url(role: Role) -> str:
    """Where a freshly started server sends its user (``Spawner.default_url``).

    Model users land in the gallery; experts in JupyterLab's file browser on the
    curated notebooks; admins in their evaluation app (its navigation bar links
    the gallery and the hub's admin panel).
    """
    if role == "model-expert":
        return "/lab/tree/notebooks"
    if role == "model-admin":
        return f"/{VOILA_PREFIX}evaluate.ipynb"
    return f"/{VOILA_PREFIX}models.ipynb"


def home_apps(groups: Iterable[str], admin: bool, server_url: str) -> list[dict[str, str]]:
    """The apps of the hub's home page, with links under ``server_url`` (``/user/<name>/``)."""
    base = server_url if server_url.endswith("/") else server_url + "/"
    return [
        {"key": app.key, "title": app.title, "description": app.description, "url": base + app.path}
        for app in apps_for(role_of(groups, admin))
    ]
