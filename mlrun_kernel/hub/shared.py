"""The shared-password demo mode: one password for every name, but never for the privileged.

JupyterHub's SharedPasswordAuthenticator lets anyone who knows the password
log in under any name. That is fine for throwaway demo users with read+run,
and a hole for anyone with more: this subclass refuses the shared password
for admins and for every name that belongs, in the config or in the hub's
database at login time, to a group whose role grants more than read+run, or
that holds such a role itself. Admins still log in with the admin password.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from traitlets import Set, Unicode

from mlrun_kernel.hub.groups import READ_AND_RUN
from mlrun_kernel.service.scopes import ALL, expand


def _beyond_read_and_run(scopes: Any) -> bool:
    """Whether hub scopes grant one of the service's scopes beyond read+run."""
    names = {str(scope) for scope in scopes or ()}
    custom = {scope for scope in names if scope.split("!", 1)[0] in ALL}
    return bool(expand(custom) - READ_AND_RUN)


class DemoSharedPasswordAuthenticator(SharedPasswordAuthenticator):
    """SharedPasswordAuthenticator that never lets the shared password stand for more than read+run."""

    privileged_users = Set(
        Unicode(),
        config=True,
        help="Names that never use the shared password (the configured members of privileged groups).",
    )
    privileged_groups = Set(
        Unicode(),
        config=True,
        help="Groups whose members, as the hub's database has them at login, never use the shared password.",
    )

    def refusal(self, handler: Any, username: str) -> str | None:
        """Why ``username`` may not use the shared password, or None if it may."""
        if username in self.privileged_users:
            return "is configured as a member of a group with more than read+run"
        user = handler.find_user(username) if handler is not None else None
        if user is None:
            return None
        if user.admin:
            return "is a hub admin"
        groups = list(user.groups)
        if any(group.name in self.privileged_groups for group in groups):
            return "is a member of a group with more than read+run"
        roles = [*user.roles, *(role for group in groups for role in group.roles)]
        if any(_beyond_read_and_run(role.scopes) for role in roles):
            return "holds a role with more than read+run"
        return None

    async def authenticate(self, handler: Any, data: dict[str, Any]) -> Any:
        username = self.normalize_username(data["username"])
        if username not in self.admin_users:
            why = self.refusal(handler, username)
            if why is not None:
                self.log.warning("Refused the shared password for %r: the name %s", username, why)
                return None
        return await super().authenticate(handler, data)
