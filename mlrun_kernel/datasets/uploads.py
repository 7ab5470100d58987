"""The on-disk half of resumable uploads: part files, their locks, and the copy loop.

An upload's bytes go to ``uploads/<id>.part`` under the data folder. The
database row (``store.models.datasets.Upload``) says how many bytes are
*acknowledged*: ``receive`` fsyncs the part file before each checkpoint raises
that number, so after any crash the file holds at least what the row says,
and the next writer cuts anything beyond it (the client resends from
``received``). One writer per upload at a time: ``PartFiles.locked`` takes an
exclusive ``flock`` and refuses a second one with ``UploadBusy``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlrun_kernel.datasets.blobs import Chunk, HashingWriter
from mlrun_kernel.datasets.errors import NotFound, UploadBusy

_ID = re.compile(r"[0-9a-f]{32}\Z")


def new_upload_id() -> str:
    return secrets.token_hex(16)


class _NoHash:
    """Stands in for a hasher when the bytes before the offset were not hashed here."""

    def update(self, _data: Any) -> None:
        pass


class PartFiles:
    """The part files of uploads in progress, under ``root/uploads``."""

    def __init__(self, root: Path) -> None:
        self.folder = Path(root) / "uploads"
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, upload_id: str) -> Path:
        if not isinstance(upload_id, str) or not _ID.match(upload_id):
            raise NotFound(f"no upload {upload_id!r}: upload ids are 32 hex digits")
        return self.folder / f"{upload_id}.part"

    def create(self, upload_id: str) -> None:
        fd = os.open(self.path(upload_id), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)

    def remove(self, upload_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(upload_id).unlink()

    @contextlib.contextmanager
    def locked(self, upload_id: str) -> Iterator[int]:
        """An fd of the part file, opened read-write, held exclusively by this caller."""
        path = self.path(upload_id)
        for _ in range(3):
            try:
                fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
            except FileNotFoundError:
                raise NotFound(f"no upload {upload_id!r} (finished, aborted or never started)") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise UploadBusy(
                    f"upload {upload_id} is receiving data from another request; wait for it "
                    "to finish, then resume at the offset upload_status() reports"
                ) from None
            # The path may have been replaced while we waited: lock the file it names now.
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        else:
            raise NotFound(f"upload {upload_id!r} changed while it was being opened; try again")
        try:
            yield fd
        finally:
            os.close(fd)

    def unshare(self, upload_id: str) -> None:
        """Give the part file its own inode again if it is hard-linked (into the blobs).

        Called when a completion failed after linking, so that later writes to
        the upload can never reach the blob.
        """
        path = self.path(upload_id)
        if os.stat(path).st_nlink <= 1:
            return
        fd, name = tempfile.mkstemp(dir=self.folder, prefix="unshare-")
        try:
            with open(path, "rb") as src, os.fdopen(fd, "wb", closefd=False) as dst:
                shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
            os.fchmod(fd, 0o644)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(name, path)


def receive(
    fd: int,
    offset: int,
    pieces: Iterable[Chunk],
    hasher: Any | None,
    *,
    before_piece: Callable[[int], None],
    checkpoint: Callable[[int], None],
    checkpoint_bytes: int,
) -> int:
    """Write ``pieces`` into the part file from ``offset``; the new end.

    ``before_piece(end_after_piece)`` may raise to refuse a piece (size, quota).
    ``checkpoint(end)`` records progress after an fsync covering ``end``: every
    ``checkpoint_bytes`` in a background thread (so the copy does not stall
    while the disk catches up), and once at the end, also when the stream
    fails, so an interrupted upload resumes where its last good byte landed.
    """
    os.lseek(fd, offset, os.SEEK_SET)
    writer = HashingWriter(fd, hasher if hasher is not None else _NoHash())
    background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlk-checkpoint")
    pending: Future[None] | None = None

    def durable(end: int) -> None:
        os.fsync(fd)  # covers every byte written before this call, so [0, end) at least
        checkpoint(end)

    since = 0
    try:
        for piece in pieces:
            before_piece(offset + writer.written + len(piece))
            writer.write(piece)
            since += len(piece)
            if since >= checkpoint_bytes and (pending is None or pending.done()):
                pending = background.submit(durable, offset + writer.written)
                since = 0
    finally:
        writer.close()
        background.shutdown(wait=True)  # a failed background checkpoint is superseded:
        durable(offset + writer.written)  # this one covers every byte written
    return offset + writer.written
