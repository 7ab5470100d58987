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

import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
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
    workers: int = 8,
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
        configs = _ConfigFetcher(registry, set(s.scalars(select(ImageConfigBlob.digest))))

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
        # New or moved: one GET gives both the digest and the config digest, and the
        # same worker goes straight on to the config blob, so no worker waits for a phase.
        ref = registry.manifest(repo, tag)
        configs.ensure(repo, ref.config_digest)
        return _Resolved(repo, tag, ref.digest, ref.config_digest)

    resolved: list[_Resolved] = _pmap(workers, resolve, wanted)
    report.manifests_fetched = len([r for r in resolved if r.config_digest is not None])
    report.blobs_fetched = len(configs.fetched)

    # 2. Write the store in one transaction, in bulk statements rather than one per row.
    with store.session() as s:
        _write(s, names, tag_lists, resolved, configs.fetched, in_scope_only=only is not None, report=report)


class _ConfigFetcher:
    """Fetches each config blob at most once, whichever worker meets its digest first."""

    def __init__(self, registry: RegistryClient, stored: set[str]) -> None:
        self._registry = registry
        self._claimed = set(stored)
        self._lock = threading.Lock()
        self.fetched: dict[str, dict[str, str]] = {}

    def ensure(self, repository: str, digest: str) -> None:
        with self._lock:
            if digest in self._claimed:
                return
            self._claimed.add(digest)
        labels = self._registry.config(repository, digest).labels
        with self._lock:
            self.fetched[digest] = labels


def _tags_or_empty(registry: RegistryClient) -> Any:
    def tags(repo: str) -> list[str]:
        try:
            return registry.tags(repo)
        except RegistryError as exc:
            if exc.status == 404:  # repository deleted between catalog and tags
                return []
            raise

    return tags


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    """Slices small enough for an ``IN (...)`` on any backend."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _write(
    s: Session,
    names: list[str],
    tag_lists: Mapping[str, list[str]],
    resolved: list[_Resolved],
    fetched: Mapping[str, dict[str, str]],
    *,
    in_scope_only: bool,
    report: SyncReport,
) -> None:
    if fetched:
        s.execute(
            insert(ImageConfigBlob),
            [
                {"digest": d, "labels": labels, "is_model": is_model_image(labels)}
                for d, labels in fetched.items()
            ],
        )
    repo_ids = _write_repositories(s, names, tag_lists)
    changed = [r for r in resolved if r.config_digest is not None]
    versions = _write_versions(s, repo_ids, changed, report)
    stored_tags = {
        (repo_id, name): tid
        for repo_id, name, tid in s.execute(select(Tag.repository_id, Tag.name, Tag.id)).all()
    }
    _write_tags(s, repo_ids, changed, versions, stored_tags, report)
    in_scope = set(names) if in_scope_only else set(repo_ids)
    _drop_missing(s, repo_ids, in_scope, tag_lists, stored_tags, report)


def _write_repositories(s: Session, names: list[str], tag_lists: Mapping[str, list[str]]) -> dict[str, int]:
    """Add new repositories, revive returned ones; answer every repository's id by name."""
    rows = s.execute(select(Repository.name, Repository.id, Repository.gone_at)).all()
    ids = {name: rid for name, rid, _ in rows}
    gone = {name for name, _, gone_at in rows if gone_at is not None}
    present = [n for n in names if tag_lists[n]]
    new = [n for n in present if n not in ids]
    if new:
        new_ids = s.scalars(
            insert(Repository).returning(Repository.id, sort_by_parameter_order=True),
            [{"name": n} for n in new],
        ).all()
        ids.update(zip(new, new_ids, strict=True))
    revived = [n for n in present if n in gone]
    if revived:
        s.execute(update(Repository).where(Repository.name.in_(revived)).values(gone_at=None))
    return ids


def _write_versions(
    s: Session, repo_ids: Mapping[str, int], changed: list[_Resolved], report: SyncReport
) -> dict[tuple[int, str], int | None]:
    """The model version id of every changed (repository id, digest); None for non-models."""
    wanted_configs = sorted({r.config_digest for r in changed if r.config_digest})
    configs: dict[str, dict[str, str]] = {}
    models: set[str] = set()
    for chunk in _chunks(wanted_configs):
        for digest, labels, is_model in s.execute(
            select(ImageConfigBlob.digest, ImageConfigBlob.labels, ImageConfigBlob.is_model).where(
                ImageConfigBlob.digest.in_(chunk)
            )
        ):
            configs[digest] = labels
            if is_model:
                models.add(digest)
    digests = sorted({r.digest for r in changed})
    existing: dict[tuple[int, str], tuple[int, str | None]] = {}
    for chunk in _chunks(digests):
        for repo_id, digest, vid, problem in s.execute(
            select(
                ModelVersion.repository_id, ModelVersion.digest, ModelVersion.id, ModelVersion.problem
            ).where(ModelVersion.digest.in_(chunk))
        ):
            existing[(repo_id, digest)] = (vid, problem)
    new_rows: dict[tuple[int, str], dict[str, Any]] = {}
    for r in changed:
        key = (repo_ids[r.repository], r.digest)
        if r.config_digest in models and key not in existing and key not in new_rows:
            new_rows[key] = _version_row(
                key[0], r.digest, r.config_digest or "", configs[r.config_digest or ""]
            )
    if new_rows:
        ids = s.scalars(
            insert(ModelVersion).returning(ModelVersion.id, sort_by_parameter_order=True),
            list(new_rows.values()),
        ).all()
        for (key, row), vid in zip(new_rows.items(), ids, strict=True):
            existing[key] = (vid, row["problem"])
    versions: dict[tuple[int, str], int | None] = {}
    for r in changed:
        key = (repo_ids[r.repository], r.digest)
        if r.config_digest not in models:
            report.not_models += 1
            versions[key] = None
            continue
        vid, problem = existing[key]
        versions[key] = vid
        if problem:
            report.problems += 1
            report.problem_details[f"{r.repository}:{r.tag}"] = problem
    return versions


def _write_tags(
    s: Session,
    repo_ids: Mapping[str, int],
    changed: list[_Resolved],
    versions: Mapping[tuple[int, str], int | None],
    stored_tags: Mapping[tuple[int, str], int],
    report: SyncReport,
) -> None:
    """Insert new tags, point moved ones at their new digest (``stored_tags``: id by key)."""
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for r in changed:
        repo_id = repo_ids[r.repository]
        row = {"digest": r.digest, "model_version_id": versions[(repo_id, r.digest)], "updated_at": now}
        tid = stored_tags.get((repo_id, r.tag))
        if tid is None:
            inserts.append({"repository_id": repo_id, "name": r.tag, **row})
        else:
            updates.append({"id": tid, **row})
    if inserts:
        s.execute(insert(Tag), inserts)
    if updates:
        s.execute(update(Tag), updates)
    report.new_tags += len(inserts)
    report.moved_tags += len(updates)


def _drop_missing(
    s: Session,
    repo_ids: Mapping[str, int],
    in_scope: set[str],
    tag_lists: Mapping[str, list[str]],
    stored_tags: Mapping[tuple[int, str], int],
    report: SyncReport,
) -> None:
    """Delete tags the registry no longer lists; mark repositories with no tag left as gone.

    Tags inserted by this sync are listed by the registry, so ``stored_tags`` as read
    before the inserts holds every tag that can be stale.
    """
    names_by_id = {rid: name for name, rid in repo_ids.items() if name in in_scope}
    present = {rid: set(tag_lists.get(name, ())) for rid, name in names_by_id.items()}
    stale = [
        tid
        for (repo_id, name), tid in stored_tags.items()
        if repo_id in present and name not in present[repo_id]
    ]
    for chunk in _chunks(stale):
        s.execute(delete(Tag).where(Tag.id.in_(chunk)))
    report.deleted_tags += len(stale)
    empty = [n for n in names_by_id.values() if not tag_lists.get(n)]
    if empty:
        result = s.execute(
            update(Repository)
            .where(Repository.name.in_(empty), Repository.gone_at.is_(None))
            .values(gone_at=utcnow())
        )
        report.repositories_gone += int(getattr(result, "rowcount", 0) or 0)


def _version_row(
    repository_id: int, digest: str, config_digest: str, labels: dict[str, str]
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "repository_id": repository_id,
        "digest": digest,
        "config_digest": config_digest,
        "title": None,
        "description": None,
        "version": None,
        "metadata_json": None,
        "manifest": None,
        "problem": None,
    }
    try:
        image = parse_labels(labels)
    except SpecError as exc:
        row["problem"] = str(exc)
        row["title"] = labels.get("org.opencontainers.image.title")
        return row
    meta = image.metadata
    row.update(
        title=meta.title,
        description=meta.description,
        version=meta.version,
        metadata_json={k: v for k, v in meta.__dict__.items() if v is not None},
        manifest=manifest_to_data(image.manifest),
    )
    return row


def apply_registry_events(store: Store, registry: RegistryClient, envelope: Mapping[str, Any]) -> SyncReport:
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
