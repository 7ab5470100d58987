"""Notifications survive the model service: a fine-tune request's webhook is written to the
outbox with the request, retried while the receiver fails, still owed after the service is
killed mid-retry, and delivered exactly once by the services started after it (two at once,
on the same store: one claims it), with every attempt in the delivery log."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mlrun_kernel.evaluations.notify import add_webhook, list_deliveries
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import NotificationOutbox
from tests.evaluations.conftest import MODEL, WebhookReceiver
from tests.service.helpers import free_port, service_process, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.registry]

TOKEN = "outbox-test-token"
PREFIX = "/services/models/"


def start_service(store: Store, data: Path, registry_url: str, port: int) -> subprocess.Popen[bytes]:
    """The service as a process of its own on ``store``; returns once it answers."""
    env = {
        **os.environ,
        "MLK_DATA_DIR": str(data),
        "MLK_DATABASE_URL": str(store.engine.url),
        "MLK_REGISTRY_URL": registry_url,
        "MLK_SERVICE_STATIC_TOKEN": TOKEN,
        "MLK_SERVICE_STATIC_USER": "ada",
        "MLK_SERVICE_RUN_EXECUTOR": "0",
        "MLK_EVAL_WEBHOOK_ATTEMPTS": "20",
        "MLK_EVAL_WEBHOOK_BACKOFF_SECONDS": "0.4",
        "MLK_EVAL_WEBHOOK_TIMEOUT_SECONDS": "2",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
    }
    return service_process(env, port, timeout=90)


@pytest.fixture
def services() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_webhook_owed_when_the_service_is_killed_is_sent_once_after_the_restart(
    eval_store: Store,
    tmp_path: Path,
    registry_url: str,
    webhook_receiver: WebhookReceiver,
    services: list[subprocess.Popen[bytes]],
) -> None:
    add_webhook(eval_store, "ada", webhook_receiver.url, (), secret="outbox-webhook-secret")
    webhook_receiver.fail_first = 10**6  # the receiver is down
    port = free_port()
    first = start_service(eval_store, tmp_path / "data", registry_url, port)
    services.append(first)
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}{PREFIX}", headers={"Authorization": f"token {TOKEN}"}
    ) as api:
        answer = api.post("api/requests", json={"model": MODEL, "reason": "accuracy fell on new data"})
        assert answer.status_code == 201, answer.text
        request_id = answer.json()["id"]

    wait_for(lambda: len(webhook_receiver.answers) >= 2, timeout=30)
    first.send_signal(signal.SIGKILL)  # mid-retry: attempts failed, more are owed
    first.wait(30)
    failed_before = len(webhook_receiver.answers)
    with eval_store.session() as s:
        (row,) = s.scalars(select(NotificationOutbox).where(NotificationOutbox.request_id == request_id))
        assert row.state == "pending" and row.event == "request.opened"
        event_id = row.event_id

    webhook_receiver.fail_first = 0  # the receiver answers now
    ports = [free_port(), free_port()]
    services += [start_service(eval_store, tmp_path / "data", registry_url, p) for p in ports]

    def done() -> bool:
        with eval_store.session() as s:
            return s.scalar(select(NotificationOutbox.state).where(NotificationOutbox.id == row.id)) == "done"

    wait_for(done, timeout=60)
    time.sleep(3)  # time enough for a second sender to send it again, were it able to
    delivered = [
        r for r in webhook_receiver.delivered("request.opened") if r["headers"]["X-MLK-Delivery"] == event_id
    ]
    assert len(delivered) == 1, "exactly one delivery to the receiver that answers"
    assert delivered[0]["body"]["request"]["id"] == request_id
    assert len(webhook_receiver.answers) == failed_before + 1
    log = sorted(
        (d for d in list_deliveries(eval_store, request_id=request_id) if d.event_id == event_id),
        key=lambda d: d.attempt,
    )
    # Every attempt is in the log (but one the kill cut short before it was written).
    assert [d.ok for d in log] == [False] * (len(log) - 1) + [True]
    assert failed_before - 1 <= len(log) - 1 <= failed_before
    assert [d.attempt for d in log] == list(range(1, len(log) + 1))
    assert all(d.status == 500 for d in log[:-1]) and log[-1].status == 200
