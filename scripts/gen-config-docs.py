#!/usr/bin/env python3
"""Write docs/configuration.md from the settings declarations (``--check``: only say if it is stale)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlrun_kernel.config_docs import PAGE, REGENERATE, render, write  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed page is stale")
    args = parser.parse_args()
    if args.check:
        current = (ROOT / PAGE).read_text() if (ROOT / PAGE).exists() else ""
        if current != render():
            print(f"{PAGE} is out of date: run {REGENERATE} to regenerate", file=sys.stderr)
            return 1
        print(f"{PAGE} is current")
        return 0
    print(f"wrote {write(ROOT).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
