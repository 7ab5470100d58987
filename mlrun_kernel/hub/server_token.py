"""The notebook servers' token (``JUPYTERHUB_API_TOKEN``): rights that follow the user's groups.

JupyterHub checks a token in two steps, and only the second one looks at the
owner as they are now:

1. at spawn, ``User.spawn`` keeps of ``Spawner.server_token_scopes`` only what
   the user holds at that moment (``scopes._resolve_requested_scopes``) and
   stores that list with the token;
2. at each request, ``scopes.get_scopes_for(token)`` intersects the stored list
   with the scopes the owner's roles give *now* (groups included).

So a server started while its user was a model user would keep a token without
``custom:models:publish`` until the next start, however the admin moves them. To
let a group change reach a running server at its next request, the token
*asks* for every scope of the model service (:func:`server_token_asks`), and
:func:`keep_service_scopes` (the spawner's ``pre_spawn_hook`` calls it, after
the hub made the token and before the container starts) puts back the service
scopes step 1 dropped. Step 2 then grants, per request, exactly the service
scopes the user's groups give at that moment, and no hub scope beyond the
server's own: the token never holds more than its owner, only never less
than its owner's service rights.

Step 2 logs a warning for each scope it drops, at every request of every model
user's server; :class:`QuietServiceScopeDiscards` keeps those particular
warnings (service scopes the owner does not hold, the expected case) out of the
hub's log and lets every other discard through.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from mlrun_kernel.hub.groups import SERVICE_ACCESS
from mlrun_kernel.service.scopes import ALL as SERVICE_CUSTOM_SCOPES

#: the server's own scopes: post activity, be opened by its user, and read the user's
#: own model (groups) for the guard and the apps' navigation bar (mlrun_kernel.hub.guard)
SERVER_SCOPES: tuple[str, ...] = ("users:activity!user", "access:servers!server", "read:users!user")

#: what the token may ever carry of the model service, whatever the groups say at spawn
SERVICE_SCOPES: frozenset[str] = frozenset({SERVICE_ACCESS, *SERVICE_CUSTOM_SCOPES})


def server_token_asks(spawner: Any = None) -> list[str]:
    """``c.Spawner.server_token_scopes``: the server's scopes and all of the service's.

    The hub grants the subset the user holds (at spawn, then per request once
    :func:`keep_service_scopes` has run), so asking for more is never a leak.
    """
    return sorted({*SERVER_SCOPES, *SERVICE_SCOPES})


def keep_service_scopes(spawner: Any) -> list[str]:
    """Store every service scope on the spawner's fresh token; the token's scopes after.

    Runs in the hub, in the spawner's ``pre_spawn_hook``: ``spawner.api_token`` is
    the token ``User.spawn`` has just made (and stored with the scopes the user
    held then). Nothing else of the token changes.
    """
    from jupyterhub import orm

    db = spawner.user.db
    token = orm.APIToken.find(db, spawner.api_token)
    if token is None:  # a spawner that brings its own token: nothing of ours to widen
        return []
    scopes = sorted(set(token.scopes) | SERVICE_SCOPES)
    if scopes != sorted(token.scopes):
        token.scopes = scopes
        db.commit()
    return scopes


_DISCARD = re.compile(r"^discarding scopes \[(?P<scopes>.*)\], not present in roles of owner ")


class QuietServiceScopeDiscards(logging.Filter):
    """Drop the hub's "discarding scopes [...]" warning when it names only service scopes.

    That is the server token of someone whose groups do not (yet) give them those
    scopes: expected, at every request. A discard naming any other scope is logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        match = _DISCARD.match(record.getMessage())
        if match is None:
            return True
        named = set(re.findall(r"'([^']+)'", match["scopes"]))
        return not named or not named <= SERVICE_SCOPES


def quiet_service_scope_discards(logger: logging.Logger | None = None) -> None:
    """Install :class:`QuietServiceScopeDiscards` on the logger JupyterHub's scopes module uses."""
    from tornado.log import app_log

    target = logger or app_log
    if not any(isinstance(existing, QuietServiceScopeDiscards) for existing in target.filters):
        target.addFilter(QuietServiceScopeDiscards())
