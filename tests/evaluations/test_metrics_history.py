"""The metrics history: every finished run's metrics kept with where they came from, on
SQLite and PostgreSQL, queryable per model, version, metric and time range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlrun_kernel.evaluations import InvalidSetting, ingest_finished_runs, metric_history
from mlrun_kernel.store import open_store
from mlrun_kernel.store.models import MetricPoint
from tests.evaluations.helpers import finished_run

T0 = datetime(2026, 1, 1, tzinfo=UTC)
V2 = "sha256:" + "b" * 64


def test_finished_runs_metrics_are_kept_with_version_task_dataset_and_parameters(store_url: str) -> None:
    store = open_store(store_url)
    try:
        first = finished_run(
            store, metrics={"accuracy": 0.9, "macro_f1": 0.88, "note": "text"}, finished_at=T0
        )
        finished_run(store, metrics={"accuracy": 0.5}, finished_at=T0, state="failed")
        finished_run(
            store, metrics={"accuracy": 0.8}, finished_at=T0 + timedelta(days=1), digest=V2, version="1.1.0"
        )
        assert ingest_finished_runs(store) == 3
        assert ingest_finished_runs(store) == 0, "a run is read once"

        points = metric_history(store, "team/churn")
        assert [(p.metric, p.value, p.version) for p in points] == [
            ("accuracy", 0.9, "1.0.0"),
            ("macro_f1", 0.88, "1.0.0"),
            ("accuracy", 0.8, "1.1.0"),
        ]
        assert points[0].run_id == first and points[0].task == "evaluate" and points[0].at == T0
        with store.session() as s:
            row = s.query(MetricPoint).filter_by(run_id=first, name="accuracy").one()
            assert row.datasets == {"data": "ada/labelled:3"} and row.parameters == {"threshold": 0.5}
    finally:
        store.close()


def test_history_filters_by_metric_version_and_time(store_url: str) -> None:
    store = open_store(store_url)
    try:
        for day in range(10):
            digest = V2 if day >= 5 else "sha256:" + "a" * 64
            finished_run(
                store,
                metrics={"accuracy": 0.9 - day / 100, "loss": day / 10},
                finished_at=T0 + timedelta(days=day),
                digest=digest,
            )
        finished_run(store, model="other", metrics={"accuracy": 1.0}, finished_at=T0)
        assert len(metric_history(store, "team/churn")) == 20
        acc = metric_history(store, "team/churn", metric="accuracy")
        assert len(acc) == 10 and all(p.metric == "accuracy" for p in acc)
        assert [p.at for p in acc] == sorted(p.at for p in acc)
        since = metric_history(store, "team/churn", metric="loss", since=T0 + timedelta(days=7))
        assert [p.value for p in since] == [0.7, 0.8, 0.9]
        window = metric_history(
            store, "team/churn", since=T0 + timedelta(days=2), until=T0 + timedelta(days=3)
        )
        assert len(window) == 4
        assert len(metric_history(store, "team/churn", digest=V2)) == 10
        assert metric_history(store, "no-such-model") == []
    finally:
        store.close()


def test_a_time_range_without_a_zone_or_upside_down_is_refused(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    with pytest.raises(InvalidSetting, match="time zone"):
        metric_history(store, "m", since=datetime(2026, 1, 1))
    with pytest.raises(InvalidSetting, match="is after until"):
        metric_history(store, "m", since=T0 + timedelta(days=1), until=T0)
    store.close()
