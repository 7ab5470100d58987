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
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


def write_all(fd: int, data: Chunk) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class HashingWriter:
    """Writes pieces to a file descriptor while a helper thread hashes the same piece.

    hashlib and ``os.write`` both release the GIL, so on two cores hashing is
    hidden behind the write instead of adding to it.
    """

    def __init__(self, fd: int, hasher: Any | None = None) -> None:
        self.fd = fd
        self.hasher = hasher if hasher is not None else hashlib.sha256()
        self.written = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlk-sha256")

    def write(self, piece: Chunk) -> None:
        if len(piece) < 1 << 16:
            self.hasher.update(piece)
            write_all(self.fd, piece)
        else:
            hashing = self._pool.submit(self.hasher.update, piece)
            try:
                write_all(self.fd, piece)
            finally:
                hashing.result()
        self.written += len(piece)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> HashingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
            with HashingWriter(fd) as writer:
                for piece in chunks:
                    if on_piece is not None:
                        on_piece(writer.written + len(piece))
                    writer.write(piece)
                os.fsync(fd)
            return Path(name), writer.hasher.hexdigest(), writer.written
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
