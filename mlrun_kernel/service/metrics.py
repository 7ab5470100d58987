"""Prometheus metrics of the service: ``GET {prefix}metrics``.

Two kinds, in one registry per app:

- counted by the service as requests pass: ``mlk_api_request_duration_seconds``
  (a histogram by method, route template and status), observed by
  ``LatencyMiddleware``;
- read from the store when scraped (so every replica reports the same truth,
  and a restart loses nothing): ``mlk_runs`` by state, ``mlk_run_queue_length``,
  ``mlk_run_duration_seconds`` (a histogram of finished runs, start to end),
  ``mlk_catalog_models``, and ``mlk_catalog_last_sync_timestamp_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from mlrun_kernel.store import Store
from mlrun_kernel.store.models import CatalogSync, Repository, Run

RUN_STATES = (
    "queued",
    "pulling",
    "starting",
    "running",
    "collecting",
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
)
TERMINAL_STATES = ("succeeded", "failed", "cancelled", "timed_out")
RUN_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0)
API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreCollector(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        with self.store.session() as s:
            by_state = dict(s.execute(select(Run.state, func.count()).group_by(Run.state)).all())
            finished = s.execute(
                select(Run.started_at, Run.finished_at).where(
                    Run.state.in_(TERMINAL_STATES),
                    Run.started_at.is_not(None),
                    Run.finished_at.is_not(None),
                )
            ).all()
            models = int(s.scalar(select(func.count()).where(Repository.gone_at.is_(None))) or 0)
            last_sync = s.scalar(select(func.max(CatalogSync.last_success_at)))
        runs = GaugeMetricFamily("mlk_runs", "Runs in the store, by state.", labels=["state"])
        for state in RUN_STATES:
            runs.add_metric([state], float(by_state.get(state, 0)))
        yield runs
        yield GaugeMetricFamily(
            "mlk_run_queue_length",
            "Runs waiting for an executor slot.",
            value=float(by_state.get("queued", 0)),
        )
        durations = sorted((end - start).total_seconds() for start, end in finished if start and end)
        buckets: list[tuple[str, float]] = []
        index = 0
        for bound in RUN_BUCKETS:
            while index < len(durations) and durations[index] <= bound:
                index += 1
            buckets.append((str(bound), float(index)))
        buckets.append(("+Inf", float(len(durations))))
        yield HistogramMetricFamily(
            "mlk_run_duration_seconds",
            "Wall time of finished runs, from start to end.",
            buckets=buckets,
            sum_value=sum(durations),
        )
        yield GaugeMetricFamily(
            "mlk_catalog_models", "Model repositories in the catalog (incl. non-model ones).", value=models
        )
        yield GaugeMetricFamily(
            "mlk_catalog_last_sync_timestamp_seconds",
            "When the catalog last synced with the registry without error.",
            value=last_sync.timestamp() if last_sync else 0.0,
        )


class ServiceMetrics:
    """The app's metric registry."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.latency = Histogram(
            "mlk_api_request_duration_seconds",
            "Time to answer an API request, by route template.",
            ["method", "route", "status"],
            buckets=API_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(store))

    def render(self) -> bytes:
        """The text exposition format (queries the store: call it in a thread)."""
        return generate_latest(self.registry)


class LatencyMiddleware:
    """ASGI middleware observing each request's duration under its route template."""

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            endpoint = getattr(scope.get("route"), "endpoint", None)
            rules = getattr(getattr(scope.get("app"), "state", None), "route_rules", {})
            method = "GET" if scope["method"] == "HEAD" else scope["method"]
            route = rules.get((method, endpoint)) or "unmatched"
            self.metrics.latency.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
