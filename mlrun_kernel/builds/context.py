"""Build contexts sent to the service: received with a size cap, unpacked by the datasets' rules.

A notebook sends its model folder as a tar stream (``mlrun_kernel.expert``
makes it). Nothing in it is trusted: :func:`receive` counts the bytes as they
arrive and stops past the cap; :func:`unpack` validates every member path as
dataset archives do (``datasets.names.validate_member_path``: no absolute
paths, no ``..``, no backslashes or control characters), refuses links of
either kind, devices and fifos, duplicates, and counts files and the bytes
really produced. A refused context leaves nothing behind.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

from mlrun_kernel.datasets.errors import InvalidName
from mlrun_kernel.datasets.names import validate_member_path


class ContextRefused(ValueError):
    """The build context breaks a rule; ``status`` is the HTTP answer (413 too big, 422 unsafe)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def _too_big(limit: int) -> ContextRefused:
    return ContextRefused(
        f"the build context is over the {limit // (1024 * 1024)} MiB limit (MLK_BUILD_CONTEXT_MAX_BYTES): "
        "leave data and model files out with a .dockerignore, or make them at build time",
        413,
    )


async def receive(chunks: AsyncIterator[bytes], path: Path, limit: int) -> int:
    """Write the stream to ``path``; refuse (and delete it) past ``limit`` bytes."""
    size = 0
    try:
        with path.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise _too_big(limit)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return size


def unpack(tar_path: Path, dest: Path, *, max_bytes: int, max_files: int) -> int:
    """Unpack the context into ``dest`` (made here); returns the number of files."""
    dest.mkdir(parents=True)
    try:
        return _unpack(tar_path, dest, max_bytes, max_files)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _unpack(tar_path: Path, dest: Path, max_bytes: int, max_files: int) -> int:
    label = "the build context"
    seen: set[str] = set()
    produced = 0
    try:
        with tarfile.open(tar_path, mode="r|*") as archive:
            for member in archive:
                if member.name in (".", "./"):
                    continue
                try:
                    rel = validate_member_path(member.name.removeprefix("./"), where=label)
                except InvalidName as exc:
                    raise ContextRefused(f"{label}: {exc}") from exc
                if member.issym() or member.islnk():
                    kind = "symbolic link" if member.issym() else "hard link"
                    raise ContextRefused(
                        f"{label}: {rel!r} is a {kind} (to {member.linkname!r}); links are refused: "
                        "copy the file into the folder instead"
                    )
                if member.isdir():
                    (dest / rel).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isreg() or member.issparse():
                    raise ContextRefused(f"{label}: {rel!r} is not a regular file; only files are accepted")
                if rel in seen:
                    raise ContextRefused(f"{label}: {rel!r} appears twice")
                seen.add(rel)
                if len(seen) > max_files:
                    raise ContextRefused(
                        f"{label} holds more than {max_files} files (MLK_BUILD_CONTEXT_MAX_FILES)"
                    )
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                if source is None:  # pragma: no cover - regular members have data
                    continue
                with source, target.open("wb") as out:
                    while piece := source.read(1024 * 1024):
                        produced += len(piece)
                        if produced > max_bytes:
                            raise _too_big(max_bytes)
                        out.write(piece)
                target.chmod(0o755 if member.mode & 0o111 else 0o644)
    except tarfile.TarError as exc:
        raise ContextRefused(f"{label} is not a readable tar stream: {exc}") from exc
    if not (dest / "mlk.yaml").is_file():
        raise ContextRefused(f"{label} has no mlk.yaml at its top: send the model folder itself")
    return len(seen)
