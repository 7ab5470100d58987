"""Migration 0002 creates exactly the dataset tables the models describe (both backends)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from mlrun_kernel.store import Base, open_store

pytestmark = [pytest.mark.postgres]

DATASET_TABLES = {"blobs", "datasets", "dataset_versions", "dataset_files", "uploads", "dataset_holds"}


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return table.name
        if isinstance(part, str) and part in DATASET_TABLES:
            return part
        if name in DATASET_TABLES:
            return name
    return None


def test_migration_matches_the_dataset_models(store_url):
    store = open_store(store_url)
    try:
        assert set(inspect(store.engine).get_table_names()) >= DATASET_TABLES
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in DATASET_TABLES]
        assert diffs == []
        holds = inspect(store.engine).get_foreign_keys("dataset_holds")
        assert holds[0]["referred_table"] == "dataset_versions"
        assert (holds[0].get("options") or {}).get("ondelete", "RESTRICT").upper() == "RESTRICT"
    finally:
        store.close()
