"""Upload sessions: resumable uploads in the store, their part files on disk, the hash kept between chunks.

An upload is a row (``received``: the acknowledged bytes) and a part file
(``uploads.PartFiles``); ``append_chunk`` streams into it under an exclusive
lock and checkpoints as it goes (``uploads.receive``). Turning a finished
upload into a version is ``versions.Versions.complete_upload``.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mlrun_kernel.datasets.blobs import sha256_of_file
from mlrun_kernel.datasets.errors import (
    DatasetError,
    EmptyFile,
    InvalidInput,
    NotFound,
    UploadOffsetMismatch,
    UploadTooLarge,
)
from mlrun_kernel.datasets.names import validate_filename
from mlrun_kernel.datasets.quotas import Quotas
from mlrun_kernel.datasets.records import Principal, UploadStatus
from mlrun_kernel.datasets.uploads import new_upload_id, receive
from mlrun_kernel.store.models.datasets import Upload
from mlrun_kernel.store.types import utcnow


class UploadSessions(Quotas):
    """Start, feed, inspect, abort and expire uploads."""

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

    def _digest(self, upload_id: str, size: int, part: Path) -> str:
        with self._hashers_lock:
            cached = self._hashers.get(upload_id)
        if cached is not None and cached[0] == size:
            return str(cached[1].hexdigest())
        return sha256_of_file(part, self.settings.upload_chunk_bytes)
