#!/usr/bin/env python3
"""Rewrite the generated answer types in mlrun_kernel/client.py from the service's OpenAPI schema.

``--check``: only say whether the block is current (exit 1 if it is stale).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlrun_kernel.service.client_types import (  # noqa: E402
    CLIENT,
    REGENERATE,
    current_block,
    openapi_schemas,
    render,
    splice,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the generated block is stale")
    args = parser.parse_args()
    source = CLIENT.read_text()
    block = render(openapi_schemas())
    if args.check:
        if current_block(source) != block:
            print(f"{CLIENT.name}: the generated answer types are stale: run {REGENERATE}", file=sys.stderr)
            return 1
        print(f"{CLIENT.name}: the generated answer types are current")
        return 0
    CLIENT.write_text(splice(source, block))
    print(f"wrote the generated answer types of {CLIENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
