"""Collect what a model wrote to ``/mlk/outputs/``, trusting none of it.

The outputs folder is a bind mount of the run's storage, so collecting is
checking in place: nothing is read into memory, nothing is copied. Walking
never follows a link; symbolic links, hard links, devices, fifos and sockets
are refused (removed, reported), and files past the size cap are refused
too. Then the contract's three small files are read, each with a size limit:
``_metrics.json`` (numbers), ``_result.json`` (any JSON), ``_failure.txt``.
A file that is not what it should be gives a warning on the run, never a crash.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrun_kernel.runs.limits import format_bytes

METRICS_FILE = "_metrics.json"
RESULT_FILE = "_result.json"
FAILURE_FILE = "_failure.txt"
MAX_SMALL_FILE = 1024 * 1024
MAX_FAILURE_TEXT = 4000


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
    """Bytes under ``folder`` (links not followed), for the live cap check."""
    total = 0
    stack = [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append(entry.path)
            else:
                total += info.st_size
    return total


def collect_outputs(folder: Path, *, max_bytes: int) -> OutputReport:
    """Check ``folder`` in place; refuse links, special files and everything past ``max_bytes``."""
    report = OutputReport()
    if not folder.is_dir():
        return report
    _walk(folder, "", report, max_bytes)
    if report.over_cap:
        report.warnings.append(
            f"outputs over the cap of {format_bytes(max_bytes)}: the model wrote "
            f"{format_bytes(report.written_bytes)}; {format_bytes(report.total_bytes)} kept"
        )
    names = {f["path"] for f in report.files}
    if METRICS_FILE in names:
        report.metrics = _read_metrics(folder / METRICS_FILE, report.warnings)
    if RESULT_FILE in names:
        report.result = _read_json(folder / RESULT_FILE, RESULT_FILE, report.warnings)
    if FAILURE_FILE in names:
        report.failure_text = _read_text(folder / FAILURE_FILE)
    return report


def _walk(folder: Path, prefix: str, report: OutputReport, max_bytes: int) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        report.warnings.append(f"outputs/{prefix}: cannot be read ({exc.strerror})")
        return
    for entry in entries:
        rel = f"{prefix}{entry.name}"
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            _walk(Path(entry.path), f"{rel}/", report, max_bytes)
            continue
        problem = None
        if stat.S_ISLNK(mode):
            target = ""
            with contextlib.suppress(OSError):
                target = f" to {os.readlink(entry.path)}"
            problem = f"is a symbolic link{target}; links are refused, never followed"
        elif not stat.S_ISREG(mode):
            problem = "is not a regular file (device, fifo or socket); refused"
        elif info.st_nlink > 1:
            problem = "is a hard link; links are refused"
        else:
            report.written_bytes += info.st_size
            if report.total_bytes + info.st_size > max_bytes:
                report.over_cap = True
                problem = None
                report.refused.append(rel)
                _remove(entry.path)
                continue
            report.total_bytes += info.st_size
            report.files.append({"path": rel, "size": info.st_size})
            continue
        report.refused.append(rel)
        report.warnings.append(f"outputs/{rel} {problem}")
        _remove(entry.path)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)  # unlink never follows a link: the link itself goes


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
