"""A run's log on disk: one append-only text file, and a sparse index of line offsets.

The file (``<run storage>/log``, :func:`log_path_for`) holds one line per log line, with a fixed-width
prefix: ``2026-12-01T21:46:28.123456Z o text`` (time in UTC, ``o`` stdout,
``e`` stderr, ``s`` the platform). A line's ``seq`` is its number in the file
(1-based), so ``after=N`` means "from line N+1". The prefix has a fixed width
(:data:`PREFIX_BYTES`), which makes the bytes a log counts against its cap
``file size - PREFIX_BYTES * lines`` without reading it.

The index (``<the log>.idx``, :func:`index_for`) holds the byte offset of every
:data:`STRIDE`-th line (lines 1, 1+STRIDE, ...) as little-endian uint64s, so a
reader seeks close to line N and skips fewer than STRIDE lines.

What is durable when: a writer appends whole lines in one ``write`` to the
kernel (nothing is buffered in the process), the index after the lines it
points into; so a killed process loses nothing it wrote, and a reader sees
only whole lines (it ignores a last line without its newline). A writer that
opens an existing file (an executor adopting a run) cuts such a partial line,
rebuilds index entries missing at the end, and goes on counting from there.
There is no fsync: a power cut may lose the last seconds of a log, not the run.
"""

from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path

PREFIX_BYTES = 30
"""``2026-12-01T21:46:28.123456Z o `` : 27 bytes of time, a space, the stream, a space."""
STRIDE = 1024
_STREAM_CODES = {"stdout": b"o", "stderr": b"e", "system": b"s"}
_CODE_STREAMS = {ord("o"): "stdout", ord("e"): "stderr", ord("s"): "system"}
_READ_BLOCK = 1 << 20


def log_path_for(storage: Path) -> Path:
    """The log file of a run whose storage folder is ``storage``."""
    return storage / "log"


def index_for(path: Path) -> Path:
    """The index beside the log file ``path``."""
    return path.with_name(path.name + ".idx")


def _prefix(at: datetime, stream: str) -> bytes:
    at = at.astimezone(UTC) if at.tzinfo else at
    return f"{at:%Y-%m-%dT%H:%M:%S.%f}Z ".encode() + _STREAM_CODES.get(stream, b"s") + b" "


@dataclass(frozen=True)
class RunLogEntry:
    """A stored (or live) log line of a run."""

    seq: int
    at: datetime
    stream: str
    text: str


def _parse(seq: int, raw: bytes, times: dict[bytes, datetime]) -> RunLogEntry:
    stamp = raw[:26]
    at = times.get(stamp)
    if at is None:  # lines written together share their time: parse it once
        at = times[stamp] = datetime.fromisoformat(stamp.decode()).replace(tzinfo=UTC)
    stream = _CODE_STREAMS.get(raw[28], "system")
    return RunLogEntry(seq, at, stream, raw[PREFIX_BYTES:].decode("utf-8", "replace"))


class LogFileWriter:
    """Appends lines to a run's log file; one writer per run at a time (the run's executor)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.index_path = index = index_for(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lines, self.size, self.last = self._recover()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._index_fd = os.open(index, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @property
    def text_bytes(self) -> int:
        """What the stored lines count against the log's cap: their text and a newline each."""
        return self.size - PREFIX_BYTES * self.lines

    def _recover(self) -> tuple[int, int, RunLogEntry | None]:
        """(lines, size, last line) of what is on disk; a partial last line is cut."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            self.index_path.unlink(missing_ok=True)
            return 0, 0, None
        offsets = _read_index(self.index_path)
        while offsets and offsets[-1] >= size:
            offsets.pop()
        start_line = (len(offsets) - 1) * STRIDE + 1 if offsets else 1
        start = offsets[-1] if offsets else 0
        with open(self.path, "rb") as fh:
            fh.seek(start)
            tail = fh.read()
        end = tail.rfind(b"\n") + 1
        if start + end < size:
            os.truncate(self.path, start + end)
        complete = tail[:end].split(b"\n")[:-1]
        position = start
        for i, raw in enumerate(complete):
            if (start_line + i - 1) % STRIDE == 0 and not (offsets and i == 0):
                offsets.append(position)
            position += len(raw) + 1
        with open(self.index_path, "wb") as fh:  # rewritten whole: it is small
            fh.write(struct.pack(f"<{len(offsets)}Q", *offsets))
        lines = start_line - 1 + len(complete)
        last = _parse(lines, complete[-1], {}) if complete else None
        return lines, start + end, last

    def append(self, stream: str, at: datetime, lines: list[bytes]) -> None:
        """Append ``lines`` (UTF-8, without newlines) of one stream, all stamped ``at``."""
        if not lines:
            return
        prefix = _prefix(at, stream)
        data = prefix + (b"\n" + prefix).join(lines) + b"\n"
        first = (-self.lines) % STRIDE  # index in ``lines`` of the next line numbered 1 + k*STRIDE
        entries: list[int] = []
        if first < len(lines):
            starts = list(accumulate((len(line) + PREFIX_BYTES + 1 for line in lines), initial=self.size))
            entries = starts[first : len(lines) : STRIDE]
        _write_all(self._fd, data)
        if entries:
            _write_all(self._index_fd, struct.pack(f"<{len(entries)}Q", *entries))
        self.lines += len(lines)
        self.size += len(data)

    def close(self) -> None:
        for fd in (self._fd, self._index_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_index(index: Path) -> list[int]:
    try:
        data = index.read_bytes()
    except FileNotFoundError:
        return []
    count = len(data) // 8
    return list(struct.unpack(f"<{count}Q", data[: count * 8]))


def _index_entry(index: Path, k: int) -> tuple[int, int]:
    """(entry number, offset) of the last index entry at or before ``k`` (0, 0 if none)."""
    try:
        with open(index, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            k = min(k, size // 8 - 1)
            if k < 0:
                return 0, 0
            fh.seek(8 * k)
            return k, struct.unpack("<Q", fh.read(8))[0]
    except FileNotFoundError:
        return 0, 0


def read_lines(path: Path, *, after: int = 0, limit: int = 10_000) -> list[RunLogEntry]:
    """Whole lines with ``seq > after``, at most ``limit``; [] when the file is not there."""
    if limit <= 0:
        return []
    k, offset = _index_entry(index_for(path), after // STRIDE)
    seq = k * STRIDE  # the line before ``offset``
    out: list[RunLogEntry] = []
    times: dict[bytes, datetime] = {}
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return []
    with fh:
        fh.seek(offset)
        rest = b""
        while len(out) < limit:
            block = fh.read(_READ_BLOCK)
            if not block:
                break
            data = rest + block
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            complete, rest = data[:cut].split(b"\n"), data[cut + 1 :]
            skip = max(0, after - seq)
            seq += len(complete)
            if skip >= len(complete):
                continue
            first = seq - len(complete) + 1
            wanted = complete[skip : skip + limit - len(out)]
            out.extend(_parse(first + skip + i, raw, times) for i, raw in enumerate(wanted))
    return out


def count_lines(path: Path) -> int:
    """How many whole lines the file holds (for tests and tools)."""
    k, offset = _index_entry(index_for(path), 1 << 62)
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return k * STRIDE + fh.read().count(b"\n")
    except FileNotFoundError:
        return 0
