"""The model service's HTTP API (FastAPI), mounted under the hub's service prefix.

The hub starts this process as the managed service ``models`` and routes
``/services/models/`` to it through the proxy; single-user containers call it
directly on the docker0 address with their own hub token (``MLK_SERVICE_URL``).

How the modules stack, from the wire inwards:

- ``app`` (this module): ``create_app`` wires the routers, the error handlers,
  the latency middleware and the lifespan (catalog keeper, run executor);
- ``deps`` + ``scopes``: every request is checked against one route table;
- ``auth`` + ``oauth``: hub tokens (header or browser cookie), a static
  development token; ``signing``: signed URLs; ``audit``: the audit log;
- ``routes/``: ``models``, ``datasets``, ``runs``, ``events``, ``admin``,
  ``system``: thin layers over ``mlrun_kernel.catalog``, ``.datasets``, ``.runs``;
- ``catalog``: startup, periodic and push-driven catalog syncs; ``metrics``:
  Prometheus; ``threads``: the one door to blocking calls.

The OpenAPI schema is at ``{prefix}openapi.json``, the interactive docs at
``{prefix}docs``; docs/service.md is the guide.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route

from mlrun_kernel import __version__
from mlrun_kernel.datasets import Datasets
from mlrun_kernel.registry.access import RegistryAccess
from mlrun_kernel.service import errors
from mlrun_kernel.service.auth import Authenticator, HubTokenAuth
from mlrun_kernel.service.catalog import CatalogKeeper
from mlrun_kernel.service.config import ServiceSettings
from mlrun_kernel.service.deps import Platform, ServiceRoute, authorize
from mlrun_kernel.service.metrics import LatencyMiddleware, ServiceMetrics
from mlrun_kernel.service.routes import admin, datasets, events, models, runs, system
from mlrun_kernel.service.routes import builds as build_routes
from mlrun_kernel.service.routes import evaluations as evaluation_routes
from mlrun_kernel.service.threads import in_thread, in_waiting_thread, set_thread_pool_size
from mlrun_kernel.spec import load_validator
from mlrun_kernel.store import Store, open_store, sqlite_store_url

if TYPE_CHECKING:
    from mlrun_kernel.builds.queue import BuildQueue
    from mlrun_kernel.runs import Executor

log = logging.getLogger(__name__)


def _executor(config: ServiceSettings, store: Store, registry_host: str) -> Executor | None:
    """The run executor, or None (runs answer 503) when the engine cannot be reached."""
    try:
        from mlrun_kernel.runs import Executor, run_settings

        root = run_settings().runs_dir or config.data_dir / "runs"
        return Executor(store, root=root, registry=registry_host, data_dir=config.data_dir)
    except Exception as exc:
        log.warning("runs are off: the run executor could not be created: %s", exc)
        return None


def _build_queue(
    config: ServiceSettings, store: Store, registry_host: str, access: RegistryAccess | None
) -> BuildQueue | None:
    """The queue of builds experts send (routes/builds.py), or None when builds cannot work here."""
    try:
        from mlrun_kernel.builds.queue import BuildQueue

        return BuildQueue(
            store,
            config.data_dir,
            access=(lambda: access) if access else lambda: RegistryAccess.for_host(registry_host),
        )
    except Exception as exc:
        log.warning("builds are off: the build queue could not be created: %s", exc)
        return None


def create_app(
    config: ServiceSettings | None = None,
    *,
    store: Store | None = None,
    executor: Executor | None = None,
    registry_access: RegistryAccess | None = None,
) -> FastAPI:
    """The service app for ``config`` (by default read from the environment).

    ``store`` and ``executor`` replace the ones the config names (tests and
    benchmarks share them with the code they compare against).
    """
    config = config or ServiceSettings.from_env()
    store = store or open_store(config.store_url or sqlite_store_url(config.data_dir))
    registry_host = urlsplit(config.registry_url).netloc or config.registry_url
    hub = HubTokenAuth(config.hub_api_url, config.name, cache_seconds=config.auth_cache_seconds)
    browser = None
    if config.hub_oauth:
        from mlrun_kernel.service.oauth import BrowserLogin

        browser = BrowserLogin(config)
    platform = Platform(
        config=config,
        store=store,
        datasets=Datasets(store, config.data_dir),
        catalog=CatalogKeeper(
            store,
            config.registry_url,
            quick_sync_seconds=config.quick_sync_seconds,
            deep_sync_seconds=config.deep_sync_seconds,
        ),
        auth=Authenticator(hub, static_token=config.static_token, static_user=config.static_user),
        metrics=ServiceMetrics(store),
        registry_host=registry_host,
        executor=executor if executor is not None else _executor(config, store, registry_host),
        browser=browser,
    )
    evaluations = evaluation_routes.make_evaluations(platform)
    builds = _build_queue(config, store, registry_host, registry_access)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        set_thread_pool_size()
        await in_thread(load_validator)  # so the first run request does not pay the import
        if builds is not None:
            await in_waiting_thread(builds.start)
        started_executor = False
        if platform.executor is not None and config.run_executor and executor is None:
            await in_waiting_thread(platform.executor.start)
            started_executor = True
        evaluations.notifier.start()  # and resends what a stopped service left in the outbox
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(platform.catalog.run)
            tasks.start_soon(evaluation_routes.keep_evaluating, evaluations)
            with anyio.move_on_after(config.startup_sync_wait_seconds):
                await platform.catalog.first_sync.wait()
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
                if started_executor and platform.executor is not None:
                    await in_waiting_thread(platform.executor.stop)
                await platform.auth.aclose()
                await in_waiting_thread(evaluations.notifier.stop)
                if builds is not None:
                    await in_waiting_thread(builds.stop)

    app = FastAPI(
        title="mlrun-kernel model service",
        version=__version__,
        description="Models, datasets and runs of the platform; see docs/service.md.",
        lifespan=lifespan,
        docs_url=f"{config.prefix}docs",
        openapi_url=f"{config.prefix}openapi.json",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.config = config
    app.state.platform = platform
    app.state.evaluations = evaluations
    app.state.builds = builds

    checked = [Depends(authorize)]
    table = [  # the framework's own pages: the OpenAPI schema and the docs
        ServiceRoute(method, route.path.removeprefix(config.prefix), None)
        for route in app.routes
        if isinstance(route, Route)
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]
    areas = [(system.api, "api")]
    areas += [
        (area, "api") for area in (models.router, datasets.router, runs.router, events.router, admin.router)
    ]
    areas += [(evaluation_routes.router, "api")]
    areas += [(build_routes.router, "api")]
    areas += [(system.top, "")]
    for area, base in areas:
        for route in area.routes:
            if isinstance(route, APIRoute):
                relative = base + route.path if base else route.path.lstrip("/")
                table += [ServiceRoute(m, relative, route.endpoint) for m in sorted(route.methods or ())]
        app.include_router(area, prefix=(config.prefix + base).rstrip("/"), dependencies=checked)
    app.state.routes = table
    app.state.route_rules = {(r.method, r.endpoint): r.path for r in table if r.endpoint is not None}
    errors.install(app)
    evaluation_routes.install(app)
    app.add_middleware(LatencyMiddleware, metrics=platform.metrics)
    return app
