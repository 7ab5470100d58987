"""``mlk init DIR [--template sklearn|pytorch|tensorflow|generic]``: scaffold a model project."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlrun_kernel.build.scaffold import DEFAULT_TEMPLATE, TEMPLATES, scaffold


def add_parser(sub: Any) -> None:
    p = sub.add_parser("init", help="scaffold a model project that builds, tests and publishes as it is")
    p.add_argument("folder", type=Path, help="where to create it (must be empty unless --force)")
    p.add_argument("--template", choices=TEMPLATES, default=DEFAULT_TEMPLATE, help="default: %(default)s")
    p.add_argument("--name", help="the model's repository name (default: from the folder name)")
    p.add_argument("--title", help="the model's display name")
    p.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    made = scaffold(args.folder, template=args.template, name=args.name, title=args.title, force=args.force)
    print(f"created {made.template} model {made.name!r} in {made.folder} ({len(made.files)} files)")
    print(f"next: mlk build {made.folder} && mlk test {made.name}:0.1.0 && mlk push {made.name}:0.1.0")
    return 0
