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
        # ... and an Origin (or Referer) that is the platform's public URL: a page of another
        # site that gets the header past CORS some day still cannot change anything.
        upload = "/services/models/api/uploads"
        scripted = {"X-Requested-With": "fetch"}
        no_origin = browser.post(upload, json={"filename": "a.csv"}, headers=scripted)
        assert no_origin.status_code == 403 and "Origin or Referer" in no_origin.text
        for foreign in ("https://evil.example", "null", token_hub.url.replace("127.0.0.1", "127.0.0.2")):
            refused = browser.post(
                upload, json={"filename": "a.csv"}, headers={**scripted, "Origin": foreign}
            )
            assert refused.status_code == 403 and "must come from a page of" in refused.text, foreign
        evil_page = {**scripted, "Referer": "https://evil.example/services/models/"}
        assert browser.post(upload, json={"filename": "a.csv"}, headers=evil_page).status_code == 403
        same_site = browser.post(
            upload, json={"filename": "a.csv"}, headers={**scripted, "Origin": token_hub.url}
        )
        assert same_site.status_code == 201, same_site.text
        from_page = {**scripted, "Referer": f"{token_hub.url}/user/uma/voila/render/apps/models.ipynb"}
        assert browser.post(upload, json={"filename": "b.csv"}, headers=from_page).status_code == 201
        # Tokens are not cookies: a script with a token needs neither header.
        with_token = httpx.post(
            f"{token_hub.url}{upload}",
            json={"filename": "c.csv"},
            headers={"Authorization": f"token {token_hub.tokens['user']}"},
            timeout=30,
        )
        assert with_token.status_code == 201, with_token.text
        # An open redirect is refused: next must stay inside the service.
        away = browser.get(
            "/services/models/login", params={"next": "https://evil.example/"}, follow_redirects=False
        )
        assert "evil" not in away.headers["location"]


def test_login_cookies_are_secure_behind_a_tls_terminating_proxy(token_hub: TokenHub) -> None:
    """The public URL is plain http here; a TLS proxy in front says https in X-Forwarded-Proto."""
    _up(token_hub)
    login = "/services/models/login"
    with httpx.Client(base_url=token_hub.url, timeout=30) as browser:
        plain = browser.get(login, params={"next": "/services/models/api/me"})
        assert plain.status_code == 302 and "secure" not in plain.headers["set-cookie"].lower()
        behind_tls = browser.get(
            login, params={"next": "/services/models/api/me"}, headers={"X-Forwarded-Proto": "https"}
        )
        assert behind_tls.status_code == 302
        assert "; secure" in behind_tls.headers["set-cookie"].lower(), behind_tls.headers["set-cookie"]
