"""Models: the catalog mirrored from the registry, as cards, with versions and problems."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mlrun_kernel.catalog import ModelSummary, VersionInfo, catalog_status, get_model, list_models
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


def _head_tag(tags: list[str]) -> str | None:
    """The tag a person would name: a version-like one, else ``latest``, else the first."""
    named = [t for t in tags if t != "latest"]
    if named:
        return sorted(named)[-1]
    return tags[0] if tags else None


def _tasks(head: VersionInfo | None, names: list[str]) -> list[TaskSummary]:
    declared = ((head.manifest or {}).get("tasks") or {}) if head else {}
    return [TaskSummary(name=n, description=(declared.get(n) or {}).get("description")) for n in names]


def _card(model: ModelSummary, registry_host: str) -> dict[str, Any]:
    head = next((v for v in model.versions if v.digest == model.digest), None)
    tag = _head_tag(model.tags)
    return {
        "name": model.name,
        "repository": model.name,
        "tag": tag,
        "tags": model.tags,
        "reference": f"{registry_host}/{model.name}:{tag or 'latest'}",
        "digest": model.digest,
        "title": model.title,
        "description": model.description,
        "version": model.version,
        "tasks": _tasks(head, model.tasks),
        "keywords": model.keywords,
        "problem": model.problem,
    }


def _version(v: VersionInfo, *, full: bool) -> ModelVersionOut:
    out = ModelVersionOut(
        digest=v.digest,
        version=v.version,
        title=v.title,
        description=v.description,
        tags=v.tags,
        tasks=v.tasks,
        keywords=v.keywords,
        problem=v.problem,
        first_seen=v.first_seen,
    )
    if full:
        out.manifest, out.metadata = v.manifest, v.metadata
    return out


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
    return [_card(m, platform.registry_host) for m in models]


@router.get("/models/{name:path}", response_model=ModelDetail, summary="Show a model")
async def show_model(name: str, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """A model with its manifest, every tagged version and (experts, admins) its problems."""
    model = await in_thread(get_model, platform.store, name, include_problems=caller.sees_problems)
    if model is None:
        raise ServiceFault(404, f"no model {name!r} in the catalog (see GET api/models)")
    head = next((v for v in model.versions if v.digest == model.digest), None)
    return {
        **_card(model, platform.registry_host),
        "manifest": head.manifest if head else None,
        "versions": [_version(v, full=True) for v in model.versions if v.problem is None],
        "problems": [_version(v, full=False) for v in model.versions if v.problem]
        if caller.sees_problems
        else [],
    }


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
