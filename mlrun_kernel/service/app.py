"""The model service's HTTP API (FastAPI), mounted under the hub's service prefix.

The hub starts this process as the managed service ``models`` and routes
``/services/models/`` to it through the proxy; single-user containers call it
directly on the docker0 address with their own hub token (``MLK_SERVICE_URL``).

Routes (``{prefix}`` is ``JUPYTERHUB_SERVICE_PREFIX``, ``/services/models/``):

- ``GET {prefix}api/health``: liveness, no auth.
- ``GET {prefix}api/models``: the model images in the registry, read from their
  labels without pulling (``mlrun_kernel.catalog.list_registry_models``).

Every route but health needs a hub token with ``access:services!service=models``
(see ``auth.py``). This is the walking skeleton; datasets, runs, builds and
evaluations come as further routers on the same app.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mlrun_kernel import __version__
from mlrun_kernel.catalog import CatalogEntry, list_registry_models
from mlrun_kernel.config import settings
from mlrun_kernel.registry import RegistryError
from mlrun_kernel.service.auth import AuthError, HubTokenAuth, HubUser, token_from_header


@dataclass(frozen=True)
class ServiceSettings:
    """Where the service sits; JupyterHub sets the ``JUPYTERHUB_*`` variables for it."""

    name: str = "models"
    prefix: str = "/services/models/"
    url: str = "http://127.0.0.1:8090"
    hub_api_url: str = "http://127.0.0.1:8081/hub/api"
    registry_url: str = "http://127.0.0.1:5000"
    auth_cache_seconds: float = 60.0

    @classmethod
    def from_env(cls) -> ServiceSettings:
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", cls.prefix)
        return cls(
            name=os.environ.get("JUPYTERHUB_SERVICE_NAME", cls.name),
            prefix=prefix if prefix.endswith("/") else prefix + "/",
            url=os.environ.get("JUPYTERHUB_SERVICE_URL", cls.url),
            hub_api_url=os.environ.get("JUPYTERHUB_API_URL", cls.hub_api_url),
            registry_url=settings().registry_url,
            auth_cache_seconds=float(os.environ.get("MLK_AUTH_CACHE_SECONDS", cls.auth_cache_seconds)),
        )


class TaskSummary(BaseModel):
    name: str
    description: str | None = None


class ModelSummary(BaseModel):
    """One tag of a model repository, as the gallery shows it."""

    repository: str
    tag: str
    digest: str
    reference: str
    title: str | None = None
    description: str | None = None
    version: str | None = None
    tasks: list[TaskSummary] = []
    keywords: list[str] = []
    problem: str | None = None


class Health(BaseModel):
    status: str
    version: str


def model_summary(entry: CatalogEntry, registry_host: str) -> ModelSummary:
    """What the API says about a catalog entry; broken images keep only their ``problem``."""
    summary = ModelSummary(
        repository=entry.repository,
        tag=entry.tag,
        digest=entry.digest,
        reference=f"{registry_host}/{entry.repository}:{entry.tag}",
        problem=entry.problem,
    )
    if entry.image is None:
        return summary
    metadata, manifest = entry.image.metadata, entry.image.manifest
    return summary.model_copy(
        update={
            "title": metadata.title,
            "description": metadata.description,
            "version": metadata.version,
            "tasks": [
                TaskSummary(name=name, description=task.description) for name, task in manifest.tasks.items()
            ],
            "keywords": list(manifest.keywords),
        }
    )


async def current_user(request: Request) -> HubUser:
    """The FastAPI dependency of every route but health: the caller, checked with the hub."""
    auth: HubTokenAuth = request.app.state.auth
    return await auth.authenticate(token_from_header(request.headers.get("authorization")))


CurrentUser = Annotated[HubUser, Depends(current_user)]


def create_app(config: ServiceSettings | None = None) -> FastAPI:
    """The service app for ``config`` (by default read from the environment)."""
    config = config or ServiceSettings.from_env()
    auth = HubTokenAuth(config.hub_api_url, config.name, cache_seconds=config.auth_cache_seconds)
    registry_host = config.registry_url.split("://", 1)[-1].rstrip("/")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await auth.aclose()

    api = APIRouter(prefix=f"{config.prefix}api")

    @api.get("/health", response_model=Health)
    async def health() -> Health:
        return Health(status="ok", version=__version__)

    @api.get("/models", response_model=list[ModelSummary])
    async def models(user: CurrentUser) -> list[ModelSummary]:
        try:
            entries = await anyio.to_thread.run_sync(list_registry_models, config.registry_url)
        except RegistryError as exc:
            raise HTTPException(502, f"cannot read the model registry: {exc}") from exc
        return [model_summary(entry, registry_host) for entry in entries]

    app = FastAPI(
        title="mlrun-kernel model service",
        version=__version__,
        lifespan=lifespan,
        docs_url=f"{config.prefix}api/docs",
        openapi_url=f"{config.prefix}api/openapi.json",
        redoc_url=None,
    )
    app.state.config = config
    app.state.auth = auth
    app.include_router(api)

    @app.exception_handler(AuthError)
    async def auth_failed(request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "token"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    return app
