"""The service as JupyterHub runs it: a managed service behind the proxy, with the hub's
OAuth flow for browsers (cookie) beside tokens."""

from __future__ import annotations

import httpx
import pytest

from tests.service.helpers import TokenHub, wait_for

pytestmark = [pytest.mark.hub, pytest.mark.registry]


def _up(hub: TokenHub) -> None:
    def answers() -> bool:
        try:
            return httpx.get(f"{hub.url}/services/models/api/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, timeout=60, interval=0.5)


def test_hub_runs_the_service_and_routes_tokens_to_it(token_hub: TokenHub) -> None:
    _up(token_hub)
    me = httpx.get(
        f"{token_hub.url}/services/models/api/me",
        headers={"Authorization": f"token {token_hub.tokens['expert']}"},
        timeout=30,
    )
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "eve" and "custom:models:publish" in me.json()["scopes"]
    docs = httpx.get(f"{token_hub.url}/services/models/docs", timeout=30)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = httpx.get(f"{token_hub.url}/services/models/openapi.json", timeout=30).json()
    assert "/services/models/api/runs" in schema["paths"]


def test_browser_logs_in_through_the_hubs_oauth_and_uses_the_cookie(token_hub: TokenHub) -> None:
    _up(token_hub)
    with httpx.Client(base_url=token_hub.url, timeout=30, follow_redirects=True) as browser:
        browser.get("/hub/login").raise_for_status()
        xsrf = browser.cookies.get("_xsrf", path="/hub/") or ""
        login = browser.post(
            "/hub/login",
            data={"username": "uma", "password": "service-tests-password", "_xsrf": xsrf},
            follow_redirects=False,
        )
        assert login.status_code == 302, login.text
        me = browser.get("/services/models/login", params={"next": "/services/models/api/me"})
        assert me.status_code == 200, (me.url, me.text[:300])
        assert str(me.url).endswith("/services/models/api/me")
        assert me.json()["name"] == "uma"
        assert set(me.json()["scopes"]) == {"custom:models:read", "custom:models:run"}
        # Changes with only a cookie need a header no cross-site form can send.
        forged = browser.post("/services/models/api/uploads", json={"filename": "a.csv"})
        assert forged.status_code == 403
        scripted = browser.post(
            "/services/models/api/uploads", json={"filename": "a.csv"}, headers={"X-Requested-With": "fetch"}
        )
        assert scripted.status_code == 201, scripted.text
        # An open redirect is refused: next must stay inside the service.
        away = browser.get(
            "/services/models/login", params={"next": "https://evil.example/"}, follow_redirects=False
        )
        assert "evil" not in away.headers["location"]
