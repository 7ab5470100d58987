"""Catalog sync of 1,000 tags against a naive sequential v2 client, in one run.

Prints the time of each and the ratios against the baseline:
  cold sync (empty store)          target <= 0.30x
  warm sync, nothing changed       target <= 0.05x: the quick sync that runs every
                                   minute (lists only; push events carry moved tags)
  deep repair sync                 a HEAD per tag, for events that were lost

The baseline is what a straightforward client does: list the catalog, then for
every repository its tags, then for every tag GET the manifest and GET the
config blob, one request after the other.

The registry's own CPU time per request is printed too: on a small machine the
registry, not the client, is what a cold sync waits for, and that sets the floor
(two requests per distinct image, spread over the machine's cores).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlrun_kernel.catalog import list_models, sync_catalog  # noqa: E402
from mlrun_kernel.registry import RegistryClient  # noqa: E402
from mlrun_kernel.spec import LABEL_MANIFEST, LABEL_SPEC_VERSION, load_validator  # noqa: E402
from mlrun_kernel.store import open_store  # noqa: E402
from tests.registry_process import RegistryProcess  # noqa: E402

REPOS, TAGS_PER_REPO = 10, 100
ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"


def labels(repo: int, tag: int) -> dict[str, str]:
    manifest = {"tasks": {"predict": {"description": "p", "parameters": {"type": "object"}}}}
    return {
        LABEL_SPEC_VERSION: "1",
        LABEL_MANIFEST: json.dumps(manifest),
        "org.opencontainers.image.title": f"Model {repo}",
        "org.opencontainers.image.description": f"Bench model {repo} build {tag}.",
        "org.opencontainers.image.version": f"1.0.{tag}",
    }


def naive_sync(url: str) -> int:
    """The baseline: every request in sequence, every blob fetched."""
    models = 0
    with httpx.Client(timeout=30) as http:
        repos = http.get(f"{url}/v2/_catalog", params={"n": 1000}).json()["repositories"]
        for repo in repos:
            tags = http.get(f"{url}/v2/{repo}/tags/list").json()["tags"]
            for tag in tags:
                manifest = http.get(f"{url}/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT}).json()
                config = http.get(f"{url}/v2/{repo}/blobs/{manifest['config']['digest']}").json()
                models += LABEL_SPEC_VERSION in (config["config"].get("Labels") or {})
    return models


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mlk-bench-") as tmp:
        # The project's registry: anonymous reads on ``url`` (what the sync reads), pushes
        # with credentials on the push side (the seeding).
        process = RegistryProcess(Path(tmp, "registry")).start()
        url = process.url
        try:
            seeder = process.seeder()
            t_seed, _ = timed(
                lambda: [
                    seeder.image(f"bench/model-{r}", f"1.0.{t}", labels(r, t))
                    for r in range(REPOS)
                    for t in range(TAGS_PER_REPO)
                ]
            )
            total = REPOS * TAGS_PER_REPO
            print(f"seeded {total} tags in {REPOS} repositories in {t_seed:.1f}s")

            pid = int(Path(tmp, "registry", "registry.pid").read_text())
            cpu0 = process_cpu(pid)
            # Imports are the process's start-up, not the sync's: the service loads the
            # validator when it starts (the baseline's httpx is imported above, too).
            load_validator()
            t_naive, n = timed(lambda: naive_sync(url))
            cpu_naive = process_cpu(pid) - cpu0
            assert n == total, n
            store = open_store(f"sqlite:///{tmp}/bench.sqlite")
            registry = RegistryClient(url, page_size=1000)
            cpu0 = process_cpu(pid)
            t_cold, cold = timed(lambda: sync_catalog(store, registry))
            cpu_cold = process_cpu(pid) - cpu0
            assert cold.error is None and cold.new_tags == total, cold
            t_deep, deep = timed(lambda: sync_catalog(store, registry))
            assert deep.manifests_fetched == 0 and deep.blobs_fetched == 0, deep
            t_quick, quick = timed(lambda: sync_catalog(store, registry, deep=False))
            assert quick.manifests_fetched == 0, quick
            assert len(list_models(store)) == REPOS

            def line(name: str, t: float, target: float) -> str:
                ratio = t / t_naive
                verdict = "ok" if ratio <= target else "MISSED"
                return f"{name:<34} {t:7.3f}s  {ratio:6.3f}x baseline  (target <= {target}x: {verdict})"

            print(f"{'naive sequential v2 client':<34} {t_naive:7.3f}s  1.000x")
            print(line("cold sync (empty store)", t_cold, 0.30))
            print(line("warm sync (nothing changed)", t_quick, 0.05))
            print(
                f"{'deep repair sync (HEAD per tag)':<34} {t_deep:7.3f}s  {t_deep / t_naive:6.3f}x baseline"
            )
            requests = 2 * total
            cores = os.cpu_count() or 1
            floor = cpu_cold / cores
            print(
                f"registry CPU per request: naive {cpu_naive / requests * 1e3:.2f} ms,"
                f" cold sync {cpu_cold / requests * 1e3:.2f} ms; registry CPU alone over"
                f" {cores} cores = {floor:.3f}s = {floor / t_naive:.3f}x baseline (the floor);"
                f" registry peak RSS {peak_rss_mib(pid):.0f} MiB"
            )
        finally:
            process.stop()


if __name__ == "__main__":
    main()
