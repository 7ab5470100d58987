"""A fresh machine without Node: scripts/setup.sh asks Debian for nodejs and npm (issue 9, point 5)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.paths import ROOT

SETUP = ROOT / "scripts" / "setup.sh"
# What setup.sh runs before it decides on its package list.
TOOLS = ("bash", "dirname", "pwd", "mkdir", "dpkg-query", "grep", "cat", "printf")


def _path_without_npm(tmp_path: Path) -> Path:
    """A PATH directory holding only the tools setup.sh needs, and no npm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return bin_dir


def _wanted(bin_dir: Path, tmp_path: Path) -> list[str]:
    env = {**os.environ, "PATH": str(bin_dir), "MLK_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(
        [shutil.which("bash") or "bash", str(SETUP), "--packages"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_setup_asks_debian_for_node_when_no_npm_is_on_the_path(tmp_path: Path) -> None:
    wanted = _wanted(_path_without_npm(tmp_path), tmp_path)
    assert "nodejs" in wanted and "npm" in wanted
    assert "docker.io" in wanted  # the rest of the list is still there


def test_setup_leaves_an_existing_npm_alone(tmp_path: Path) -> None:
    bin_dir = _path_without_npm(tmp_path)
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\necho 10.0.0\n")
    npm.chmod(0o755)
    wanted = _wanted(bin_dir, tmp_path)
    assert "nodejs" not in wanted and "npm" not in wanted
