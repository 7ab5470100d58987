"""Uploading a dataset through the model service against a plain HTTP transfer, in one run.

Run: ``.venv/bin/python bench/bench_upload_http.py [--size-mib 512] [--repeat 3]``

A browser or a notebook uploads through the service's resumable upload API:
``Client.upload_dataset`` sends requests of ``CHUNK_BYTES`` (``PATCH
api/uploads/{id}``), each streamed in ``PIECE_BYTES`` pieces; the service
writes the body into the part file, hashes it, checkpoints it and at the end
stores it as a blob. The baseline is the transfer alone: the same client
library (httpx) PUTs the same bytes, in requests of the same size streamed in
the same pieces, to a uvicorn app on the same machine that reads the body and
throws it away. A floor is measured in the same run: an app that does the
least storing needs (the bytes hashed with sha256 and written to a file), as
the same requests reach it. The ratio says what the service costs on top of moving the
bytes over HTTP (target >= 0.6x); the peak RSS of the service and of the
client process are printed too, and the CPU seconds the service used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_upload import generate, warm  # noqa: E402
from bench.service_process import TOKEN, start_service  # noqa: E402
from mlrun_kernel.client import CHUNK_BYTES, PIECE_BYTES, Client  # noqa: E402

MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def discard_app(scope, receive, send):  # type: ignore[no-untyped-def]
    """The baseline server: read the whole body, keep nothing, answer its length."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = str(size).encode()
    headers = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def storing_app(folder: Path):  # type: ignore[no-untyped-def]
    """The floor: what storing an upload needs at the least (the bytes over HTTP, a sha256, a file)."""

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        digest = hashlib.sha256()
        size = 0
        with open(folder / f"part-{time.monotonic_ns()}", "wb") as out:
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
                if not message.get("more_body"):
                    break
        body = str(size).encode()
        headers = [(b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def wait_until_up(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def put_like_the_client(http: httpx.Client, url: str, path: Path) -> int:
    """PUT ``path`` as the client uploads it: requests of CHUNK_BYTES in PIECE_BYTES pieces."""
    size = path.stat().st_size
    received = 0
    with open(path, "rb") as f:
        for start in range(0, size, CHUNK_BYTES):
            length = min(CHUNK_BYTES, size - start)

            def body(length: int = length) -> object:
                left = length
                while left and (piece := f.read(min(PIECE_BYTES, left))):
                    left -= len(piece)
                    yield piece

            answer = http.put(url, content=body(), headers={"Content-Length": str(length)})
            received += int(answer.text)
    return received


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=3, metavar=("URL", "SRC", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        url, src_path, name = args.client
        with Client(url, token=TOKEN, timeout=600) as client:
            t = time.perf_counter()
            version = client.upload_dataset(src_path, name)
            seconds = time.perf_counter() - t
        # VmHWM, not ru_maxrss: after exec the latter can still report the forking parent.
        rss = peak_rss_mib(os.getpid())
        print(json.dumps({"seconds": seconds, "size": version["size"], "rss_mib": rss}))
        return 0
    if args.serve_baseline:
        import uvicorn

        uvicorn.run(discard_app, host="127.0.0.1", port=args.serve_baseline, log_level="warning")
        return 0

    if args.serve_floor:
        import uvicorn

        port_text, folder = args.serve_floor
        app = storing_app(Path(folder))
        uvicorn.run(app, host="127.0.0.1", port=int(port_text), log_level="warning")
        return 0

    work = Path(tempfile.mkdtemp(prefix="mlk-bench-http-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        src = work / "data.csv"
        generate(src, args.size_mib * MiB)
        size = src.stat().st_size
        warm(src)

        base_port, port, floor_port = free_port(), free_port(), free_port()
        processes.append(
            subprocess.Popen([sys.executable, __file__, "--serve-baseline", str(base_port)], cwd=ROOT)
        )
        (work / "floor").mkdir()
        processes.append(
            subprocess.Popen(
                [sys.executable, __file__, "--serve-floor", str(floor_port), str(work / "floor")], cwd=ROOT
            )
        )
        # No registry: the catalog is not measured.
        service, service_url = start_service(work, port, f"http://127.0.0.1:{free_port()}")
        processes.append(service)
        wait_until_up(f"http://127.0.0.1:{base_port}/")
        wait_until_up(f"http://127.0.0.1:{floor_port}/")

        plain: list[float] = []
        floor: list[float] = []
        ours: list[dict[str, float]] = []
        with httpx.Client(timeout=600) as http:
            for i in range(args.repeat):  # interleaved, so both see the same machine
                t = time.perf_counter()
                received = put_like_the_client(http, f"http://127.0.0.1:{base_port}/", src)
                plain.append(time.perf_counter() - t)
                assert received == size, received
                t = time.perf_counter()
                put_like_the_client(http, f"http://127.0.0.1:{floor_port}/", src)
                floor.append(time.perf_counter() - t)
                for part in (work / "floor").iterdir():
                    part.unlink()
                cpu_before = cpu_seconds(service.pid)
                # The notebook's side in a process of its own, so its peak RSS is its own.
                out = subprocess.run(
                    [sys.executable, __file__, "--client", service_url, str(src), f"bench-{i}"],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                assert result["size"] == size, result
                result["service_cpu"] = cpu_seconds(service.pid) - cpu_before
                ours.append(result)

        best_plain = min(plain)
        best_ours = min(r["seconds"] for r in ours)
        rss = peak_rss_mib(service.pid)
        own = max(r["rss_mib"] for r in ours)

        def mbps(seconds: float) -> float:
            return size / MiB / seconds

        print(
            f"file: {size / MiB:.0f} MiB CSV, requests of {CHUNK_BYTES // MiB} MiB in "
            f"{PIECE_BYTES // 1024} KiB pieces, best of {args.repeat}"
        )
        print("plain HTTP each run:", " ".join(f"{t:.2f}" for t in plain), "s")
        print("service each run:   ", " ".join(f"{r['seconds']:.2f}" for r in ours), "s")
        print(f"plain HTTP PUT (discarded)  {best_plain:6.2f} s  {mbps(best_plain):6.0f} MiB/s  1.00x")
        print(
            f"service upload (stored)     {best_ours:6.2f} s  {mbps(best_ours):6.0f} MiB/s  "
            f"{best_plain / best_ours:.2f}x of plain HTTP"
        )
        best_floor = min(floor)
        print(
            f"floor (hashed + written)    {best_floor:6.2f} s  {mbps(best_floor):6.0f} MiB/s  "
            f"{best_plain / best_floor:.2f}x of plain HTTP; the service at "
            f"{best_floor / best_ours:.2f}x of this floor"
        )
        print(f"peak RSS: service {rss:.0f} MiB, client (Client.upload_dataset) {own:.0f} MiB")
        cpu = min(r["service_cpu"] for r in ours)
        print(f"service CPU per upload: {cpu:.2f} s (user + system, all threads)")
        return 0
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
