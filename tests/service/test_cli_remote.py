"""With MLK_SERVICE_URL set, `mlk` talks to the service instead of opening the store itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.helpers import ServedApp, service_config

pytestmark = [pytest.mark.registry]


def test_cli_lists_models_and_uploads_a_dataset_through_the_service(tmp_path: Path, seeded_registry) -> None:
    config = service_config(
        tmp_path / "service-data", "http://127.0.0.1:9/hub/api", seeded_registry.url, static_token="cli-token"
    )
    with ServedApp(config) as served:
        env = {
            **os.environ,
            "MLK_SERVICE_URL": served.url,
            "MLK_SERVICE_TOKEN": "cli-token",
            # Point the embedded path somewhere empty: it must not be used.
            "MLK_DATA_DIR": str(tmp_path / "unused"),
            "MLK_REGISTRY_URL": "http://127.0.0.1:9",
        }

        def mlk(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "mlrun_kernel.cli", *args], env=env, capture_output=True, text=True
            )

        listed = mlk("models", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert "team/churn" in [m["name"] for m in json.loads(listed.stdout)]

        data = tmp_path / "rows.csv"
        data.write_text("a,b\n1,2\n3,4\n")
        uploaded = mlk("datasets", "upload", str(data), "--name", "rows")
        assert uploaded.returncode == 0, uploaded.stderr
        shown = mlk("datasets", "list", "--json")
        assert "rows" in [d["name"] for d in json.loads(shown.stdout)]
        assert not (tmp_path / "unused" / "mlrun-kernel.sqlite").exists()
