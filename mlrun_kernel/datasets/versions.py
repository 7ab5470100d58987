"""Versions: a finished upload, a file or a folder becomes the next version of a dataset.

Blobs are claimed (their rows upserted and locked) and installed before the
transaction that references them commits; see ``service.py`` for the rules.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, cast

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mlrun_kernel.datasets import archives, detect
from mlrun_kernel.datasets.blobs import StagedFile
from mlrun_kernel.datasets.errors import (
    EmptyFile,
    InvalidInput,
    MediaTypeMismatch,
    NotFound,
    UploadIncomplete,
)
from mlrun_kernel.datasets.names import validate_dataset_name, validate_description, validate_filename
from mlrun_kernel.datasets.preview import Preview, file_preview, folder_preview
from mlrun_kernel.datasets.reading import Reading
from mlrun_kernel.datasets.records import (
    BATCH,
    DatasetVersionInfo,
    Principal,
    Visibility,
    check_visibility,
)
from mlrun_kernel.datasets.upload_sessions import UploadSessions
from mlrun_kernel.store.models.datasets import (
    Blob,
    Dataset,
    DatasetFile,
    DatasetVersion,
    Upload,
)
from mlrun_kernel.store.types import utcnow


def _tree_sha256(staged: Sequence[StagedFile]) -> str:
    digest = hashlib.sha256()
    for f in sorted(staged, key=lambda s: s.path):
        digest.update(f"{f.sha256}  {f.size}  {f.path}\n".encode())
    return digest.hexdigest()


class Versions(UploadSessions, Reading):
    """Store new versions: from uploads, files, streams and folders."""

    def complete_upload(
        self,
        upload_id: str,
        *,
        name: str,
        description: str | None = None,
        visibility: Visibility | None = None,
        group: str | None = None,
        unpack: bool = True,
        owner: Principal | str | None = None,
    ) -> DatasetVersionInfo:
        """Turn a finished upload into the next version of dataset ``name``.

        A zip or tar (also .tar.gz/.bz2/.xz) becomes a multi-file version unless
        ``unpack=False``. ``description``/``visibility`` of None keep the
        dataset's current ones (new datasets: empty and private). If this
        fails, the upload stays as it was: fix the cause and complete again,
        or ``abort_upload``.
        """
        owner_name = Principal.of(owner).name if owner is not None else None
        name = validate_dataset_name(name)
        if description is not None:
            description = validate_description(description)
        visibility_, group = check_visibility(visibility, group)
        with self.parts.locked(upload_id) as fd:
            status = self._reconcile(fd, upload_id, owner_name)
            if status.received == 0:
                raise EmptyFile(f"{status.filename!r} is an empty file (0 bytes); there is nothing to store")
            if status.expected_size is not None and status.received != status.expected_size:
                raise UploadIncomplete(
                    f"upload {upload_id} has {status.received} of the {status.expected_size} "
                    f"bytes announced; send the rest from offset {status.received}"
                )
            part = self.parts.path(upload_id)
            head = os.pread(fd, detect.HEAD_BYTES, 0)
            tail = os.pread(fd, 8, max(status.received - 8, 0))
            media = detect.media_type_for(status.filename, head, tail, size=status.received)
            with self.blobs.staging() as folder:
                if unpack and archives.is_archive(part, media):
                    staged = archives.unpack(
                        part,
                        media,
                        status.filename,
                        self.blobs,
                        folder,
                        self._limits(),
                        self.settings.upload_chunk_bytes,
                    )
                    version_media = detect.FOLDER
                    preview = folder_preview([(f.path, f.size, f.media_type) for f in staged])
                else:
                    extension = detect.extension_type(status.filename) or ""
                    if extension.startswith(detect.TAR + "+"):
                        raise MediaTypeMismatch(
                            f"{status.filename!r} is named as a compressed tar archive but "
                            "holds no tar archive; rename it (e.g. to .gz) or upload the right file"
                        )
                    sha = self._digest(upload_id, status.received, part)
                    staged = [
                        StagedFile(
                            path=status.filename,
                            source=part,
                            sha256=sha,
                            size=status.received,
                            media_type=media,
                        )
                    ]
                    version_media = media
                    preview = self._preview(part, media, status.received)
                try:
                    info = self._commit(
                        owner=status.owner,
                        name=name,
                        description=description,
                        visibility=visibility_,
                        group=group,
                        staged=staged,
                        media_type=version_media,
                        preview=preview,
                        source_name=status.filename,
                        upload_id=upload_id,
                    )
                except BaseException:
                    self.parts.unshare(upload_id)  # never let the upload write into a blob
                    raise
            self.parts.remove(upload_id)
        with self._hashers_lock:
            self._hashers.pop(upload_id, None)
        return info

    def _preview(self, path: Path, media_type: str, size: int) -> Preview:
        cfg = self.settings
        return file_preview(
            path,
            media_type,
            size,
            rows=cfg.preview_rows,
            sample=cfg.preview_sample_rows,
            max_bytes=cfg.preview_max_bytes,
            inline_max=cfg.thumbnail_max_bytes,
            max_pixels=cfg.preview_max_image_pixels,
        )

    def _limits(self) -> archives.Limits:
        cfg = self.settings
        return archives.Limits(
            max_files=cfg.archive_max_files,
            max_bytes=cfg.archive_max_bytes,
            max_ratio=cfg.archive_max_ratio,
            ratio_floor=cfg.archive_ratio_floor_bytes,
        )

    def upload_file(
        self,
        owner: Principal | str,
        name: str,
        source: str | os.PathLike[str] | IO[bytes] | Iterable[bytes] | bytes,
        *,
        filename: str | None = None,
        description: str | None = None,
        visibility: Visibility | None = None,
        group: str | None = None,
        unpack: bool = True,
    ) -> DatasetVersionInfo:
        """Store a file, a folder, or a stream as the next version of ``name``, in one call.

        A path to a folder makes a multi-file version (links and special files
        refused). Streams need ``filename`` unless they have a ``.name``.
        """
        owner_name = Principal.of(owner).name
        name = validate_dataset_name(name)
        if description is not None:
            description = validate_description(description)
        visibility_, group = check_visibility(visibility, group)
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if path.is_dir():
                return self._upload_folder(
                    owner_name,
                    name,
                    path,
                    description=description,
                    visibility=visibility_,
                    group=group,
                )
            if not path.is_file():
                raise NotFound(f"no file or folder at {str(path)!r}")
            filename = validate_filename(filename or path.name)
            size: int | None = path.stat().st_size
            if size == 0:
                raise EmptyFile(f"{filename!r} is an empty file (0 bytes); there is nothing to store")
        else:
            given = filename or Path(str(getattr(source, "name", "") or "")).name
            if not given:
                raise InvalidInput("give filename= when uploading a stream (it decides the media type)")
            filename, size = validate_filename(given), None
        upload_id = self.start_upload(owner_name, filename, size)
        try:
            with contextlib.ExitStack() as opened:
                if isinstance(source, str | os.PathLike):
                    source = opened.enter_context(open(source, "rb"))
                self.append_chunk(upload_id, 0, source)
            return self.complete_upload(
                upload_id,
                name=name,
                description=description,
                visibility=cast(Visibility | None, visibility_),
                group=group,
                unpack=unpack,
            )
        finally:
            self._discard(upload_id)

    def version_by_id(
        self, who: Principal | str, version_id: int, *, sha256: str | None = None
    ) -> DatasetVersionInfo:
        """The version with this id, if ``who`` may see its dataset (a run's record names it so).

        ``sha256``: the content the caller recorded with the id. A version with other
        content counts as gone: SQLite hands a deleted version's id to the next one."""
        principal = Principal.of(who)
        with self.store.session() as s:
            row = s.execute(
                select(Dataset, DatasetVersion)
                .join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
                .where(DatasetVersion.id == version_id, self._visible(principal))
            ).first()
            if row is None or (sha256 is not None and row[1].content_sha256 != sha256):
                raise NotFound(
                    f"no dataset version with id {version_id} that {principal.name} can see "
                    "(it was deleted, or is no longer shared with them)"
                )
            return self._version_info(row[0], row[1])

    def materialize_version(self, version_id: int, dest: Path | str) -> Path:
        """Lay out the version with this id at ``dest`` (as ``materialize``), whoever can see it.

        For the holder of the version (a run, which was allowed to read it when it
        was submitted); every other caller goes through ``materialize``."""
        with self.store.session() as s:
            rows = list(
                s.scalars(
                    select(DatasetFile)
                    .where(DatasetFile.dataset_version_id == version_id)
                    .order_by(DatasetFile.path)
                )
            )
        if not rows:
            raise NotFound(f"no dataset version with id {version_id} (or it holds no files)")
        return self._lay_out([(f.path, self.blobs.path(f.blob_sha256)) for f in rows], dest)

    def _discard(self, upload_id: str) -> None:
        with contextlib.suppress(NotFound):  # NotFound: it completed
            self.abort_upload(upload_id)

    def _upload_folder(
        self,
        owner: str,
        name: str,
        path: Path,
        *,
        description: str | None,
        visibility: str | None,
        group: str | None,
    ) -> DatasetVersionInfo:
        with self.blobs.staging() as folder:
            staged = archives.collect_folder(
                path, self.blobs, folder, self._limits(), self.settings.upload_chunk_bytes
            )
            return self._commit(
                owner=owner,
                name=name,
                description=description,
                visibility=visibility,
                group=group,
                staged=staged,
                media_type=detect.FOLDER,
                preview=folder_preview([(f.path, f.size, f.media_type) for f in staged]),
                source_name=path.name or str(path),
                upload_id=None,
            )

    def _commit(
        self,
        *,
        owner: str,
        name: str,
        description: str | None,
        visibility: str | None,
        group: str | None,
        staged: Sequence[StagedFile],
        media_type: str,
        preview: Preview,
        source_name: str,
        upload_id: str | None,
    ) -> DatasetVersionInfo:
        single = media_type != detect.FOLDER
        content_sha = staged[0].sha256 if single else _tree_sha256(staged)
        for attempt in range(3):
            try:
                with self.store.session() as s:
                    self._write_lock(s)
                    ds = s.scalars(
                        select(Dataset).where(Dataset.owner == owner, Dataset.name == name).with_for_update()
                    ).first()
                    if ds is None:
                        ds = Dataset(
                            owner=owner,
                            name=name,
                            description=description or "",
                            visibility=visibility or "private",
                            group_name=group,
                        )
                        s.add(ds)
                        s.flush()
                    else:
                        if description is not None:
                            ds.description = description
                        if visibility is not None:
                            ds.visibility, ds.group_name = visibility, group
                        ds.updated_at = utcnow()
                    self._check_quota(s, owner, name, staged, upload_id)
                    self._claim_blobs(s, staged)
                    number = (
                        s.scalar(
                            select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == ds.id)
                        )
                        or 0
                    ) + 1
                    version = DatasetVersion(
                        dataset_id=ds.id,
                        version=number,
                        media_type=media_type,
                        size=sum(f.size for f in staged),
                        file_count=len(staged),
                        content_sha256=content_sha,
                        source_name=source_name,
                        preview=preview,
                    )
                    s.add(version)
                    s.flush()
                    rows = [
                        {
                            "dataset_version_id": version.id,
                            "path": f.path,
                            "blob_sha256": f.sha256,
                            "size": f.size,
                            "media_type": f.media_type,
                        }
                        for f in staged
                    ]
                    for start in range(0, len(rows), BATCH):
                        s.execute(insert(DatasetFile), rows[start : start + BATCH])
                    if upload_id is not None:
                        s.execute(delete(Upload).where(Upload.id == upload_id))
                    info = self._version_info(ds, version)
                return info
            except IntegrityError:
                # Another writer created the dataset or took the version number first.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _claim_blobs(self, s: Session, staged: Sequence[StagedFile]) -> None:
        """Upsert (and so lock) the blob rows, then make sure each file is on disk."""
        unique = {f.sha256: f for f in staged}
        shas = sorted(unique)
        dialect = s.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        now = utcnow()
        for start in range(0, len(shas), BATCH):
            values = [
                {"sha256": sha, "size": unique[sha].size, "created_at": now}
                for sha in shas[start : start + BATCH]
            ]
            stmt = upsert(Blob).values(values)
            # DO UPDATE (not DO NOTHING) so an existing row is locked until we commit.
            stmt = stmt.on_conflict_do_update(index_elements=[Blob.sha256], set_={"size": stmt.excluded.size})
            s.execute(stmt)
        for sha in shas:
            self.blobs.install(unique[sha].source, sha, unique[sha].size)
