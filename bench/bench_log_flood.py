"""Benchmark a log flood: a model printing two million short lines through ``mlk run``.

The same image (tests/runs/images/flood) runs, in the same session, as

1. ``docker run --rm`` with the executor's hardening and its output to /dev/null (the baseline);
2. ``mlk run mlk-test-flood --task flood`` (the real CLI, embedded executor, SQLite store),
   and the same with ``--follow`` and its output to /dev/null (target <= 1.5x of 1.);
3. the floor of ``mlk run`` on this machine: the fixed cost of one run through the CLI
   (``count=0``, nothing printed) plus the baseline's cost of the flood, so the ratio to
   the floor says what the log path itself adds.

Every ``mlk`` run must end ``succeeded`` with its log cut at the cap and the marker last.

Run: ``.venv/bin/python bench/bench_log_flood.py [--lines 2000000] [--tries 3]``. It starts
its own registry, builds the flood model and uses the shared Docker engine.
"""

from __future__ import annotations

import argparse
import json
import os
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
from mlrun_kernel.runs.logs import stored_lines  # noqa: E402
from mlrun_kernel.store import open_store  # noqa: E402
from tests.registry_process import RegistryProcess  # noqa: E402
from tests.runs.image_contexts import build_test_model  # noqa: E402

MLK = str(Path(sys.executable).with_name("mlk"))


def docker_run_args(image: str, run_dir: Path, lines: int) -> list[str]:
    """``docker run --rm`` with the mounts and hardening the executor uses."""
    return docker_baseline.docker_run_args(
        image,
        run_dir,
        ["python", "/opt/flood.py"],
        params={"count": lines},
        env={"MLK_PARAMS": "/mlk/params.json"},
    )


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Seconds ``cmd`` took with its stdout to /dev/null; its stderr, which must be empty of tracebacks."""
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    took = time.perf_counter() - start
    err = done.stderr.decode(errors="replace")
    if done.returncode != 0 or "Traceback" in err:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed ({done.returncode}):\n{err}")
    return took, err


def last_run(env: dict[str, str]) -> dict[str, object]:
    """The newest run as ``mlk runs show --json`` prints it, with the last line of its log."""
    out = subprocess.run([MLK, "runs", "list", "--limit", "1", "--json"], env=env, capture_output=True)
    listed = json.loads(out.stdout)
    run_id = (listed["runs"] if isinstance(listed, dict) else listed)[0]["id"]
    shown = subprocess.run([MLK, "runs", "show", run_id, "--json"], env=env, capture_output=True, check=True)
    info: dict[str, object] = json.loads(shown.stdout)
    store = open_store(f"sqlite:///{Path(env['MLK_DATA_DIR']) / 'mlrun-kernel.sqlite'}", migrate=False)
    try:
        last = stored_lines(store, run_id, after=max(0, int(str(info["log_lines"])) - 1))
    finally:
        store.close()
    info["last_line"] = last[-1].text if last else ""
    return info


def check(info: dict[str, object], truncated: bool) -> None:
    if info["state"] != "succeeded" or bool(info["log_truncated"]) != truncated:
        raise SystemExit(f"run {info['id']} ended {info['state']}: {info['reason']}")
    if truncated and not str(info["last_line"]).startswith("[mlk: log truncated at"):
        raise SystemExit(f"run {info['id']}: the log's last line is {info['last_line']!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlk-bench-flood-"))
    registry_process = RegistryProcess(work / "registry").start()
    addr = registry_process.addr  # anonymous pulls; the build pushes to its push side
    try:
        build = build_test_model("flood", registry_process.access)
        image = f"{addr}/mlk-test-flood@{build.digest}"
        subprocess.run(["docker", "pull", "-q", image], check=True, capture_output=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("MLK_SERVICE_URL", "MLK_DATABASE_URL", "MLK_RUNS_DIR")
        }
        env |= {"MLK_DATA_DIR": str(work / "data"), "MLK_REGISTRY_URL": f"http://{addr}"}
        flood = [MLK, "run", "mlk-test-flood", "--task", "flood", "--param", f"count={args.lines}"]
        noop = [MLK, "run", "mlk-test-flood", "--task", "flood", "--param", "count=0"]
        timed(noop, env)  # warm up: store created, catalog synced, image known
        raw, ours, follow, fixed, raw_noop = [], [], [], [], []
        for i in range(args.tries):
            raw.append(timed(docker_run_args(image, work / f"raw-{i}", args.lines))[0])
            ours.append(timed(flood, env)[0])
            check(last_run(env), truncated=True)
            follow.append(timed([*flood, "--follow"], env)[0])
            check(last_run(env), truncated=True)
            fixed.append(timed(noop, env)[0])
            check(last_run(env), truncated=False)
            raw_noop.append(timed(docker_run_args(image, work / f"raw-noop-{i}", 0))[0])
        m_raw, m_ours, m_follow = (statistics.median(x) for x in (raw, ours, follow))
        m_fixed, m_raw_noop = statistics.median(fixed), statistics.median(raw_noop)
        floor = m_fixed + (m_raw - m_raw_noop)
        print(f"{args.lines} lines, medians of {args.tries}:")
        print(f"docker run --rm >/dev/null: {m_raw:.2f} s (of which {m_raw_noop:.2f} s a silent run)")
        print(f"mlk run: {m_ours:.2f} s: ratio {m_ours / m_raw:.2f}x (target <= 1.5x)")
        print(
            f"mlk run --follow >/dev/null: {m_follow:.2f} s: ratio {m_follow / m_raw:.2f}x (target <= 1.5x)"
        )
        print(
            f"floor (a silent mlk run {m_fixed:.2f} s + the flood's cost under docker run "
            f"{m_raw - m_raw_noop:.2f} s): {floor:.2f} s; mlk run {m_ours / floor:.2f}x, "
            f"--follow {m_follow / floor:.2f}x of the floor"
        )
    finally:
        registry_process.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
