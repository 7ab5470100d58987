"""Browsers: the hub's OAuth flow, ending in a cookie that holds the user's token.

JupyterHub's ``HubOAuth`` (``jupyterhub.services.auth``) does the protocol:
the client id, the authorize and token URLs, PKCE, the state store. This
module adds the two steps as plain functions a FastAPI route can call (the
hub's helpers set cookies on Tornado handlers):

1. ``GET {prefix}login?next=...`` -> ``start``: a state (bound to the browser
   by a short-lived cookie) and a redirect to the hub's authorize page;
2. ``GET {prefix}oauth_callback`` -> ``finish``: the code exchanged for a
   token, kept in an HttpOnly cookie named after the OAuth client; then back
   to ``next``.

``deps.authorize`` accepts that cookie like an ``Authorization`` header, for
reads; changes made with a cookie need the ``X-Requested-With`` header too.
The service does this only when the hub runs it (``JUPYTERHUB_CLIENT_ID`` and
``JUPYTERHUB_API_TOKEN`` are set).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlencode

from mlrun_kernel.service.auth import AuthError
from mlrun_kernel.service.config import ServiceSettings


class BrowserLogin:
    def __init__(self, config: ServiceSettings) -> None:
        from jupyterhub.services.auth import HubOAuth

        self.prefix = config.prefix
        self.hub: Any = HubOAuth(api_url=config.hub_api_url, cache_max_age=config.auth_cache_seconds)
        self.cookie_name: str = self.hub.cookie_name
        self.state_cookie_name: str = self.hub.state_cookie_name
        allowed = os.environ.get("JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES")
        self.scopes: list[str] = json.loads(allowed) if allowed else []

    def safe_next(self, next_url: str | None) -> str:
        """Only paths of this service: never an open redirect."""
        if next_url and next_url.startswith(self.prefix) and "//" not in next_url and "\\" not in next_url:
            return next_url
        return f"{self.prefix}docs"

    def start(self, next_url: str | None) -> tuple[str, str]:
        """``(URL of the hub's authorize page, state)``; keep the state in a cookie."""
        verifier, challenge, method = self.hub.generate_pkce_code_challenge()
        state = self.hub.generate_state(self.safe_next(next_url), code_verifier=verifier)
        query = {
            "client_id": self.hub.oauth_client_id,
            "redirect_uri": self.hub.oauth_redirect_uri,
            "response_type": "code",
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": method,
        }
        if self.scopes:
            query["scope"] = " ".join(self.scopes)
        return f"{self.hub.oauth_authorization_url}?{urlencode(query)}", state

    async def finish(self, code: str, state: str, cookie_state: str | None) -> tuple[str, str]:
        """``(token, next URL)`` for the code the hub sent back."""
        if not cookie_state or cookie_state != state:
            raise AuthError(403, "OAuth state does not match this browser's; start again at login")
        verifier = self.hub.get_code_verifier(state)
        next_url = self.hub.get_next_url(state)
        self.hub.clear_oauth_state(state)
        try:
            token = await self.hub.token_for_code(code, code_verifier=verifier, sync=False)
        except Exception as exc:
            raise AuthError(403, f"the hub did not accept the OAuth code: {exc}") from exc
        return str(token), self.safe_next(next_url)
