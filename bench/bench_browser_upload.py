"""A browser upload through the DatasetPicker against a plain HTTP upload from Python, in one run.

Run: ``.venv/bin/python bench/bench_browser_upload.py [--size-mib 1024] [--repeat 2] [--chunks-mib 1024]``

The browser side is the real path: headless Chromium on a Voilà page (the
``mlk`` template) showing ``DatasetPicker``, behind configurable-http-proxy as
behind the hub; the page's script slices the file and PATCHes chunks to the
signed URL, through the proxy, to the service; the kernel only opens, signs and
completes the upload. Timed from the click on Upload to "Stored". ``--chunks-mib``
names more request sizes to time, each on a picker of its own on the same page,
in the same run; the first picker sends the widget's ``DEFAULT_CHUNK_BYTES``.
Every upload starts after an ``os.sync()`` (no dirty pages left by the one
before) and the pickers take turns at going first.

A floor is measured in the same run: Chromium sending the same file in one fetch to a
sink on loopback that drops the bytes (no slicing, no service, no proxy).

The baseline is the same service taking the same file from Python in one
plain HTTP request: ``POST api/uploads``, one ``PATCH`` streaming the whole
file (httpx, 1 MiB pieces) straight to the service (no proxy), ``complete``.
Both end with the dataset stored. Target: the browser at >= 0.5x the
baseline's throughput. The Voilà kernel's peak RSS (VmHWM) is printed too:
the file never passes through it (target < 200 MiB).
"""

from __future__ import annotations

import argparse
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_upload import generate, warm  # noqa: E402
from bench.bench_upload_http import free_port, peak_rss_mib  # noqa: E402
from bench.service_process import TOKEN, start_service  # noqa: E402
from mlrun_kernel.client import PIECE_BYTES, Client  # noqa: E402
from mlrun_kernel.widgets.upload import DEFAULT_CHUNK_BYTES  # noqa: E402
from tests.e2e.voila_app import voila_app  # noqa: E402

MiB = 1024 * 1024
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PICKERS = """from ipywidgets import VBox
from mlrun_kernel.widgets.datasets import DatasetPicker

pickers = []
for chunk_mib in {ways!r}:
    picker = DatasetPicker(label=f"Data in {{chunk_mib}} MiB requests")
    picker.upload.chunk_bytes = chunk_mib * 1024 * 1024
    pickers.append(picker)
VBox(pickers)"""


def write_notebook(path: Path, ways: list[int]) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(PICKERS.format(ways=ways))]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def python_upload(service_url: str, src: Path, name: str) -> float:
    """Seconds to store ``src`` with one plain streamed HTTP request (plus open and complete)."""
    size = src.stat().st_size
    with Client(service_url, token=TOKEN, timeout=600) as client:
        start = time.perf_counter()
        upload = client.start_upload(src.name, size)
        with src.open("rb") as f:

            def body() -> object:
                while piece := f.read(PIECE_BYTES):
                    yield piece

            answer = httpx.patch(
                f"{service_url}api/uploads/{upload['id']}",
                params={"offset": 0},
                content=body(),
                headers={
                    "Authorization": f"token {TOKEN}",
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(size),
                },
                timeout=600,
            )
        answer.raise_for_status()
        version = client.complete_upload(upload["id"], name)
        seconds = time.perf_counter() - start
    assert version["size"] == size, version
    return seconds


def browser_upload(page: object, src: Path, name: str, picker: int = 0) -> float:
    """Seconds from the click on Upload to the ``picker``-th picker saying the dataset is stored."""
    upload = page.locator(".mlk-upload").nth(picker)  # type: ignore[attr-defined]
    upload.locator("input.mlk-upload-file").set_input_files(str(src))
    upload.locator(".mlk-upload-name input").fill(name)
    start = time.perf_counter()
    upload.locator(".mlk-upload-start").click()
    page.get_by_text(f"Stored admin/{name} version 1.").wait_for(timeout=900_000)  # type: ignore[attr-defined]
    return time.perf_counter() - start


SINK_PAGE = b"""<!doctype html><input type="file" id="f">
<script>
async function send() {
  const file = document.getElementById("f").files[0];
  const start = performance.now();
  const answer = await fetch("/sink", {method: "PUT", body: file});
  await answer.text();
  return (performance.now() - start) / 1000;
}
</script>"""


class _Sink(http.server.BaseHTTPRequestHandler):
    """A page with a file input, and a PUT that reads the bytes and drops them."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(SINK_PAGE)))
        self.end_headers()
        self.wfile.write(SINK_PAGE)

    def do_PUT(self) -> None:  # noqa: N802
        left = int(self.headers.get("Content-Length", "0"))
        while left > 0:
            left -= len(self.rfile.read(min(left, MiB)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def browser_floor(chromium: object, src: Path) -> float:
    """Seconds for this machine's Chromium to send the file in one fetch to a sink on loopback.

    No slicing, no service, no proxy: the floor of any browser upload here.
    """
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page = chromium.new_page()  # type: ignore[attr-defined]
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        page.set_input_files("#f", str(src))
        seconds = float(page.evaluate("send()"))
        page.close()
        return seconds
    finally:
        server.shutdown()
        server.server_close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--chunks-mib", default="", help="more request sizes to time, '1024,64' (the widget's comes first)"
    )
    args = parser.parse_args()
    ways = [DEFAULT_CHUNK_BYTES // MiB]
    for chunk_mib in (int(n) for n in filter(None, args.chunks_mib.split(","))):
        if chunk_mib not in ways:
            ways.append(chunk_mib)

    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="mlk-bench-browser-", dir="/tmp"))
    service = None
    try:
        src = work / "upload.csv"
        generate(src, args.size_mib * MiB)
        size = src.stat().st_size
        warm(src)
        notebooks = work / "apps"
        notebooks.mkdir()
        write_notebook(notebooks / "picker.ipynb", ways)
        port = free_port()
        service, service_url = start_service(work, port, f"http://127.0.0.1:{free_port()}")
        kernel_env = {"MLK_SERVICE_URL": service_url, "MLK_SERVICE_TOKEN": TOKEN}
        plain: list[float] = []
        proxied: list[float] = []
        browser: dict[int, list[float]] = {way: [] for way in ways}
        floor: list[float] = []
        kernel_peaks: list[float] = []
        with voila_app(notebooks, f"http://127.0.0.1:{port}", kernel_env) as app, sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = chromium.new_page()
            page.goto(app.render_url("picker.ipynb"))
            page.locator(".mlk-dataset-picker").nth(len(ways) - 1).wait_for(timeout=120_000)
            for i in range(len(ways)):
                page.locator(".mlk-dataset-upload-open").nth(i).click()
                page.locator("input.mlk-upload-file").nth(i).wait_for(state="attached")
            kernels = app.kernel_pids()
            kernel_rss_before = max(peak_rss_mib(pid) for pid in kernels)
            for i in range(args.repeat):  # interleaved, so all see the same machine
                # Each starts with no dirty pages left by the one before (os.sync), and the
                # picker's ways take turns at going first.
                os.sync()
                plain.append(python_upload(service_url, src, f"python-{i}"))
                os.sync()
                proxied.append(python_upload(f"{app.url}/services/models/", src, f"proxied-{i}"))
                order = list(enumerate(browser.items()))
                for n, (way, times) in order[i % len(order) :] + order[: i % len(order)]:
                    os.sync()
                    times.append(browser_upload(page, src, f"browser-{way}-{i}", n))
                floor.append(browser_floor(chromium, src))
            kernel_peaks = [peak_rss_mib(pid) for pid in app.kernel_pids()]
            chromium.close()

        def mibps(seconds: float) -> float:
            return size / MiB / seconds

        best_plain, best_proxied, best_floor = min(plain), min(proxied), min(floor)

        def way_name(way: int) -> str:
            return f"{way} MiB requests" + (" (the widget's)" if way == ways[0] else "")

        print(f"file: {size / MiB:.0f} MiB CSV, best of {args.repeat}; the browser via the proxy")
        print("python each run: ", " ".join(f"{t:.2f}" for t in plain), "s")
        print("python via proxy:", " ".join(f"{t:.2f}" for t in proxied), "s")
        for way, times in browser.items():
            print(f"browser {way} MiB:", " ".join(f"{t:.2f}" for t in times), "s")
        print("browser floor:   ", " ".join(f"{t:.2f}" for t in floor), "s")
        print(f"python, one plain HTTP request   {best_plain:6.2f} s  {mibps(best_plain):6.0f} MiB/s  1.00x")
        print(
            f"python, same request via proxy   {best_proxied:6.2f} s  {mibps(best_proxied):6.0f} MiB/s  "
            f"{best_plain / best_proxied:.2f}x"
        )
        print(
            f"browser floor: one fetch to a sink {best_floor:6.2f} s  {mibps(best_floor):6.0f} MiB/s  "
            f"{best_plain / best_floor:.2f}x of python"
        )
        for way, times in browser.items():
            best = min(times)
            print(
                f"browser, DatasetPicker, {way_name(way)}: {best:6.2f} s  {mibps(best):6.0f} MiB/s  "
                f"{best_plain / best:.2f}x of python (target >= 0.5x), "
                f"{best_floor / best:.2f}x of this machine's browser floor"
            )
        print(
            f"Voilà kernel peak RSS: {max(kernel_peaks):.0f} MiB after the uploads, "
            f"{kernel_rss_before:.0f} MiB before the first (target < 200 MiB)"
        )
        print(f"service peak RSS: {peak_rss_mib(service.pid):.0f} MiB")
        return 0
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
