"""A filtered scope grants only what its filter allows, never the unfiltered right.

JupyterHub lets a token carry a scope with a filter (``custom:models:admin!group=x``:
"admin over group x"). The service used to drop the filter and treat such a
token as a full admin. Now ``read``/``run`` count when the filter names the
caller or one of the caller's groups, and every other filtered scope grants
nothing. The tokens are real: the suite's JupyterHub issues them to ``ada``
(a model admin) and ``uma`` (a model user) with exactly these scopes.
"""

from __future__ import annotations

import httpx
import pytest

from mlrun_kernel.service import scopes
from tests.service.helpers import ServedApp, TokenHub

pytestmark = [pytest.mark.hub, pytest.mark.registry]

ACCESS = "access:services!service=models"


def _me(service: ServedApp, token: str) -> httpx.Response:
    return httpx.get(f"{service.url}api/me", headers={"Authorization": f"token {token}"}, timeout=30)


def _audit(service: ServedApp, token: str) -> httpx.Response:
    return httpx.get(f"{service.url}api/admin/audit", headers={"Authorization": f"token {token}"}, timeout=30)


def test_admin_filtered_to_a_group_is_not_a_full_admin(service: ServedApp, token_hub: TokenHub) -> None:
    token = token_hub.token("ada", scopes=[ACCESS, f"{scopes.ADMIN}!group=model-users"])
    me = _me(service, token)
    assert me.status_code == 200, me.text
    assert me.json()["scopes"] == [] and me.json()["is_admin"] is False
    refused = _audit(service, token)
    assert refused.status_code == 403 and scopes.ADMIN in refused.json()["detail"]
    # The same admin with the unfiltered scope reads the audit log.
    assert _audit(service, token_hub.token("ada", scopes=[ACCESS, scopes.ADMIN])).status_code == 200


def test_read_filtered_to_the_caller_is_honoured(service: ServedApp, token_hub: TokenHub) -> None:
    token = token_hub.token("uma", scopes=[ACCESS, f"{scopes.READ}!user=uma"])
    assert set(_me(service, token).json()["scopes"]) == {scopes.READ}
    headers = {"Authorization": f"token {token}"}
    assert httpx.get(f"{service.url}api/models", headers=headers, timeout=30).status_code == 200
    # read does not grant run: starting a run is refused on rights, not on input.
    started = httpx.post(f"{service.url}api/runs", headers=headers, json={}, timeout=30)
    assert started.status_code == 403 and scopes.RUN in started.json()["detail"]


def test_run_filtered_to_the_callers_group_is_honoured(service: ServedApp, token_hub: TokenHub) -> None:
    token = token_hub.token("uma", scopes=[ACCESS, f"{scopes.RUN}!group=model-users"])
    assert set(_me(service, token).json()["scopes"]) == {scopes.READ, scopes.RUN}
