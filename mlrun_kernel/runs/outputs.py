"""Collect what a model wrote to ``/mlk/outputs/``, trusting none of it.

The outputs folder is a bind mount of the run's storage, so collecting is
checking in place: nothing is read into memory, nothing is copied. Walking
is a loop over directory descriptors (no recursion, no long paths) and never
follows a link; symbolic links, hard links, devices, fifos and sockets are
refused (removed, reported), and so are files past the size cap and folders
nested deeper than ``MAX_DEPTH`` (or paths longer than ``MAX_PATH``). Then
the contract's three small files are read, each with a size limit:
``_metrics.json`` (numbers), ``_result.json`` (any JSON), ``_failure.txt``.
A file that is not what it should be gives a warning on the run, never a crash.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrun_kernel.runs.limits import format_bytes

METRICS_FILE = "_metrics.json"
RESULT_FILE = "_result.json"
FAILURE_FILE = "_failure.txt"
MAX_SMALL_FILE = 1024 * 1024
MAX_FAILURE_TEXT = 4000
MAX_DEPTH = 64
"""Folders nested deeper are refused (removed with what they hold)."""
MAX_PATH = 1024
"""Longest relative path kept: every kept file stays openable by path (PATH_MAX) when served."""


@dataclass
class OutputReport:
    files: list[dict[str, Any]] = field(default_factory=list)
    """``{"path": "predictions.csv", "size": 1234}`` for each collected file, sorted."""
    total_bytes: int = 0
    refused: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    over_cap: bool = False
    written_bytes: int = 0
    """What the model wrote, refused files included."""
    metrics: dict[str, float] | None = None
    result: Any = None
    failure_text: str | None = None


def outputs_size(folder: Path) -> int:
    """Bytes under ``folder`` (links not followed, at any depth), for the live cap check."""
    total = 0
    for _, _, info in _Tree(folder).files():
        total += info.st_size
    return total


def collect_outputs(folder: Path, *, max_bytes: int) -> OutputReport:
    """Check ``folder`` in place; refuse links, special files, deep folders and all past ``max_bytes``."""
    report = OutputReport()
    if not folder.is_dir():
        return report
    _collect(folder, report, max_bytes)
    if report.over_cap:
        report.warnings.append(
            f"outputs over the cap of {format_bytes(max_bytes)}: the model wrote "
            f"{format_bytes(report.written_bytes)}; {format_bytes(report.total_bytes)} kept"
        )
    report.files.sort(key=lambda f: f["path"])
    names = {f["path"] for f in report.files}
    if METRICS_FILE in names:
        report.metrics = _read_metrics(folder / METRICS_FILE, report.warnings)
    if RESULT_FILE in names:
        report.result = _read_json(folder / RESULT_FILE, RESULT_FILE, report.warnings)
    if FAILURE_FILE in names:
        report.failure_text = _read_text(folder / FAILURE_FILE)
    return report


# ---------------------------------------------------------------------------- walking
#
# A model may nest folders far deeper than PATH_MAX, or than Python's recursion
# limit. So every walk here is a loop, and works on directory descriptors: it
# holds one open directory at a time, opens a child by name with O_NOFOLLOW
# (a link is never entered) and climbs back through "..", so neither the depth
# nor the length of a path can break it.

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_CHILD = _DIR | os.O_NOFOLLOW


class _Tree:
    """An iterative, descriptor-based walk of a folder the model wrote."""

    def __init__(self, folder: Path, *, max_depth: int | None = None) -> None:
        self.folder = folder
        self.max_depth = max_depth
        self.unreadable: list[tuple[str, str]] = []
        """``(relative folder, reason)`` for folders that could not be listed."""

    def entries(self) -> Iterator[tuple[int, str, str, os.stat_result]]:
        """``(dir fd, name, relative path, lstat)`` of every entry, depth first, names sorted.

        A folder is yielded before what it holds, and entered only if it is still
        there when the caller takes the next entry (the caller may remove it).
        """
        try:
            cur = os.open(self.folder, _CHILD)
        except OSError as exc:
            self.unreadable.append(("", exc.strerror or str(exc)))
            return
        parts: list[str] = []
        parents: list[tuple[int, int]] = []  # (st_dev, st_ino) of each folder climbed back to
        levels = [self._listing(cur, "")]
        try:
            while levels:
                if not levels[-1]:
                    levels.pop()
                    if parts:
                        up = os.open("..", _DIR, dir_fd=cur)
                        os.close(cur)
                        cur = up
                        here = os.fstat(cur)
                        if (here.st_dev, here.st_ino) != parents.pop():
                            # Moved while walked (a live check of a running model): stop
                            # rather than walk out of the folder through "..".
                            self.unreadable.append(("/".join(parts), "it changed while it was read"))
                            return
                        parts.pop()
                    continue
                name = levels[-1].pop()
                rel = "/".join([*parts, name])
                try:
                    info = os.stat(name, dir_fd=cur, follow_symlinks=False)
                except OSError:
                    continue  # gone meanwhile
                yield cur, name, rel, info
                if not stat.S_ISDIR(info.st_mode):
                    continue
                if self.max_depth is not None and len(parts) + 1 > self.max_depth:
                    continue  # the caller refuses it
                try:
                    child = os.open(name, _CHILD, dir_fd=cur)
                except OSError:
                    continue  # removed by the caller, or replaced by a link
                here = os.fstat(cur)
                parents.append((here.st_dev, here.st_ino))
                os.close(cur)
                cur = child
                parts.append(name)
                levels.append(self._listing(cur, rel))
        finally:
            os.close(cur)

    def files(self) -> Iterator[tuple[int, str, os.stat_result]]:
        """``(dir fd, name, lstat)`` of everything that is not a folder."""
        for fd, name, _, info in self.entries():
            if not stat.S_ISDIR(info.st_mode):
                yield fd, name, info

    def _listing(self, fd: int, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(fd), reverse=True)  # popped from the end: name order
        except OSError as exc:
            self.unreadable.append((rel, exc.strerror or str(exc)))
            return []


def remove_tree(parent_fd: int, name: str) -> bool:
    """Remove the folder ``name`` in ``parent_fd`` and all it holds, however deep; False if stuck.

    Iterative, one open directory at a time, never following a link (a link
    inside is removed itself, its target untouched).
    """
    try:
        cur = os.open(name, _CHILD, dir_fd=parent_fd)
    except OSError:
        return False
    names = [name]
    try:
        while names:
            child = None
            with os.scandir(cur) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        child = entry.name
                        break
                    os.unlink(entry.name, dir_fd=cur)
            if child is not None:
                below = os.open(child, _CHILD, dir_fd=cur)
                os.close(cur)
                cur = below
                names.append(child)
                continue
            up = os.open("..", _DIR, dir_fd=cur)
            os.close(cur)
            cur = up
            os.rmdir(names.pop(), dir_fd=cur)
        return True
    except OSError:
        return False
    finally:
        os.close(cur)


def _collect(folder: Path, report: OutputReport, max_bytes: int) -> None:
    tree = _Tree(folder, max_depth=MAX_DEPTH)
    deep: list[str] = []
    stuck: list[str] = []
    for fd, name, rel, info in tree.entries():
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            if len(rel) > MAX_PATH or rel.count("/") + 1 > MAX_DEPTH:
                (deep if remove_tree(fd, name) else stuck).append(rel)
            continue
        problem = None
        if len(rel) > MAX_PATH:
            problem = f"has a path over {MAX_PATH} characters; refused"
        elif stat.S_ISLNK(mode):
            target = ""
            with contextlib.suppress(OSError):
                target = f" to {os.readlink(name, dir_fd=fd)}"
            problem = f"is a symbolic link{target}; links are refused, never followed"
        elif not stat.S_ISREG(mode):
            problem = "is not a regular file (device, fifo or socket); refused"
        elif info.st_nlink > 1:
            problem = "is a hard link; links are refused"
        else:
            report.written_bytes += info.st_size
            if report.total_bytes + info.st_size > max_bytes:
                report.over_cap = True
                report.refused.append(rel)
                _remove(fd, name)
                continue
            report.total_bytes += info.st_size
            report.files.append({"path": rel, "size": info.st_size})
            continue
        report.refused.append(_short(rel))
        report.warnings.append(f"outputs/{_short(rel)} {problem}")
        _remove(fd, name)
    for rel, reason in tree.unreadable:
        report.warnings.append(f"outputs/{_short(rel)}: cannot be read ({reason})")
    if deep:
        report.refused.extend(_short(rel) for rel in deep)
        report.warnings.append(
            f"outputs/{_short(deep[0])}: folders nested deeper than {MAX_DEPTH} levels "
            f"(or paths over {MAX_PATH} characters) are refused; "
            + (
                "1 folder removed with all it held"
                if len(deep) == 1
                else f"{len(deep)} folders removed with all they held"
            )
        )
    if stuck:
        report.warnings.append(
            f"outputs/{_short(stuck[0])}: folders nested deeper than {MAX_DEPTH} levels are refused, "
            f"but {_count(stuck, 'folder')} could not be removed"
        )


def _short(rel: str, keep: int = 120) -> str:
    return rel if len(rel) <= keep else f"{rel[: keep - 1]}…"


def _count(items: list[str], noun: str) -> str:
    return f"1 {noun}" if len(items) == 1 else f"{len(items)} {noun}s"


def _remove(dir_fd: int, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)  # unlink never follows a link: the link itself goes


def _read_bounded(path: Path) -> bytes | None:
    with path.open("rb") as fh:
        data = fh.read(MAX_SMALL_FILE + 1)
    return None if len(data) > MAX_SMALL_FILE else data


def _read_json(path: Path, name: str, warnings: list[str]) -> Any:
    data = _read_bounded(path)
    if data is None:
        warnings.append(f"{name} is over {format_bytes(MAX_SMALL_FILE)}; ignored")
        return None
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        warnings.append(f"{name} is not valid JSON ({exc}); ignored")
        return None


def _read_metrics(path: Path, warnings: list[str]) -> dict[str, float] | None:
    data = _read_json(path, METRICS_FILE, warnings)
    if data is None:
        return None
    if not isinstance(data, dict):
        warnings.append(f"{METRICS_FILE} must be a JSON object of numbers; ignored")
        return None
    metrics: dict[str, float] = {}
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            warnings.append(f"{METRICS_FILE}: {name} is not a finite number; ignored")
            continue
        metrics[str(name)] = float(value)
    return metrics


def _read_text(path: Path) -> str:
    with path.open("rb") as fh:
        data = fh.read(MAX_FAILURE_TEXT + 1)
    text = data[:MAX_FAILURE_TEXT].decode("utf-8", errors="replace").strip()
    return text + ("…" if len(data) > MAX_FAILURE_TEXT else "")
