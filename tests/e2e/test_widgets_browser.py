"""The widgets in Voilà, in headless Chromium, against the real model service.

The page is a Voilà app (the single-user image's ``mlk`` template) behind
configurable-http-proxy, with the service under ``/services/models/`` on the
same origin, as behind the hub (tests/e2e/voila_app.py). The kernel has a
model user's hub token (uma's), as a single-user server has.

Uploads: the browser reads the file and PATCHes it to the service through the
signed URL; the kernel's memory is measured to show it never held the file.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import nbformat
import pytest

from mlrun_kernel.client import Client
from mlrun_kernel.widgets.upload import DEFAULT_CHUNK_BYTES
from tests.e2e.voila_app import VoilaApp, voila_app
from tests.service import conftest as service_fixtures
from tests.service.helpers import ServedApp
from tests.widgets import conftest as widget_fixtures
from tests.widgets.conftest import sales_rows

pytestmark = [pytest.mark.docker, pytest.mark.browser]

# The service tests' real service (in this process), its hub issuing tokens, its registry.
token_hub = service_fixtures.token_hub
service_port = service_fixtures.service_port
seeded_registry = service_fixtures.seeded_registry
service = service_fixtures.service
tokens = service_fixtures.tokens

GiB = 1024**3
MiB = 1024**2
KERNEL_RSS_LIMIT_MIB = 200


def write_notebook(path: Path, source: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def sparse_file(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that costs no disk and no time: ``head``, then a hole."""
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


@pytest.fixture(scope="module")
def app(
    service: ServedApp, tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VoilaApp]:
    notebooks = tmp_path_factory.mktemp("voila-apps")
    write_notebook(
        notebooks / "picker.ipynb",
        "from mlrun_kernel.widgets.datasets import DatasetPicker\n\nDatasetPicker(label='Sales data')",
    )
    kernel_env = {"MLK_SERVICE_URL": service.url, "MLK_SERVICE_TOKEN": tokens["user"]}
    with voila_app(notebooks, service.origin, kernel_env) as started:
        yield started


@pytest.fixture
def uma(service: ServedApp, tokens: dict[str, str]) -> Iterator[Client]:
    with Client(service.url, token=tokens["user"]) as client:
        yield client


InFlight = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def in_flight(service: ServedApp, tokens: dict[str, str]) -> InFlight:
    """``GET api/uploads`` as uma: what the service holds of her unfinished uploads."""

    def get() -> list[dict[str, Any]]:
        headers = {"Authorization": f"token {tokens['user']}"}
        response = httpx.get(service.url + "api/uploads", headers=headers, timeout=30)
        response.raise_for_status()
        return list(response.json())

    return get


class Patches:
    """The chunk requests a page sends: where each started, and to which upload."""

    def __init__(self, page: Any) -> None:
        self.sent: list[tuple[str, int]] = []
        page.on("request", self._request)

    def _request(self, request: Any) -> None:
        if request.method == "PATCH" and "/api/signed/uploads/" in request.url:
            url = urlsplit(request.url)
            self.sent.append((url.path.rsplit("/", 1)[-1], int(parse_qs(url.query)["offset"][0])))


def open_picker(page: Any, app: VoilaApp) -> None:
    page.goto(app.render_url("picker.ipynb"))
    page.locator(".mlk-dataset-picker").wait_for(timeout=90_000)
    page.locator(".mlk-dataset-upload-open").click()
    page.locator("input.mlk-upload-file").wait_for(state="attached")


def choose_and_upload(page: Any, path: Path, name: str) -> None:
    page.set_input_files("input.mlk-upload-file", str(path))
    page.locator(".mlk-upload-name input").fill(name)
    page.locator(".mlk-upload-start").click()


def wait_received(in_flight: InFlight, filename: str, at_least: int, timeout: float = 120) -> dict[str, Any]:
    """The service's record of an upload in flight once it has ``at_least`` bytes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for upload in in_flight():
            if upload["filename"] == filename and upload["received"] >= at_least:
                return dict(upload)
        time.sleep(0.05)
    raise AssertionError(f"{filename}: the service did not receive {at_least} bytes in {timeout} s")


def stored_uploads(page: Any) -> list[str]:
    return list(page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('mlk-upload:'))"))


def test_a_2_gib_file_uploads_from_the_browser_and_the_kernel_never_holds_it(
    app: VoilaApp, page: Any, uma: Client, tmp_path: Path, screenshots: Path
) -> None:
    big = sparse_file(tmp_path / "sensor-dump.bin", 2 * GiB, head=b"mlk browser upload test\n")
    patches = Patches(page)
    open_picker(page, app)
    kernels_before = set(app.kernel_pids())
    started = time.monotonic()
    choose_and_upload(page, big, "sensor dump")
    page.locator(".mlk-upload-status").wait_for(timeout=30_000)
    page.screenshot(path=str(screenshots / "widgets-upload-progress.png"))
    result = page.locator(".mlk-upload-result")
    result.wait_for(timeout=600_000)
    seconds = time.monotonic() - started
    assert "Stored uma/sensor dump version 1." in result.inner_text()

    version = uma.get_dataset("uma/sensor dump")["versions"][0]
    assert version["size"] == 2 * GiB
    assert version["sha256"] == sha256_of(big)
    # Sent in chunks of the widget's size, in order, to one upload, never twice.
    offsets = [offset for _, offset in patches.sent]
    assert offsets == list(range(0, 2 * GiB, DEFAULT_CHUNK_BYTES)), offsets
    assert len({upload for upload, _ in patches.sent}) == 1
    # The picker lists the new dataset and chose it.
    page.get_by_text("Chosen: uma/sensor dump version 1").wait_for(timeout=30_000)
    assert stored_uploads(page) == []
    # The kernel never held the file: its peak memory is far below the file's size.
    kernels = set(app.kernel_pids()) or kernels_before
    peaks = {pid: peak_rss_mib(pid) for pid in kernels}
    print(f"[e2e] 2 GiB browser upload in {seconds:.1f}s; kernel peak RSS {peaks} MiB")
    assert peaks and max(peaks.values()) < KERNEL_RSS_LIMIT_MIB
    page.screenshot(path=str(screenshots / "widgets-upload-done.png"), full_page=True)


def test_a_reload_mid_upload_resumes_from_the_offset_the_service_kept(
    app: VoilaApp, page: Any, uma: Client, in_flight: InFlight, tmp_path: Path, screenshots: Path
) -> None:
    big = sparse_file(tmp_path / "resumed.bin", 2 * GiB, head=b"resume me\n")
    patches = Patches(page)
    open_picker(page, app)
    choose_and_upload(page, big, "resumed")
    before = wait_received(in_flight, "resumed.bin", 300 * MiB)
    page.reload()  # the upload in flight dies with the page; Voilà starts a new kernel
    page.locator(".mlk-dataset-picker").wait_for(timeout=90_000)
    page.locator(".mlk-dataset-upload-open").click()
    pending = page.locator(".mlk-upload-pending")
    pending.wait_for(timeout=30_000)
    assert "resumed.bin" in pending.inner_text()
    pending.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "widgets-upload-after-reload.png"))
    kept = uma.upload_status(before["id"])["received"]
    assert kept >= before["received"]

    after_reload = len(patches.sent)
    page.set_input_files("input.mlk-upload-file", str(big))
    page.locator(".mlk-upload-start").click()
    page.locator(".mlk-upload-result").wait_for(timeout=600_000)
    assert "Stored uma/resumed version 1." in page.locator(".mlk-upload-result").inner_text()

    resumed = patches.sent[after_reload:]
    assert resumed, "no chunk was sent after the reload"
    assert {upload for upload, _ in resumed} == {before["id"]}, "the reload started another upload"
    first = resumed[0][1]
    assert first >= kept > 0
    sent_after_resume = 2 * GiB - first
    assert sent_after_resume < 2 * GiB
    status = page.locator(".mlk-upload-status")
    assert int(status.get_attribute("data-resumed-at") or "-1") == first
    assert int(status.get_attribute("data-sent-here") or "-1") == sent_after_resume
    version = uma.get_dataset("uma/resumed")["versions"][0]
    assert version["size"] == 2 * GiB and version["sha256"] == sha256_of(big)
    print(f"[e2e] reload at {kept / MiB:.0f} MiB; resumed from {first / MiB:.0f} MiB")


def test_a_dropped_network_pauses_the_upload_and_it_goes_on_when_back(
    app: VoilaApp, page: Any, uma: Client, in_flight: InFlight, tmp_path: Path
) -> None:
    data = sparse_file(tmp_path / "flaky.bin", 1 * GiB, head=b"flaky network\n")
    patches = Patches(page)
    open_picker(page, app)
    choose_and_upload(page, data, "flaky")
    wait_received(in_flight, "flaky.bin", 100 * MiB)
    page.context.set_offline(True)
    note = page.locator(".mlk-upload-note")
    note.wait_for(timeout=60_000)
    assert "Upload paused" in note.inner_text()
    page.context.set_offline(False)
    page.locator(".mlk-upload-result").wait_for(timeout=600_000)
    assert "Stored uma/flaky version 1." in page.locator(".mlk-upload-result").inner_text()
    assert len({upload for upload, _ in patches.sent}) == 1
    version = uma.get_dataset("uma/flaky")["versions"][0]
    assert version["size"] == GiB and version["sha256"] == sha256_of(data)


def test_cancel_stops_the_upload_and_the_service_forgets_it(
    app: VoilaApp, page: Any, uma: Client, in_flight: InFlight, tmp_path: Path
) -> None:
    data = sparse_file(tmp_path / "cancel-me.bin", 2 * GiB, head=b"cancel\n")
    open_picker(page, app)
    choose_and_upload(page, data, "cancelled")
    upload = wait_received(in_flight, "cancel-me.bin", 64 * MiB)
    assert stored_uploads(page), "the page keeps the upload to resume it"
    page.locator(".mlk-upload-cancel").click()
    page.get_by_text("Upload cancelled; nothing was kept.").wait_for(timeout=30_000)
    deadline = time.monotonic() + 30
    while any(u["id"] == upload["id"] for u in in_flight()):
        assert time.monotonic() < deadline, "the service still has the cancelled upload"
        time.sleep(0.1)
    assert stored_uploads(page) == []
    assert not any(d["name"] == "cancelled" for d in uma.list_datasets())


# ---- the model user's journey: launcher, picker upload, form, run, results (issue 10, point 9) ----

# The widget tests' service: run executor on, the session registry with the example models.
showcase_model = widget_fixtures.showcase_model
broken_model = widget_fixtures.broken_model
widget_service = widget_fixtures.widget_service

JOURNEY = (
    "from mlrun_kernel.widgets.launcher import RunLauncher\n\n"
    "RunLauncher('sales-forecaster', 'forecast', label='browser forecast')"
)


@pytest.fixture(scope="module")
def journey_app(
    widget_service: ServedApp, tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VoilaApp]:
    notebooks = tmp_path_factory.mktemp("voila-journey")
    write_notebook(notebooks / "forecast.ipynb", JOURNEY)
    kernel_env = {"MLK_SERVICE_URL": widget_service.url, "MLK_SERVICE_TOKEN": tokens["user"]}
    with voila_app(notebooks, widget_service.origin, kernel_env) as started:
        yield started


def test_model_user_forecasts_sales_in_voila_by_clicking_and_typing(
    journey_app: VoilaApp, page: Any, tmp_path: Path, screenshots: Path
) -> None:
    sales = tmp_path / "shop-sales.csv"
    sales.write_text(sales_rows())
    name = f"shop-{uuid.uuid4().hex[:6]}"
    page.goto(journey_app.render_url("forecast.ipynb"))
    launcher = page.locator(".mlk-launcher")
    launcher.wait_for(timeout=120_000)
    run_button = launcher.locator(".v-card-actions button").first
    page.get_by_text("To run: pick the history input").wait_for(timeout=60_000)
    assert run_button.is_disabled()

    # Upload the CSV through the history input's picker, as a person would.
    picker = launcher.locator(".mlk-dataset-picker").first
    picker.locator(".mlk-dataset-upload-open").click()
    picker.locator("input.mlk-upload-file").set_input_files(str(sales))
    name_field = picker.locator(".mlk-upload-name input")
    name_field.click()
    name_field.press("Control+A")
    name_field.type(name)
    picker.locator(".mlk-upload-start").click()
    page.get_by_text(f"Stored uma/{name} version 1.").wait_for(timeout=120_000)
    page.get_by_text(f"Chosen: uma/{name} version 1").wait_for(timeout=60_000)
    picker.locator(".mlk-preview-table").wait_for(timeout=30_000)

    # Fill the form: type a series name, and a horizon of 30 periods.
    series = page.get_by_label("Series name").first
    series.click()
    series.press("Control+A")
    series.type("Browser shop")
    periods = page.get_by_label("Periods").first
    periods.click()
    periods.press("Control+A")
    periods.type("30")
    periods.press("Tab")
    page.wait_for_function("() => !document.querySelector('.mlk-launcher .v-card-actions button').disabled")
    page.screenshot(path=str(screenshots / "widgets-journey-form.png"), full_page=True)
    run_button.click()

    # Watch it run, then read the results: the forecast table and the plot.
    results = page.locator(".mlk-results")
    results.wait_for(timeout=300_000)
    assert "Succeeded" in page.locator(".mlk-state-chip").first.inner_text()
    table = results.locator(".mlk-paged-table").first
    table.wait_for(timeout=60_000)
    head = " ".join(table.locator("th").all_inner_texts()).lower()
    assert all(column in head for column in ("date", "forecast", "lower", "upper")), head
    assert table.locator("tbody tr").count() > 0
    plot = results.locator("img.mlk-image").first
    plot.wait_for(timeout=60_000)
    assert (plot.get_attribute("src") or "").startswith("data:image/png;base64,")
    assert page.evaluate("(img) => img.naturalWidth > 0", plot.element_handle())
    text = page.inner_text("body")
    assert "Traceback" not in text
    table.scroll_into_view_if_needed()  # Voilà scrolls inside its own container: bring them into view
    page.screenshot(path=str(screenshots / "widgets-journey-results-table.png"))
    plot.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "widgets-journey-results-plot.png"))
