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

docs/authentication.md is the operator's guide.
"""

from mlrun_kernel.hub.accounts import Account, LoginInfo, login_lines
from mlrun_kernel.hub.kept import kept_secret

__all__ = ["Account", "LoginInfo", "kept_secret", "login_lines"]
