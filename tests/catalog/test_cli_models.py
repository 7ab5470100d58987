"""An expert lists and inspects models with `mlk models` (embedded mode, real registry)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.model_labels import model_labels

pytestmark = [pytest.mark.registry]


def mlk(*args: str, registry: str, data: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLK_REGISTRY_URL": registry, "MLK_DATA_DIR": data}
    env.pop("MLK_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "mlrun_kernel.cli", *args], env=env, capture_output=True, text=True
    )


def test_expert_lists_models_with_problems_and_shows_one(fresh_registry, tmp_path):
    seeder = fresh_registry.seeder()
    seeder.image("team/churn", "1.2.0", model_labels("Churn", "1.2.0"))
    seeder.image("team/churn", "latest", model_labels("Churn", "1.2.0"))
    seeder.image("team/broken", "0.1.0", {**model_labels("Broken"), "io.mlkernel.manifest": "{"})

    table = mlk("models", "list", registry=fresh_registry.url, data=str(tmp_path))
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.strip().splitlines()
    assert header.split()[:3] == ["MODEL", "TITLE", "VERSION"]
    assert any(r.startswith("team/churn") and "1.2.0" in r for r in rows)
    assert any(r.startswith("team/broken") and "io.mlkernel.manifest" in r for r in rows)

    listed = json.loads(
        mlk("models", "list", "--json", registry=fresh_registry.url, data=str(tmp_path)).stdout
    )
    assert {m["name"] for m in listed} == {"team/churn", "team/broken"}

    shown = mlk(
        "models",
        "show",
        "team/churn:1.2.0",
        "--json",
        registry=fresh_registry.url,
        data=str(tmp_path),
    )
    card = json.loads(shown.stdout)
    assert card["title"] == "Churn" and sorted(card["tags"]) == ["1.2.0", "latest"]
    assert card["manifest"]["tasks"]["predict"]["parameters"]["properties"]["k"]["default"] == 3

    missing = mlk("models", "show", "team/nope", registry=fresh_registry.url, data=str(tmp_path))
    assert missing.returncode == 1 and "no model team/nope" in missing.stderr


def test_listing_while_the_registry_is_down_shows_the_stored_catalog_with_a_warning(fresh_registry, tmp_path):
    fresh_registry.seeder().image("team/churn", "1.0.0", model_labels("Churn"))
    assert mlk("models", "list", registry=fresh_registry.url, data=str(tmp_path)).returncode == 0
    fresh_registry.stop()
    out = mlk("models", "list", registry=fresh_registry.url, data=str(tmp_path))
    assert out.returncode == 0
    assert "warning: showing the stored catalog" in out.stderr
    assert "team/churn" in out.stdout
