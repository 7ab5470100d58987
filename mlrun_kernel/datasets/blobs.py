"""Content-addressed file storage: each distinct content once, under its sha256.

Layout under the data folder::

    blobs/sha256/ab/abcdef...   the content, never modified once there
    blobs/tmp/                  staging: files being written, unpacked, or deleted

Writers stream into a staging file (hashing as they go), ``fsync`` it, and
*install* it with ``os.link``: atomic, and it fails rather than overwrite when
the content is already there, which is how identical uploads share one file.
Removal renames a blob into staging first, so the database transaction that
drops its last reference can still put it back if it fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from mlrun_kernel.datasets.errors import InvalidInput

Chunk = bytes | bytearray | memoryview


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


Source = Readable | Iterable[Chunk] | bytes | bytearray | memoryview


def iter_chunks(source: Any, chunk_bytes: int) -> Iterator[Chunk]:
    """The bytes of ``source`` in pieces of at most ``chunk_bytes`` (iterables: as they come).

    A file-like object with ``readinto`` is read into one reused buffer, so
    memory stays at ``chunk_bytes`` whatever the size; each piece is valid only
    until the next one is asked for.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), chunk_bytes):
            yield view[start : start + chunk_bytes]
        return
    readinto = getattr(source, "readinto", None)
    if readinto is not None:
        buffer = memoryview(bytearray(chunk_bytes))
        while True:
            n = readinto(buffer)
            if not n:
                return
            yield buffer[:n]
    read = getattr(source, "read", None)
    if read is not None:
        while True:
            piece = read(chunk_bytes)
            if not piece:
                return
            if isinstance(piece, str):
                raise InvalidInput("the stream gives text; open the file in binary mode ('rb')")
            yield piece
    for piece in source:
        if isinstance(piece, str):
            raise InvalidInput("the stream gives text; give bytes (open files with 'rb')")
        if piece:
            yield piece


def write_all(fd: int, data: Chunk | list[Chunk]) -> int:
    """Write ``data`` (one piece, or a list of pieces in one ``writev``) at the fd's position."""
    if isinstance(data, list):
        total = sum(len(piece) for piece in data)
        written = os.writev(fd, data) if data else 0
        if written < total:  # a short writev: the rest piece by piece
            rest = memoryview(b"".join(data))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
        return total
    view = memoryview(data)
    total = len(view)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    return total


class TrailingHasher:
    """Hashes what was written to ``fd`` so far, in a thread that follows the writer.

    It reads the bytes back from the file, so the digest is of what was stored,
    even when the kernel copied them or the source changed meanwhile. They are
    still in the page cache, so this costs the hash and little more, and it runs
    on the other core while the writer goes on. (Hashing each piece in a thread
    while the same piece was written was two to three times slower here: both
    threads fought over the same buffer and met at every piece.)
    """

    def __init__(self, fd: int, start: int, hasher: Any, buffer_bytes: int = 1 << 20) -> None:
        self._fd, self._pos, self._hasher = fd, start, hasher
        self._end, self._done = start, False
        self._error: BaseException | None = None
        self._buffer = memoryview(bytearray(buffer_bytes))
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="mlk-sha256", daemon=True)
        self._thread.start()

    @property
    def position(self) -> int:
        """Bytes before this offset are hashed (read back) already."""
        return self._pos

    def written_until(self, end: int) -> None:
        with self._cond:
            self._end = end
            self._cond.notify()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while self._end <= self._pos and not self._done:
                        self._cond.wait()
                    end, done = self._end, self._done
                while self._pos < end:
                    view = self._buffer[: min(len(self._buffer), end - self._pos)]
                    n = os.preadv(self._fd, [view], self._pos)
                    if n <= 0:
                        raise OSError(f"the part file ended at {self._pos} while hashing up to {end}")
                    self._hasher.update(view[:n])
                    self._pos += n
                if done and self._pos >= end:
                    return
        except BaseException as exc:  # handed to the caller by finish()
            self._error = exc

    def finish(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class StagedFile:
    """A file ready to become part of a version: its path in the dataset and its content."""

    path: str
    source: Path
    sha256: str
    size: int
    media_type: str


class BlobStore:
    """The content-addressed files under ``root/blobs``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs" / "sha256"
        self.tmp = self.root / "blobs" / "tmp"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.blobs / sha256[:2] / sha256

    def has(self, sha256: str, size: int) -> bool:
        try:
            return self.path(sha256).stat().st_size == size
        except FileNotFoundError:
            return False

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A private folder on the blobs' file system, removed afterwards."""
        folder = Path(tempfile.mkdtemp(prefix="stage-", dir=self.tmp))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def write_staged(
        self, folder: Path, chunks: Iterable[Chunk], *, on_piece: Any = None
    ) -> tuple[Path, str, int]:
        """Stream ``chunks`` into a new file in ``folder``; (file, sha256, size), fsynced.

        ``on_piece(total_so_far)`` runs before each piece is written and may raise
        to stop (limits checked while streaming).
        """
        fd, name = tempfile.mkstemp(dir=folder, prefix="f-")
        try:
            os.fchmod(fd, 0o644)  # blobs are read by models running as other users
            hasher = hashlib.sha256()
            trailing = TrailingHasher(fd, 0, hasher)
            written = 0
            try:
                for piece in chunks:
                    if on_piece is not None:
                        on_piece(written + len(piece))
                    write_all(fd, piece)
                    written += len(piece)
                    trailing.written_until(written)
                os.fsync(fd)
            finally:
                trailing.finish()
            return Path(name), hasher.hexdigest(), written
        finally:
            os.close(fd)

    def install(self, source: Path, sha256: str, size: int) -> bool:
        """Make ``source`` (fsynced, with this content) the blob ``sha256``.

        True if it was placed now, False if the content was already there.
        ``source`` is left in place (hard link); the caller removes its staging.
        """
        target = self.path(sha256)
        if self.has(sha256, size):
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except FileExistsError:
            if self.has(sha256, size):
                return False
            # A damaged copy (wrong size): replace it atomically with the good one.
            self._copy_in(source, target)
        except OSError:
            # File systems without hard links: copy, fsync, rename.
            self._copy_in(source, target)
        fsync_dir(target.parent)
        return True

    def _copy_in(self, source: Path, target: Path) -> None:
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="copy-")
        try:
            with open(source, "rb") as src:
                for piece in iter_chunks(src, 8 * 1024 * 1024):
                    write_all(fd, piece)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(name, 0o644)
        os.replace(name, target)

    def open(self, sha256: str) -> IO[bytes]:
        return open(self.path(sha256), "rb")

    def set_aside(self, sha256: str, folder: Path) -> Path | None:
        """Move a blob into ``folder`` (same file system); None if it was not there."""
        source = self.path(sha256)
        aside = folder / sha256
        try:
            os.rename(source, aside)
        except FileNotFoundError:
            return None
        return aside

    def put_back(self, aside: Path) -> None:
        """Undo ``set_aside`` (the removal's transaction failed)."""
        target = self.path(aside.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.link(aside, target)


def sha256_of_file(path: Path, chunk_bytes: int = 8 * 1024 * 1024) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter_chunks(f, chunk_bytes):
            hasher.update(piece)
    return hasher.hexdigest()
