"""The model service against the store it reads, in one run.

Prints:
  list 1,000 models: p50/p99 through the API (HTTP, JSON, auth) and straight on
  the store (``mlrun_kernel.catalog.list_models``), and the p99 ratio (target <= 3x);
  50 concurrent clients in a second process, each creating and listing runs: errors (target 0);
  a pushed image's time to appear in GET api/models through the registry's notification.

The service runs as its own process (``python -m mlrun_kernel.service``) with a
static token, SQLite, the run executor off (runs stay queued: this measures
the API, not containers), and a registry that notifies it.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.service_process import PREFIX, TOKEN, start_service  # noqa: E402
from mlrun_kernel.catalog import list_models, sync_catalog  # noqa: E402
from mlrun_kernel.registry import RegistryClient  # noqa: E402
from mlrun_kernel.spec import LABEL_MANIFEST, LABEL_SPEC_VERSION  # noqa: E402
from mlrun_kernel.store import open_store  # noqa: E402
from tests.registry_process import RegistryProcess  # noqa: E402

MODELS = 1000
ROUNDS = 60
CLIENTS = 50
RUNS_PER_CLIENT = 4
SECRET = "bench-events-secret"
MANIFEST = {
    "tasks": {
        "predict": {
            "description": "Predict.",
            "parameters": {"type": "object", "properties": {"k": {"type": "integer", "default": 3}}},
        }
    },
    "keywords": ["bench"],
}


def labels(i: int) -> dict[str, str]:
    return {
        LABEL_SPEC_VERSION: "1",
        LABEL_MANIFEST: json.dumps(MANIFEST),
        "org.opencontainers.image.title": f"Model {i}",
        "org.opencontainers.image.description": f"Bench model {i}.",
        "org.opencontainers.image.version": "1.0.0",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def clients_main(url: str) -> None:
    """The second process: CLIENTS threads creating and listing runs at once."""
    errors: list[str] = []
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def one(n: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"token {TOKEN}"}, timeout=120) as http:
            barrier.wait()
            for i in range(RUNS_PER_CLIENT):
                for method, path, body in (
                    ("POST", "api/runs", {"model": "bench/model-0:1.0.0", "parameters": {"k": n * 10 + i}}),
                    ("GET", "api/runs?limit=20", None),
                ):
                    started = time.perf_counter()
                    try:
                        response = http.request(method, path, json=body)
                        ok = response.status_code in (200, 201)
                        detail = f"{response.status_code} {response.text[:200]}"
                    except httpx.HTTPError as exc:
                        ok, detail = False, str(exc)
                    with lock:
                        latencies.append(time.perf_counter() - started)
                        if not ok:
                            errors.append(f"{method} {path}: {detail}")

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "requests": len(latencies),
                "errors": errors[:5],
                "error_count": len(errors),
                "p50": pct(latencies, 0.5),
                "p99": pct(latencies, 0.99),
            }
        )
    )


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mlk-bench-service-"))
    port = free_port()
    service = f"http://127.0.0.1:{port}{PREFIX}"
    # The project's registry: anonymous reads on registry_url, pushes (the seeder's) on its push side.
    registry_process = RegistryProcess(work / "registry").start()
    registry_url = registry_process.url
    env = {**os.environ, "MLK_REGISTRY_EVENTS_SECRET": SECRET}
    server = None
    try:
        started = time.perf_counter()
        seeder = registry_process.seeder()
        for i in range(MODELS):
            seeder.image(f"bench/model-{i}", "1.0.0", labels(i))
        seeder.close()
        print(f"seeded {MODELS} models in {time.perf_counter() - started:.1f}s")
        # Now the same storage, notifying the service (the seeding's events would only queue up).
        registry_process.stop()  # waits until both ports are free
        registry_process.notify_url = f"{service}api/registry/events"
        registry_process.start(env={"MLK_REGISTRY_EVENTS_SECRET": SECRET})

        store_url = f"sqlite:///{work / 'store.sqlite'}"
        store = open_store(store_url)
        with RegistryClient(registry_url) as registry:
            report = sync_catalog(store, registry)
        assert not report.error, report.error

        server, _ = start_service(work, port, registry_url, store_url=store_url, env=env)
        headers = {"Authorization": f"token {TOKEN}"}
        with httpx.Client(base_url=service, headers=headers, timeout=60) as http:
            assert len(http.get("api/models").json()) == MODELS

            api: list[float] = []
            direct: list[float] = []
            for _ in range(ROUNDS):  # interleaved, so both see the same machine
                t = time.perf_counter()
                response = http.get("api/models")
                response.json()
                api.append(time.perf_counter() - t)
                t = time.perf_counter()
                found = list_models(store)
                direct.append(time.perf_counter() - t)
            assert len(found) == MODELS and response.status_code == 200
            ratio = pct(api, 0.99) / pct(direct, 0.99)
            print(
                f"list {MODELS} models, {ROUNDS} rounds: API p50 {statistics.median(api) * 1000:.1f} ms "
                f"p99 {pct(api, 0.99) * 1000:.1f} ms | store p50 {statistics.median(direct) * 1000:.1f} ms "
                f"p99 {pct(direct, 0.99) * 1000:.1f} ms | p99 ratio {ratio:.2f}x (target <= 3x) "
                f"{'OK' if ratio <= 3 else 'MISSED'}"
            )

            out = subprocess.run(
                [sys.executable, __file__, "--clients", service], capture_output=True, text=True, check=True
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{CLIENTS} concurrent clients (second process), {result['requests']} requests creating "
                f"and listing runs in {result['seconds']:.1f}s: {result['error_count']} errors (target 0) "
                f"{'OK' if result['error_count'] == 0 else 'MISSED ' + str(result['errors'])}; "
                f"p50 {result['p50'] * 1000:.0f} ms, p99 {result['p99'] * 1000:.0f} ms"
            )

            seeder = registry_process.seeder()
            t = time.perf_counter()
            seeder.image("bench/pushed", "1.0.0", labels(-1))
            pushed = time.perf_counter()
            seeder.close()
            while "bench/pushed" not in [
                m["name"] for m in http.get("api/models", params={"search": "pushed"}).json()
            ]:
                if time.perf_counter() - pushed > 30:
                    raise SystemExit("the pushed model did not appear in 30 s")
                time.sleep(0.02)
            print(
                f"push notification: model listed {time.perf_counter() - pushed:.2f}s after the push ended "
                f"(push itself {pushed - t:.2f}s; target < 2 s)"
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        registry_process.stop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--clients":
        clients_main(sys.argv[2])
    else:
        main()
