"""Every route of the app, for every role: allowed exactly when scopes.py says so.

The routes come from the app itself (``app.state.routes``, what ``create_app``
mounted), so a new route without a rule in ``ROUTE_SCOPES`` fails here, and a
rule whose route is gone fails too. The tokens are real: a JupyterHub started
by the suite issues them to members of each group.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from mlrun_kernel.service import scopes
from tests.service.helpers import PREFIX, ServedApp

pytestmark = [pytest.mark.hub, pytest.mark.registry]

# The custom scopes each group's role grants in jupyterhub_config.py (with subscopes).
GRANTED = {
    "user": {scopes.READ, scopes.RUN},
    "user2": {scopes.READ, scopes.RUN},
    "expert": {scopes.READ, scopes.RUN, scopes.PUBLISH},
    "admin": set(scopes.ALL),
    "none": set(),
}
TOKEN_RULES = {*scopes.ALL, scopes.AUTHENTICATED}


def _concrete(path: str) -> str:
    """A route's path with every parameter filled in with a value no object has."""
    return re.sub(r"\{[^}]+\}", "zz-no-such-thing", path)


def _routes(service: ServedApp) -> list[tuple[str, str]]:
    return sorted({(r.method, r.path) for r in service.app.state.routes})


def test_every_route_has_a_rule_and_every_rule_a_route(service: ServedApp) -> None:
    routes = set(_routes(service))
    missing = sorted(r for r in routes if scopes.rule_for(*r) is None)
    assert not missing, f"routes without a rule in mlrun_kernel/service/scopes.py: {missing}"
    stale = sorted(set(scopes.ROUTE_SCOPES) - routes)
    assert not stale, f"rules in scopes.py for routes the app does not have: {stale}"
    # The OpenAPI schema documents the same routes (parameters without converters).
    documented = {
        (method.upper(), path.removeprefix(PREFIX))
        for path, ops in service.app.openapi()["paths"].items()
        for method in ops
    }
    declared = {(m, re.sub(r":path\}", "}", p)) for m, p in routes if p not in ("openapi.json", "docs")}
    assert documented == declared


def test_the_hub_grants_each_group_its_scopes(as_role: Callable[[str], httpx.Client]) -> None:
    for role, granted in GRANTED.items():
        response = as_role(role).get("api/me")
        if role == "none":
            assert response.status_code == 403, response.text
            assert "access:services!service=models" in response.json()["detail"]
            continue
        assert response.status_code == 200, response.text
        assert set(response.json()["scopes"]) == granted, role


@pytest.mark.parametrize("role", sorted(GRANTED))
def test_each_route_allows_exactly_the_roles_its_scope_names(
    service: ServedApp, as_role: Callable[[str], httpx.Client], role: str
) -> None:
    client = as_role(role)
    wrong = []
    for method, path in _routes(service):
        rule = scopes.rule_for(method, path)
        if rule not in TOKEN_RULES:
            continue
        response = client.request(method, _concrete(path))
        allowed = role != "none" and (rule == scopes.AUTHENTICATED or rule in GRANTED[role])
        denied = response.status_code in (401, 403)
        # An allowed call may still fail on its input (404, 422, ...), never on rights.
        if allowed and response.status_code == 403 and "may not" not in response.text:
            denied = False
        if allowed == denied:
            wrong.append((method, path, rule, response.status_code, response.text[:120]))
    assert not wrong, f"{role}: {wrong}"


def test_token_routes_refuse_callers_without_a_token(service: ServedApp) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as anonymous:
        for method, path in _routes(service):
            rule = scopes.rule_for(method, path)
            response = anonymous.request(method, _concrete(path))
            if rule in TOKEN_RULES:
                assert response.status_code == 401, (method, path, response.text)
                assert "missing JupyterHub token" in response.json()["detail"]
            elif rule == scopes.SIGNED:
                assert response.status_code in (403, 422), (method, path, response.text)
            elif rule == scopes.REGISTRY:
                assert response.status_code == 401, (method, path, response.text)
            else:
                assert response.status_code not in (401, 403), (method, path, response.text)


def test_a_token_without_the_service_scope_is_refused(
    service: ServedApp, token_hub, as_role: Callable[[str], httpx.Client]
) -> None:
    narrow = token_hub.token("uma", scopes=["read:users:name!user"])
    response = httpx.get(
        f"{service.url}api/models", headers={"Authorization": f"Bearer {narrow}"}, timeout=30
    )
    assert response.status_code == 403
    assert "access:services!service=models" in response.json()["detail"]
    # A token that reaches the service but holds no custom scope may only ask who it is.
    bare = token_hub.token("uma", scopes=["access:services!service=models"])
    headers = {"Authorization": f"token {bare}"}
    assert httpx.get(f"{service.url}api/me", headers=headers, timeout=30).status_code == 200
    refused = httpx.get(f"{service.url}api/models", headers=headers, timeout=30)
    assert refused.status_code == 403 and scopes.READ in refused.json()["detail"]
