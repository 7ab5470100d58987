#!/usr/bin/env python3
"""Build the hub's single-user image (JupyterLab + Voila + mlrun_kernel widgets).

    python scripts/build-singleuser.py [--tag mlrun-kernel/singleuser:latest] [--quiet]

The build context is the repository root (filtered by .dockerignore), the
Dockerfile hub/images/singleuser/Dockerfile; mlrun_kernel.build.build_image adds
the CA bundle pip needs. The tag defaults to MLK_SINGLEUSER_IMAGE, the name
jupyterhub_config.py spawns.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = "hub/images/singleuser/Dockerfile"
DEFAULT_TAG = os.environ.get("MLK_SINGLEUSER_IMAGE") or "mlrun-kernel/singleuser:latest"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tag", action="append", help=f"image name(s) (default {DEFAULT_TAG})")
    parser.add_argument("--quiet", action="store_true", help="print only the result")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from mlrun_kernel.build import BuildError, build_image
    from mlrun_kernel.config import settings

    tags = args.tag or [DEFAULT_TAG]
    started = time.monotonic()
    try:
        built = build_image(
            ROOT,
            tags,
            dockerfile=DOCKERFILE,
            # The bundle pip trusts on this machine (PIP_CERT, ...), else certifi's.
            ca_bundle=settings().build_ca_bundle,
            on_log=None if args.quiet else print,
        )
    except BuildError as exc:
        print(f"build-singleuser: {exc}", file=sys.stderr)
        return 1
    took = time.monotonic() - started
    print(f"built {', '.join(built.tags)} ({built.image_id[:19]}) in {took:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
