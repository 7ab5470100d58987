"""Keep the catalog current: one deep sync at startup, periodic resyncs, push events.

``CatalogKeeper`` is the service's only writer of the catalog:

- ``run()`` (a task in the app's lifespan) does a deep sync at once, then a
  *quick* sync every ``quick_sync_seconds`` and a *deep* one every
  ``deep_sync_seconds``; these repair whatever a lost notification missed;
- ``apply_events(envelope)`` applies one registry notification (the
  registry's ``notifications.endpoints``) as soon as it arrives, so a pushed
  model is listed within a second or two without polling.

All the work is ``mlrun_kernel.catalog``'s; this module only schedules it, off
the event loop. Syncs never raise on registry trouble: the error is stored and
the catalog answers from the store, marked stale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import anyio

from mlrun_kernel.catalog import SyncReport, apply_registry_events, sync_catalog
from mlrun_kernel.registry import RegistryClient, RegistryCredentialsError, registry_credentials
from mlrun_kernel.service.threads import in_waiting_thread
from mlrun_kernel.store import Store

log = logging.getLogger(__name__)


class CatalogKeeper:
    def __init__(
        self, store: Store, registry_url: str, *, quick_sync_seconds: float, deep_sync_seconds: float
    ) -> None:
        self.store = store
        self.registry_url = registry_url
        self.quick_sync_seconds = quick_sync_seconds
        self.deep_sync_seconds = deep_sync_seconds
        self.first_sync = anyio.Event()
        self.last_report: SyncReport | None = None

    def _registry(self) -> RegistryClient:
        # The configured credentials, sent only if the registry asks (the project's pull
        # side never does; another v2 registry with auth may).
        try:
            user, password = registry_credentials() or (None, None)
        except RegistryCredentialsError as exc:  # a registry that needs them says 401 and what to set
            log.warning("catalog: reading the registry without credentials: %s", exc)
            user, password = None, None
        return RegistryClient(self.registry_url, username=user, password=password)

    def _sync(self, deep: bool) -> SyncReport:
        with self._registry() as registry:
            return sync_catalog(self.store, registry, deep=deep)

    def _apply(self, envelope: Mapping[str, Any]) -> SyncReport:
        with self._registry() as registry:
            return apply_registry_events(self.store, registry, envelope)

    async def sync(self, *, deep: bool) -> SyncReport:
        report = await in_waiting_thread(self._sync, deep)
        self.last_report = report
        if report.error:
            log.warning("catalog %s sync failed: %s", report.mode, report.error)
        else:
            log.info("catalog %s sync: %s", report.mode, report.stats())
        return report

    async def apply_events(self, envelope: Mapping[str, Any]) -> SyncReport:
        return await in_waiting_thread(self._apply, envelope)

    async def run(self) -> None:
        """Deep sync now, then quick and deep syncs on their intervals, until cancelled."""
        try:
            await self.sync(deep=True)
        except Exception:  # a bug must not stop the loop: the next round tries again
            log.exception("catalog startup sync failed")
        finally:
            self.first_sync.set()
        now = time.monotonic()
        next_quick = now + self.quick_sync_seconds if self.quick_sync_seconds > 0 else float("inf")
        next_deep = now + self.deep_sync_seconds if self.deep_sync_seconds > 0 else float("inf")
        while next_quick != float("inf") or next_deep != float("inf"):
            due = min(next_quick, next_deep)
            await anyio.sleep(max(0.0, due - time.monotonic()))
            deep = next_deep <= time.monotonic()
            try:
                await self.sync(deep=deep)
            except Exception:
                log.exception("catalog %s sync failed", "deep" if deep else "quick")
            now = time.monotonic()
            if deep:
                next_deep = now + self.deep_sync_seconds
            if self.quick_sync_seconds > 0:
                next_quick = now + self.quick_sync_seconds
        await anyio.sleep_forever()
