"""The store works the same on SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from mlrun_kernel.store import open_store
from mlrun_kernel.store.models import Dataset, ModelVersion, Repository, Run, Tag

pytestmark = [pytest.mark.postgres]


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from mlrun_kernel.store.engine import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


HEAD = _head_revision()


def test_fresh_database_is_migrated_to_the_newest_schema(store_url):
    store = open_store(store_url)
    try:
        assert store.revision() == HEAD
        tables = set(inspect(store.engine).get_table_names())
        assert {
            "repositories",
            "model_versions",
            "tags",
            "datasets",
            "dataset_versions",
            "blobs",
        } <= tables
        store.upgrade()  # a second upgrade is a no-op
        assert store.revision() == HEAD
    finally:
        store.close()


def test_catalog_rows_round_trip_with_json_and_aware_timestamps(store_url):
    store = open_store(store_url)
    try:
        seen = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        with store.session() as s:
            repo = Repository(name="iris-classifier", first_seen=seen)
            version = ModelVersion(
                repository=repo,
                digest="sha256:" + "a" * 64,
                config_digest="sha256:" + "b" * 64,
                title="Iris",
                manifest={"tasks": {"predict": {"parameters": {"type": "object"}}}},
            )
            s.add_all(
                [
                    repo,
                    version,
                    Tag(repository=repo, name="1.0.0", digest=version.digest, model_version=version),
                ]
            )
        with store.session() as s:
            got = s.scalars(select(ModelVersion)).one()
            assert got.manifest == {"tasks": {"predict": {"parameters": {"type": "object"}}}}
            assert got.repository.first_seen == seen
            assert got.repository.first_seen.tzinfo is not None
    finally:
        store.close()


def test_unique_dataset_names_per_owner_are_enforced(store_url):
    store = open_store(store_url)
    try:
        with store.session() as s:
            s.add(Dataset(owner="ana", name="sales"))
            s.add(Dataset(owner="ben", name="sales"))
        with pytest.raises(IntegrityError), store.session() as s:
            s.add(Dataset(owner="ana", name="sales"))
        with store.session() as s:
            assert s.scalar(text("SELECT count(*) FROM datasets")) == 2
    finally:
        store.close()


def test_sqlite_store_runs_in_wal_mode(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'wal.sqlite'}")
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        store.close()


def test_upgrade_from_the_first_schema_keeps_catalog_data(store_url):
    """An installation still on migration 0001 upgrades without losing its catalog."""
    store = open_store(store_url, migrate=False)
    try:
        store.upgrade("0001")
        assert store.revision() == "0001"
        assert "datasets" not in inspect(store.engine).get_table_names()
        with store.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO repositories (id, name, first_seen) VALUES (7, 'old-model', :t)"),
                {"t": datetime(2025, 5, 1, tzinfo=UTC)},
            )
            conn.execute(
                text(
                    "INSERT INTO model_versions (id, repository_id, digest, config_digest, title, first_seen)"
                    " VALUES (3, 7, 'sha256:x', 'sha256:y', 'Old model', :t)"
                ),
                {"t": datetime(2025, 5, 1, tzinfo=UTC)},
            )
        store.upgrade()
        assert store.revision() == HEAD
        with store.session() as s:
            version = s.scalars(select(ModelVersion)).one()
            assert (version.id, version.title, version.repository.name) == (
                3,
                "Old model",
                "old-model",
            )
            s.add(Dataset(owner="ana", name="after-upgrade"))
    finally:
        store.close()


def test_a_run_keeps_its_name_and_runs_from_before_0008_have_none(store_url):
    """Migration 0008 adds ``runs.name`` (nullable) to a store that already holds runs."""
    store = open_store(store_url, migrate=False)
    try:
        store.upgrade("0007")
        assert "name" not in {c["name"] for c in inspect(store.engine).get_columns("runs")}

        def run(run_id: str, **values: object) -> Run:
            return Run(
                id=run_id,
                owner="ana",
                model="iris-classifier",
                model_ref="1.0.0",
                digest="sha256:" + "0" * 64,
                image="127.0.0.1:5000/iris-classifier@sha256:" + "0" * 64,
                task="predict",
                reuse_key=run_id,
                storage=f"/tmp/runs/{run_id}",
                **values,
            )

        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO runs (id, owner, model, model_ref, digest, image, task, inputs, parameters,"
                    " resources, reuse_key, state, created_at, state_changed_at, attempts, cancel_requested,"
                    " storage, warnings, log_lines, log_bytes, log_truncated) VALUES ('old', 'ana', 'm', '1',"
                    " 'sha256:x', 'i', 'predict', '{}', '{}', '{}', 'k', 'succeeded', :t, :t, 1, false, '/s',"
                    " '[]', 0, 0, false)"
                ),
                {"t": datetime(2026, 5, 1, tzinfo=UTC)},
            )
        store.upgrade()
        column = next(c for c in inspect(store.engine).get_columns("runs") if c["name"] == "name")
        assert column["nullable"] and column["type"].length == 200
        with store.session() as s:
            s.add(run("named", name="Weekly forecast — März ✓"))
            s.add(run("unnamed"))
        with store.session() as s:
            names = {row.id: row.name for row in s.execute(select(Run.id, Run.name))}
        assert names == {"old": None, "named": "Weekly forecast — März ✓", "unnamed": None}
    finally:
        store.close()
