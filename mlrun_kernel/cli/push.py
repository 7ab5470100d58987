"""``mlk push IMAGE [--force]``: publish a model image that passed ``mlk test``.

Refuses an untested image, and a version tag that already exists with another
image, unless ``--force`` (recorded as forced); moves ``:latest`` only to the
highest semantic version. Credentials: ``MLK_REGISTRY_USERNAME``/``MLK_REGISTRY_PASSWORD``
(or the project's kept password file), else the usual Docker config.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mlrun_kernel.builds.publish import publish
from mlrun_kernel.cli.platform import me


def add_parser(sub: Any) -> None:
    p = sub.add_parser("push", help="publish a tested model image to the registry")
    p.add_argument("image", help="the image, e.g. my-model:0.1.0 (as `mlk build` tagged it)")
    p.add_argument("--force", action="store_true", help="push although untested or over another digest")
    p.add_argument("--quiet", "-q", action="store_true", help="do not stream the push output")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlrun_kernel.cli.platform import NotRemote
    from mlrun_kernel.config import client_settings
    from mlrun_kernel.store import open_store

    if client_settings().service_url:
        raise NotRemote(
            "`mlk push` needs a Docker engine; through the model "
            "service `mlk build FOLDER --push` builds, tests and pushes in one go"
        )

    def show(line: str) -> None:
        print(f"  {line}", file=sys.stderr)

    store = open_store()
    try:
        done = publish(
            args.image, store=store, who=me(), force=args.force, on_log=None if args.quiet else show
        )
    finally:
        store.close()
    print(f"pushed {', '.join(done.references)} -> {done.digest}")
    if not done.moved_latest:
        print("latest stays where it is: a higher version is published")
    if done.forced:
        print(f"forced past: {', '.join(done.forced)} (recorded)")
    return 0
