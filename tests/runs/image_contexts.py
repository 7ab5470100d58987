"""Build the purpose-built test images (used by tests/runs/conftest.py and bench/bench_runs.py).

Each image's build context is its folder under ``images/`` with ``images/shared/``
beneath it: the shared program that several images run with different manifests.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from mlrun_kernel.build import ModelBuild, build_model
from mlrun_kernel.registry import RegistryAccess

IMAGES = Path(__file__).parent / "images"


def build_test_model(name: str, registry: RegistryAccess) -> ModelBuild:
    """Build and push ``images/<name>`` to ``registry`` (tests/registry_process.py gives one)."""
    with tempfile.TemporaryDirectory(prefix=f"mlk-test-{name}-") as tmp:
        context = Path(tmp) / name
        shutil.copytree(IMAGES / "shared", context)
        shutil.copytree(IMAGES / name, context, dirs_exist_ok=True)
        return build_model(context, registry=registry, push=True)


def image_names() -> list[str]:
    return sorted(p.name for p in IMAGES.iterdir() if (p / "mlk.yaml").is_file())
