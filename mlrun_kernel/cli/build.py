"""``mlk build FOLDER [--push]``: validate, build and record a model image from mlk.yaml.

``mlk.yaml`` is validated first (every problem with its path; nothing is
built), then the image is built with its labels and ``/mlk/manifest.json``,
the build log streamed with the step it is at, and the build recorded (who,
when, image id, duration). ``--push`` then runs ``mlk test`` and ``mlk push``:
only an image that passes its contract test is published.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from typing import Any

from mlrun_kernel.build import build_model
from mlrun_kernel.cli.platform import me

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("build", help="build a model image (labels from mlk.yaml) and optionally publish it")
    p.add_argument("folder", help="folder with mlk.yaml and a Dockerfile")
    p.add_argument(
        "--push",
        action="store_true",
        help="then contract-test the image and, when it passes, push it (as `mlk test` and `mlk push`)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="with --push: push without the contract test (recorded as forced, as `mlk push --force`)",
    )
    p.add_argument("--registry", help="host:port to tag for (default: MLK_REGISTRY_URL's host)")
    p.add_argument("--quiet", "-q", action="store_true", help="do not stream the build output")
    p.set_defaults(handler=run)


class StepDisplay:
    """Build log lines, indented, with ``[step n/m]`` when the engine starts a Dockerfile step."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.stage = 0

    def __call__(self, line: str) -> None:
        step = _STEP.match(line)
        if step:
            if step.group(1) == "1":
                self.stage += 1
            what = "your Dockerfile" if self.stage == 1 else "labels and manifest"
            print(f"[{what}: step {step.group(1)}/{step.group(2)}] {step.group(3)}", file=sys.stderr)
        elif not self.quiet:
            print(f"  {line}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from mlrun_kernel.builds.records import record_build
    from mlrun_kernel.config import client_settings
    from mlrun_kernel.store import open_store

    if client_settings().service_url:  # a notebook container: no Docker socket, the service builds
        return _through_service(args)

    started = datetime.now(UTC)
    result = build_model(args.folder, registry=args.registry, on_log=StepDisplay(args.quiet))
    store = open_store()
    try:
        record_build(
            store,
            owner=me(),
            via="cli",
            image=result.name,
            version=result.version,
            image_id=result.image_id,
            revision=result.revision,
            duration_seconds=result.duration_seconds,
            started_at=started,
        )
    finally:
        store.close()
    print(f"built {result.image} ({result.image_id[:19]}) in {result.duration_seconds:.1f} s")
    if not args.push:
        print(f"next: mlk test {result.image}")
        return 0
    from mlrun_kernel.cli import push, test

    if args.force:
        print("pushing without the contract test (--force; recorded as forced)", file=sys.stderr)
        return push.run(argparse.Namespace(image=result.image, force=True, quiet=args.quiet))
    tested = test.run(argparse.Namespace(image=result.image, json=False, quiet=args.quiet))
    if tested != 0:
        print("not pushed: the image failed its contract test", file=sys.stderr)
        return tested
    return push.run(argparse.Namespace(image=result.image, force=False, quiet=args.quiet))


def _through_service(args: argparse.Namespace) -> int:
    """``mlk build --push`` where ``MLK_SERVICE_URL`` is set: the service builds, tests and pushes."""
    from mlrun_kernel.cli.platform import NotRemote
    from mlrun_kernel.expert import publish

    if args.force:
        raise NotRemote("through the model service every build is contract-tested: drop --force")
    if not args.push:
        raise NotRemote(
            "through the model service a build is always tested and published: run "
            "`mlk build FOLDER --push` (or mlrun_kernel.expert.publish(FOLDER) in a notebook)"
        )
    build = publish(args.folder, show=not args.quiet)
    print(f"published {build['image']}:{build['version']} -> {build['digest']} (build {build['id']})")
    return 0
