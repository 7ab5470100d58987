"""Unpacking zip and tar archives (and reading folders) safely into staged files.

Nothing in an archive is trusted. While streaming each member this module:

- validates its path (no absolute paths, no ``..``, no backslashes, no control
  characters; ``names.validate_member_path``) and refuses duplicates and a path
  that is both a file and a folder;
- refuses symbolic links, hard links, devices, fifos, sparse files and any
  member type it does not know;
- counts files and the bytes it really produces (never the sizes headers
  claim) against ``Limits``, and compares produced bytes with the compressed
  bytes actually consumed, refusing an archive whose ratio passes
  ``max_ratio`` (a zip bomb stops after a few megabytes, not a full disk).

Each member is streamed through ``BlobStore.write_staged`` (hashing as it
goes) into a staging folder; the caller installs the staged files as blobs
only once the whole archive has passed, so a refused archive leaves nothing.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mlrun_kernel.datasets import detect
from mlrun_kernel.datasets.blobs import BlobStore, StagedFile, iter_chunks
from mlrun_kernel.datasets.errors import (
    DatasetError,
    EmptyFile,
    InvalidName,
    MediaTypeMismatch,
    UnsafeArchive,
)
from mlrun_kernel.datasets.names import validate_member_path

_HEADER_MAX = 1024 * 1024  # largest pax / GNU long-name header we read into memory


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_bytes: int
    max_ratio: float
    ratio_floor: int


class _Budget:
    """Counts what an archive really produces and refuses past the limits."""

    def __init__(self, limits: Limits, label: str) -> None:
        self.limits = limits
        self.label = label
        self.files = 0
        self.produced = 0

    def file(self, path: str) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise UnsafeArchive(
                f"{self.label} holds more than {self.limits.max_files} files "
                f"(stopped at {path!r}); split it or ask an admin to raise "
                "MLK_ARCHIVE_MAX_FILES"
            )

    def add(self, n: int) -> None:
        self.produced += n
        if self.produced > self.limits.max_bytes:
            raise UnsafeArchive(
                f"{self.label} unpacks to more than {self.limits.max_bytes} bytes; "
                "split it or ask an admin to raise MLK_ARCHIVE_MAX_BYTES"
            )

    def ratio(self, produced: int, packed: int, what: str) -> None:
        limit = self.limits.max_ratio
        if produced > self.limits.ratio_floor and produced > limit * max(packed, 1):
            raise UnsafeArchive(
                f"{self.label} expands more than {limit:g}:1 ({what}: {produced} bytes "
                f"from {packed}); refused as a likely decompression bomb"
            )


def _unsafe_name(label: str, exc: InvalidName) -> UnsafeArchive:
    return UnsafeArchive(f"{label}: {exc.message}")


def _check_tree(label: str, paths: list[str]) -> None:
    files = set(paths)
    for path in paths:
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in files:
                raise UnsafeArchive(f"{label}: {parent!r} is both a file and a folder")


def _stage_member(
    blobs: BlobStore,
    folder: Path,
    rel: str,
    stream: IO[bytes],
    chunk_bytes: int,
    on_piece: Callable[[int], None],
    label: str,
) -> StagedFile:
    written = 0

    def check(total: int) -> None:
        nonlocal written
        on_piece(total - written)
        written = total

    source, sha, size = blobs.write_staged(folder, iter_chunks(stream, chunk_bytes), on_piece=check)
    with open(source, "rb") as f:
        head = f.read(detect.HEAD_BYTES)
        f.seek(max(size - 8, 0))
        tail = f.read(8)
    try:
        media = detect.media_type_for(rel.rsplit("/", 1)[-1], head, tail, size=size)
    except MediaTypeMismatch as exc:
        raise MediaTypeMismatch(f"{label}, file {rel!r}: {exc.message}") from exc
    return StagedFile(path=rel, source=source, sha256=sha, size=size, media_type=media)


# ---- zip ---------------------------------------------------------------------------


def _unpack_zip(
    path: Path, label: str, blobs: BlobStore, folder: Path, limits: Limits, chunk_bytes: int
) -> list[StagedFile]:
    packed_total = path.stat().st_size
    budget = _Budget(limits, label)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeArchive(f"{label} is not a readable zip archive: {exc}") from exc
    staged: list[StagedFile] = []
    seen: set[str] = set()
    with archive:
        infos = archive.infolist()
        for info in infos:
            try:
                rel = validate_member_path(info.filename, where=label)
            except InvalidName as exc:
                raise _unsafe_name(label, exc) from exc
            mode = info.external_attr >> 16
            if info.create_system == 3 and mode:  # unix permissions recorded
                if stat.S_ISLNK(mode):
                    raise UnsafeArchive(f"{label}: {rel!r} is a symbolic link; links are refused")
                kind = stat.S_IFMT(mode)  # 0 when only permission bits were recorded
                if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                    raise UnsafeArchive(
                        f"{label}: {rel!r} is a device, fifo or socket; only files are accepted"
                    )
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise UnsafeArchive(f"{label}: {rel!r} is encrypted; upload it unencrypted")
            if rel in seen:
                raise UnsafeArchive(f"{label}: {rel!r} appears twice")
            seen.add(rel)
            budget.file(rel)
            member_out = 0

            def on_piece(n: int, rel: str = rel, packed: int = info.compress_size) -> None:
                nonlocal member_out
                member_out += n
                budget.add(n)
                budget.ratio(budget.produced, packed_total, "in total")
                budget.ratio(member_out, packed, f"file {rel!r}")

            try:
                with archive.open(info) as member:
                    staged.append(_stage_member(blobs, folder, rel, member, chunk_bytes, on_piece, label))
            except DatasetError:
                raise
            except (
                zipfile.BadZipFile,
                NotImplementedError,
                RuntimeError,
                EOFError,
                zlib.error,
                lzma.LZMAError,
                OSError,
                ValueError,
            ) as exc:
                raise UnsafeArchive(f"{label} is damaged or unsupported at {rel!r}: {exc}") from exc
    return staged


# ---- tar ---------------------------------------------------------------------------


class _SafeTarInfo(tarfile.TarInfo):
    """Refuses oversized pax / GNU long-name headers before tarfile reads them into memory."""

    def _proc_member(self, tarfile_: Any) -> Any:
        meta_types = (
            tarfile.GNUTYPE_LONGNAME,
            tarfile.GNUTYPE_LONGLINK,
            tarfile.XHDTYPE,
            tarfile.XGLTYPE,
            tarfile.SOLARIS_XHDTYPE,
        )
        if self.type in meta_types and self.size > _HEADER_MAX:
            raise UnsafeArchive(
                f"tar archive has a {self.size}-byte extended header; at most {_HEADER_MAX} are accepted"
            )
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise UnsafeArchive(f"tar member {self.name!r} is a sparse file; sparse files are refused")
        return super()._proc_member(tarfile_)  # type: ignore[misc]


class _Counting:
    """A raw file that counts the compressed bytes read from it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        return n or 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self.raw.closed

    def close(self) -> None:
        pass

    def flush(self) -> None:
        pass


class _RatioGuard:
    """The decompressed stream, checking produced/consumed bytes on every read."""

    def __init__(self, stream: Any, counter: _Counting, budget: _Budget) -> None:
        self.stream = stream
        self.counter = counter
        self.budget = budget
        self.produced = 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1024 * 1024  # never "read everything"
        data = self.stream.read(n)
        self.produced += len(data)
        self.budget.ratio(self.produced, self.counter.count, "while decompressing")
        return bytes(data)


_DECOMPRESSORS: dict[str, Callable[[Any], Any]] = {
    detect.GZIP: lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    detect.BZIP2: lambda raw: bz2.BZ2File(raw, mode="rb"),
    detect.XZ: lambda raw: lzma.LZMAFile(raw, mode="rb"),  # noqa: SIM115 - closed by the caller
}


def compressed_tar(path: Path, media_type: str) -> bool:
    """True if a gzip/bzip2/xz file holds a tar archive (peeks at 512 decompressed bytes)."""
    opener = _DECOMPRESSORS.get(media_type)
    if opener is None:
        return False
    try:
        with open(path, "rb") as raw, opener(raw) as stream:
            return detect.looks_like_tar(stream.read(512))
    except (OSError, EOFError, lzma.LZMAError, ValueError, zlib.error):
        return False


def _unpack_tar(
    path: Path,
    media_type: str,
    label: str,
    blobs: BlobStore,
    folder: Path,
    limits: Limits,
    chunk_bytes: int,
) -> list[StagedFile]:
    budget = _Budget(limits, label)
    staged: list[StagedFile] = []
    seen: set[str] = set()
    with open(path, "rb") as raw:
        counter = _Counting(raw)
        opener = _DECOMPRESSORS.get(media_type)
        stream: Any = opener(counter) if opener else counter
        guard = _RatioGuard(stream, counter, budget)
        try:
            with tarfile.open(fileobj=guard, mode="r|", tarinfo=_SafeTarInfo) as archive:  # type: ignore[call-overload]
                for member in archive:
                    staged_file = _tar_member(
                        archive, member, label, blobs, folder, budget, seen, chunk_bytes
                    )
                    if staged_file is not None:
                        staged.append(staged_file)
        except DatasetError:
            raise
        except (tarfile.TarError, OSError, EOFError, lzma.LZMAError, zlib.error, ValueError) as exc:
            raise UnsafeArchive(f"{label} is not a readable tar archive: {exc}") from exc
        finally:
            if opener:
                stream.close()
    return staged


def _tar_member(
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    label: str,
    blobs: BlobStore,
    folder: Path,
    budget: _Budget,
    seen: set[str],
    chunk_bytes: int,
) -> StagedFile | None:
    try:
        rel = validate_member_path(member.name, where=label)
    except InvalidName as exc:
        raise _unsafe_name(label, exc) from exc
    if member.issym() or member.islnk():
        kind = "symbolic link" if member.issym() else "hard link"
        raise UnsafeArchive(f"{label}: {rel!r} is a {kind} (to {member.linkname!r}); links are refused")
    if member.ischr() or member.isblk() or member.isfifo():
        raise UnsafeArchive(f"{label}: {rel!r} is a device or fifo; only files are accepted")
    if member.isdir():
        return None
    if not member.isreg() or member.issparse():
        raise UnsafeArchive(f"{label}: {rel!r} has an unsupported member type {member.type!r}")
    if rel in seen:
        raise UnsafeArchive(f"{label}: {rel!r} appears twice")
    seen.add(rel)
    budget.file(rel)
    if member.size > budget.limits.max_bytes:
        raise UnsafeArchive(
            f"{label}: {rel!r} is {member.size} bytes, over the "
            f"{budget.limits.max_bytes}-byte limit for an archive"
        )
    stream = archive.extractfile(member)
    if stream is None:  # pragma: no cover - isreg() members always have data
        raise UnsafeArchive(f"{label}: {rel!r} has no data")
    with stream:
        return _stage_member(blobs, folder, rel, stream, chunk_bytes, budget.add, label)


# ---- folders -----------------------------------------------------------------------


def _walk(root: Path, label: str) -> Iterator[tuple[str, Path]]:
    stack = [(root, "")]
    while stack:
        current, prefix = stack.pop()
        with os.scandir(current) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel_raw = f"{prefix}{entry.name}"
                try:
                    rel = validate_member_path(rel_raw, where=label)
                except InvalidName as exc:
                    raise _unsafe_name(label, exc) from exc
                if entry.is_symlink():
                    raise UnsafeArchive(
                        f"{label}: {rel!r} is a symbolic link; links are refused "
                        "(copy the file it points to into the folder)"
                    )
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    yield rel, Path(entry.path)
                else:
                    raise UnsafeArchive(
                        f"{label}: {rel!r} is a device, fifo or socket; only files are accepted"
                    )


def collect_folder(
    path: Path, blobs: BlobStore, folder: Path, limits: Limits, chunk_bytes: int
) -> list[StagedFile]:
    """Stage every regular file under ``path``; links and special files are refused."""
    label = f"folder {path.name!r}"
    budget = _Budget(limits, label)
    staged: list[StagedFile] = []
    for rel, file_path in _walk(path, label):
        budget.file(rel)
        fd = os.open(file_path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnsafeArchive(f"{label}: {rel!r} is not a regular file")
            staged.append(_stage_member(blobs, folder, rel, stream, chunk_bytes, budget.add, label))
    return _finish(label, staged)


def _finish(label: str, staged: list[StagedFile]) -> list[StagedFile]:
    if not staged:
        raise EmptyFile(f"{label} holds no files")
    _check_tree(label, [s.path for s in staged])
    return sorted(staged, key=lambda s: s.path)


def is_archive(path: Path, media_type: str) -> bool:
    """True if ``unpack`` would unpack this file: zip, tar, or a compressed tar."""
    return media_type in detect.ARCHIVES or compressed_tar(path, media_type)


def unpack(
    path: Path,
    media_type: str,
    filename: str,
    blobs: BlobStore,
    folder: Path,
    limits: Limits,
    chunk_bytes: int,
) -> list[StagedFile]:
    """Stage every file of the zip or (compressed) tar at ``path`` into ``folder``."""
    if media_type == detect.ZIP:
        label = f"zip archive {filename!r}"
        staged = _unpack_zip(path, label, blobs, folder, limits, chunk_bytes)
    else:
        label = f"tar archive {filename!r}"
        staged = _unpack_tar(path, media_type, label, blobs, folder, limits, chunk_bytes)
    return _finish(label, staged)
