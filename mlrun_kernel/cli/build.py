"""``mlk build FOLDER [--push]``: build a model image from mlk.yaml and its Dockerfile.

A push goes to the registry's push side (``MLK_REGISTRY_PUSH_URL``) with its credentials
(``MLK_REGISTRY_USERNAME``/``MLK_REGISTRY_PASSWORD``, or the password file the project's
registry keeps); without them the registry refuses it, and ``mlk`` says what to set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlrun_kernel.build import build_model


def add_parser(sub: Any) -> None:
    p = sub.add_parser("build", help="build a model image (labels from mlk.yaml) and optionally push it")
    p.add_argument("folder", type=Path, help="folder with mlk.yaml and a Dockerfile")
    p.add_argument(
        "--push",
        action="store_true",
        help="push the version and latest tags to the registry (with MLK_REGISTRY_* credentials)",
    )
    p.add_argument("--registry", help="host:port to tag for (default: MLK_REGISTRY_URL's host)")
    p.add_argument("--quiet", "-q", action="store_true", help="do not stream the build output")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    def show(line: str) -> None:
        print(f"  {line}", file=sys.stderr)

    result = build_model(
        args.folder, registry=args.registry, push=args.push, on_log=None if args.quiet else show
    )
    print(f"built {result.image} ({result.image_id[:19]})")
    if result.digest:
        print(f"pushed {', '.join(result.tags)} -> {result.digest}")
    return 0
