"""Hub-side helpers that ``jupyterhub_config.py`` imports (the hub runs in this venv).

How the pieces stack, from the config file down:

- ``groups``: our three groups, the service scopes each one gets (built from
  ``mlrun_kernel.service.scopes``, the one definition) and which groups are
  "privileged" (more than read+run).
- ``kept``: secrets made once and kept in files created 0600 from the first byte.
- ``accounts``: the accounts ``make up`` makes (``admin`` and one demo account
  per group), their kept passwords, and the "who logs in with what" lines that
  ``scripts/hub.sh start`` and ``mlk status`` print.
- ``native``: the default authenticator, NativeAuthenticator that also creates
  those accounts, already approved.
- ``shared``: the shared-password demo mode, which refuses privileged names.
- ``oauth``: MLK_* settings -> a configured oauthenticator (OIDC, GitHub, GitLab)
  with the provider's groups/orgs/teams mapped onto our groups.

- ``roles``: model user, expert or admin from a user's groups; which apps each
  role opens and where it lands (pure; also used inside the notebook servers).
- ``guard``: the notebook servers' jupyter-server extension that answers model
  users' JupyterLab pages with a page pointing back to their apps.
- ``deployment``: what the engine must have before the first spawn (the network).
- ``server_token``: the notebook servers' token asks for every service scope and keeps
  them past the spawn, so the hub grants, per request, what the groups give now.
- ``warm``: the notebook servers' kernel manager, keeping warm kernels that Voilà
  pages of the apps take (the equivalent of Voilà's preheat in server-extension mode).

The single-user image has the package but not the service's dependencies, so
this package imports nothing eagerly: ``roles``, ``guard`` and ``warm`` must load there.

docs/authentication.md is the operator's guide; docs/hub.md the pages, roles and deployment.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Account", "LoginInfo", "kept_secret", "login_lines"]


def __getattr__(name: str) -> Any:
    if name in ("Account", "LoginInfo", "login_lines"):
        from mlrun_kernel.hub import accounts

        return getattr(accounts, name)
    if name == "kept_secret":
        from mlrun_kernel.hub.kept import kept_secret

        return kept_secret
    raise AttributeError(f"module 'mlrun_kernel.hub' has no attribute {name!r}")
