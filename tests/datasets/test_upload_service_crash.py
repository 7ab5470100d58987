"""The model service killed with SIGKILL in the middle of an upload: when it is back, the
offset it reports is backed by the bytes on disk, and the upload resumed from there is whole.

This is the durability rule of uploads (docs/datasets.md): progress is recorded only
after an fsync that covers it, every ``upload_checkpoint_bytes`` while a request
streams and once at its end, never per piece; whatever lies past the recorded offset
is cut when the upload resumes; the digest is of the bytes stored (re-read from the
part file by a process that did not receive them all).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mlrun_kernel.client import Client
from tests.datasets.conftest import MiB
from tests.service.helpers import service_process

TOKEN = "crash-test-token"
PREFIX = "/services/models/"
SIZE = 24 * MiB
CHECKPOINT = 1 * MiB


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(data: Path, port: int) -> subprocess.Popen[bytes]:
    """The service as its own process on ``data``; returns once it answers."""
    env = {
        **os.environ,
        "MLK_DATA_DIR": str(data / "data"),
        "MLK_DATABASE_URL": f"sqlite:///{data / 'store.sqlite'}",
        "MLK_REGISTRY_URL": f"http://127.0.0.1:{free_port()}",  # none: the catalog is not used
        "MLK_SERVICE_STATIC_TOKEN": TOKEN,
        "MLK_SERVICE_RUN_EXECUTOR": "0",
        "MLK_UPLOAD_CHECKPOINT_BYTES": str(CHECKPOINT),
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
    }
    return service_process(env, port, timeout=60)


@pytest.fixture
def content() -> bytes:
    """A CSV whose rows all differ, so any misplaced byte changes the digest."""
    rows = b"".join(b"%d,%d\n" % (i, i * 7919 % 100_003) for i in range(SIZE // 8))
    return (b"row,value\n" + rows)[:SIZE]


def test_the_service_killed_mid_upload_resumes_from_its_reported_offset(
    tmp_path: Path, content: bytes
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}{PREFIX}"
    service = start_service(tmp_path, port)
    halfway = threading.Event()
    try:
        with Client(url, token=TOKEN) as client:
            upload = client.start_upload("sensors.csv", len(content))

        def body() -> Iterator[bytes]:
            """Sends 10 MiB, then stalls with the request open, as over a slow network."""
            for start in range(0, 10 * MiB, MiB):
                yield content[start : start + MiB]
            halfway.set()
            time.sleep(60)  # the service is killed meanwhile
            yield content[10 * MiB :]

        def send() -> None:
            headers = {"Authorization": f"token {TOKEN}"}
            # The connection dies with the service.
            with (
                httpx.Client(base_url=url, headers=headers, timeout=90) as http,
                contextlib.suppress(httpx.HTTPError),
            ):
                http.patch(f"api/uploads/{upload['id']}", params={"offset": 0}, content=body())

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        assert halfway.wait(60), "the body was not taken"
        with Client(url, token=TOKEN) as client:
            deadline = time.monotonic() + 60
            while client.upload_status(upload["id"])["received"] < 4 * MiB:
                assert time.monotonic() < deadline, "no checkpoint was recorded while streaming"
                time.sleep(0.05)
    finally:
        service.send_signal(signal.SIGKILL)  # no handler, no final checkpoint, no cleanup
        service.wait()

    part = tmp_path / "data" / "uploads" / f"{upload['id']}.part"
    on_disk = part.read_bytes()
    service = start_service(tmp_path, port)
    try:
        with Client(url, token=TOKEN) as client:
            received = client.upload_status(upload["id"])["received"]
            # The offset the service reports is backed by the very bytes that were sent.
            assert 4 * MiB <= received <= 10 * MiB
            assert len(on_disk) >= received and on_disk[:received] == content[:received]

            version = client.upload_dataset(content, "sensors", filename="sensors.csv", resume=upload["id"])
            assert version["size"] == len(content)
            assert version["sha256"] == hashlib.sha256(content).hexdigest()
            stored = client.download_dataset("admin/sensors", tmp_path / "back.csv")
            assert stored.read_bytes() == content
    finally:
        service.terminate()
        service.wait(timeout=30)


class ClientGone(Exception):
    pass


def test_a_client_that_drops_mid_request_resumes_from_what_the_service_kept(
    tmp_path: Path, content: bytes
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}{PREFIX}"
    service = start_service(tmp_path, port)
    try:
        with Client(url, token=TOKEN) as client:
            upload = client.start_upload("sensors.csv", len(content))

            def body() -> Iterator[bytes]:
                for start in range(0, 9 * MiB, MiB):
                    yield content[start : start + MiB]
                raise ClientGone("the notebook's kernel was interrupted")

            headers = {"Authorization": f"token {TOKEN}", "Content-Length": str(len(content))}
            with httpx.Client(base_url=url, headers=headers) as http, pytest.raises(ClientGone):
                http.patch(f"api/uploads/{upload['id']}", params={"offset": 0}, content=body())

            # Once the dropped request has let go of the upload, an empty chunk at the
            # reported offset is accepted: that offset is final.
            auth = {"Authorization": f"token {TOKEN}"}
            with httpx.Client(base_url=url, headers=auth) as http:
                deadline = time.monotonic() + 30
                while True:
                    received = client.upload_status(upload["id"])["received"]
                    at = {"offset": received}
                    probe = http.patch(f"api/uploads/{upload['id']}", params=at, content=b"")
                    if probe.status_code == 200:
                        break
                    assert probe.status_code == 409, probe.text  # still receiving, or moved on
                    assert time.monotonic() < deadline, "the dropped request never let go"
                    time.sleep(0.05)
            assert 0 < received <= 9 * MiB  # what arrived is kept
            version = client.upload_dataset(content, "sensors", filename="sensors.csv", resume=upload["id"])
            assert version["sha256"] == hashlib.sha256(content).hexdigest()
    finally:
        service.terminate()
        service.wait(timeout=30)
