"""A run's outputs folder on a file system of the cap's size: the cap holds while the model writes.

Measuring the folder every few seconds lets a model writing at disk speed
put gigabytes on the host before it is stopped. So, where the executor can
(it runs as root, with ``mkfs.ext4`` and loop devices), the outputs folder
``<run>/outputs`` is the mount point of an ext4 image ``<run>/outputs.fs``,
a sparse file made per run:

- its size is the cap plus :data:`SLACK` plus ext4's inode tables (1/64),
  so the model can write a little more than the cap (the collector then
  sees it is over and says so) and the host's disk never holds more than
  the cap plus that slack for the run, whatever the model does: a write
  past it fails with ENOSPC inside the container;
- it has no journal and no reserved blocks, is mounted ``nosuid,nodev``,
  and its root belongs to the run user;
- after collection (checked in place, as a plain folder would be) the kept
  files are copied to a plain folder at the same path, the image is
  unmounted and deleted: an ended run holds no mount and no image.

Elsewhere (not root, no loop devices) the folder is a plain folder, and the
cap is enforced by the executor's measurement every
``MLK_OUTPUTS_CHECK_SECONDS``; :func:`capped_fs_problem` says why, and the
run's log says which one it got.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

from mlrun_kernel.runs.errors import InfrastructureError

MiB = 1024 * 1024
SLACK = 16 * MiB
"""Writable room past the cap: what a model at full speed can overshoot by."""
IMAGE_NAME = "outputs.fs"
FOLDER_NAME = "outputs"


class OutputsFilesystemError(InfrastructureError):
    """The size-limited outputs file system could not be made or mounted."""


def image_bytes(cap: int) -> int:
    """Size of the ext4 image for a cap of ``cap`` bytes (4 KiB aligned)."""
    size = cap + SLACK + cap // 64
    return (size + 4095) // 4096 * 4096


def capped_fs_problem() -> str | None:
    """Why this process cannot make size-limited outputs folders, or None when it can."""
    if os.geteuid() != 0:
        return "the executor does not run as root, so it cannot mount a size-limited file system"
    for tool in ("mkfs.ext4", "mount", "umount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/dev/loop-control").exists():
        return "this host has no loop devices (/dev/loop-control)"
    return None


def _run(args: list[str], what: str) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OutputsFilesystemError(f"{what}: {exc}") from exc
    if done.returncode != 0:
        raise OutputsFilesystemError(f"{what}: {done.stderr.strip() or f'exit {done.returncode}'}")


class CappedOutputs:
    """The outputs folder of the run stored in ``run_dir``, and its size-limited file system."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.folder = run_dir / FOLDER_NAME
        self.image = run_dir / IMAGE_NAME

    @property
    def mounted(self) -> bool:
        return os.path.ismount(self.folder)

    def prepare(self, cap: int, uid: int, gid: int) -> None:
        """An empty outputs folder on a fresh file system of ``image_bytes(cap)``, owned by uid:gid.

        Anything from an earlier attempt goes first. Raises
        :class:`OutputsFilesystemError` when the file system cannot be made.
        """
        self.discard()
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        with open(self.image, "wb") as fh:
            fh.truncate(image_bytes(cap))  # sparse: the host's disk holds only what is written
        self.image.chmod(0o600)
        try:
            _run(
                ["mkfs.ext4", "-q", "-F", "-m", "0", "-i", "16384", "-L", "mlk-outputs"]
                + ["-O", "^has_journal,^resize_inode", "-E", "lazy_itable_init=1,nodiscard"]
                + [str(self.image)],
                "making the outputs file system",
            )
            _run(
                ["mount", "-o", "loop,nosuid,nodev", str(self.image), str(self.folder)],
                "mounting the outputs file system",
            )
            with contextlib.suppress(OSError):
                (self.folder / "lost+found").rmdir()
            os.chown(self.folder, uid, gid)
            self.folder.chmod(0o755)
        except BaseException:
            self.discard()
            raise

    def seal(self, kept: list[str]) -> dict[str, str]:
        """Copy the ``kept`` files (relative paths the collector checked) out of the file system
        to a plain folder at the same path, then unmount and delete the image.

        Returns ``{path: warning}`` for files that could not be kept. No-op when not mounted.
        """
        if not self.mounted:
            self._remove_image()
            return {}
        warnings: dict[str, str] = {}
        staging = self.run_dir / f".{FOLDER_NAME}.kept"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(mode=0o755)
        for rel in kept:
            try:
                _copy_regular(self.folder / rel, staging / rel)
            except OSError as exc:
                warnings[rel] = f"outputs/{rel} could not be kept ({exc.strerror or exc})"
        self._unmount()
        self.folder.rmdir()
        staging.rename(self.folder)
        self._remove_image()
        return warnings

    def discard(self) -> None:
        """Unmount and delete the file system with what it holds; leaves an empty folder."""
        if self.mounted:
            self._unmount()
        self._remove_image()

    def ensure_mounted(self) -> None:
        """Mount the image again when it exists but is not mounted (the host restarted mid-run)."""
        if self.image.exists() and not self.mounted:
            self.folder.mkdir(parents=True, exist_ok=True)
            _run(
                ["mount", "-o", "loop,nosuid,nodev", str(self.image), str(self.folder)],
                "mounting the outputs file system again",
            )

    def _unmount(self) -> None:
        try:
            _run(["umount", str(self.folder)], "unmounting the outputs file system")
        except OutputsFilesystemError:
            _run(["umount", "-l", str(self.folder)], "unmounting the outputs file system (lazily)")

    def _remove_image(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.image.unlink()


def _copy_regular(source: Path, target: Path) -> None:
    """Copy one regular file, never following a link (the collector checked it; check again)."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file")
        target.parent.mkdir(parents=True, exist_ok=True)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            offset = 0
            while offset < info.st_size:  # in the kernel: nothing passes through Python's memory
                sent = os.sendfile(out, fd, offset, min(info.st_size - offset, 64 * MiB))
                if sent == 0:
                    break
                offset += sent
        finally:
            os.close(out)
    finally:
        os.close(fd)


def sweep_outputs(root: Path, active: set[str]) -> list[str]:
    """Discard the outputs file systems of runs under ``root`` that are not ``active``.

    A run that ended without its worker (the executor died, its container was
    lost) would otherwise keep a mount and an image; returns those run ids.
    """
    swept: list[str] = []
    try:
        candidates = [d for d in root.iterdir() if d.name not in active and (d / IMAGE_NAME).exists()]
    except OSError:
        return swept
    for run_dir in candidates:
        with contextlib.suppress(OSError, OutputsFilesystemError):
            CappedOutputs(run_dir).discard()
            swept.append(run_dir.name)
    return swept
