"""ResultsView against the real service: every output kind of a real run, shown by type.

The showcase model writes a 20 000-row CSV, a PNG, an HTML page whose script
tries to reach the page around it, JSON, text, a binary file, metrics and a result.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mlrun_kernel.client import Client
from mlrun_kernel.widgets.results import PagedTable, ResultsView
from tests.service.helpers import ServedApp

pytestmark = [pytest.mark.hub, pytest.mark.registry, pytest.mark.docker]


class _Counted(httpx.SyncByteStream):
    def __init__(self, stream: Any, counter: CountingTransport) -> None:
        self.stream, self.counter = stream, counter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.stream:
            self.counter.received += len(chunk)
            yield chunk

    def close(self) -> None:
        self.stream.close()


class CountingTransport(httpx.BaseTransport):
    """The real HTTP transport, counting the bytes of every answer the kernel receives."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.received = 0
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        response = self.inner.handle_request(request)
        response.stream = _Counted(response.stream, self)
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_big_table_output_is_paged_and_sorted_by_the_service_and_never_read_whole(
    widget_service: ServedApp, tokens: dict[str, str], showcase_run: dict[str, Any]
) -> None:
    counting = CountingTransport()
    with Client(widget_service.url, tokens["user"], transport=counting) as client:
        view = ResultsView(showcase_run["id"], client=client)
        table = view.outputs["table.csv"]
        assert isinstance(table, PagedTable)
        assert table.total == 20000 and len(table.items) == 20
        assert table.items[0] == {"id": "1", "value": "7919", "word": "w1"}
        table.show(page=3)
        assert [row["id"] for row in table.items[:2]] == ["41", "42"]
        # sorted by value, largest first, as numbers (the service sorts): 10006 is the largest
        table.vue_options({"page": 1, "itemsPerPage": 20, "sortBy": [{"key": "value", "order": "desc"}]})
        assert table.items[0]["value"] == "10006"
        assert all(
            int(a["value"]) >= int(b["value"]) for a, b in zip(table.items, table.items[1:], strict=False)
        )
        size = next(o["size"] for o in showcase_run["outputs"] if o["path"] == "table.csv")
        assert size > 250_000
        # Everything the kernel received for the whole view (run, all outputs, three pages)
        # is a fraction of the table alone: it was never downloaded.
        assert counting.received < size / 5, (counting.received, size)
        assert not any(p.endswith("/outputs/table.csv") for p in counting.paths)


def test_every_other_output_is_shown_by_its_type(
    widget_service: ServedApp, uma: Client, showcase_run: dict[str, Any]
) -> None:
    view = ResultsView(showcase_run["id"], client=uma)
    assert view.notice.explained is None
    assert sorted(view.outputs) == [
        "blob.bin",
        "details.json",
        "notes.txt",
        "page.html",
        "picture.png",
        "table.csv",
    ]
    picture = view.outputs["picture.png"]
    assert picture.tag == "img"
    src = picture.attributes["src"]
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == uma.read_output(showcase_run["id"], "picture.png")
    page = view.outputs["page.html"]
    assert (
        page.tag == "iframe" and page.attributes["sandbox"] == "" and "<script>" in page.attributes["srcdoc"]
    )
    tree = view.outputs["details.json"]
    assert tree.items[0]["children"][0]["title"] == "a {1}"
    notes = view.outputs["notes.txt"]
    assert notes.tag == "pre" and notes.children[0].startswith("note 1\nnote 2\n")
    # Anything else: a signed link that works in a browser without a token.
    link = view.outputs["blob.bin"]
    href = link.href
    assert "/api/signed/runs/" in href and "signature=" in href
    with httpx.Client(base_url=widget_service.origin, timeout=30) as browser:
        assert browser.get(href).content == bytes(range(256)) * 4
        assert browser.get(href.replace("path=blob.bin", "path=notes.txt")).status_code == 403
    # metrics with the goal the manifest declares, the result as a tree
    assert {(r["name"], r["goal"]) for r in view.metric_rows} == {
        ("score", "higher is better ↑"),
        ("loss", "lower is better ↓"),
    }
    kinds = [type(part).__name__ for part in view.body.children]
    assert "ErrorMessage" not in kinds


def test_a_signed_output_link_of_one_user_does_not_open_another_users_run(
    widget_service: ServedApp, client_for: Any, showcase_run: dict[str, Any]
) -> None:
    ben = client_for("user2")
    view = ResultsView(showcase_run["id"], client=ben)
    assert view.notice.explained is not None and "not there" in view.notice.explained.title
    assert view.outputs == {}


def test_html_output_cannot_run_script_in_the_browser(uma: Client, showcase_run: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    page_widget = ResultsView(showcase_run["id"], client=uma).outputs["page.html"]
    attributes = dict(page_widget.attributes)
    mount = """([attributes, sandbox]) => new Promise((done) => {
        window.__messages = [];
        window.addEventListener('message', (e) => window.__messages.push(String(e.data)));
        const frame = document.createElement('iframe');
        for (const [name, value] of Object.entries(attributes)) frame.setAttribute(name, value);
        if (sandbox !== null) frame.setAttribute('sandbox', sandbox);
        frame.addEventListener('load', () => setTimeout(done, 300));
        document.body.appendChild(frame);
    })"""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content("<html><head><title>results</title></head><body></body></html>")
            page.evaluate(mount, [attributes, None])  # exactly as the widget sets it
            frame = page.frames[1]
            assert frame.locator("#h").text_content() == "Report"  # the script did not run
            assert page.title() == "results"
            assert page.evaluate("window.__messages") == []
            # The same page with scripts allowed does run: the check above can see a script.
            control = browser.new_page()
            control.set_content("<html><head><title>results</title></head><body></body></html>")
            control.evaluate(mount, [attributes, "allow-scripts"])
            assert control.frames[1].locator("#h").text_content() == "script ran"
            assert control.evaluate("window.__messages") == ["pwned"]
        finally:
            browser.close()


def test_a_failed_run_shows_its_reason_in_plain_words_and_its_last_log_lines(
    uma: Client, showcase_name: str
) -> None:
    run = uma.start_run(showcase_name, task="fail")
    uma.wait_run(run["id"], timeout=300, poll=0.5)
    view = ResultsView(run["id"], client=uma)
    alert = next(part for part in view.body.children if "mlk-failure" in (part.class_ or ""))
    words = alert.children[0].children[0]
    assert words.startswith("The model stopped with an error (exit code 1).")
    assert "The model said: The input has no column named 'sales'." in words
    log = alert.children[2].children[0]
    assert "working 5" in log and "cannot go on: the column 'sales' is missing" in log
    assert "Traceback" not in repr(view.get_state())
