"""The default authenticator: NativeAuthenticator, plus the accounts the deployment makes.

NativeAuthenticator keeps its users in JupyterHub's own database (table
``users_info``: bcrypt hash, approved or not). People sign up at
``/hub/signup`` and wait until an admin approves them at ``/hub/authorize``;
its traits give the password rules and the lock-out. This subclass adds one
thing: the accounts named in ``kept_accounts`` (``admin``, and the demo
accounts of ``make up``) exist from the first start, already approved.
"""

from __future__ import annotations

from typing import Any

import bcrypt
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from traitlets import Dict, Unicode


class KeptAccountsNativeAuthenticator(NativeAuthenticator):
    """NativeAuthenticator whose ``kept_accounts`` are created at start, approved."""

    kept_accounts = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        config=True,
        help="""user name -> password of accounts made at start, already approved.

        An approved account of that name is left as it is (its owner may have
        changed the password since). An unapproved one is a sign-up that took
        the name first: it is replaced, so a stranger never inherits the
        account's groups.""",
    )

    def get_handlers(self, app: Any) -> list[tuple[str, Any]]:
        """NativeAuthenticator's pages without its ``/login``: JupyterHub's own login page serves.

        NativeAuthenticator 1.3's login handler still times the login with the
        ``statsd`` client JupyterHub 6 removed, and fails every POST with a 500.
        JupyterHub's handler calls the same ``authenticate`` (approval, lock-out);
        hub/templates/login.html adds the sign-up link.
        """
        return [(pattern, handler) for pattern, handler in super().get_handlers(app) if pattern != r"/login"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.make_kept_accounts()

    def make_kept_accounts(self) -> None:
        """Create the missing kept accounts (approved); replace unapproved sign-ups of their names."""
        for raw_name, password in self.kept_accounts.items():
            name = self.normalize_username(raw_name)
            existing = UserInfo.find(self.db, name)
            if existing is not None and existing.is_authorized:
                continue
            if existing is not None:
                self.log.warning("Replacing the unapproved sign-up %r with the kept account", name)
                self.db.delete(existing)
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
            self.db.add(UserInfo(username=name, password=hashed, is_authorized=True))
            self.log.info("Created the approved account %r", name)
        self.db.commit()
