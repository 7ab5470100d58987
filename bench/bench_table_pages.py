"""What a results view's table page costs the service, against loading the whole file.

A CSV of ROWS rows is cut into a page three ways by ``mlrun_kernel.runs.tables``
(first page, a deep page, sorted by a number column) and, as the baseline, read
whole into memory with ``csv`` (what showing it without paging would take). Prints
time and peak Python memory of each and the ratios against the baseline, all
measured in this run. Usage: ``.venv/bin/python bench/bench_table_pages.py [ROWS]``.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlrun_kernel.runs.tables import PageRequest, table_page


def measure(step: Callable[[], Any]) -> tuple[float, int]:
    """Seconds (a plain run) and peak Python memory (a second run under tracemalloc)."""
    started = time.perf_counter()
    step()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        with path.open("w") as fh:
            fh.write("id,value,word\n")
            for i in range(1, rows + 1):
                fh.write(f"{i},{(i * 7919) % 100003},w{i % 13}\n")
        size = path.stat().st_size

        def whole() -> None:
            with path.open(newline="") as fh:
                list(csv.reader(fh))

        cases = {
            "whole file in memory (baseline)": whole,
            "page 1 of 50": lambda: table_page(path, "text/csv", PageRequest(limit=50)),
            "page in the middle": lambda: table_page(
                path, "text/csv", PageRequest(offset=rows // 2, limit=50)
            ),
            "sorted by value, page 1": lambda: table_page(
                path, "text/csv", PageRequest(limit=50, sort="value")
            ),
        }
        print(f"{rows} rows, {size / 2**20:.1f} MiB CSV")
        base_s, base_m = measure(whole)
        for name, step in cases.items():
            seconds, peak = measure(step)
            print(
                f"{name:34s} {seconds:7.2f} s  peak {peak / 2**20:8.2f} MiB  "
                f"time x{seconds / base_s:5.2f}  memory x{peak / base_m:6.4f}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
