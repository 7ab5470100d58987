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
import errno
import fcntl
import io
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlrun_kernel.datasets.blobs import TrailingHasher, iter_chunks, write_all
from mlrun_kernel.datasets.errors import NotFound, UploadBusy

_ID = re.compile(r"[0-9a-f]{32}\Z")


def new_upload_id() -> str:
    return secrets.token_hex(16)


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


class _Landing:
    """Bytes landing in a part file from ``offset``: hashed behind the writer, made durable.

    Progress is made durable by an fsync, then ``checkpoint(end)``: every
    ``every`` bytes in a background thread (so the copy does not stall while the
    disk catches up), and once more on leaving, whatever happened, covering every
    byte written (so it supersedes a periodic one that failed).

    After each checkpoint the pages that are both on disk and hashed are dropped
    from the page cache (``POSIX_FADV_DONTNEED``), so an upload of any size
    recycles about ``every`` bytes of memory instead of filling the cache with a
    file nobody reads soon. It is also faster: on the 2-core VM, writing into
    pages the guest never touched costs 3 ms/MiB, into recycled ones 0.5 ms/MiB
    (512 MiB through the service: 2.8 s -> see docs/datasets.md).
    """

    def __init__(
        self, fd: int, offset: int, hasher: Any | None, checkpoint: Callable[[int], None], every: int
    ) -> None:
        self.end = offset
        self._fd = fd
        self._checkpoint = checkpoint
        self._every = every
        self._since = 0
        self._trailing = TrailingHasher(fd, offset, hasher) if hasher is not None else None
        self._dropped = offset
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlk-checkpoint")
        self._pending: Future[None] | None = None

    def _durable(self, end: int) -> None:
        os.fsync(self._fd)  # covers every byte written before this call, so [0, end) at least
        self._checkpoint(end)
        self._let_go(end)

    def _let_go(self, synced: int) -> None:
        """Drop the cached pages below ``synced`` that the hasher has read already."""
        until = synced if self._trailing is None else min(synced, self._trailing.position)
        if until > self._dropped and hasattr(os, "posix_fadvise"):
            os.posix_fadvise(self._fd, self._dropped, until - self._dropped, os.POSIX_FADV_DONTNEED)
            self._dropped = until

    def landed(self, n: int) -> None:
        """``n`` more bytes were written at the end."""
        self.end += n
        if self._trailing is not None:
            self._trailing.written_until(self.end)
        self._since += n
        if self._since >= self._every and (self._pending is None or self._pending.done()):
            self._pending = self._background.submit(self._durable, self.end)
            self._since = 0

    def __enter__(self) -> _Landing:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._background.shutdown(wait=True)
            os.fsync(self._fd)  # runs while the hash catches up
            self._checkpoint(self.end)
        finally:
            if self._trailing is not None:
                self._trailing.finish()
        self._let_go(self.end)


def receive(
    fd: int,
    offset: int,
    source: Any,
    hasher: Any | None,
    *,
    chunk_bytes: int,
    before_piece: Callable[[int], None],
    checkpoint: Callable[[int], None],
    checkpoint_bytes: int,
    step_bytes: int = 16 << 20,
) -> int:
    """Write the bytes of ``source`` into the part file from ``offset``; the new end.

    A regular file on this machine is copied by the kernel (``copy_file_range``,
    ``step_bytes`` at a time), so its bytes never pass through Python; whatever
    the kernel cannot copy, and every other source, is streamed in pieces of
    ``chunk_bytes`` (an iterable may also yield lists of pieces, each list
    written with one ``writev``: the service hands a request body over that
    way, gathered on the event loop).

    What the kernel copies is hashed by a thread reading it back behind the
    writer (the final fsync runs while it catches up, see ``_Landing``). A
    stream's pieces are hashed right before they are written, in the writing
    thread: no second read of the bytes and no hand-off per piece, while the
    event loop receives the next ones on the other core (hashlib and
    ``os.write`` release the GIL). Either way the digest is of the bytes written.

    ``before_piece(end_after_piece)`` may raise to refuse a piece (size, quota).
    ``checkpoint(end)`` records progress after an fsync covering ``end``: every
    ``checkpoint_bytes``, and once at the end, also when the source fails, so an
    interrupted upload resumes where its last good byte landed.
    """
    local = regular_file_source(source)
    trailing = hasher if local is not None else None
    inline = hasher if local is None else None
    with _Landing(fd, offset, trailing, checkpoint, checkpoint_bytes) as landing:
        if local is not None:
            source.seek(_copy_in_kernel(fd, *local, landing, before_piece, step_bytes))
        os.lseek(fd, landing.end, os.SEEK_SET)
        for piece in iter_chunks(source, chunk_bytes):
            before_piece(landing.end + _size(piece))
            if inline is not None:
                for part in piece if isinstance(piece, list) else (piece,):
                    inline.update(part)
            landing.landed(write_all(fd, piece))
    return landing.end


def _size(piece: Any) -> int:
    return sum(len(p) for p in piece) if isinstance(piece, list) else len(piece)


def regular_file_source(stream: Any) -> tuple[int, int] | None:
    """(fd, position) when ``stream`` is an open regular file the kernel can copy from.

    Only unbuffered or buffered binary files qualify (their ``tell()`` is the
    logical position); pipes, sockets and other streams are streamed.
    """
    if not isinstance(stream, io.BufferedReader | io.FileIO) or not hasattr(os, "copy_file_range"):
        return None
    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return fd, stream.tell()
    except (OSError, ValueError):
        return None


_NO_KERNEL_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF}


def _copy_in_kernel(
    fd: int,
    src_fd: int,
    src_pos: int,
    landing: _Landing,
    before_piece: Callable[[int], None],
    step_bytes: int,
) -> int:
    """Copy ``src_fd`` from ``src_pos`` to its end onto the landing; the source position reached.

    When the kernel cannot copy between these two files (``EXDEV``: another file
    system, for example), copies nothing and leaves the rest to the stream.
    """
    start = landing.end
    while True:
        remaining = os.fstat(src_fd).st_size - src_pos
        if remaining <= 0:
            return src_pos
        count = min(step_bytes, remaining)
        before_piece(landing.end + count)
        try:
            n = os.copy_file_range(src_fd, fd, count, src_pos, landing.end)
        except OSError as exc:
            if landing.end == start and exc.errno in _NO_KERNEL_COPY:
                return src_pos
            raise
        if n == 0:
            return src_pos  # the file shrank under us: it ends here
        src_pos += n
        landing.landed(n)
