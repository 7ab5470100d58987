"""The catalog mirrors a real registry into the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from mlrun_kernel.catalog import (
    catalog_status,
    get_model,
    list_models,
    resolve_version,
    sync_catalog,
)
from mlrun_kernel.registry import RegistryClient
from mlrun_kernel.spec import LABEL_MANIFEST
from mlrun_kernel.store import open_store
from tests.model_labels import MANIFEST, model_labels

pytestmark = [pytest.mark.registry, pytest.mark.postgres]


@pytest.fixture
def world(store_url, fresh_registry):
    store = open_store(store_url)
    seeder = fresh_registry.seeder()
    client = RegistryClient(fresh_registry.url, retries=0, timeout=3)
    yield store, seeder, client, fresh_registry
    client.close()
    seeder.close()
    store.close()


def test_new_models_appear_and_plain_images_are_skipped_and_counted(world):
    store, seeder, registry, _ = world
    seeder.image("team/churn", "1.0.0", model_labels("Churn"))
    seeder.image("team/churn", "latest", model_labels("Churn"))
    seeder.image("tools/busybox", "1", {"maintainer": "someone"})

    report = sync_catalog(store, registry)

    assert report.error is None
    assert (report.tags, report.new_tags, report.not_models, report.problems) == (3, 3, 1, 0)
    models = list_models(store)
    assert [m.name for m in models] == ["team/churn"]
    assert (models[0].title, models[0].version, models[0].tasks) == ("Churn", "1.0.0", ["predict"])
    assert sorted(models[0].tags) == ["1.0.0", "latest"]


def test_each_config_blob_is_fetched_once_and_unchanged_tags_cost_no_blob(world):
    store, seeder, registry, _ = world
    for tag in ("1.0.0", "latest", "stable"):  # one image, three tags
        seeder.image("team/churn", tag, model_labels("Churn"))
    first = sync_catalog(store, registry)
    assert (first.manifests_fetched, first.blobs_fetched) == (3, 1)

    warm = sync_catalog(store, registry)
    assert (warm.manifests_fetched, warm.blobs_fetched, warm.new_tags, warm.moved_tags) == (
        0,
        0,
        0,
        0,
    )
    quick = sync_catalog(store, registry, deep=False)
    assert (quick.manifests_fetched, quick.blobs_fetched) == (0, 0)


def test_moved_and_deleted_tags_and_gone_repositories_are_followed(world):
    store, seeder, registry, process = world
    writer = process.access.writer()  # deletes go to the push side, with its credentials
    old = seeder.image("team/churn", "latest", model_labels("Churn", "1.0.0"))
    seeder.image("team/churn", "1.0.0", model_labels("Churn", "1.0.0"))
    gone = seeder.image("team/old", "1.0.0", model_labels("Old"))
    sync_catalog(store, registry)

    new = seeder.image("team/churn", "latest", model_labels("Churn", "1.1.0"))
    writer.delete_manifest("team/old", gone)
    report = sync_catalog(store, registry)

    assert report.moved_tags == 1 and report.repositories_gone == 1
    assert resolve_version(store, "team/churn", "latest").digest == new
    assert resolve_version(store, "team/churn", "1.0.0").digest == old
    assert get_model(store, "team/churn").version == "1.1.0"  # newest semver wins
    assert get_model(store, "team/old") is None
    # Deleting the old digest removes its tag; the next sync drops it.
    writer.delete_manifest("team/churn", old)
    report = sync_catalog(store, registry)
    assert report.deleted_tags == 1
    assert resolve_version(store, "team/churn", "1.0.0") is None
    assert [v.digest for v in get_model(store, "team/churn").versions] == [new]


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        ({LABEL_MANIFEST: "{not json"}, "not valid JSON"),
        ({LABEL_MANIFEST: json.dumps({**MANIFEST, "x": "y" * 70_000})}, "65536"),
        ({LABEL_MANIFEST: json.dumps({"tasks": {}})}, "tasks"),
        ({"org.opencontainers.image.title": ""}, "org.opencontainers.image.title"),
    ],
    ids=["not-json", "over-64k", "no-tasks", "empty-title"],
)
def test_broken_models_are_kept_with_their_problem_hidden_from_users(world, labels, problem):
    store, seeder, registry, _ = world
    seeder.image("team/broken", "1.0.0", {**model_labels("Broken"), **labels})
    seeder.image("team/good", "1.0.0", model_labels("Good"))

    report = sync_catalog(store, registry)

    assert report.problems == 1
    assert problem in report.problem_details["team/broken:1.0.0"]
    assert [m.name for m in list_models(store)] == ["team/good"]
    expert_view = {m.name: m for m in list_models(store, include_problems=True)}
    assert problem in expert_view["team/broken"].problem
    assert [m.name for m in list_models(store, has_problems=True)] == ["team/broken"]


def test_catalog_answers_from_the_store_marked_stale_while_the_registry_is_down(world):
    store, seeder, registry, process = world
    seeder.image("team/churn", "1.0.0", model_labels("Churn"))
    sync_catalog(store, registry)
    good = catalog_status(store, registry.url)
    assert not good.stale and good.last_error is None

    process.stop()
    report = sync_catalog(store, registry)

    assert report.error and registry.url in report.error and "cannot connect" in report.error
    status = catalog_status(store, registry.url)
    assert status.stale and status.last_success_at == good.last_success_at
    assert [m.name for m in list_models(store)] == ["team/churn"]  # nothing lost


def test_search_keyword_and_task_filters(world):
    store, seeder, registry, _ = world
    seeder.image("team/churn", "1.0.0", model_labels("Churn predictor"))
    other = {"tasks": {"forecast": MANIFEST["tasks"]["predict"]}, "keywords": ["time-series"]}
    seeder.image("team/sales", "1.0.0", model_labels("Sales forecaster", manifest=other))
    sync_catalog(store, registry)

    assert [m.name for m in list_models(store, search="FORECAST")] == ["team/sales"]
    assert [m.name for m in list_models(store, keyword="tabular")] == ["team/churn"]
    assert [m.name for m in list_models(store, task="forecast")] == ["team/sales"]


def test_multi_platform_index_resolves_to_the_engine_platform(world):
    store, seeder, registry, _ = world
    seeder.index(
        "team/multi",
        "1.0.0",
        {"arm64": model_labels("Arm build"), "amd64": model_labels("Amd build")},
    )
    sync_catalog(store, registry)
    import platform

    version = resolve_version(store, "team/multi", "1.0.0")
    assert version.title == ("Arm build" if platform.machine() == "aarch64" else "Amd build")
