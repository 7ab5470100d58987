"""Upload throughput and memory against ``cp``: is storing a dataset as cheap as copying it?

Run: ``.venv/bin/python bench/bench_upload.py [--size-mib 1024] [--dir /path] [--repeat 1]``

It writes one generated CSV of ``--size-mib`` (default 1 GiB) into a scratch
folder on the disk under test, warms the page cache with one read, then for
each repeat, on the same disk (the baselines three times per repeat, as they
are cheap and noisy; the best time of each counts):

- ``cp``: copies the file with ``cp`` (and, separately, ``cp`` then ``fsync`` of the
  copy, since an upload is durable when it returns and ``cp`` is not);
- ``read + sha256``: reads and hashes the file in this process, the floor for
  any store addressed by sha256 (``cp`` into the page cache runs at memory
  speed, faster than one core can hash, so "x cp" is bounded by this);
- ``api``: a child process opens a fresh store and calls
  ``Datasets.upload_file`` (stream in fixed chunks, sha256, fsync, install as a
  blob, detect the media type, build the preview);
- ``cli``: a child process runs ``mlk datasets upload`` (the CLI's handler).

It prints the best time of each, throughput, the ratio to ``cp`` (target >=
0.7x) and the peak RSS of every process involved (target < 150 MiB), then one
summary line. Scratch files are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024


def generate(path: Path, size: int) -> None:
    """A CSV of ``size`` bytes whose rows differ, written 8 MiB at a time."""
    header = b"id,sensor,value,flag,day\n"
    with open(path, "wb") as f:
        f.write(header)
        written = len(header)
        row = 0
        while written < size:
            lines = []
            for _ in range(100_000):
                lines.append(
                    f"{row},s{row % 97},{(row * 7919) % 100000 / 100:.2f},"
                    f"{'true' if row % 3 else 'false'},2024-{1 + row % 12:02d}-{1 + row % 28:02d}\n"
                )
                row += 1
            block = "".join(lines).encode()[: size - written]
            block = block[: block.rfind(b"\n") + 1] or block
            f.write(block)
            written += len(block)


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(8 * MiB):
            pass


def time_cp(src: Path, dst: Path, *, fsync: bool) -> float:
    start = time.perf_counter()
    subprocess.run(["cp", str(src), str(dst)], check=True)
    if fsync:
        fd = os.open(dst, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    elapsed = time.perf_counter() - start
    subprocess.run(["sync"], check=True)  # settle dirty pages before the next measurement
    dst.unlink()
    return elapsed


def time_sha256(src: Path) -> float:
    """Reading and hashing the file, nothing else: the floor for any sha256-addressed store."""
    import hashlib

    buffer = memoryview(bytearray(8 * MiB))
    digest = hashlib.sha256()
    start = time.perf_counter()
    with open(src, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(buffer[:n])
    return time.perf_counter() - start


def child(mode: str, src: Path, data: Path) -> None:
    """Runs in a fresh interpreter: one upload, then report time and peak RSS as JSON."""
    sys.path.insert(0, str(ROOT))
    os.environ["MLK_DATA_DIR"] = str(data)
    os.environ["MLK_USER"] = "bench"
    start = time.perf_counter()
    if mode == "api":
        from mlrun_kernel.datasets import Datasets
        from mlrun_kernel.store import open_store

        store = open_store(f"sqlite:///{data / 'bench.sqlite'}")
        t0 = time.perf_counter()
        info = Datasets(store, data).upload_file("bench", "bench-data", src)
        upload = time.perf_counter() - t0
        media = info.media_type
    else:
        import argparse as ap

        from mlrun_kernel.cli import datasets as cli

        parser = ap.ArgumentParser(prog="mlk")
        cli.add_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["datasets", "upload", str(src), "--name", "bench-data", "--json"])
        t0 = time.perf_counter()
        with open(os.devnull, "w") as null:
            real, sys.stdout = sys.stdout, null
            try:
                args.handler(args)
            finally:
                sys.stdout = real
        upload = time.perf_counter() - t0
        media = "text/csv"
    total = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"upload": upload, "total": total, "rss": rss, "media_type": media}))


def run_child(mode: str, src: Path, scratch: Path) -> dict[str, float]:
    data = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=scratch))
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(src), str(data)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    subprocess.run(["sync"], check=True)
    shutil.rmtree(data)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (same disk)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "SRC", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, src, data = args.child
        child(mode, Path(src), Path(data))
        return 0

    scratch = Path(tempfile.mkdtemp(prefix="mlk-bench-", dir=args.dir))
    try:
        size = args.size_mib * MiB
        src = scratch / "data.csv"
        print(f"generating {args.size_mib} MiB CSV in {scratch} ...", flush=True)
        generate(src, size)
        size = src.stat().st_size
        warm(src)
        subprocess.run(["sync"], check=True)
        cp, cp_sync, sha, api, cli = [], [], [], [], []
        for _ in range(args.repeat):
            sha.append(time_sha256(src))
            # The baselines are cheap and the page cache makes them noisy: give them more
            # tries than the uploads, so the ratio is against cp at its best.
            for _ in range(3):
                cp.append(time_cp(src, scratch / "copy.csv", fsync=False))
                cp_sync.append(time_cp(src, scratch / "copy.csv", fsync=True))
            api.append(run_child("api", src, scratch))
            cli.append(run_child("cli", src, scratch))
        best_cp, best_cp_sync, best_sha = min(cp), min(cp_sync), min(sha)
        best_api = min(api, key=lambda r: r["upload"])
        best_cli = min(cli, key=lambda r: r["upload"])
        children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

        def mbps(seconds: float) -> float:
            return size / MiB / seconds

        print(f"file: {size / MiB:.0f} MiB CSV, repeats: {args.repeat}")
        print(f"cp                 {best_cp:7.2f} s  {mbps(best_cp):7.0f} MiB/s")
        print(f"cp + fsync         {best_cp_sync:7.2f} s  {mbps(best_cp_sync):7.0f} MiB/s")
        print(f"read + sha256 only {best_sha:7.2f} s  {mbps(best_sha):7.0f} MiB/s  (the floor)")
        for label, r in (("api upload_file", best_api), ("cli datasets upload", best_cli)):
            print(
                f"{label:<18} {r['upload']:7.2f} s  {mbps(r['upload']):7.0f} MiB/s  "
                f"ratio vs cp {best_cp / r['upload']:.2f}x, vs cp+fsync "
                f"{best_cp_sync / r['upload']:.2f}x  (process wall {r['wall']:.2f} s, "
                f"peak RSS {r['rss'] / MiB:.0f} MiB)"
            )
        print(
            f"peak RSS: bench parent {self_rss / MiB:.0f} MiB, largest child (cp, api, cli) "
            f"{children_rss / MiB:.0f} MiB"
        )
        ratio = best_cp / best_api["upload"]
        peak = max(best_api["rss"], best_cli["rss"], children_rss)
        ok = ratio >= 0.7 and peak < 150 * MiB
        print(
            f"SUMMARY upload {size / MiB:.0f} MiB: {mbps(best_api['upload']):.0f} MiB/s = "
            f"{ratio:.2f}x cp ({best_cp_sync / best_api['upload']:.2f}x cp+fsync, "
            f"{best_sha / best_api['upload']:.2f}x read+sha256), "
            f"peak RSS {peak / MiB:.0f} MiB -> {'OK' if ok else 'MISSED'} "
            "(targets >= 0.7x cp, < 150 MiB)"
        )
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
