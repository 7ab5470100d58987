"""Reading: what a caller may see (their own, their groups', public; admins all) and the records of it."""

from __future__ import annotations

import builtins
import os
import shutil
from pathlib import Path
from typing import IO

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from mlrun_kernel.datasets.core import DatasetsCore
from mlrun_kernel.datasets.errors import Ambiguous, InvalidInput, NotFound
from mlrun_kernel.datasets.names import split_ref
from mlrun_kernel.datasets.preview import Preview
from mlrun_kernel.datasets.records import DatasetFileInfo, DatasetInfo, DatasetVersionInfo, Principal
from mlrun_kernel.store.models.datasets import Dataset, DatasetFile, DatasetVersion


class Reading(DatasetsCore):
    """List, show, preview, open and materialize datasets a caller may see."""

    @staticmethod
    def _visible(who: Principal) -> ColumnElement[bool]:
        if who.is_admin:
            return true()
        group_rule: ColumnElement[bool] = (
            and_(Dataset.visibility == "group", Dataset.group_name.in_(sorted(who.groups)))
            if who.groups
            else false()
        )
        return or_(Dataset.owner == who.name, Dataset.visibility == "public", group_rule)

    def _find(self, s: Session, who: Principal, ref: str, *, lock: bool = False) -> Dataset:
        owner, name = split_ref(ref)
        query = select(Dataset).where(Dataset.name == name, self._visible(who))
        if owner is not None:
            query = query.where(Dataset.owner == owner)
        else:
            mine = s.scalars(query.where(Dataset.owner == who.name)).first()
            if mine is not None:
                query = query.where(Dataset.id == mine.id)
        if lock:
            query = query.with_for_update()
        found = list(s.scalars(query.order_by(Dataset.owner)))
        if not found:
            raise NotFound(f"no dataset {ref!r} that {who.name} can see")
        if len(found) > 1:
            refs = ", ".join(f"{d.owner}/{d.name}" for d in found)
            raise Ambiguous(f"{name!r} names several datasets ({refs}); say which as owner/name")
        return found[0]

    def _version_row(self, s: Session, ds: Dataset, version: int | None) -> DatasetVersion:
        query = select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
        if version is None:
            row = s.scalars(query.order_by(DatasetVersion.version.desc())).first()
        else:
            if isinstance(version, bool) or not isinstance(version, int):
                raise InvalidInput(f"version must be a whole number, not {version!r}")
            row = s.scalars(query.where(DatasetVersion.version == version)).first()
        if row is None:
            raise NotFound(
                f"dataset {ds.owner}/{ds.name} has no version {version}"
                if version is not None
                else f"dataset {ds.owner}/{ds.name} has no versions"
            )
        return row

    @staticmethod
    def _version_info(ds: Dataset, v: DatasetVersion) -> DatasetVersionInfo:
        return DatasetVersionInfo(
            id=v.id,
            dataset_id=ds.id,
            owner=ds.owner,
            name=ds.name,
            version=v.version,
            media_type=v.media_type,
            size=v.size,
            file_count=v.file_count,
            sha256=v.content_sha256,
            source_name=v.source_name,
            created_at=v.created_at,
            preview=v.preview,
        )

    @staticmethod
    def _dataset_info(ds: Dataset, latest: DatasetVersion, count: int) -> DatasetInfo:
        return DatasetInfo(
            id=ds.id,
            owner=ds.owner,
            name=ds.name,
            description=ds.description,
            visibility=ds.visibility,
            group=ds.group_name,
            created_at=ds.created_at,
            updated_at=ds.updated_at,
            latest_version=latest.version,
            version_count=count,
            size=latest.size,
            media_type=latest.media_type,
            file_count=latest.file_count,
        )

    def _summaries(self, s: Session, where: ColumnElement[bool]) -> list[DatasetInfo]:
        latest = (
            select(
                DatasetVersion.dataset_id,
                func.max(DatasetVersion.version).label("newest"),
                func.count().label("count"),
            )
            .group_by(DatasetVersion.dataset_id)
            .subquery()
        )
        rows = s.execute(
            select(Dataset, DatasetVersion, latest.c.count)
            .join(latest, latest.c.dataset_id == Dataset.id)
            .join(
                DatasetVersion,
                and_(
                    DatasetVersion.dataset_id == Dataset.id,
                    DatasetVersion.version == latest.c.newest,
                ),
            )
            .where(where)
            .order_by(Dataset.owner, Dataset.name)
        )
        return [self._dataset_info(ds, v, int(n)) for ds, v, n in rows]

    def list(self, who: Principal | str) -> builtins.list[DatasetInfo]:
        """Datasets ``who`` can see: their own, their groups', public ones (admins: all)."""
        principal = Principal.of(who)
        with self.store.session() as s:
            return self._summaries(s, self._visible(principal))

    def get(self, who: Principal | str, ref: str) -> DatasetInfo:
        """One dataset by ``name`` (yours, else the only visible one) or ``owner/name``."""
        principal = Principal.of(who)
        with self.store.session() as s:
            ds = self._find(s, principal, ref)
            return self._summaries(s, Dataset.id == ds.id)[0]

    def versions(self, who: Principal | str, ref: str) -> builtins.list[DatasetVersionInfo]:
        principal = Principal.of(who)
        with self.store.session() as s:
            ds = self._find(s, principal, ref)
            rows = s.scalars(
                select(DatasetVersion)
                .where(DatasetVersion.dataset_id == ds.id)
                .order_by(DatasetVersion.version)
            )
            return [self._version_info(ds, v) for v in rows]

    def get_version(self, who: Principal | str, ref: str, version: int | None = None) -> DatasetVersionInfo:
        """A version of a dataset (default: the newest)."""
        principal = Principal.of(who)
        with self.store.session() as s:
            ds = self._find(s, principal, ref)
            return self._version_info(ds, self._version_row(s, ds, version))

    def preview(self, who: Principal | str, ref: str, version: int | None = None) -> Preview:
        """The preview stored with a version (computed once, when it was uploaded)."""
        return self.get_version(who, ref, version).preview or {"kind": "none", "reason": "none"}

    def files(
        self, who: Principal | str, ref: str, version: int | None = None
    ) -> builtins.list[DatasetFileInfo]:
        """The files of a version, with where their bytes are (for mounting into runs)."""
        principal = Principal.of(who)
        with self.store.session() as s:
            ds = self._find(s, principal, ref)
            v = self._version_row(s, ds, version)
            rows = s.scalars(
                select(DatasetFile).where(DatasetFile.dataset_version_id == v.id).order_by(DatasetFile.path)
            )
            return [
                DatasetFileInfo(
                    path=f.path,
                    size=f.size,
                    media_type=f.media_type,
                    sha256=f.blob_sha256,
                    blob_path=self.blobs.path(f.blob_sha256),
                )
                for f in rows
            ]

    def open(
        self, who: Principal | str, ref: str, version: int | None = None, path: str | None = None
    ) -> IO[bytes]:
        """A binary file object on one file of a version (``path`` needed if it has several)."""
        files = self.files(who, ref, version)
        if path is None:
            if len(files) != 1:
                raise InvalidInput(f"dataset {ref!r} holds {len(files)} files; say which with path=")
            return self.blobs.open(files[0].sha256)
        for f in files:
            if f.path == path:
                return self.blobs.open(f.sha256)
        raise NotFound(f"dataset {ref!r} has no file {path!r}")

    def materialize(self, who: Principal | str, ref: str, version: int | None, dest: Path | str) -> Path:
        """Lay a version out as a folder at ``dest`` (hard links to the blobs, else copies).

        ``dest`` must not exist or be empty; mount it read-only.
        """
        return self._lay_out([(f.path, f.blob_path) for f in self.files(who, ref, version)], dest)

    @staticmethod
    def _lay_out(files: builtins.list[tuple[str, Path]], dest: Path | str) -> Path:
        """``(path in the version, blob file)`` pairs as a folder at ``dest`` (empty or new)."""
        target = Path(dest)
        if target.exists() and any(target.iterdir()):
            raise InvalidInput(f"{str(target)!r} is not empty")
        target.mkdir(parents=True, exist_ok=True)
        for path, blob in files:
            out = target.joinpath(*path.split("/"))
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(blob, out)
            except OSError:
                shutil.copyfile(blob, out)
        return target
