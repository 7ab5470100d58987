"""The evaluations through the model service, with real hub tokens per group: admins manage,
experts read and answer their groups' requests (also with `mlk requests`), model users are
refused; every bad input is a clear 422 and stores nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.helpers import ServedApp, TokenHub

pytestmark = [pytest.mark.hub, pytest.mark.registry]


@pytest.fixture
def client(eval_service: ServedApp, token_hub: TokenHub) -> Iterator[object]:
    made: list[httpx.Client] = []

    def make(role: str) -> httpx.Client:
        c = httpx.Client(
            base_url=eval_service.url,
            headers={"Authorization": f"token {token_hub.tokens[role]}"},
            timeout=30,
        )
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def _dataset(admin: httpx.Client, tmp_path: Path) -> str:
    from mlrun_kernel.client import Client

    source = tmp_path / "labelled.csv"
    source.write_text("x,label\n0.1,0\n0.9,1\n")
    token = admin.headers["Authorization"].split()[-1]
    with Client(str(admin.base_url), token=token) as c:
        return str(c.upload_dataset(source, name="labelled")["ref"]).rsplit(":", 1)[0]


def test_model_users_are_refused_the_evaluation_routes_and_experts_only_read(client) -> None:
    user, expert, admin = client("user"), client("expert"), client("admin")
    for path in (
        "api/evaluations/overview",
        "api/evaluations/setups",
        "api/metrics?model=team/scored",
        "api/requests",
    ):
        assert user.get(path).status_code == 403, path
    assert user.get("api/evaluations/flags").status_code == 200, "users see flags: the gallery's badge"
    assert expert.get("api/metrics", params={"model": "team/scored"}).status_code == 200
    assert expert.get("api/requests").status_code == 200
    assert expert.get("api/evaluations/overview").status_code == 403
    assert expert.post("api/requests", json={"model": "team/scored", "reason": "x"}).status_code == 403
    assert admin.get("api/evaluations/overview").status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("api/evaluations/rules",
         {"model": "team/scored", "metric": "f1", "kind": "threshold", "threshold": 1},
         "metric 'f1' is not declared by the model's evaluate task (it declares: accuracy, latency)"),
        ("api/evaluations/rules", {"model": "team/scored", "metric": "accuracy", "kind": "threshold",
                                   "threshold": "high"}, "threshold must be a number, not 'high'"),
        ("api/evaluations/webhooks", {"url": "ftp://hooks.example.org/x"}, "must be an http:// or https://"),
        ("api/evaluations/webhooks", {"url": "file:///etc/passwd"}, "must be an http:// or https:// URL"),
    ],
)  # fmt: skip
def test_bad_rules_and_webhooks_are_refused_and_nothing_is_stored(
    client, path: str, body: dict, message: str
) -> None:
    admin = client("admin")
    admin.post("api/catalog/sync")
    answer = admin.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["detail"]
    assert admin.get(path).json() == []


def test_a_webhook_pointing_at_the_service_itself_is_refused(client, eval_service: ServedApp) -> None:
    admin = client("admin")
    for url in (f"{eval_service.url}api/evaluations/webhooks", f"{eval_service.origin}/anything",
                eval_service.url.replace("127.0.0.1", "localhost") + "api/health"):  # fmt: skip
        answer = admin.post("api/evaluations/webhooks", json={"url": url})
        assert answer.status_code == 422, (url, answer.text)
        assert "points at the model service itself" in answer.json()["detail"]
    assert admin.get("api/evaluations/webhooks").json() == []


def test_a_cron_schedule_that_does_not_parse_is_refused_and_no_setup_is_stored(
    client, tmp_path: Path
) -> None:
    admin = client("admin")
    admin.post("api/catalog/sync")
    ref = _dataset(admin, tmp_path)
    bad = admin.put(
        "api/evaluations/setup", json={"model": "team/scored", "dataset": ref, "schedule": "61 * * * *"}
    )
    assert bad.status_code == 422 and "cron expression" in bad.json()["detail"], bad.text
    assert admin.get("api/evaluations/setups").json() == []
    good = admin.put(
        "api/evaluations/setup", json={"model": "team/scored", "dataset": ref, "schedule": "0 3 * * 1"}
    )
    assert good.status_code == 200, good.text
    assert good.json()["dataset_version"] == 1 and good.json()["next_slot"]
    admin.delete("api/evaluations/setup", params={"model": "team/scored"})


def test_an_expert_answers_a_request_with_mlk_requests_through_the_service(
    client,
    eval_service: ServedApp,
    token_hub: TokenHub,
    tmp_path: Path,
) -> None:
    admin = client("admin")
    admin.post("api/catalog/sync")
    created = admin.post("api/requests", json={"model": "team/scored", "reason": "accuracy fell on new data"})
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert client("user").get(f"api/requests/{request_id}").status_code == 403
    env = {
        **os.environ,
        "MLK_SERVICE_URL": eval_service.url,
        "MLK_SERVICE_TOKEN": token_hub.tokens["expert"],
        "MLK_DATA_DIR": str(tmp_path / "unused"),
    }

    def mlk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mlrun_kernel.cli", *args], env=env, capture_output=True, text=True
        )

    listed = mlk("requests", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert request_id in [r["id"] for r in json.loads(listed.stdout)]
    shown = mlk("requests", "show", request_id)
    assert "accuracy fell on new data" in shown.stdout and f"resolves: {request_id}" in shown.stdout
    assert mlk("requests", "ack", request_id).returncode == 0
    again = mlk("requests", "ack", request_id)
    assert again.returncode == 1 and "only an open request can be acknowledged" in again.stderr
    closed = mlk("requests", "close", request_id, "--reason", "the data was mislabelled", "--json")
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["state"] == "closed"
    assert admin.get(f"api/requests/{request_id}").json()["closed_by"] == "eve"
    history = mlk("metrics", "team/scored", "--since", "30d", "--json")
    assert history.returncode == 0 and json.loads(history.stdout) == []
    assert not (tmp_path / "unused" / "mlrun-kernel.sqlite").exists()


def test_experts_see_their_open_requests_in_the_jupyterlab_widget(
    client, eval_service: ServedApp, token_hub: TokenHub
) -> None:
    from mlrun_kernel.client import Client
    from mlrun_kernel.widgets.requests import OpenRequests

    admin = client("admin")
    admin.post("api/catalog/sync")
    created = admin.post(
        "api/requests", json={"model": "team/scored", "reason": "please retrain on May data"}
    )
    request_id = created.json()["id"]
    with Client(eval_service.url, token=token_hub.tokens["expert"]) as expert:
        widget = OpenRequests(expert)
        cards = {card.children[0].children[0]: card for card in widget.box.children}
        title = next(t for t in cards if request_id in t)
        assert title.startswith("team/scored")
        ack = cards[title].children[-1].children[0]
        ack.fire_event("click", {})
        assert expert.get_request(request_id)["state"] == "acknowledged"
        assert widget.status.children == [f"{request_id} acknowledged"]
    with Client(eval_service.url, token=token_hub.tokens["user"]) as user:
        refused = OpenRequests(user)
        assert refused.status.type == "error" and refused.box.children == []
