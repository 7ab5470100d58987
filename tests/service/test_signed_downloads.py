"""Signed download URLs are checked again when they are used: unsharing or deleting a
dataset stops its URLs at once, and expiry follows the service's clock (moved by the test)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.service.helpers import ServedApp

pytestmark = [pytest.mark.hub, pytest.mark.registry]

CSV = b"a,b\n1,2\n3,4\n"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(service: ServedApp) -> Iterator[Clock]:
    """The service's signed URLs run on this clock for the test."""
    kept = service.platform.clock
    service.platform.clock = Clock()
    yield service.platform.clock
    service.platform.clock = kept


@pytest.fixture
def browser(service: ServedApp) -> Iterator[httpx.Client]:
    """A browser with no token: it has only the signed URL."""
    with httpx.Client(base_url=service.origin, timeout=30) as client:
        yield client


def upload(client: httpx.Client, name: str, data: bytes = CSV) -> None:
    upload_id = client.post("api/uploads", json={"filename": f"{name}.csv", "size": len(data)}).json()["id"]
    assert client.patch(f"api/uploads/{upload_id}", params={"offset": 0}, content=data).status_code == 200
    done = client.post(f"api/uploads/{upload_id}/complete", json={"name": name})
    assert done.status_code == 201, done.text


def download_url(client: httpx.Client, ref: str) -> str:
    answer = client.post(f"api/datasets/{ref}/download-url")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["url"])


def test_a_group_members_link_stops_working_when_the_owner_unshares(
    as_role: Callable[[str], httpx.Client], browser: httpx.Client
) -> None:
    uma, ben = as_role("user"), as_role("user2")
    name = f"unshare-{uuid.uuid4().hex[:6]}"
    upload(uma, name)
    uma.put(f"api/datasets/uma/{name}/sharing", json={"visibility": "group", "group": "model-users"})
    link = download_url(ben, f"uma/{name}")
    assert browser.get(link).content == CSV

    assert uma.put(f"api/datasets/uma/{name}/sharing", json={"visibility": "private"}).status_code == 200
    refused = browser.get(link)
    assert refused.status_code == 403
    assert "no longer works" in refused.json()["detail"]
    # The owner's own link is not affected by the owner's sharing.
    assert browser.get(download_url(uma, f"uma/{name}")).content == CSV


def test_a_link_stops_working_when_the_dataset_is_deleted_even_if_made_again(
    as_role: Callable[[str], httpx.Client], browser: httpx.Client
) -> None:
    uma = as_role("user")
    name = f"deleted-{uuid.uuid4().hex[:6]}"
    upload(uma, name)
    link = download_url(uma, f"uma/{name}")
    assert browser.get(link).content == CSV

    assert uma.delete(f"api/datasets/uma/{name}").status_code == 204
    gone = browser.get(link)
    assert gone.status_code == 403 and "no longer works" in gone.json()["detail"]
    # Same owner, name, version and path, other bytes: the old link does not fetch them.
    upload(uma, name, b"a,b\n9,9\n")
    again = browser.get(link)
    assert again.status_code == 403 and "not the content it was made for" in again.json()["detail"]


def test_a_link_works_until_it_expires_by_the_services_clock(
    service: ServedApp, as_role: Callable[[str], httpx.Client], browser: httpx.Client, clock: Clock
) -> None:
    uma = as_role("user")
    name = f"expiry-{uuid.uuid4().hex[:6]}"
    upload(uma, name)
    link = download_url(uma, f"uma/{name}")
    life = service.platform.config.signed_url_seconds

    clock.advance(life - 1)
    assert browser.get(link).content == CSV
    clock.advance(2)
    expired = browser.get(link)
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]


def test_an_upload_link_expires_by_the_services_clock(
    as_role: Callable[[str], httpx.Client], browser: httpx.Client, clock: Clock, service: ServedApp
) -> None:
    uma = as_role("user")
    upload_id = uma.post("api/uploads", json={"filename": "late.csv"}).json()["id"]
    link = uma.post(f"api/uploads/{upload_id}/signed-url").json()["url"]
    clock.advance(service.platform.config.signed_url_seconds + 1)
    late = browser.patch(link + "&offset=0", content=CSV)
    assert late.status_code == 403 and "expired" in late.json()["detail"]
    assert uma.get(f"api/uploads/{upload_id}").json()["received"] == 0
