"""Models from the store-backed catalog: filters, problems for experts only, push
notifications that list a new model without any sync call, periodic resyncs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from mlrun_kernel.service import create_app
from tests.conftest import RegistryProcess
from tests.model_labels import MANIFEST, model_labels
from tests.service.helpers import EVENTS_SECRET, ServedApp, service_config, wait_for

pytestmark = [pytest.mark.hub, pytest.mark.registry]


def _names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [m["name"] for m in response.json()]


def test_model_user_lists_models_with_search_and_filters(as_role: Callable[[str], httpx.Client]) -> None:
    uma = as_role("user")
    assert "team/churn" in _names(uma.get("api/models"))
    assert _names(uma.get("api/models", params={"search": "CHURN"})) == ["team/churn"]
    assert _names(uma.get("api/models", params={"search": "nothing-like-it"})) == []
    assert "team/churn" in _names(uma.get("api/models", params={"keyword": "tabular", "task": "predict"}))
    assert _names(uma.get("api/models", params={"task": "train"})) == []
    card = next(m for m in uma.get("api/models").json() if m["name"] == "team/churn")
    assert card["title"] == "Churn" and card["version"] == "1.0.0" and card["problem"] is None
    assert card["tasks"] == [{"name": "predict", "description": "Predict."}]
    assert set(card["tags"]) == {"1.0.0", "latest"} and card["digest"].startswith("sha256:")


def test_model_detail_has_manifest_versions_and_problems_for_experts_only(
    as_role: Callable[[str], httpx.Client],
) -> None:
    uma, eve = as_role("user"), as_role("expert")
    detail = uma.get("api/models/team/churn").json()
    assert detail["manifest"]["tasks"]["predict"]["parameters"] == MANIFEST["tasks"]["predict"]["parameters"]
    assert [v["version"] for v in detail["versions"]] == ["1.0.0"]
    assert detail["problems"] == []

    assert "team/broken" not in _names(uma.get("api/models"))
    assert uma.get("api/models/team/broken").status_code == 404
    assert uma.get("api/models", params={"has_problems": "true"}).status_code == 403

    assert "team/broken" in _names(eve.get("api/models"))
    assert _names(eve.get("api/models", params={"has_problems": "true"})) == ["team/broken"]
    broken = eve.get("api/models/team/broken").json()
    assert broken["problem"] and "io.mlkernel.manifest" in broken["problems"][0]["problem"]


def test_pushed_model_is_listed_from_the_registry_notification(
    service: ServedApp, seeded_registry: RegistryProcess, as_role: Callable[[str], httpx.Client]
) -> None:
    uma, ada = as_role("user"), as_role("admin")
    seeder = seeded_registry.seeder()
    seeder.image("team/fresh", "2.0.0", model_labels("Fresh", "2.0.0"))
    seeder.close()
    # No sync call: only the registry's notification can make it appear.
    waited = wait_for(lambda: "team/fresh" in _names(uma.get("api/models")), timeout=10)
    print(f"[service] pushed model listed after {waited:.2f}s")
    entries = ada.get("api/admin/audit", params={"action": "publish", "object_id": "team/fresh:2.0.0"}).json()
    assert entries["total"] == 1


def test_registry_events_need_the_shared_secret(service: ServedApp) -> None:
    url = f"{service.url}api/registry/events"
    body = {"events": [{"action": "push", "target": {"repository": "team/churn", "tag": "x"}}]}
    assert httpx.post(url, json=body, timeout=30).status_code == 401
    wrong = httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=30)
    assert wrong.status_code == 401
    ok = httpx.post(
        url, json={"events": []}, headers={"Authorization": f"Bearer {EVENTS_SECRET}"}, timeout=30
    )
    assert ok.status_code == 200, ok.text
    garbage = httpx.post(
        url, content=b"{no", headers={"Authorization": f"Bearer {EVENTS_SECRET}"}, timeout=30
    )
    assert garbage.status_code == 400


def test_periodic_resync_repairs_a_missed_notification(tmp_path: Path, token_hub, fresh_registry) -> None:
    # This registry notifies nobody: only the periodic quick sync can find the new tag.
    config = service_config(
        tmp_path / "data", token_hub.api_url, fresh_registry.url, quick_sync_seconds=0.5, deep_sync_seconds=2
    )
    app = create_app(config)
    with TestClient(app) as client:
        headers = {"Authorization": f"token {token_hub.tokens['user']}"}

        def listed() -> list[str]:
            return [m["name"] for m in client.get(f"{config.prefix}api/models", headers=headers).json()]

        assert listed() == []
        seeder = fresh_registry.seeder()
        seeder.image("team/late", "1.0.0", model_labels("Late"))
        seeder.close()
        wait_for(lambda: listed() == ["team/late"], timeout=10, interval=0.2)
        status = client.get(f"{config.prefix}api/catalog", headers=headers).json()
        assert status["last_success_at"] and not status["stale"]


def test_admin_forces_a_sync_and_it_is_audited(as_role: Callable[[str], httpx.Client]) -> None:
    ada = as_role("admin")
    response = ada.post("api/catalog/sync", params={"deep": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["mode"] == "deep" and response.json()["error"] is None
    assert ada.get("api/admin/audit", params={"action": "sync"}).json()["total"] >= 1
    assert as_role("user").post("api/catalog/sync").status_code == 403
