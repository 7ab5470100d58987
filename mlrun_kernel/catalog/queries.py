"""Answer questions about models from the store (never from the registry).

Model users see models without problems; experts and admins also see the
broken ones with the problem stated (``include_problems=True``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mlrun_kernel.spec.versions import SemverKey, semver_key
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import CatalogSync, ModelVersion, Repository, Tag
from mlrun_kernel.store.types import utcnow


@dataclass(frozen=True)
class VersionInfo:
    digest: str
    version: str | None
    title: str | None
    description: str | None
    tags: list[str]
    tasks: list[str]
    keywords: list[str]
    manifest: dict[str, Any] | None
    metadata: dict[str, Any] | None
    problem: str | None
    first_seen: datetime


@dataclass(frozen=True)
class ModelSummary:
    """One repository as a model card: its newest good version, or its problem."""

    name: str
    title: str | None
    description: str | None
    version: str | None
    digest: str
    tags: list[str]
    tasks: list[str]
    keywords: list[str]
    problem: str | None
    versions: list[VersionInfo] = field(default_factory=list)


@dataclass(frozen=True)
class CatalogStatus:
    registry_url: str
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    stale: bool


def _semver_key(version: str | None) -> SemverKey:
    """Semver precedence (spec.versions): ``1.10.0`` above ``1.9.0``, ``-rc.10`` above ``-rc.2``."""
    return semver_key(version or "")


def _version_info(version: ModelVersion, tags: list[str]) -> VersionInfo:
    manifest = version.manifest or {}
    return VersionInfo(
        digest=version.digest,
        version=version.version,
        title=version.title,
        description=version.description,
        tags=sorted(tags),
        tasks=sorted((manifest.get("tasks") or {}).keys()),
        keywords=list(manifest.get("keywords") or []),
        manifest=version.manifest,
        metadata=version.metadata_json,
        problem=version.problem,
        first_seen=version.first_seen,
    )


def _summaries(store: Store, *, names: list[str] | None, include_problems: bool) -> list[ModelSummary]:
    query = (
        select(Repository)
        .where(Repository.gone_at.is_(None))
        .options(selectinload(Repository.tags), selectinload(Repository.versions))
        .order_by(Repository.name)
    )
    if names is not None:
        query = query.where(Repository.name.in_(names))
    out: list[ModelSummary] = []
    with store.session() as s:
        for repo in s.scalars(query):
            tags_by_version: dict[int, list[str]] = {}
            for tag in repo.tags:
                if tag.model_version_id is not None:
                    tags_by_version.setdefault(tag.model_version_id, []).append(tag.name)
            tagged = [v for v in repo.versions if v.id in tags_by_version]
            if not tagged:
                continue  # not a model repository, or only untagged old versions
            infos = sorted(
                (_version_info(v, tags_by_version[v.id]) for v in tagged),
                key=lambda i: (_semver_key(i.version), i.first_seen),
                reverse=True,
            )
            good = [i for i in infos if i.problem is None]
            visible = infos if include_problems else good
            if not visible:
                continue
            head = good[0] if good else infos[0]
            out.append(
                ModelSummary(
                    name=repo.name,
                    title=head.title,
                    description=head.description,
                    version=head.version,
                    digest=head.digest,
                    tags=head.tags,
                    tasks=head.tasks,
                    keywords=head.keywords,
                    problem=None if good else head.problem,
                    versions=visible,
                )
            )
    return out


def list_models(
    store: Store,
    *,
    include_problems: bool = False,
    search: str | None = None,
    keyword: str | None = None,
    task: str | None = None,
    has_problems: bool | None = None,
) -> list[ModelSummary]:
    """Model cards, filtered. ``search`` matches name, title and description, case-insensitive."""
    models = _summaries(store, names=None, include_problems=include_problems or bool(has_problems))
    if search:
        needle = search.lower()
        models = [
            m
            for m in models
            if needle in m.name.lower()
            or needle in (m.title or "").lower()
            or needle in (m.description or "").lower()
        ]
    if keyword:
        models = [m for m in models if keyword.lower() in (k.lower() for k in m.keywords)]
    if task:
        models = [m for m in models if task in m.tasks]
    if has_problems is not None:
        models = [m for m in models if any(v.problem for v in m.versions) == has_problems]
    return models


def get_model(store: Store, name: str, *, include_problems: bool = False) -> ModelSummary | None:
    found = _summaries(store, names=[name], include_problems=include_problems)
    return found[0] if found else None


def resolve_version(store: Store, name: str, reference: str = "latest") -> VersionInfo | None:
    """A tag (``latest``, ``1.0.0``) or digest of ``name`` -> the version behind it."""
    with store.session() as s:
        repo = s.scalars(select(Repository).where(Repository.name == name)).one_or_none()
        if repo is None:
            return None
        if reference.startswith("sha256:"):
            version = s.scalars(
                select(ModelVersion).where(
                    ModelVersion.repository_id == repo.id, ModelVersion.digest == reference
                )
            ).one_or_none()
        else:
            tag = s.scalars(
                select(Tag).where(Tag.repository_id == repo.id, Tag.name == reference)
            ).one_or_none()
            version = tag.model_version if tag else None
        if version is None:
            return None
        tags = [t.name for t in repo.tags if t.model_version_id == version.id]
        return _version_info(version, tags)


def catalog_status(
    store: Store, registry_url: str, *, stale_after: timedelta = timedelta(minutes=10)
) -> CatalogStatus:
    """Whether the catalog is current: stale when the last sync failed or is too old."""
    with store.session() as s:
        row = s.get(CatalogSync, registry_url.rstrip("/"))
        if row is None:
            return CatalogStatus(registry_url, None, None, None, stale=True)
        old = row.last_success_at is None or utcnow() - row.last_success_at > stale_after
        return CatalogStatus(
            registry_url,
            row.last_success_at,
            row.last_attempt_at,
            row.last_error,
            stale=bool(row.last_error) or old,
        )
