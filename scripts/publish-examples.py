#!/usr/bin/env python3
"""Publish the example models the registry does not hold yet (`make examples`, part of `make up`).

    python scripts/publish-examples.py [FOLDER ...]    # default: examples/models/*/

An example whose ``name:version`` (from its mlk.yaml) the registry already has
is left as it is: a rebuild is another image (its labels carry the build time
and the commit), and the registry rightly refuses a second image under a
published version, so a second `make up` would fail. The others go through
`mlk build --push`, as an expert's model does: built, contract-tested, pushed.
To publish a changed example, raise its version (with a release note).

The registry is MLK_REGISTRY_URL's (pulls) and MLK_REGISTRY_PUSH_URL's (pushes),
as for `mlk build --push`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def published_digest(name: str, version: str) -> str | None:
    """The digest ``name:version`` has in the registry, or None when it has no such tag."""
    from mlrun_kernel.registry import RegistryAccess
    from mlrun_kernel.registry.client import RegistryError

    with RegistryAccess.from_settings().reader() as registry:
        try:
            return registry.manifest_digest(name, version)
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from mlrun_kernel.build import load_build_file

    folders = [Path(a) for a in argv] or sorted(
        p.parent for p in (ROOT / "examples" / "models").glob("*/mlk.yaml")
    )
    for folder in folders:
        build = load_build_file(folder)
        ref = f"{build.image}:{build.metadata.version}"
        digest = published_digest(build.image, build.metadata.version)
        if digest:
            print(f"examples: {ref} is already published ({digest[:19]}); left as it is")
            continue
        print(f"examples: {ref}: building, contract-testing and pushing", flush=True)
        started = time.monotonic()
        cli = [sys.executable, "-m", "mlrun_kernel.cli", "build", str(folder), "--push"]
        if subprocess.run(cli, cwd=ROOT, check=False).returncode != 0:
            print(f"examples: {ref} was not published (see above)", file=sys.stderr)
            return 1
        print(f"examples: {ref} published in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
