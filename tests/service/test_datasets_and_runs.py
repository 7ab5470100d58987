"""Datasets and runs over the API: uploads in chunks, signed URLs, sharing, 422 with JSON
pointers, pagination, SSE, and no way into another user's private dataset or run."""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from mlrun_kernel.client import Client, InvalidRequest, NotFound
from mlrun_kernel.service.threads import QUICK_THREADS
from tests.service.helpers import ServedApp

pytestmark = [pytest.mark.hub, pytest.mark.registry]

CSV = b"a,b\n1,2\n3,4\n5,6\n"


def _upload(client: httpx.Client, name: str, data: bytes = CSV, chunk: int = 7, **complete: Any) -> dict:
    started = client.post("api/uploads", json={"filename": f"{name}.csv", "size": len(data)})
    assert started.status_code == 201, started.text
    upload_id = started.json()["id"]
    for offset in range(0, len(data), chunk):
        sent = client.patch(
            f"api/uploads/{upload_id}", params={"offset": offset}, content=data[offset : offset + chunk]
        )
        assert sent.status_code == 200, sent.text
    done = client.post(f"api/uploads/{upload_id}/complete", json={"name": name, **complete})
    assert done.status_code == 201, done.text
    return dict(done.json())


def _run(client: httpx.Client, dataset: str, **parameters: Any) -> dict:
    body = {"model": "team/churn", "inputs": {"data": dataset}, "parameters": parameters}
    response = client.post("api/runs", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_upload_resumes_after_an_interruption_and_previews(as_role: Callable[[str], httpx.Client]) -> None:
    uma = as_role("user")
    name = f"resume-{uuid.uuid4().hex[:6]}"
    upload_id = uma.post("api/uploads", json={"filename": "x.csv", "size": len(CSV)}).json()["id"]
    assert uma.patch(f"api/uploads/{upload_id}", params={"offset": 0}, content=CSV[:5]).status_code == 200
    # A chunk at the wrong offset says where to resume.
    wrong = uma.patch(f"api/uploads/{upload_id}", params={"offset": 2}, content=CSV[2:])
    assert wrong.status_code == 409 and wrong.json()["expected_offset"] == 5
    resume_at = uma.get(f"api/uploads/{upload_id}").json()["received"]
    assert resume_at == 5
    uma.patch(f"api/uploads/{upload_id}", params={"offset": resume_at}, content=CSV[resume_at:])
    version = uma.post(f"api/uploads/{upload_id}/complete", json={"name": name}).json()
    assert version["size"] == len(CSV) and version["media_type"] == "text/csv"
    preview = uma.get(f"api/datasets/uma/{name}/preview").json()
    assert preview["kind"] == "table" and [c["name"] for c in preview["columns"]] == ["a", "b"]
    assert uma.get(f"api/datasets/uma/{name}/download").content == CSV
    again = _upload(uma, name, CSV + b"7,8\n")
    assert again["version"] == 2
    detail = uma.get(f"api/datasets/uma/{name}").json()
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert uma.get(f"api/datasets/uma/{name}/download", params={"version": 1}).content == CSV


def test_signed_urls_send_and_fetch_without_a_token_and_cannot_be_altered(
    service: ServedApp, as_role: Callable[[str], httpx.Client]
) -> None:
    uma = as_role("user")
    name = f"signed-{uuid.uuid4().hex[:6]}"
    upload_id = uma.post("api/uploads", json={"filename": "s.csv"}).json()["id"]
    signed = uma.post(f"api/uploads/{upload_id}/signed-url").json()
    assert signed["method"] == "PATCH"
    with httpx.Client(base_url=service.origin, timeout=30) as browser:  # no token
        sent = browser.patch(signed["url"] + "&offset=0", content=CSV)
        assert sent.status_code == 200, sent.text
        tampered = signed["url"].replace("user=uma", "user=ben") + "&offset=0"
        assert browser.patch(tampered, content=CSV).status_code == 403
    uma.post(f"api/uploads/{upload_id}/complete", json={"name": name})
    link = uma.post(f"api/datasets/uma/{name}/download-url").json()
    with httpx.Client(base_url=service.origin, timeout=30) as browser:
        assert browser.get(link["url"]).content == CSV
        assert browser.get(link["url"].replace("version=1", "version=2")).status_code == 403
        assert browser.get(link["url"][:-4] + "0000").status_code == 403
        expired = link["url"].replace(f"expires={link['expires']}", "expires=1000")
        assert browser.get(expired).status_code == 403


def test_a_user_cannot_reach_another_users_private_dataset_or_run(
    as_role: Callable[[str], httpx.Client],
) -> None:
    uma, ben, ada = as_role("user"), as_role("user2"), as_role("admin")
    name = f"private-{uuid.uuid4().hex[:6]}"
    _upload(uma, name)
    run = _run(uma, f"uma/{name}")
    upload_id = uma.post("api/uploads", json={"filename": "p.csv"}).json()["id"]

    # ben sees none of it, by listing or by guessing ids and names: 404 as if it did not exist.
    assert name not in [d["name"] for d in ben.get("api/datasets").json()]
    for method, path in [
        ("GET", f"api/datasets/uma/{name}"),
        ("GET", f"api/datasets/uma/{name}/preview"),
        ("GET", f"api/datasets/uma/{name}/files"),
        ("GET", f"api/datasets/uma/{name}/download"),
        ("POST", f"api/datasets/uma/{name}/download-url"),
        ("DELETE", f"api/datasets/uma/{name}"),
        ("GET", f"api/uploads/{upload_id}"),
        ("PATCH", f"api/uploads/{upload_id}?offset=0"),
        ("POST", f"api/uploads/{upload_id}/signed-url"),
        ("DELETE", f"api/uploads/{upload_id}"),
        ("GET", f"api/runs/{run['id']}"),
        ("GET", f"api/runs/{run['id']}/queue"),
        ("GET", f"api/runs/{run['id']}/logs"),
        ("GET", f"api/runs/{run['id']}/logs/stream"),
        ("GET", f"api/runs/{run['id']}/outputs"),
        ("GET", f"api/runs/{run['id']}/outputs/predictions.csv"),
        ("POST", f"api/runs/{run['id']}/cancel"),
        ("POST", f"api/runs/{run['id']}/rerun"),
        ("DELETE", f"api/runs/{run['id']}"),
    ]:
        response = ben.request(method, path, content=b"x" if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
    share = ben.put(f"api/datasets/uma/{name}/sharing", json={"visibility": "public"})
    assert share.status_code == 404
    complete = ben.post(f"api/uploads/{upload_id}/complete", json={"name": "stolen"})
    assert complete.status_code == 404
    # nor can ben use uma's dataset in a run of his own
    stolen = ben.post("api/runs", json={"model": "team/churn", "inputs": {"data": f"uma/{name}"}})
    assert stolen.status_code == 422
    assert run["id"] not in [r["id"] for r in ben.get("api/runs").json()["runs"]]
    assert ben.get("api/runs", params={"owner": "uma"}).status_code == 403

    # Still there, untouched; the admin sees everything.
    assert uma.get(f"api/runs/{run['id']}").json()["state"] == "queued"
    assert ada.get(f"api/datasets/uma/{name}").status_code == 200
    assert run["id"] in [r["id"] for r in ada.get("api/runs", params={"owner": "uma"}).json()["runs"]]


def test_sharing_with_a_group_lets_members_read_but_not_change(
    as_role: Callable[[str], httpx.Client],
) -> None:
    uma, ben, eve = as_role("user"), as_role("user2"), as_role("expert")
    name = f"shared-{uuid.uuid4().hex[:6]}"
    _upload(uma, name)
    shared = uma.put(f"api/datasets/uma/{name}/sharing", json={"visibility": "group", "group": "model-users"})
    assert shared.status_code == 200 and shared.json()["visibility"] == "group"
    assert ben.get(f"api/datasets/uma/{name}/download").content == CSV
    assert ben.delete(f"api/datasets/uma/{name}").status_code == 403
    assert eve.get(f"api/datasets/uma/{name}").status_code == 404  # not in model-users
    uma.put(f"api/datasets/uma/{name}/sharing", json={"visibility": "public"})
    assert eve.get(f"api/datasets/uma/{name}").status_code == 200


def test_bad_parameters_answer_422_with_json_pointers(as_role: Callable[[str], httpx.Client]) -> None:
    uma = as_role("user")
    name = f"params-{uuid.uuid4().hex[:6]}"
    _upload(uma, name)
    for parameters, pointer in [({"k": "three"}, "/k"), ({"k": 0}, "/k"), ({"nope": 1}, "/nope")]:
        body = {"model": "team/churn", "inputs": {"data": f"uma/{name}"}, "parameters": parameters}
        response = uma.post("api/runs", json=body)
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert errors and errors[0]["path"] == pointer, errors
        assert errors[0]["message"]
    for body in [
        {"model": "team/none", "inputs": {}},
        {"model": "team/churn", "task": "train", "inputs": {"data": f"uma/{name}"}},
        {"model": "team/churn", "inputs": {}},
        {"model": "team/churn", "inputs": {"data": "uma/no-such-dataset"}},
        {"model": "team/broken", "inputs": {"data": f"uma/{name}"}},
        {"model": 5},
        {},
    ]:
        response = uma.post("api/runs", json=body)
        assert response.status_code == 422, (body, response.text)


def test_runs_list_with_filters_and_pages_cancel_rerun_delete_and_audit(
    as_role: Callable[[str], httpx.Client],
) -> None:
    eve, ada = as_role("expert"), as_role("admin")
    name = f"runs-{uuid.uuid4().hex[:6]}"
    _upload(eve, name)
    made = [_run(eve, f"eve/{name}", k=i + 1) for i in range(5)]
    first = eve.get("api/runs", params={"limit": 2}).json()
    assert first["total"] >= 5 and len(first["runs"]) == 2 and first["next_offset"] == 2
    second = eve.get("api/runs", params={"limit": 2, "offset": 2}).json()
    assert not {r["id"] for r in first["runs"]} & {r["id"] for r in second["runs"]}
    queued = eve.get("api/runs", params={"state": "queued", "model": "team/churn", "limit": 500}).json()
    assert {r["id"] for r in made} <= {r["id"] for r in queued["runs"]}
    position = eve.get(f"api/runs/{made[0]['id']}/queue").json()
    assert position["state"] == "queued" and position["position"] >= 1

    # Deleting an active run is refused; cancel first.
    assert eve.delete(f"api/runs/{made[0]['id']}").status_code == 409
    cancelled = eve.post(f"api/runs/{made[0]['id']}/cancel").json()
    assert cancelled["state"] == "cancelled"
    rerun = eve.post(f"api/runs/{made[0]['id']}/rerun")
    assert rerun.status_code == 201 and rerun.json()["parameters"] == {"k": 1}
    assert rerun.json()["digest"] == made[0]["digest"]
    # A dataset a queued run uses cannot be deleted.
    assert eve.delete(f"api/datasets/eve/{name}").status_code == 409
    assert eve.delete(f"api/runs/{made[0]['id']}").status_code == 204
    assert eve.get(f"api/runs/{made[0]['id']}").status_code == 404

    audit = ada.get("api/admin/audit", params={"actor": "eve", "limit": 1000}).json()["entries"]
    actions = {(e["action"], e["object_type"]) for e in audit}
    assert {("create", "dataset"), ("run", "run"), ("cancel", "run"), ("delete", "run")} <= actions
    assert as_role("expert").get("api/admin/audit").status_code == 403


def test_live_logs_stream_states_until_the_run_ends(
    as_role: Callable[[str], httpx.Client], service: ServedApp, tokens: dict[str, str]
) -> None:
    uma = as_role("user")
    name = f"sse-{uuid.uuid4().hex[:6]}"
    _upload(uma, name)
    run = _run(uma, f"uma/{name}")
    events: list[tuple[str, Any]] = []

    def listen() -> None:
        headers = {"Authorization": f"token {tokens['user']}"}
        with httpx.stream(
            "GET", f"{service.url}api/runs/{run['id']}/logs/stream", headers=headers, timeout=30
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            event = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    events.append((event, json.loads(line[5:])))

    listener = threading.Thread(target=listen)
    listener.start()
    time.sleep(1.0)
    uma.post(f"api/runs/{run['id']}/cancel")
    listener.join(timeout=20)
    assert not listener.is_alive()
    assert events[0] == ("state", {"state": "queued", "reason": None})
    assert events[-1][0] == "end" and events[-1][1]["state"] == "cancelled"


def test_metrics_show_runs_queue_and_latency_to_admins(as_role: Callable[[str], httpx.Client]) -> None:
    text = as_role("admin").get("metrics").text
    assert 'mlk_runs{state="queued"}' in text
    assert "mlk_run_queue_length" in text
    assert "mlk_run_duration_seconds_bucket" in text
    assert 'mlk_api_request_duration_seconds_count{method="POST",route="api/runs",status="201"}' in text
    assert as_role("user").get("metrics").status_code == 403


def test_client_methods_and_errors_say_what_went_wrong(service: ServedApp, tokens: dict[str, str]) -> None:
    with Client(service.url, token=tokens["user"]) as client:
        assert client.me()["name"] == "uma"
        assert any(m["name"] == "team/churn" for m in client.list_models(task="predict"))
        name = f"client-{uuid.uuid4().hex[:6]}"
        version = client.upload_dataset(CSV, name, filename="c.csv", chunk_bytes=5)
        assert version["ref"] == f"uma/{name}" and version["size"] == len(CSV)
        assert client.preview_dataset(version["ref"])["kind"] == "table"
        with pytest.raises(InvalidRequest) as bad:
            client.start_run("team/churn", inputs={"data": version["ref"]}, parameters={"k": "x"})
        assert bad.value.status == 422 and bad.value.errors[0]["path"] == "/k"
        assert "/k:" in str(bad.value)
        run = client.start_run("team/churn", inputs={"data": version["ref"]}, parameters={"k": 2})
        assert client.get_run(run["id"])["state"] == "queued"
        assert client.cancel_run(run["id"])["state"] == "cancelled"
        with pytest.raises(NotFound) as missing:
            client.get_run("0" * 16)
        assert "no run" in str(missing.value)


def test_the_client_lets_go_of_each_chunk_once_it_is_sent(service: ServedApp, tokens: dict[str, str]) -> None:
    """Nothing may keep a sent chunk alive: httpx's request/response cycle would hold it
    until the cyclic collector ran, and a 1 GiB upload grew a notebook by 600 MiB."""
    with Client(service.url, token=tokens["user"]) as client:
        upload = client.start_upload("big.csv", 2 * 1024 * 1024)
        piece = b"a,b\n" * (256 * 1024)  # 1 MiB
        gc.disable()  # what is left must be freed by reference counting alone
        try:
            before = sys.getrefcount(piece)
            status = client.send_chunk(upload["id"], 0, piece)
            assert sys.getrefcount(piece) == before
        finally:
            gc.enable()
        assert status["received"] == len(piece)
        client.abort_upload(upload["id"])


def test_stalled_uploads_do_not_starve_quick_requests(as_role: Callable[[str], httpx.Client]) -> None:
    """Uploads wait on their clients in a pool of their own: more stalled uploads than
    the quick pool has threads, and the service still answers everything else."""
    user = as_role("user")
    stalled = QUICK_THREADS + 2
    uploads = [
        user.post("api/uploads", json={"filename": f"slow-{i}.csv"}).json()["id"] for i in range(stalled)
    ]
    release = threading.Event()
    answers: list[int] = []

    def body() -> Iterator[bytes]:
        yield b"a,b\n"
        release.wait(60)  # the client stops sending, as over a stalled network
        yield b"1,2\n"

    def send(upload_id: str) -> None:
        answer = user.patch(f"api/uploads/{upload_id}", params={"offset": 0}, content=body())
        answers.append(answer.status_code)

    def receiving(upload_id: str) -> bool:
        """A second chunk for an upload that is receiving one is refused as busy."""
        probe = user.patch(f"api/uploads/{upload_id}", params={"offset": 0}, content=b"")
        return probe.status_code == 409 and "another request" in probe.text

    senders = [threading.Thread(target=send, args=(u,)) for u in uploads]
    for t in senders:
        t.start()
    try:
        deadline = time.monotonic() + 20
        while not all(receiving(u) for u in uploads):
            assert time.monotonic() < deadline, "the uploads did not all start receiving"
            time.sleep(0.1)
        # Every upload holds a thread now; quick requests must still get theirs.
        with httpx.Client(base_url=user.base_url, headers=user.headers, timeout=10) as other:
            assert other.get("api/models").status_code == 200
            assert other.get("api/runs").status_code == 200
    finally:
        release.set()
        for t in senders:
            t.join(30)
    assert answers == [200] * stalled
    for upload_id in uploads:
        user.delete(f"api/uploads/{upload_id}")
