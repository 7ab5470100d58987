"""An embedded ``mlk run`` makes the one model's catalog entry current, not the whole catalog.

Its start-up used to sync every repository before queueing (bench/bench_log_flood.py
measured it); now a current entry costs one HEAD request, and only a missing or stale
entry syncs, that one repository. Stale entries still get refreshed: that is the point.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrun_kernel.catalog import resolve_version
from mlrun_kernel.cli.model_entry import refresh_model_entry
from mlrun_kernel.config import settings
from mlrun_kernel.store import open_store
from tests.model_labels import model_labels

pytestmark = [pytest.mark.registry]


@pytest.fixture
def world(tmp_path: Path, fresh_registry: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("MLK_REGISTRY_URL", fresh_registry.url)
    settings.cache_clear()
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    seeder = fresh_registry.seeder()
    yield store, seeder
    seeder.close()
    store.close()
    settings.cache_clear()


def test_a_missing_entry_syncs_its_repository_only_and_a_current_one_costs_no_sync(world):
    store, seeder = world
    seeder.image("team/churn", "1.0.0", model_labels("Churn"))
    seeder.image("team/other", "1.0.0", model_labels("Other"))
    assert refresh_model_entry(store, "team/churn:1.0.0") is True
    assert resolve_version(store, "team/churn", "1.0.0") is not None
    assert resolve_version(store, "team/other", "1.0.0") is None  # not read: not this run's model
    assert refresh_model_entry(store, "team/churn:1.0.0") is False
    digest = resolve_version(store, "team/churn", "1.0.0").digest
    assert refresh_model_entry(store, f"team/churn@{digest}") is False


def test_a_stale_entry_is_refreshed_before_the_run_is_queued(world):
    store, seeder = world
    seeder.image("team/churn", "latest", model_labels("Churn", "1.0.0"))
    refresh_model_entry(store, "team/churn")
    old = resolve_version(store, "team/churn", "latest")
    seeder.image("team/churn", "latest", model_labels("Churn", "2.0.0"))  # the tag moved
    assert refresh_model_entry(store, "team/churn") is True
    new = resolve_version(store, "team/churn", "latest")
    assert new is not None and old is not None
    assert (new.version, new.digest != old.digest) == ("2.0.0", True)


def test_a_registry_that_does_not_answer_leaves_the_stored_entry_with_a_warning(
    world, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    store, seeder = world
    seeder.image("team/churn", "1.0.0", model_labels("Churn"))
    refresh_model_entry(store, "team/churn:1.0.0")
    monkeypatch.setenv("MLK_REGISTRY_URL", "http://127.0.0.1:9")
    settings.cache_clear()
    assert refresh_model_entry(store, "team/churn:1.0.0") is False
    assert "warning: using the stored catalog entry" in capsys.readouterr().err
    assert resolve_version(store, "team/churn", "1.0.0") is not None
