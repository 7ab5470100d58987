"""``Datasets``: the one Python API for datasets; the CLI, the service and widgets call it.

Layers, from the caller inwards:

- ``Datasets`` (this module): uploads, versions, sharing, holds, deletion and
  quotas, with the database (``mlrun_kernel.store``) and the files on disk
  kept consistent. Methods take who is asking (a ``Principal`` or a user name)
  and return frozen dataclasses, never ORM objects.
- ``uploads``: part files of resumable uploads, their locks, the copy loop.
- ``archives``: safe unpacking of zip/tar and reading of folders.
- ``blobs``: content-addressed files (sha256), installed atomically.
- ``detect`` and ``preview``: media types and previews, pure functions.
- ``names``: validation of every name a user gives.

Consistency rules: a blob file is installed before the transaction that
references it commits, and removed (set aside first) inside the transaction
that drops its last reference, with the blob's row locked in both; so no
committed row ever points at a missing file, and a failed step leaves at most
an unreferenced file behind. Writes on SQLite take the database write lock
first (``_write_lock``) so concurrent writers wait instead of failing.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal, cast

from sqlalchemy import ColumnElement, and_, delete, false, func, insert, or_, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mlrun_kernel.datasets import archives, detect
from mlrun_kernel.datasets.blobs import BlobStore, StagedFile, sha256_of_file
from mlrun_kernel.datasets.errors import (
    Ambiguous,
    DatasetError,
    DatasetInUse,
    EmptyFile,
    Forbidden,
    InvalidInput,
    MediaTypeMismatch,
    NotFound,
    QuotaExceeded,
    UploadIncomplete,
    UploadOffsetMismatch,
    UploadTooLarge,
)
from mlrun_kernel.datasets.names import (
    split_ref,
    validate_dataset_name,
    validate_description,
    validate_filename,
    validate_principal_name,
)
from mlrun_kernel.datasets.preview import Preview, file_preview, folder_preview
from mlrun_kernel.datasets.settings import DatasetSettings, dataset_settings
from mlrun_kernel.datasets.uploads import PartFiles, new_upload_id, receive
from mlrun_kernel.store import Store
from mlrun_kernel.store.models.datasets import (
    Blob,
    Dataset,
    DatasetFile,
    DatasetHold,
    DatasetVersion,
    Upload,
)
from mlrun_kernel.store.types import utcnow

Visibility = Literal["private", "group", "public"]
VISIBILITIES: tuple[str, ...] = ("private", "group", "public")
Quota = int | Callable[[str], int | None] | None
_BATCH = 500


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user name, their groups, and whether they are an admin."""

    name: str
    groups: frozenset[str] = frozenset()
    is_admin: bool = False

    def __post_init__(self) -> None:
        validate_principal_name(self.name, "user name")

    @classmethod
    def of(cls, who: Principal | str) -> Principal:
        """A ``Principal`` as given, or a plain user (no groups, not admin) from a name."""
        if isinstance(who, Principal):
            return who
        return cls(name=validate_principal_name(who))


@dataclass(frozen=True)
class DatasetVersionInfo:
    """One stored version of a dataset."""

    id: int
    dataset_id: int
    owner: str
    name: str
    version: int
    media_type: str
    size: int
    file_count: int
    sha256: str
    source_name: str
    created_at: datetime
    preview: Preview | None

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset and a summary of its newest version."""

    id: int
    owner: str
    name: str
    description: str
    visibility: str
    group: str | None
    created_at: datetime
    updated_at: datetime
    latest_version: int
    version_count: int
    size: int
    media_type: str
    file_count: int

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class DatasetFileInfo:
    """One file of a version; ``blob_path`` is where its bytes are on disk (read-only)."""

    path: str
    size: int
    media_type: str
    sha256: str
    blob_path: Path


@dataclass(frozen=True)
class UploadStatus:
    id: str
    owner: str
    filename: str
    received: int
    expected_size: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class HoldInfo:
    version_id: int
    holder: str
    created_at: datetime


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


def _tree_sha256(staged: Sequence[StagedFile]) -> str:
    digest = hashlib.sha256()
    for f in sorted(staged, key=lambda s: s.path):
        digest.update(f"{f.sha256}  {f.size}  {f.path}\n".encode())
    return digest.hexdigest()


def _check_visibility(visibility: str | None, group: str | None) -> tuple[str | None, str | None]:
    if visibility is None:
        if group is not None:
            raise InvalidInput("a group was given without visibility='group'")
        return None, None
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
    if visibility == "group":
        if not group:
            raise InvalidInput("visibility 'group' needs the name of the group to share with")
        return visibility, validate_principal_name(group, "group name")
    if group is not None:
        raise InvalidInput(f"a group only goes with visibility 'group', not {visibility!r}")
    return visibility, None


class Datasets:
    """Datasets of every user, in one store and one data folder.

    ``root`` is the data folder (default ``MLK_DATA_DIR``): blobs go to
    ``root/blobs``, part files of uploads to ``root/uploads``. ``quota`` is
    bytes per user, or a callable ``owner -> bytes`` (None or 0: no quota);
    by default ``MLK_DATASET_QUOTA_BYTES``.
    """

    def __init__(
        self,
        store: Store,
        root: Path | str | None = None,
        *,
        settings: DatasetSettings | None = None,
        quota: Quota = None,
    ) -> None:
        if root is None:
            from mlrun_kernel.config import settings as platform_settings

            root = platform_settings().data_dir
        self.store = store
        self.settings = settings or dataset_settings()
        self.root = Path(root)
        self.blobs = BlobStore(self.root)
        self.parts = PartFiles(self.root)
        self._quota: Quota = quota if quota is not None else self.settings.dataset_quota_bytes
        # upload id -> (bytes hashed, hasher): lets an uninterrupted upload skip re-reading.
        self._hashers: dict[str, tuple[int, Any]] = {}
        self._hashers_lock = threading.Lock()

    # ---- quotas -------------------------------------------------------------------

    def quota_for(self, owner: str) -> int | None:
        """The owner's quota in bytes, or None for no quota."""
        quota = self._quota(owner) if callable(self._quota) else self._quota
        return quota or None

    def usage(self, owner: str) -> int:
        """Bytes the owner uses: distinct content of their datasets plus uploads in progress."""
        with self.store.session() as s:
            return self._used(s, owner)

    def _used(self, s: Session, owner: str, *, except_upload: str | None = None) -> int:
        owned = (
            select(DatasetFile.blob_sha256)
            .join(DatasetVersion, DatasetFile.dataset_version_id == DatasetVersion.id)
            .join(Dataset, DatasetVersion.dataset_id == Dataset.id)
            .where(Dataset.owner == owner)
        )
        stored = s.scalar(select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.sha256.in_(owned)))
        pending = select(func.coalesce(func.sum(Upload.received), 0)).where(Upload.owner == owner)
        if except_upload is not None:
            pending = pending.where(Upload.id != except_upload)
        return int(stored or 0) + int(s.scalar(pending) or 0)

    def _quota_error(self, owner: str, used: int, more: int, quota: int, what: str) -> QuotaExceeded:
        return QuotaExceeded(
            f"{what} needs {human_bytes(more)} more, but {owner} already uses "
            f"{human_bytes(used)} of a {human_bytes(quota)} quota; delete datasets you no "
            "longer need or ask an admin for a larger quota"
        )

    # ---- uploads ------------------------------------------------------------------

    def start_upload(self, owner: Principal | str, filename: str, size: int | None = None) -> str:
        """Begin a resumable upload of one file; returns its id for ``append_chunk``."""
        owner_name = Principal.of(owner).name
        filename = validate_filename(filename)
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise InvalidInput(f"size must be a whole number of bytes, not {size!r}")
            if size == 0:
                raise EmptyFile(f"{filename!r} is an empty file (0 bytes); there is nothing to store")
        upload_id = new_upload_id()
        self.parts.create(upload_id)
        try:
            with self.store.session() as s:
                quota = self.quota_for(owner_name)
                if quota is not None and size is not None:
                    used = self._used(s, owner_name)
                    if used + size > quota:
                        raise self._quota_error(owner_name, used, size, quota, f"uploading {filename!r}")
                s.add(Upload(id=upload_id, owner=owner_name, filename=filename, expected_size=size))
        except BaseException:
            self.parts.remove(upload_id)
            raise
        return upload_id

    def _upload_row(self, s: Session, upload_id: str, owner: str | None) -> Upload:
        self.parts.path(upload_id)  # refuses malformed ids
        row = s.get(Upload, upload_id)
        if row is None or (owner is not None and row.owner != owner):
            raise NotFound(f"no upload {upload_id!r} (finished, aborted or never started)")
        return row

    @staticmethod
    def _status(row: Upload) -> UploadStatus:
        return UploadStatus(
            id=row.id,
            owner=row.owner,
            filename=row.filename,
            received=row.received,
            expected_size=row.expected_size,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def upload_status(self, upload_id: str, *, owner: Principal | str | None = None) -> UploadStatus:
        """How far an upload got: resume with ``append_chunk(id, status.received, ...)``."""
        owner_name = Principal.of(owner).name if owner is not None else None
        with self.store.session() as s:
            return self._status(self._upload_row(s, upload_id, owner_name))

    def uploads(self, owner: Principal | str) -> list[UploadStatus]:
        """The owner's uploads in progress, oldest first."""
        owner_name = Principal.of(owner).name
        with self.store.session() as s:
            rows = s.scalars(select(Upload).where(Upload.owner == owner_name).order_by(Upload.created_at))
            return [self._status(r) for r in rows]

    def _reconcile(self, fd: int, upload_id: str, owner: str | None) -> UploadStatus:
        """The upload's row, with the part file cut back to the acknowledged bytes."""
        with self.store.session() as s:
            row = self._upload_row(s, upload_id, owner)
            on_disk = os.fstat(fd).st_size
            if on_disk > row.received:
                os.ftruncate(fd, row.received)  # bytes past the last checkpoint: resent
            elif on_disk < row.received:
                row.received = on_disk  # the disk lost acknowledged bytes: ask for them again
                row.updated_at = utcnow()
            status = self._status(row)
        with self._hashers_lock:
            cached = self._hashers.get(upload_id)
            if cached is not None and cached[0] != status.received:
                del self._hashers[upload_id]
        return status

    def append_chunk(
        self,
        upload_id: str,
        offset: int,
        stream: Any,
        *,
        owner: Principal | str | None = None,
    ) -> UploadStatus:
        """Append the bytes of ``stream`` (a binary file, an iterable of bytes, or bytes).

        ``offset`` must equal the bytes received so far (``upload_status().received``);
        otherwise ``UploadOffsetMismatch`` says where to resume. The stream is
        copied in fixed-size pieces; if it fails midway, what arrived is kept
        and the upload resumes from there.
        """
        owner_name = Principal.of(owner).name if owner is not None else None
        with self.parts.locked(upload_id) as fd:
            status = self._reconcile(fd, upload_id, owner_name)
            if isinstance(offset, bool) or not isinstance(offset, int) or offset != status.received:
                raise UploadOffsetMismatch(
                    f"upload {upload_id} has received {status.received} bytes, so the next "
                    f"chunk must start at offset {status.received}, not {offset!r}",
                    expected=status.received,
                )
            quota = self.quota_for(status.owner)
            used = 0
            if quota is not None:
                with self.store.session() as s:
                    used = self._used(s, status.owner, except_upload=upload_id)
            expected = status.expected_size

            def before_piece(end: int) -> None:
                if expected is not None and end > expected:
                    raise UploadTooLarge(
                        f"upload {upload_id} announced {expected} bytes but more are arriving; "
                        "start a new upload with the right size (or none)"
                    )
                if quota is not None and used + end > quota:
                    raise self._quota_error(status.owner, used, end, quota, f"uploading {status.filename!r}")

            def checkpoint(end: int) -> None:
                with self.store.session() as s:
                    row = self._upload_row(s, upload_id, None)
                    row.received = end
                    row.updated_at = utcnow()

            with self._hashers_lock:
                cached = self._hashers.pop(upload_id, None)
            hasher = hashlib.sha256() if offset == 0 else (cached[1] if cached else None)
            end = receive(
                fd,
                offset,
                stream,
                hasher,
                chunk_bytes=self.settings.upload_chunk_bytes,
                before_piece=before_piece,
                checkpoint=checkpoint,
                checkpoint_bytes=self.settings.upload_checkpoint_bytes,
            )
            # Reached only when the whole stream landed: the hasher covers [0, end).
            if hasher is not None:
                with self._hashers_lock:
                    self._hashers[upload_id] = (end, hasher)
            with self.store.session() as s:
                return self._status(self._upload_row(s, upload_id, None))

    def abort_upload(self, upload_id: str, *, owner: Principal | str | None = None) -> None:
        """Forget an upload and free its bytes."""
        owner_name = Principal.of(owner).name if owner is not None else None
        with self.parts.locked(upload_id):
            with self.store.session() as s:
                s.delete(self._upload_row(s, upload_id, owner_name))
            self.parts.remove(upload_id)
        with self._hashers_lock:
            self._hashers.pop(upload_id, None)

    def expire_uploads(self, older_than: timedelta) -> int:
        """Abort uploads untouched for ``older_than``; how many went."""
        cutoff = utcnow() - older_than
        with self.store.session() as s:
            ids = list(s.scalars(select(Upload.id).where(Upload.updated_at < cutoff)))
        gone = 0
        for upload_id in ids:
            try:
                self.abort_upload(upload_id)
                gone += 1
            except DatasetError:
                continue  # finished meanwhile, or busy: it is alive
        return gone

    def collect_garbage(self, older_than: timedelta = timedelta(hours=24)) -> dict[str, int]:
        """Remove what crashes and abandoned clients leave behind, if older than ``older_than``.

        Expired uploads, part files without an upload, staging folders, and blob
        files no row references. Blobs are checked one by one under a lock, so
        an upload claiming the same content at that moment keeps it.
        """
        cutoff = utcnow() - older_than
        cutoff_ts = cutoff.timestamp()
        removed = {"uploads": self.expire_uploads(older_than), "parts": 0, "staging": 0, "blobs": 0}
        with self.store.session() as s:
            live = set(s.scalars(select(Upload.id)))
        for part in self.parts.folder.glob("*.part"):
            if part.stem not in live and part.stat().st_mtime < cutoff_ts:
                part.unlink(missing_ok=True)
                removed["parts"] += 1
        for leftover in self.blobs.tmp.iterdir():
            if leftover.stat().st_mtime < cutoff_ts:
                shutil.rmtree(leftover, ignore_errors=True)
                removed["staging"] += 1
        for shard in self.blobs.blobs.iterdir():
            for blob in shard.iterdir():
                if blob.stat().st_mtime < cutoff_ts and self._remove_orphan_blob(blob.name):
                    removed["blobs"] += 1
        return removed

    def _remove_orphan_blob(self, sha: str) -> bool:
        try:
            self.blobs.path(sha)
        except ValueError:
            return False  # not ours
        with self.store.session() as s:
            self._write_lock(s)
            if s.get(Blob, sha) is not None:
                return False
            # Take the row ourselves: an upload claiming this content now waits for us,
            # then finds the file gone and installs its own copy.
            try:
                with s.begin_nested():
                    s.add(Blob(sha256=sha, size=0))
            except IntegrityError:
                return False  # claimed meanwhile
            with contextlib.suppress(FileNotFoundError):
                self.blobs.path(sha).unlink()
            s.execute(delete(Blob).where(Blob.sha256 == sha))
        return True

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
        visibility_, group = _check_visibility(visibility, group)
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

    def _digest(self, upload_id: str, size: int, part: Path) -> str:
        with self._hashers_lock:
            cached = self._hashers.get(upload_id)
        if cached is not None and cached[0] == size:
            return str(cached[1].hexdigest())
        return sha256_of_file(part, self.settings.upload_chunk_bytes)

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
        visibility_, group = _check_visibility(visibility, group)
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
            size = path.stat().st_size
            if size == 0:
                raise EmptyFile(f"{filename!r} is an empty file (0 bytes); there is nothing to store")
            upload_id = self.start_upload(owner_name, filename, size)
            try:
                with open(path, "rb") as stream:
                    self.append_chunk(upload_id, 0, stream)
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
        given = filename or Path(str(getattr(source, "name", "") or "")).name
        if not given:
            raise InvalidInput("give filename= when uploading a stream (it decides the media type)")
        upload_id = self.start_upload(owner_name, validate_filename(given))
        try:
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

    # ---- storing a version -----------------------------------------------------------

    @staticmethod
    def _write_lock(s: Session) -> None:
        """On SQLite, take the database write lock now so concurrent writers queue up.

        (A transaction that read first and wrote later would fail at once with
        "database is locked" instead of waiting.) PostgreSQL uses row locks.
        """
        if s.get_bind().dialect.name == "sqlite":
            s.execute(text("DELETE FROM dataset_holds WHERE 1 = 0"))

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
                    for start in range(0, len(rows), _BATCH):
                        s.execute(insert(DatasetFile), rows[start : start + _BATCH])
                    if upload_id is not None:
                        s.execute(delete(Upload).where(Upload.id == upload_id))
                    info = self._version_info(ds, version)
                return info
            except IntegrityError:
                # Another writer created the dataset or took the version number first.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_quota(
        self, s: Session, owner: str, name: str, staged: Sequence[StagedFile], upload_id: str | None
    ) -> None:
        quota = self.quota_for(owner)
        if quota is None:
            return
        sizes = {f.sha256: f.size for f in staged}
        shas = sorted(sizes)
        owned: set[str] = set()
        for start in range(0, len(shas), _BATCH):
            batch = shas[start : start + _BATCH]
            owned.update(
                s.scalars(
                    select(DatasetFile.blob_sha256)
                    .join(DatasetVersion, DatasetFile.dataset_version_id == DatasetVersion.id)
                    .join(Dataset, DatasetVersion.dataset_id == Dataset.id)
                    .where(Dataset.owner == owner, DatasetFile.blob_sha256.in_(batch))
                    .distinct()
                )
            )
        more = sum(size for sha, size in sizes.items() if sha not in owned)
        used = self._used(s, owner, except_upload=upload_id)
        if more and used + more > quota:
            raise self._quota_error(owner, used, more, quota, f"storing dataset {name!r}")

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
        for start in range(0, len(shas), _BATCH):
            values = [
                {"sha256": sha, "size": unique[sha].size, "created_at": now}
                for sha in shas[start : start + _BATCH]
            ]
            stmt = upsert(Blob).values(values)
            # DO UPDATE (not DO NOTHING) so an existing row is locked until we commit.
            stmt = stmt.on_conflict_do_update(index_elements=[Blob.sha256], set_={"size": stmt.excluded.size})
            s.execute(stmt)
        for sha in shas:
            self.blobs.install(unique[sha].source, sha, unique[sha].size)

    # ---- reading ------------------------------------------------------------------

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
        target = Path(dest)
        if target.exists() and any(target.iterdir()):
            raise InvalidInput(f"{str(target)!r} is not empty")
        files = self.files(who, ref, version)
        target.mkdir(parents=True, exist_ok=True)
        for f in files:
            out = target.joinpath(*f.path.split("/"))
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(f.blob_path, out)
            except OSError:
                shutil.copyfile(f.blob_path, out)
        return target

    # ---- changing -----------------------------------------------------------------

    @staticmethod
    def _require_owner(who: Principal, ds: Dataset, action: str) -> None:
        if who.is_admin or who.name == ds.owner:
            return
        raise Forbidden(f"only {ds.owner} (the owner) or an admin can {action} {ds.owner}/{ds.name}")

    def share(
        self,
        who: Principal | str,
        ref: str,
        visibility: Visibility,
        group: str | None = None,
    ) -> DatasetInfo:
        """Change who can see a dataset: ``private``, ``group`` (with ``group``) or ``public``."""
        principal = Principal.of(who)
        new_visibility, new_group = _check_visibility(visibility, group)
        with self.store.session() as s:
            self._write_lock(s)
            ds = self._find(s, principal, ref, lock=True)
            self._require_owner(principal, ds, "share")
            ds.visibility = str(new_visibility)
            ds.group_name = new_group
            ds.updated_at = utcnow()
            s.flush()
            return self._summaries(s, Dataset.id == ds.id)[0]

    def delete(self, who: Principal | str, ref: str) -> None:
        """Delete a dataset and all its versions; frees content nothing else uses.

        Refused with ``DatasetInUse`` while any version is held by a run.
        """
        principal = Principal.of(who)
        trash = Path(tempfile.mkdtemp(prefix="trash-", dir=self.blobs.tmp))
        moved: list[Path] = []
        try:
            with self.store.session() as s:
                self._write_lock(s)
                ds = self._find(s, principal, ref, lock=True)
                self._require_owner(principal, ds, "delete")
                version_ids = list(
                    s.scalars(
                        select(DatasetVersion.id)
                        .where(DatasetVersion.dataset_id == ds.id)
                        .order_by(DatasetVersion.id)
                        .with_for_update()
                    )
                )
                holds = s.execute(
                    select(DatasetHold.holder, DatasetVersion.version)
                    .join(DatasetVersion, DatasetHold.dataset_version_id == DatasetVersion.id)
                    .where(DatasetHold.dataset_version_id.in_(version_ids))
                    .order_by(DatasetVersion.version, DatasetHold.holder)
                ).all()
                if holds:
                    users = ", ".join(f"{holder} (version {v})" for holder, v in holds)
                    raise DatasetInUse(
                        f"dataset {ds.owner}/{ds.name} is in use by {users}; wait for "
                        "the run to finish (or cancel it), then delete again"
                    )
                shas = sorted(
                    set(
                        s.scalars(
                            select(DatasetFile.blob_sha256)
                            .where(DatasetFile.dataset_version_id.in_(version_ids))
                            .distinct()
                        )
                    )
                )
                s.execute(delete(DatasetFile).where(DatasetFile.dataset_version_id.in_(version_ids)))
                s.execute(delete(DatasetVersion).where(DatasetVersion.id.in_(version_ids)))
                s.execute(delete(Dataset).where(Dataset.id == ds.id))
                s.expunge(ds)
                for start in range(0, len(shas), _BATCH):
                    batch = shas[start : start + _BATCH]
                    locked = set(
                        s.scalars(
                            select(Blob.sha256)
                            .where(Blob.sha256.in_(batch))
                            .order_by(Blob.sha256)
                            .with_for_update()
                        )
                    )
                    still_used = set(
                        s.scalars(
                            select(DatasetFile.blob_sha256)
                            .where(DatasetFile.blob_sha256.in_(batch))
                            .distinct()
                        )
                    )
                    free = sorted(locked - still_used)
                    if free:
                        s.execute(delete(Blob).where(Blob.sha256.in_(free)))
                    for sha in free:
                        aside = self.blobs.set_aside(sha, trash)
                        if aside is not None:
                            moved.append(aside)
        except BaseException:
            for aside in moved:
                self.blobs.put_back(aside)
            raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)

    # ---- holds --------------------------------------------------------------------

    def hold(self, version_id: int, holder: str) -> HoldInfo:
        """Mark a version as in use by ``holder`` (e.g. ``run:42``); idempotent."""
        holder = validate_principal_name(holder, "holder")
        with self.store.session() as s:
            self._write_lock(s)
            version = s.scalars(
                select(DatasetVersion).where(DatasetVersion.id == version_id).with_for_update(read=True)
            ).first()
            if version is None:
                raise NotFound(f"no dataset version with id {version_id}")
            row = s.scalars(
                select(DatasetHold).where(
                    DatasetHold.dataset_version_id == version_id, DatasetHold.holder == holder
                )
            ).first()
            if row is None:
                row = DatasetHold(dataset_version_id=version_id, holder=holder)
                s.add(row)
                s.flush()
            return HoldInfo(version_id=version_id, holder=row.holder, created_at=row.created_at)

    def release(self, holder: str, version_id: int | None = None) -> int:
        """Drop ``holder``'s holds (on one version, or all); how many were dropped."""
        with self.store.session() as s:
            stmt = delete(DatasetHold).where(DatasetHold.holder == holder)
            if version_id is not None:
                stmt = stmt.where(DatasetHold.dataset_version_id == version_id)
            return int(getattr(s.execute(stmt), "rowcount", 0) or 0)

    def holds(self, version_id: int | None = None) -> builtins.list[HoldInfo]:
        with self.store.session() as s:
            query = select(DatasetHold).order_by(DatasetHold.id)
            if version_id is not None:
                query = query.where(DatasetHold.dataset_version_id == version_id)
            return [
                HoldInfo(version_id=h.dataset_version_id, holder=h.holder, created_at=h.created_at)
                for h in s.scalars(query)
            ]
