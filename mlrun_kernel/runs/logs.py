"""A run's log: an append-only file per run, followed live, counted in the store.

- :class:`LogRecorder` takes one run's output from its backend: raw chunks as
  ``docker run`` reads them (:meth:`~LogRecorder.add_output`), or lines the
  engine stamped (:meth:`~LogRecorder.add`). It cuts long lines and the whole
  log at the operator's caps (with a visible marker), reads ``mlk:progress``
  lines, and appends whole lines to the run's log file (:mod:`.logfile`) at
  once. The store only learns the file's path, and at most every
  :data:`FLUSH_SECONDS` the counts and progress in one small UPDATE: a flood of
  lines never holds the store's single writer (SQLite) for long.
- :class:`LogHub` tells this process's followers that a run's log grew or
  ended, so they read the new lines from the file at once instead of polling.
- :func:`stored_lines` reads lines ``seq > after`` from the file, or from the
  ``run_log_lines`` table for runs recorded before log files (migration 0005).

Work per chunk is done by C-level bytes methods (split, join, count, find);
Python looks at single lines only where a chunk needs it (a long line, a
``\\r``, a progress line, invalid UTF-8, the line that reaches the cap).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mlrun_kernel.runs.backends.base import LogLine
from mlrun_kernel.runs.limits import format_bytes
from mlrun_kernel.runs.logfile import LogFileWriter, RunLogEntry, log_path_for, read_lines
from mlrun_kernel.store import Store
from mlrun_kernel.store.busy import StoreBusy, retry_busy
from mlrun_kernel.store.models import Run, RunLogLine
from mlrun_kernel.store.types import utcnow

__all__ = ["FLUSH_SECONDS", "LogHub", "LogRecorder", "RunLogEntry", "parse_progress", "stored_lines"]

log = logging.getLogger(__name__)

_PROGRESS = re.compile(r"^mlk:progress\s+([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?:\s+(.*))?$")
_TRUNCATED = "[mlk: log truncated at"
FLUSH_SECONDS = 0.25


def parse_progress(text: str) -> tuple[float, str | None] | None:
    """``mlk:progress 0.42 reading rows`` -> ``(0.42, "reading rows")``; clamped to 0..1."""
    match = _PROGRESS.match(text.strip())
    if not match:
        return None
    value = min(max(float(match.group(1)), 0.0), 1.0)
    message = (match.group(2) or "").strip() or None
    return value, message


class Subscription:
    """Wakes a follower of one run when its log grows or ends (the lines are in the file)."""

    def __init__(self, hub: LogHub, run_id: str) -> None:
        self._hub = hub
        self.run_id = run_id
        self._event = threading.Event()
        self.ended = False

    def wait(self, timeout: float | None = None) -> bool:
        """True when the log changed since the last wait, False after ``timeout``."""
        fired = self._event.wait(timeout)
        self._event.clear()
        return fired

    def _fire(self, ended: bool = False) -> None:
        self.ended = self.ended or ended
        self._event.set()

    def close(self) -> None:
        self._hub._unsubscribe(self)


class LogHub:
    """Per run, the followers in this process to wake when its log grows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, list[Subscription]] = {}

    def subscribe(self, run_id: str) -> Subscription:
        sub = Subscription(self, run_id)
        with self._lock:
            self._subs.setdefault(run_id, []).append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.run_id, [])
            if sub in subs:
                subs.remove(sub)

    def notify(self, run_id: str) -> None:
        with self._lock:
            subs = list(self._subs.get(run_id, ()))
        for sub in subs:
            sub._fire()

    def end(self, run_id: str) -> None:
        with self._lock:
            subs = self._subs.pop(run_id, [])
        for sub in subs:
            sub._fire(ended=True)


class LogRecorder:
    """Records one run's log into its file; ``add``/``add_output`` are thread-safe; ``close`` ends it.

    Opening it on a run that already has a log (a retry, or an executor adopting
    the run) goes on after the last whole line on disk; ``resume_after`` is the
    time of the last line from the model, so lines the engine hands over again
    are dropped.
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        hub: LogHub,
        max_bytes: int,
        max_line_bytes: int,
        storage: Path | None = None,
        on_progress: Callable[[float, str | None], None] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.hub = hub
        self.max_bytes = max_bytes
        self.max_line_bytes = max_line_bytes
        self.on_progress = on_progress
        with store.session() as s:
            row = s.execute(select(Run.log_path, Run.storage).where(Run.id == run_id)).one_or_none()
        named = row is not None and row.log_path is not None
        if row is not None and row.log_path is not None:
            path = Path(row.log_path)
        else:
            path = log_path_for(storage or Path(row.storage if row is not None else "."))
        self.path = path
        self.file = LogFileWriter(path)
        if not named and row is not None:
            self._take_table_lines()
            self._write(lambda s: s.execute(update(Run).where(Run.id == run_id).values(log_path=str(path))))
        last = self.file.last
        self.seq = self.file.lines
        self.bytes = self.file.text_bytes
        self.truncated = last is not None and last.stream == "system" and last.text.startswith(_TRUNCATED)
        self.resume_after: datetime | None = last.at if last else None
        self.last_at: datetime | None = self.resume_after
        self.dropped = 0
        self.received = 0
        """Bytes (or lines) handed over so far, kept or not: shows a stream still delivering."""
        self._partial = {"stdout": b"", "stderr": b""}
        self._skipping = {"stdout": False, "stderr": False}
        self._progress: tuple[float, str | None] | None = None
        self._flushed: tuple[int, int, bool] | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name=f"mlk-log-{run_id}", daemon=True)
        self._flusher.start()

    def _write(self, change: Callable[[Session], object]) -> None:
        def once() -> None:
            with self.store.session() as s:
                change(s)

        retry_busy(once, what=f"recording the log of run {self.run_id}")

    def _take_table_lines(self) -> None:
        """A run begun before log files (migration 0005): its stored lines move into the file first."""
        if self.file.lines:
            return
        with self.store.session() as s:
            rows = s.execute(
                select(RunLogLine.at, RunLogLine.stream, RunLogLine.text)
                .where(RunLogLine.run_id == self.run_id)
                .order_by(RunLogLine.seq)
            ).all()
        for at, stream, text in rows:
            self.file.append(stream, at, [text.encode("utf-8", "replace")])

    # ------------------------------------------------------------------ input

    def add(self, line: LogLine) -> None:
        """One line, as the engine stamped it (or the platform's own)."""
        self.received += 1
        if self._closed.is_set():
            return
        if line.stream != "system":
            if self.resume_after is not None and line.at <= self.resume_after:
                return  # already stored (before the executor restarted, or the stream broke)
            self.last_at = line.at
        block = line.text.encode("utf-8", "replace")
        with self._lock:
            self._take(line.stream, line.at, block, [block])
        self.hub.notify(self.run_id)

    def add_output(self, stream: str, data: bytes, at: datetime | None = None) -> None:
        """A chunk of the container's raw output (any cut, lines may span chunks), received ``at``."""
        self.received += len(data)
        if self._closed.is_set() or self.truncated:
            return
        at = at or utcnow()
        with self._lock:
            if self._skipping[stream]:  # the rest of a line already cut at its cap
                newline = data.find(b"\n")
                if newline < 0:
                    return
                data = data[newline + 1 :]
                self._skipping[stream] = False
            buffered = self._partial[stream] + data if self._partial[stream] else data
            cut = buffered.rfind(b"\n")
            if cut < 0:
                if len(buffered) > self.max_line_bytes:
                    self._partial[stream] = b""
                    self._skipping[stream] = True
                    self._take(stream, at, buffered, [buffered])
                else:
                    self._partial[stream] = buffered
                return
            self._partial[stream] = buffered[cut + 1 :]
            block = buffered[:cut]
            self.last_at = at
            self._take(stream, at, block, block.split(b"\n"))
        self.hub.notify(self.run_id)

    def end_output(self) -> None:
        """The output stream ended: a last line without its newline is kept too."""
        with self._lock:
            for stream, rest in self._partial.items():
                if rest and not self.truncated:
                    self._take(stream, utcnow(), rest, [rest])
                self._partial[stream] = b""
                self._skipping[stream] = False
        self.hub.notify(self.run_id)

    def system(self, text: str) -> None:
        """A line from the platform itself (retries, engine trouble), in the run's log."""
        self.add(LogLine(at=utcnow(), stream="system", text=f"[mlk] {text}"))

    def resume(self) -> None:
        """Before following the log again: skip what was already recorded."""
        self.resume_after = self.last_at

    # ------------------------------------------------------------------ the caps, then the file

    def _clean(self, stream: str, block: bytes, lines: list[bytes]) -> list[bytes]:
        """``lines`` (of ``block``) with ``\\r`` ends, invalid UTF-8 and long lines dealt with."""
        if stream != "system":
            if b"\r\n" in block or block.endswith(b"\r"):
                lines = [line.rstrip(b"\r") for line in lines]
            if stream == "stdout" and b"mlk:progress" in block:
                self._read_progress(lines)
        if not block.isascii():
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                lines = [line.decode("utf-8", "replace").encode("utf-8") for line in lines]
        limit = self.max_line_bytes
        if len(block) > limit and max(map(len, lines)) > limit:
            marker = f" [mlk: line cut at {format_bytes(limit)}]".encode()
            lines = [
                line[:limit].decode("utf-8", "ignore").encode("utf-8") + marker if len(line) > limit else line
                for line in lines
            ]
        return lines

    def _read_progress(self, lines: list[bytes]) -> None:
        for line in lines:
            if b"mlk:progress" in line:
                progress = parse_progress(line.decode("utf-8", "replace"))
                if progress is not None:
                    self._progress = progress
                    if self.on_progress:
                        self.on_progress(*progress)

    def _take(self, stream: str, at: datetime, block: bytes, lines: list[bytes]) -> None:
        """Append ``lines`` within the log's cap; past it, the marker and nothing more (lock held)."""
        if self.truncated:
            self.dropped += len(lines)
            return
        lines = self._clean(stream, block, lines)
        size = sum(map(len, lines)) + len(lines)
        if self.bytes + size <= self.max_bytes:
            self.file.append(stream, at, lines)
            self.bytes += size
        else:
            room, kept = self.max_bytes - self.bytes, 0
            for line in lines:
                if len(line) + 1 > room:
                    break
                room -= len(line) + 1
                kept += 1
            self.file.append(stream, at, lines[:kept])
            marker = f"{_TRUNCATED} {format_bytes(self.max_bytes)}; later lines are not kept]".encode()
            self.file.append("system", at, [marker])
            self.bytes = self.max_bytes - room + len(marker) + 1
            self.dropped += len(lines) - kept
            self.truncated = True
        self.seq = self.file.lines

    # ------------------------------------------------------------------ the store

    def _flush_loop(self) -> None:
        while not self._closed.wait(FLUSH_SECONDS):
            with contextlib.suppress(Exception):  # the store may be busy: the next beat tries again
                self.flush(patient=False)

    def flush(self, *, patient: bool = True) -> None:
        """Counts and progress to the run's row, if they changed; ``patient`` waits out a busy store."""
        with self._lock:
            counts = (self.seq, self.bytes, self.truncated)
            progress, self._progress = self._progress, None
        if counts == self._flushed and progress is None:
            return
        values: dict[str, object] = {
            "log_lines": counts[0],
            "log_bytes": counts[1],
            "log_truncated": counts[2],
        }
        if progress is not None:
            values["progress"], values["progress_message"] = progress

        def once() -> None:
            with self.store.session() as s:
                s.execute(update(Run).where(Run.id == self.run_id).values(**values))

        try:
            if patient:
                retry_busy(once, what=f"recording the log of run {self.run_id}")
            else:
                once()
        except Exception:
            with self._lock:
                if self._progress is None:
                    self._progress = progress
            raise
        self._flushed = counts

    def close(self) -> None:
        """Flush everything and end live followers; a second call does nothing."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._flusher.join(timeout=5)
        try:
            self.flush()
        except StoreBusy as exc:  # the lines are in the file; only the counts are late
            log.warning("run %s: %s", self.run_id, exc)
        finally:
            self.file.close()
            self.hub.end(self.run_id)


def stored_lines(store: Store, run_id: str, *, after: int = 0, limit: int = 10_000) -> list[RunLogEntry]:
    """Lines of the run's log with ``seq > after`` (at most ``limit``), wherever they are kept."""
    with store.session() as s:
        path = s.scalar(select(Run.log_path).where(Run.id == run_id))
        if path is None:
            rows = s.scalars(
                select(RunLogLine)
                .where(RunLogLine.run_id == run_id, RunLogLine.seq > after)
                .order_by(RunLogLine.seq)
                .limit(limit)
            ).all()
            return [RunLogEntry(seq=r.seq, at=r.at, stream=r.stream, text=r.text) for r in rows]
    return read_lines(Path(path), after=after, limit=limit)
