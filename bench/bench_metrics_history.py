"""The metric-history query for one model over a year of daily evaluations, through the
API against the same SQL run directly on the store, in one run, on SQLite and PostgreSQL.

Seeds 100 models x 365 daily evaluations x 3 metrics (109,500 points) into the store, starts
the model service as its own process on that store (static token, executor off), then times
``GET api/metrics?model=...&since=<a year ago>`` (HTTP, auth, JSON) and the statement
``history_statement`` builds, executed and fetched on the store. Prints p50/p99 of both and
the p99 ratio (target <= 3x).

    .venv/bin/python bench/bench_metrics_history.py [--rounds 200] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.service_process import TOKEN, start_service  # noqa: E402
from mlrun_kernel.evaluations.history import history_rows, history_statement  # noqa: E402
from mlrun_kernel.store import open_store  # noqa: E402
from mlrun_kernel.store.models import MetricPoint  # noqa: E402

MODELS = 100
DAYS = 365
METRICS = ("accuracy", "macro_f1", "log_loss")
START = datetime(2025, 1, 1, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def seed(url: str) -> float:
    """Write the year of evaluations; seconds it took."""
    store = open_store(url)
    rng = random.Random(13)
    started = time.perf_counter()
    with store.engine.begin() as conn:
        for m in range(MODELS):
            rows = []
            for day in range(DAYS):
                at = START + timedelta(days=day, hours=2)
                digest = "sha256:" + f"{m:04d}{day // 90:02d}".ljust(64, "0")
                for name in METRICS:
                    rows.append(
                        {
                            "run_id": f"r{m:03d}{day:03d}",
                            "model": f"team/model-{m:03d}",
                            "digest": digest,
                            "model_version": f"1.{day // 90}.0",
                            "task": "evaluate",
                            "name": name,
                            "value": rng.random(),
                            "at": at,
                            "datasets": {"data": f"ada/ref-{m}:1"},
                            "parameters": {},
                            "evaluation_id": m * DAYS + day + 1,
                        }
                    )
            conn.execute(insert(MetricPoint), rows)
    store.close()
    return time.perf_counter() - started


def measure(url: str, backend: str, rounds: int) -> float:
    work = Path(tempfile.mkdtemp(prefix="mlk-bench-metrics-"))
    try:
        seconds = seed(url)
        port = free_port()
        process, base = start_service(work, port, "http://127.0.0.1:9", store_url=url)
        try:
            since = START  # a year: every point of the model
            store = open_store(url, migrate=False)
            client = httpx.Client(base_url=base, headers={"Authorization": f"token {TOKEN}"}, timeout=30)
            api: list[float] = []
            direct: list[float] = []
            rng = random.Random(7)
            points = 0
            for i in range(rounds + 10):
                model = f"team/model-{rng.randrange(MODELS):03d}"
                t0 = time.perf_counter()
                response = client.get("api/metrics", params={"model": model, "since": since.isoformat()})
                t1 = time.perf_counter()
                response.raise_for_status()
                stmt = history_statement(model, since=since)
                t2 = time.perf_counter()
                with store.session() as s:
                    rows = history_rows(s, stmt)
                t3 = time.perf_counter()
                assert len(rows) == len(response.json()["points"]) == DAYS * len(METRICS), len(rows)
                points = len(rows)
                if i >= 10:  # warm-up rounds are not counted
                    api.append(t1 - t0)
                    direct.append(t3 - t2)
            client.close()
            store.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
        ratio = pct(api, 0.99) / pct(direct, 0.99)
        print(
            f"{backend:10s} {MODELS} models x {DAYS} evaluations x {len(METRICS)} metrics "
            f"(seeded in {seconds:.1f} s); one model's year ({points} points), {rounds} rounds: "
            f"API p50 {statistics.median(api) * 1000:.1f} ms p99 {pct(api, 0.99) * 1000:.1f} ms | "
            f"store p50 {statistics.median(direct) * 1000:.1f} ms p99 {pct(direct, 0.99) * 1000:.1f} ms | "
            f"p99 ratio {ratio:.2f}x (target <= 3x)",
            flush=True,
        )
        return ratio
    finally:
        shutil.rmtree(work, ignore_errors=True)


def postgres() -> tuple[str, str, subprocess.CompletedProcess[str] | None]:
    state = tempfile.mkdtemp(prefix="mlk-bench-pg-", dir="/tmp")
    script = ROOT / "scripts" / "postgres.sh"
    out = subprocess.run(
        [script, "start", str(free_port()), state], check=True, capture_output=True, text=True
    )
    return out.stdout.strip(), state, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        work = Path(tempfile.mkdtemp(prefix="mlk-bench-sqlite-"))
        try:
            measure(f"sqlite:///{work / 'store.sqlite'}", "sqlite", args.rounds)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.backend in ("postgresql", "both"):
        admin_url, state, _ = postgres()
        try:
            from sqlalchemy import create_engine, text

            engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text('CREATE DATABASE "mlk_bench_metrics"'))
            engine.dispose()
            measure(admin_url.rsplit("/", 1)[0] + "/mlk_bench_metrics", "postgresql", args.rounds)
        finally:
            subprocess.run([ROOT / "scripts" / "postgres.sh", "stop", state], check=False)
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
