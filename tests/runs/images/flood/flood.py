"""Prints short lines to stdout as fast as Python can, then exits 0 (tests and bench only).

``count`` lines ``line 0``, ``line 1``, ... (default two million), written in
blocks of ten thousand, so the container's output is the engine's bottleneck.
"""

import json
import os
import sys


def main():
    count = 2_000_000
    if os.path.exists(os.environ.get("MLK_PARAMS", "/mlk/params.json")):
        with open(os.environ.get("MLK_PARAMS", "/mlk/params.json")) as fh:
            count = int(json.load(fh).get("count", count))
    if len(sys.argv) > 1:
        count = int(sys.argv[1])
    out = sys.stdout
    step = 10_000
    for start in range(0, count, step):
        out.write("".join(f"line {i}\n" for i in range(start, min(count, start + step))))
    out.flush()


main()
