"""The metrics history: every finished run's metrics, kept with where they came from.

Runs record their metrics on the run row when they end (``runs.metrics``); this module
copies them into ``metric_points`` (one row per run and metric) with the model, version,
digest, task, dataset versions and parameters, so the history outlives the runs and is
queried by index (model, metric, time) instead of by scanning runs.

:func:`ingest_finished_runs` is idempotent and cheap when nothing is new (an anti-join on
``metric_ingested``): the service calls it on every tick and before answering a history
query, the embedded CLI before it reads, so a run's metrics are in the history as soon as
anyone looks. Nothing in :mod:`mlrun_kernel.runs` has to know about it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from mlrun_kernel.evaluations.errors import InvalidSetting
from mlrun_kernel.runs.states import TERMINAL
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Evaluation, MetricIngest, MetricPoint, Run
from mlrun_kernel.store.types import utcnow

BATCH = 500
MAX_POINTS = 100_000

COLUMNS = (
    MetricPoint.at,
    MetricPoint.name,
    MetricPoint.value,
    MetricPoint.digest,
    MetricPoint.model_version,
    MetricPoint.task,
    MetricPoint.run_id,
    MetricPoint.evaluation_id,
)
"""What a history query returns per point, in this order (the API sends the same)."""

FIELDS = ("at", "metric", "value", "digest", "version", "task", "run_id", "evaluation_id")


@dataclass(frozen=True)
class MetricPointInfo:
    """One metric value of one run."""

    at: datetime
    metric: str
    value: float
    digest: str
    version: str | None
    task: str
    run_id: str
    evaluation_id: int | None


def numeric_metrics(metrics: dict[str, Any] | None) -> dict[str, float]:
    """The finite numbers among a run's metrics (a model may report other things too)."""
    out: dict[str, float] = {}
    for name, value in (metrics or {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(float(value)):
            out[str(name)[:128]] = float(value)
    return out


def _datasets(inputs: dict[str, Any] | None) -> dict[str, str]:
    return {
        name: f"{info['ref']}:{info['version']}"
        for name, info in (inputs or {}).items()
        if isinstance(info, dict) and info.get("kind") == "dataset"
    }


def ingest_finished_runs(store: Store) -> int:
    """Copy the metrics of runs that ended since the last call into the history; how many points."""
    added = 0
    while True:
        with store.session() as s:
            rows = s.execute(
                select(Run)
                .outerjoin(MetricIngest, MetricIngest.run_id == Run.id)
                .where(MetricIngest.run_id.is_(None), Run.state.in_([str(t) for t in TERMINAL]))
                .limit(BATCH)
            ).scalars()
            runs = list(rows)
            if not runs:
                return added
            evaluations = dict(
                s.execute(
                    select(Evaluation.run_id, Evaluation.id).where(
                        Evaluation.run_id.in_([r.id for r in runs])
                    )
                ).all()
            )
            for run in runs:
                s.add(MetricIngest(run_id=run.id))
                if run.state != "succeeded":
                    continue
                for name, value in numeric_metrics(run.metrics).items():
                    s.add(
                        MetricPoint(
                            run_id=run.id,
                            model=run.model,
                            digest=run.digest,
                            model_version=run.model_version,
                            task=run.task,
                            name=name,
                            value=value,
                            at=run.finished_at or run.state_changed_at or utcnow(),
                            datasets=_datasets(run.inputs),
                            parameters=run.parameters or {},
                            evaluation_id=evaluations.get(run.id),
                        )
                    )
                    added += 1


def history_statement(
    model: str,
    *,
    metric: str | None = None,
    digest: str | None = None,
    task: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    evaluations_only: bool = False,
    limit: int = MAX_POINTS,
) -> Select[Any]:
    """The one SQL query behind every history answer (the benchmark runs it bare)."""
    for label, when in (("since", since), ("until", until)):
        if when is not None and when.tzinfo is None:
            raise InvalidSetting(f"{label} must carry a time zone (e.g. 2026-01-01T00:00:00Z)")
    if since and until and since > until:
        raise InvalidSetting(f"since ({since.isoformat()}) is after until ({until.isoformat()})")
    stmt = select(*COLUMNS).where(MetricPoint.model == model)
    if metric:
        stmt = stmt.where(MetricPoint.name == metric)
    if digest:
        stmt = stmt.where(MetricPoint.digest == digest)
    if task:
        stmt = stmt.where(MetricPoint.task == task)
    if since:
        stmt = stmt.where(MetricPoint.at >= since)
    if until:
        stmt = stmt.where(MetricPoint.at <= until)
    if evaluations_only:
        stmt = stmt.where(MetricPoint.evaluation_id.is_not(None))
    return stmt.order_by(MetricPoint.at, MetricPoint.name).limit(limit)  # type: ignore[return-value]


def history_rows(session: Session, stmt: Select[Any]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.execute(stmt)]


def metric_history(
    store: Store,
    model: str,
    *,
    metric: str | None = None,
    digest: str | None = None,
    task: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    evaluations_only: bool = False,
    ingest: bool = True,
) -> list[MetricPointInfo]:
    """The metrics ``model`` reported, oldest first, filtered by metric, version, task and time."""
    stmt = history_statement(
        model,
        metric=metric,
        digest=digest,
        task=task,
        since=since,
        until=until,
        evaluations_only=evaluations_only,
    )
    if ingest:
        ingest_finished_runs(store)
    with store.session() as s:
        return [MetricPointInfo(*row) for row in history_rows(s, stmt)]
