"""Models: the catalog mirrored from the registry, as cards, with versions and problems."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mlrun_kernel.catalog import catalog_status, get_model, list_models
from mlrun_kernel.catalog.cards import model_card, model_detail
from mlrun_kernel.service import audit
from mlrun_kernel.service.deps import CallerDep, PlatformDep
from mlrun_kernel.service.errors import ServiceFault
from mlrun_kernel.service.threads import in_thread

router = APIRouter(tags=["models"])


class TaskSummary(BaseModel):
    name: str
    description: str | None


class ModelVersionOut(BaseModel):
    digest: str
    version: str | None
    title: str | None
    description: str | None
    tags: list[str]
    tasks: list[str]
    keywords: list[str]
    problem: str | None
    first_seen: datetime
    manifest: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class ModelOut(BaseModel):
    """A model repository as a card: its newest good version (or its problem)."""

    name: str
    repository: str
    tag: str | None
    tags: list[str]
    reference: str
    digest: str
    title: str | None
    description: str | None
    version: str | None
    tasks: list[TaskSummary]
    keywords: list[str]
    problem: str | None


class ModelDetail(ModelOut):
    manifest: dict[str, Any] | None
    versions: list[ModelVersionOut]
    problems: list[ModelVersionOut]


class CatalogOut(BaseModel):
    registry_url: str
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    stale: bool


class SyncOut(BaseModel):
    mode: str
    repositories: int
    tags: int
    new_tags: int
    moved_tags: int
    deleted_tags: int
    seconds: float
    error: str | None


@router.get("/models", response_model=list[ModelOut], summary="List models")
async def list_models_route(
    caller: CallerDep,
    platform: PlatformDep,
    search: Annotated[str | None, Query(max_length=200, description="in name, title, description")] = None,
    keyword: Annotated[str | None, Query(max_length=200)] = None,
    task: Annotated[str | None, Query(max_length=200)] = None,
    has_problems: Annotated[bool | None, Query(description="experts and admins only")] = None,
) -> list[dict[str, Any]]:
    """Model cards from the catalog. Broken images are shown to experts and admins only."""
    if has_problems and not caller.sees_problems:
        raise ServiceFault(403, "only model experts and admins see models with problems")
    models = await in_thread(
        list_models,
        platform.store,
        include_problems=caller.sees_problems,
        search=search,
        keyword=keyword,
        task=task,
        has_problems=has_problems,
    )
    return [model_card(m, platform.registry_host) for m in models]


@router.get("/models/{name:path}", response_model=ModelDetail, summary="Show a model")
async def show_model(name: str, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """A model with its manifest, every tagged version and (experts, admins) its problems."""
    model = await in_thread(get_model, platform.store, name, include_problems=caller.sees_problems)
    if model is None:
        raise ServiceFault(404, f"no model {name!r} in the catalog (see GET api/models)")
    return model_detail(model, platform.registry_host, sees_problems=caller.sees_problems)


@router.get("/catalog", response_model=CatalogOut, summary="Catalog freshness")
async def catalog(caller: CallerDep, platform: PlatformDep) -> CatalogOut:
    """When the catalog last synced with the registry; ``stale`` when that failed or is old."""
    status = await in_thread(catalog_status, platform.store, platform.config.registry_url)
    return CatalogOut(**status.__dict__)


@router.post("/catalog/sync", response_model=SyncOut, summary="Sync the catalog now")
async def sync_now(caller: CallerDep, platform: PlatformDep, deep: bool = True) -> SyncOut:
    """Admins: resync the catalog with the registry now (the service also does it periodically)."""
    report = await platform.catalog.sync(deep=deep)
    await in_thread(
        audit.record, platform.store, caller.name, "sync", "catalog", platform.config.registry_url
    )
    return SyncOut(**{k: getattr(report, k) for k in SyncOut.model_fields})
