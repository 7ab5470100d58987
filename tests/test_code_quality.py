"""The code stays lint-clean (ruff) and the core type-checks (mypy), as CI demands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

BIN = Path(sys.executable).parent


def test_ruff_finds_nothing():
    out = subprocess.run(
        [BIN / "ruff", "check", "mlrun_kernel", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_passes_on_the_package():
    out = subprocess.run([BIN / "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
