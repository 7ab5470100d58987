"""Mirror the registry into the store.

The registry stays the source of truth for images; the store is the index the
platform answers from, so the catalog keeps answering (marked stale) while the
registry is down.

Cost model, which the benchmark in bench/bench_catalog_sync.py measures:

- a *deep* sync resolves every tag to its digest with one HEAD request (run
  concurrently); only new or moved tags cost a manifest GET, and each config
  blob is fetched once per digest, ever (``image_configs``);
- a *quick* sync lists repositories and tags only: it finds new, deleted and
  gone tags but trusts stored digests for tags it already knows. Registry push
  notifications (``apply_registry_events``) keep moved tags current between
  deep syncs, which repair anything a lost notification missed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mlrun_kernel.registry import RegistryClient, RegistryError
from mlrun_kernel.spec import SpecError, is_model_image, manifest_to_data, parse_labels
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import CatalogSync, ImageConfigBlob, ModelVersion, Repository, Tag
from mlrun_kernel.store.types import utcnow


@dataclass
class SyncReport:
    """What one sync found and did; also stored as the sync's stats."""

    mode: str
    repositories: int = 0
    tags: int = 0
    new_tags: int = 0
    moved_tags: int = 0
    deleted_tags: int = 0
    repositories_gone: int = 0
    not_models: int = 0
    problems: int = 0
    manifests_fetched: int = 0
    blobs_fetched: int = 0
    seconds: float = 0.0
    error: str | None = None
    problem_details: dict[str, str] = field(default_factory=dict)

    def stats(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("error", "problem_details")}


@dataclass(frozen=True)
class _Resolved:
    repository: str
    tag: str
    digest: str
    config_digest: str | None  # None when the tag is unchanged and known


def _pmap(workers: int, fn: Any, items: Iterable[Any]) -> list[Any]:
    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def sync_catalog(
    store: Store,
    registry: RegistryClient,
    *,
    deep: bool = True,
    repositories: list[str] | None = None,
    workers: int = 4,
) -> SyncReport:
    """Bring the store's catalog in line with the registry.

    ``repositories`` limits the sync to those names (as a push notification
    does); otherwise every repository is listed and the ones gone are marked.
    On a registry failure nothing stored is changed, the error is recorded and
    returned in the report (``report.error``), never raised.
    """
    report = SyncReport(mode="deep" if deep else "quick")
    started = time.monotonic()
    try:
        _sync(store, registry, report, deep=deep, only=repositories, workers=workers)
    except RegistryError as exc:
        report.error = str(exc)
    report.seconds = round(time.monotonic() - started, 4)
    with store.session() as s:
        row = s.get(CatalogSync, registry.url) or CatalogSync(registry_url=registry.url)
        row.last_attempt_at = utcnow()
        row.last_error = report.error
        if report.error is None:
            row.last_success_at = row.last_attempt_at
            row.stats = report.stats()
        s.add(row)
    return report


def _sync(
    store: Store,
    registry: RegistryClient,
    report: SyncReport,
    *,
    deep: bool,
    only: list[str] | None,
    workers: int,
) -> None:
    # 1. Read the registry (no store writes yet: a failure leaves the store as it was).
    names = sorted(set(only) if only is not None else set(registry.repositories()))
    tag_lists = dict(zip(names, _pmap(workers, _tags_or_empty(registry), names), strict=True))
    with store.session() as s:
        known = {
            (repo, tag): digest
            for repo, tag, digest in s.execute(
                select(Repository.name, Tag.name, Tag.digest).join(Tag.repository)
            )
        }
        cached_configs = set(s.scalars(select(ImageConfigBlob.digest)))

    wanted = [(repo, tag) for repo in names for tag in tag_lists[repo]]
    report.repositories = len([n for n in names if tag_lists[n]])
    report.tags = len(wanted)

    def resolve(item: tuple[str, str]) -> _Resolved:
        repo, tag = item
        old = known.get(item)
        if old is not None:
            digest = registry.manifest_digest(repo, tag) if deep else old
            if digest == old:
                return _Resolved(repo, tag, digest, None)
        # New or moved: one GET gives both the digest and the config digest.
        ref = registry.manifest(repo, tag)
        return _Resolved(repo, tag, ref.digest, ref.config_digest)

    resolved: list[_Resolved] = _pmap(workers, resolve, wanted)
    changed = [r for r in resolved if r.config_digest is not None]
    report.manifests_fetched = len(changed)
    needed: dict[str, str] = {}
    for r in changed:
        if r.config_digest not in cached_configs:
            needed.setdefault(r.config_digest or "", r.repository)
    configs = dict(
        zip(
            needed,
            _pmap(workers, lambda d: registry.config(needed[d], d).labels, needed),
            strict=True,
        )
    )
    report.blobs_fetched = len(configs)

    # 2. Write the store in one transaction.
    with store.session() as s:
        for digest, labels in configs.items():
            s.add(ImageConfigBlob(digest=digest, labels=labels, is_model=is_model_image(labels)))
        s.flush()
        repos = {r.name: r for r in s.scalars(select(Repository))}
        for name in names:
            if tag_lists[name] and name not in repos:
                repos[name] = Repository(name=name)
                s.add(repos[name])
            elif tag_lists[name] and repos[name].gone_at is not None:
                repos[name].gone_at = None
        s.flush()
        _apply_tags(s, repos, resolved, report)
        in_scope = set(names) if only is not None else set(repos)
        for name in in_scope:
            repo = repos.get(name)
            present = {t for t in tag_lists.get(name, [])}
            if repo is None:
                continue
            for tag in list(repo.tags):
                if tag.name not in present:
                    s.delete(tag)
                    report.deleted_tags += 1
            if not present and repo.gone_at is None:
                repo.gone_at = utcnow()
                report.repositories_gone += 1


def _tags_or_empty(registry: RegistryClient) -> Any:
    def tags(repo: str) -> list[str]:
        try:
            return registry.tags(repo)
        except RegistryError as exc:
            if exc.status == 404:  # repository deleted between catalog and tags
                return []
            raise

    return tags


def _apply_tags(
    s: Session, repos: Mapping[str, Repository], resolved: list[_Resolved], report: SyncReport
) -> None:
    configs = {c.digest: c for c in s.scalars(select(ImageConfigBlob))}
    versions = {(v.repository_id, v.digest): v for v in s.scalars(select(ModelVersion))}
    tags = {(t.repository_id, t.name): t for t in s.scalars(select(Tag))}
    for r in resolved:
        if r.config_digest is None:
            continue  # unchanged
        repo = repos[r.repository]
        config = configs[r.config_digest]
        version = None
        if config.is_model:
            version = versions.get((repo.id, r.digest))
            if version is None:
                version = _new_version(repo, r.digest, config)
                s.add(version)
                versions[(repo.id, r.digest)] = version
            if version.problem:
                report.problems += 1
                report.problem_details[f"{r.repository}:{r.tag}"] = version.problem
        else:
            report.not_models += 1
        tag = tags.get((repo.id, r.tag))
        if tag is None:
            s.add(Tag(repository=repo, name=r.tag, digest=r.digest, model_version=version))
            report.new_tags += 1
        else:
            tag.digest, tag.model_version, tag.updated_at = r.digest, version, utcnow()
            report.moved_tags += 1


def _new_version(repo: Repository, digest: str, config: ImageConfigBlob) -> ModelVersion:
    version = ModelVersion(repository=repo, digest=digest, config_digest=config.digest)
    try:
        image = parse_labels(config.labels)
    except SpecError as exc:
        version.problem = str(exc)
        version.title = config.labels.get("org.opencontainers.image.title")
        return version
    meta = image.metadata
    version.title, version.description, version.version = meta.title, meta.description, meta.version
    version.metadata_json = {k: v for k, v in meta.__dict__.items() if v is not None}
    version.manifest = manifest_to_data(image.manifest)
    return version


def apply_registry_events(
    store: Store, registry: RegistryClient, envelope: Mapping[str, Any]
) -> SyncReport:
    """Apply a registry notification envelope (``{"events": [...]}``).

    Each push or delete re-syncs just the repositories it names, so a pushed
    model is in the catalog as soon as the registry tells us.
    """
    repos = sorted(
        {
            str(e["target"]["repository"])
            for e in envelope.get("events", [])
            if e.get("action") in ("push", "delete")
            and isinstance(e.get("target"), dict)
            and e["target"].get("repository")
        }
    )
    if not repos:
        return SyncReport(mode="events")
    report = sync_catalog(store, registry, deep=True, repositories=repos)
    report.mode = "events"
    return report
