"""DatasetPicker and the browser upload's kernel side, driven in pytest against the real service.

What the browser's script does (PATCH the bytes to the signed URL) is done
here with httpx, without a token, exactly as the page sends them; the rest is
the widget's own Python, called as its events call it.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlrun_kernel.client import Client, NotFound
from mlrun_kernel.widgets.datasets import DatasetPicker, accepts, dataset_rows, human_bytes, preview_view
from mlrun_kernel.widgets.upload import UploadSteps, default_dataset_name
from tests.service.helpers import ServedApp

pytestmark = [pytest.mark.docker]


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny, grey) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def texts(widget: Any) -> str:
    """Every string in a widget tree, as a person would read the page."""
    found: list[str] = []

    def walk(w: Any) -> None:
        if isinstance(w, str):
            found.append(w)
            return
        for attr in ("title", "subtitle", "text", "label"):
            value = getattr(w, attr, None)
            if isinstance(value, str) and value:
                found.append(value)
        for child in getattr(w, "children", None) or []:
            walk(child)

    walk(widget)
    return " ".join(found)


def browser_send(service: ServedApp, answer: dict[str, Any], data: bytes) -> dict[str, Any]:
    """What upload.vue does: PATCH the bytes at the offset to the signed URL, with no token."""
    response = httpx.patch(
        service.origin + answer["url"] + f"&offset={answer['offset']}",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def ben(client_for: Callable[[str], Client]) -> Client:
    return client_for("user2")


# ---- plain logic -------------------------------------------------------------------


def test_media_type_rules_are_the_runners():
    assert accepts("text/csv", ["text/csv"])
    assert accepts("image/png", ["image/*"])
    assert accepts("anything/else", None) and accepts("anything/else", [])
    assert not accepts("image/png", ["text/csv", "text/tab-separated-values"])
    assert (
        human_bytes(512) == "512 B"
        and human_bytes(1536) == "1.5 KiB"
        and human_bytes(2 * 1024**3) == "2.0 GiB"
    )
    assert default_dataset_name("Sales 2024.csv") == "Sales 2024"
    assert default_dataset_name(".profile") == ".profile"


def test_rows_put_yours_first_and_grey_out_what_the_input_does_not_take():
    def dataset(owner: str, name: str, media_type: str) -> Any:
        return {
            "ref": f"{owner}/{name}",
            "owner": owner,
            "name": name,
            "latest_version": 2,
            "size": 2048,
            "media_type": media_type,
            "visibility": "public",
        }

    rows = dataset_rows(
        [dataset("ben", "a-prices", "text/csv"), dataset("uma", "z-photo", "image/png")], ["text/csv"], "uma"
    )
    assert [r.ref for r in rows] == ["uma/z-photo", "ben/a-prices"]
    photo, prices = rows
    assert not photo.accepted and photo.reason == "This input takes text/csv; this dataset is image/png."
    assert prices.accepted and prices.reason is None
    assert prices.summary == "v2 · 2.0 KiB · text/csv · shared by ben"
    assert photo.summary.endswith("· yours")


# ---- against the service --------------------------------------------------------------


def test_the_picker_lists_your_datasets_and_shared_ones_but_not_others_private_ones(
    uma: Client, ben: Client, tmp_path: Path
):
    mine = uma.upload_dataset(b"day,sales\n1,10\n2,12\n", unique("mine"), filename="mine.csv")
    shared = ben.upload_dataset(b"item,price\npen,2.5\n", unique("prices"), filename="prices.csv")
    ben.share_dataset(shared["ref"], "public")
    private = ben.upload_dataset(b"secret,1\n", unique("secret"), filename="secret.csv")

    picker = DatasetPicker(uma, media_types=["text/csv"], label="Sales")
    refs = [r.ref for r in picker.rows]
    assert mine["ref"] in refs and shared["ref"] in refs
    assert private["ref"] not in refs
    assert refs.index(mine["ref"]) < refs.index(shared["ref"]), "yours come first"
    listed = texts(picker)
    assert f"{shared['ref']}" in listed and "shared by ben" in listed
    assert f"v1 · {human_bytes(mine['size'])} · text/csv · yours" in listed
    assert "Sales (accepts text/csv)" in listed


def test_datasets_of_another_media_type_are_greyed_out_and_cannot_be_chosen(uma: Client):
    photo = uma.upload_dataset(png_bytes(), unique("photo"), filename="photo.png")
    picker = DatasetPicker(uma, media_types=["text/csv"])
    row = picker.row(photo["ref"])
    assert row is not None and not row.accepted
    item = next(i for i in picker._list.children if getattr(i, "title", None) == photo["ref"])
    assert item.disabled
    assert "This input takes text/csv; this dataset is image/png." in item.subtitle
    picker.select(photo["ref"])
    assert picker.value is None
    assert "cannot be used here" in texts(picker.notice)


def test_choosing_a_dataset_sets_the_value_and_shows_the_table_preview_with_column_types(
    uma: Client, sales_dataset: dict[str, Any]
):
    picker = DatasetPicker(uma, media_types=["text/csv"])
    seen: list[Any] = []
    picker.observe(lambda change: seen.append(change["new"]), "value")
    picker.select(sales_dataset["ref"])
    assert picker.value == {"dataset": sales_dataset["ref"], "version": sales_dataset["version"]}
    assert seen == [picker.value]
    assert picker.preview is not None and picker.preview["kind"] == "table"
    shown = texts(picker._preview)
    assert "date" in shown and "sales" in shown and "float" in shown, shown
    assert f"Chosen: {sales_dataset['ref']} version {sales_dataset['version']}" in texts(picker)


def test_an_older_version_can_be_chosen(uma: Client):
    name = unique("growing")
    uma.upload_dataset(b"x\n1\n", name, filename="growing.csv")
    v2 = uma.upload_dataset(b"x\n1\n2\n3\n", name, filename="growing.csv")
    picker = DatasetPicker(uma)
    picker.select(v2["ref"])
    assert picker.value == {"dataset": v2["ref"], "version": 2}
    assert [item["value"] for item in picker._version.items] == [2, 1]
    picker._version.v_model = 1
    assert picker.value == {"dataset": v2["ref"], "version": 1}
    assert picker.preview is not None and len(picker.preview["rows"]) == 1


def test_image_and_text_previews_are_shown_as_such(uma: Client):
    photo = uma.upload_dataset(png_bytes(), unique("pic"), filename="pic.png")
    notes = uma.upload_dataset(b"first line\nsecond line\n", unique("notes"), filename="notes.txt")
    picker = DatasetPicker(uma)
    picker.select(photo["ref"])
    assert picker.preview is not None and picker.preview["kind"] == "image"
    image = picker._preview.children[0]
    assert "mlk-preview-image" in image.class_ and "4 x 3 px" in texts(image)
    thumbnails = [c for c in image.children if getattr(c, "tag", "") == "img"]
    assert thumbnails and thumbnails[0].attributes["src"].startswith("data:image/")
    picker.select(notes["ref"])
    assert "first line" in texts(picker._preview) and "mlk-preview-text" in picker._preview.children[0].class_
    assert "nothing" in texts(preview_view({"kind": "none", "reason": "nothing to show"}))


def test_a_value_set_from_outside_is_shown_and_one_that_is_gone_is_refused(
    uma: Client, sales_dataset: dict[str, Any]
):
    picker = DatasetPicker(uma, media_types=["text/csv"])
    picker.value = {"dataset": sales_dataset["ref"], "version": sales_dataset["version"]}
    assert picker.preview is not None and picker.preview["kind"] == "table"
    assert f"Chosen: {sales_dataset['ref']}" in texts(picker)
    picker.value = {"dataset": "uma/never-was", "version": 1}
    assert picker.value == {"dataset": sales_dataset["ref"], "version": sales_dataset["version"]}
    assert "There is no dataset uma/never-was" in texts(picker.notice)


def test_a_service_that_does_not_answer_is_said_in_plain_words():
    picker = DatasetPicker(Client("http://127.0.0.1:9/services/models/", token="x", timeout=2))
    shown = texts(picker.notice)
    assert "cannot be reached" in shown and "Traceback" not in shown
    assert picker.value is None and picker.rows == []


# ---- the upload's kernel side --------------------------------------------------------------


def test_a_browser_upload_resumes_from_the_offset_the_service_kept(widget_service: ServedApp, uma: Client):
    data = b"n,square\n" + b"".join(f"{i},{i * i}\n".encode() for i in range(20000))
    half = len(data) // 2
    steps = UploadSteps(uma)
    first = steps.begin("squares.csv", len(data))
    assert first["offset"] == 0 and not first["resumed"]
    assert first["url"].startswith("/services/models/api/signed/uploads/"), "a path: the page's own origin"
    assert "token" not in first["url"]
    browser_send(widget_service, first, data[:half])

    # A reload: the page asks again with the id it kept, and goes on where the service stopped.
    again = steps.begin("squares.csv", len(data), resume=first["id"])
    assert again["id"] == first["id"] and again["resumed"] and again["offset"] == half
    browser_send(widget_service, again, data[half:])
    version = steps.finish(first["id"], unique("squares"))
    assert version["size"] == len(data) and version["media_type"] == "text/csv"


def test_a_stale_or_foreign_resume_id_starts_a_new_upload_and_says_why(uma: Client):
    steps = UploadSteps(uma)
    other = steps.begin("other.csv", 100)
    fresh = steps.begin("mine.csv", 100, resume=other["id"])
    assert fresh["id"] != other["id"] and fresh["offset"] == 0
    assert "another file" in fresh["note"]
    steps.cancel(other["id"])
    gone = steps.begin("other.csv", 100, resume=other["id"])
    assert gone["id"] != other["id"] and "no longer had" in gone["note"]
    steps.cancel(fresh["id"])
    steps.cancel(gone["id"])


def test_the_upload_widget_stores_the_file_and_the_picker_chooses_it(widget_service: ServedApp, uma: Client):
    picker = DatasetPicker(uma, media_types=["text/csv"])
    upload = picker.upload
    told: list[dict[str, Any]] = []
    upload.send = told.append  # what would go to the page's script
    data = b"city,visitors\nLyon,12\nOslo,7\n"
    name = unique("visits")
    upload.vue_chosen({"name": "visits.csv", "size": len(data)})
    assert upload.dataset_name == "visits"
    upload.dataset_name = name
    upload.vue_begin({"name": "visits.csv", "size": len(data), "resume": None})
    go = told[-1]
    assert go["method"] == "go" and upload.phase == "sending"
    browser_send(widget_service, go["args"][0], data)
    upload.vue_finished({"id": go["args"][0]["id"], "received": len(data)})
    assert upload.phase == "done" and told[-1]["method"] == "stored"
    ref = f"uma/{name}"
    assert upload.result == f"Stored {ref} version 1."
    assert picker.value == {"dataset": ref, "version": 1}
    assert picker.row(ref) is not None


def test_a_bad_dataset_name_keeps_the_bytes_so_it_can_be_stored_again(widget_service: ServedApp, uma: Client):
    upload = DatasetPicker(uma).upload
    told: list[dict[str, Any]] = []
    upload.send = told.append
    data = b"a,b\n1,2\n"
    upload.dataset_name = "no/slashes"
    upload.vue_begin({"name": "ab.csv", "size": len(data)})
    answer = told[-1]["args"][0]
    browser_send(widget_service, answer, data)
    upload.vue_finished({"id": answer["id"]})
    assert upload.phase == "uploaded"
    assert "Could not store 'no/slashes'" in texts(upload.notice) and "Traceback" not in texts(upload.notice)
    upload.dataset_name = unique("fixed")
    upload.vue_finished({"id": answer["id"]})
    assert upload.phase == "done" and upload.version is not None and upload.version["size"] == len(data)


def test_cancel_aborts_the_upload_on_the_service(widget_service: ServedApp, uma: Client):
    upload = DatasetPicker(uma).upload
    told: list[dict[str, Any]] = []
    upload.send = told.append
    upload.dataset_name = unique("dropped")
    upload.vue_begin({"name": "dropped.csv", "size": 10_000})
    answer = told[-1]["args"][0]
    browser_send(widget_service, answer, b"x" * 4000)
    upload.vue_cancel({"id": answer["id"]})
    assert upload.phase == "cancelled" and upload.result == "Upload cancelled; nothing was kept."
    with pytest.raises(NotFound):
        uma.upload_status(answer["id"])
