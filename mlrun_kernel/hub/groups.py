"""Our three groups and what each may do with the model service.

The custom scopes themselves are declared once, in
``mlrun_kernel.service.scopes`` (the service checks them there); this module
turns them into JupyterHub's ``custom_scopes`` and says which scopes each
group's role grants.
"""

from __future__ import annotations

from typing import Any

from mlrun_kernel.service.scopes import ADMIN, DESCRIPTIONS, IMPLIES, PUBLISH, READ, RUN, expand

SERVICE_NAME = "models"
SERVICE_ACCESS = f"access:services!service={SERVICE_NAME}"

MODEL_USERS = "model-users"
MODEL_EXPERTS = "model-experts"
MODEL_ADMINS = "model-admins"

#: group -> (the MLK_* variable listing its members, what its members do)
GROUPS: dict[str, tuple[str, str]] = {
    MODEL_USERS: ("MLK_MODEL_USERS", "browse and run models in Voila apps"),
    MODEL_EXPERTS: ("MLK_MODEL_EXPERTS", "build, test and publish model images"),
    MODEL_ADMINS: ("MLK_MODEL_ADMINS", "evaluate models, ask for fine-tuning"),
}

#: the hub scopes each group's role grants
GROUP_SCOPES: dict[str, list[str]] = {
    MODEL_USERS: [SERVICE_ACCESS, READ, RUN],
    MODEL_EXPERTS: [SERVICE_ACCESS, READ, RUN, PUBLISH],
    MODEL_ADMINS: [SERVICE_ACCESS, ADMIN],
}

#: what a shared password may ever stand for
READ_AND_RUN = frozenset({READ, RUN})


def hub_custom_scopes() -> dict[str, dict[str, Any]]:
    """``c.JupyterHub.custom_scopes``: every scope of scopes.py, its description and what it implies."""
    custom: dict[str, dict[str, Any]] = {}
    for scope in (READ, RUN, PUBLISH, ADMIN):
        definition: dict[str, Any] = {"description": DESCRIPTIONS[scope]}
        implied = sorted(IMPLIES[scope] - {scope})
        if implied:
            definition["subscopes"] = implied
        custom[scope] = definition
    return custom


def privileged_groups() -> frozenset[str]:
    """The groups whose role grants more than read+run (publish, admin)."""
    return frozenset(group for group, granted in GROUP_SCOPES.items() if expand(set(granted)) - READ_AND_RUN)
