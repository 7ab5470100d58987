"""The code stays lint-clean (ruff) and the core type-checks (mypy), as CI demands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

BIN = Path(sys.executable).parent


PYTHON_SOURCES = ["mlrun_kernel", "tests", "bench", "scripts", "examples", "notebooks", "voila_apps", "hub"]


def test_ruff_finds_nothing():
    """Everything ruff can read: the package, tests, benchmarks, notebooks and the hub config."""
    out = subprocess.run([BIN / "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_python_sources_are_formatted():
    out = subprocess.run(
        [BIN / "ruff", "format", "--check", *PYTHON_SOURCES, "jupyterhub_config.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_passes_on_the_package():
    out = subprocess.run([BIN / "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
