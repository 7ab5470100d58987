"""notebooks/publish-a-model.ipynb runs, with nbval, against a running model service."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.paths import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub]


def test_the_publish_a_model_notebook_runs_against_the_service(build_service, tokens, tmp_path) -> None:
    served, _ = build_service
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLK_", "JUPYTERHUB_"))}
    env.update(MLK_SERVICE_URL=served.url, MLK_SERVICE_TOKEN=tokens["expert"])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            f"--basetemp={tmp_path / 'nb'}",
            "--rootdir",
            str(ROOT),
            str(ROOT / "notebooks" / "publish-a-model.ipynb"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "passed" in done.stdout
