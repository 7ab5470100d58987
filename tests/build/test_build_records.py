"""Builds, contract tests and pushes are kept in the store (migration 0006), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect

from mlrun_kernel.builds.records import last_test, pushes, record_build, record_push, record_test
from mlrun_kernel.store import open_store


def test_migration_0006_keeps_builds_tests_and_pushes(store_url: str) -> None:
    store = open_store(store_url)
    try:
        tables = set(inspect(store.engine).get_table_names())
        assert {"model_builds", "image_tests", "image_pushes"} <= tables
        record_build(
            store,
            owner="ana",
            via="cli",
            image="churn",
            version="1.0.0",
            image_id="sha256:" + "a" * 64,
            revision="abc123",
            duration_seconds=12.5,
            started_at=datetime.now(UTC),
        )
        image_id = "sha256:" + "b" * 64
        assert last_test(store, image_id) is None
        record_test(
            store, image_id=image_id, reference="churn:1.0.0", passed=False, report={"x": 1}, who="ana"
        )
        record_test(
            store, image_id=image_id, reference="churn:1.0.0", passed=True, report={"x": 2}, who="ana"
        )
        latest = last_test(store, image_id)
        assert latest is not None and latest.passed and latest.report == {"x": 2}
        record_push(
            store,
            image="churn",
            version="1.0.0",
            image_id=image_id,
            digest="sha256:" + "c" * 64,
            moved_latest=True,
            forced=["untested"],
            who="ana",
        )
        [push] = pushes(store, "churn")
        assert push["forced"] == ["untested"] and push["moved_latest"]
    finally:
        store.close()
