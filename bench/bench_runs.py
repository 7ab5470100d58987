"""Benchmark the run executor against raw Docker, and print the ratios.

1. submit -> succeeded (outputs collected, container removed) of a no-op model,
   against ``docker run --rm`` of the same image with the same mounts (target <= 1.15x);
2. 100 no-op runs at concurrency 2, against ``xargs -P2 docker run --rm`` (target <= 1.2x);
3. the delay from the container printing a line to a subscriber receiving it (target < 0.5 s).

Run: ``.venv/bin/python bench/bench_runs.py [--runs 100] [--single 10]``. It starts its
own registry, builds the tiny test model (tests/runs/images/behaving) and uses the
shared Docker engine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import docker_baseline  # noqa: E402
from mlrun_kernel.catalog import sync_catalog  # noqa: E402
from mlrun_kernel.registry import RegistryClient  # noqa: E402
from mlrun_kernel.runs import Executor, RunRequest, RunSettings  # noqa: E402
from mlrun_kernel.store import open_store  # noqa: E402
from tests.registry_process import RegistryProcess  # noqa: E402
from tests.runs.image_contexts import build_test_model  # noqa: E402


def docker_run_args(image: str, run_dir: Path) -> list[str]:
    """``docker run --rm`` with the mounts and hardening the executor uses."""
    return docker_baseline.docker_run_args(
        image, run_dir, ["python", "/opt/model.py", "noop"], params={}, env={"MLK_TASK": "noop"}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--single", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlk-bench-runs-"))
    registry_process = RegistryProcess(work / "registry").start()
    addr = registry_process.addr  # anonymous pulls; the build pushes to its push side
    try:
        build = build_test_model("behaving", registry_process.access)
        store = open_store(f"sqlite:///{work / 'store.sqlite'}")
        with RegistryClient(f"http://{addr}") as registry:
            sync_catalog(store, registry)
        image = f"{addr}/mlk-test-behaving@{build.digest}"
        subprocess.run(["docker", "pull", "-q", image], check=True, capture_output=True)
        settings = RunSettings(max_concurrent_runs=2, max_runs_per_user=2)
        executor = Executor(store, settings=settings, root=work / "runs", registry=addr, name="bench").start()
        noop = RunRequest(model="mlk-test-behaving", task="noop", owner="bench")
        executor.wait(executor.submit(noop).id)  # warm up

        # 1. one no-op run, end to end
        ours, raw = [], []
        for i in range(args.single):
            start = time.perf_counter()
            info = executor.wait(executor.submit(noop).id)
            ours.append(time.perf_counter() - start)
            assert info.state == "succeeded", info.reason
            cmd = docker_run_args(image, work / f"raw-{i}")
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            raw.append(time.perf_counter() - start)
        single = statistics.median(ours) / statistics.median(raw)
        print(
            f"single no-op run: mlk {statistics.median(ours):.3f} s, docker run --rm "
            f"{statistics.median(raw):.3f} s (medians of {args.single}): ratio {single:.2f}x "
            "(target <= 1.15x)"
        )

        # 2. many no-op runs, concurrency 2
        start = time.perf_counter()
        ids = [executor.submit(noop).id for _ in range(args.runs)]
        for run_id in ids:
            assert executor.wait(run_id).state == "succeeded"
        ours_many = time.perf_counter() - start
        script = work / "one.sh"
        line = " ".join(f"'{a}'" for a in docker_run_args(image, work / "raw-many"))
        script.write_text(f"#!/bin/sh\nexec {line} >/dev/null\n")
        script.chmod(0o755)
        start = time.perf_counter()
        subprocess.run(f"seq {args.runs} | xargs -P2 -I{{}} {script}", shell=True, check=True)
        raw_many = time.perf_counter() - start
        print(
            f"{args.runs} no-op runs at concurrency 2: mlk {ours_many:.2f} s, "
            f"xargs -P2 docker run --rm {raw_many:.2f} s: ratio {ours_many / raw_many:.2f}x "
            "(target <= 1.2x)"
        )

        # 3. log line latency to a live subscriber
        run = executor.submit(
            RunRequest(
                model="mlk-test-behaving",
                task="clock",
                owner="bench",
                parameters={"count": 50, "interval": 0.05},
            )
        )
        delays = [
            time.time() - float(line.text.split()[1])
            for line in executor.follow(run.id)
            if line.text.startswith("clock ")
        ]
        print(
            f"log line latency over {len(delays)} lines: median "
            f"{statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
            "(target < 500 ms)"
        )
        executor.stop()
    finally:
        registry_process.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
