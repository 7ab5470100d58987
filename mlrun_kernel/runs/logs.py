"""A run's log: every line stamped, kept in the store, handed live to subscribers.

- :class:`LogHub` is the in-process fan-out: a subscriber gets each line the
  moment the engine hands it over, before it reaches the store.
- :class:`LogRecorder` takes one run's lines from its backend, cuts lines and
  the whole log at the operator's caps (with a visible marker), reads
  ``mlk:progress`` lines, and writes the lines to the store in small batches
  (a quarter second at most behind), so the log outlives the container.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from mlrun_kernel.runs.backends.base import LogLine
from mlrun_kernel.runs.limits import format_bytes
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Run, RunLogLine
from mlrun_kernel.store.types import utcnow

_PROGRESS = re.compile(r"^mlk:progress\s+([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?:\s+(.*))?$")
FLUSH_SECONDS = 0.25


@dataclass(frozen=True)
class RunLogEntry:
    """A stored (or live) log line of a run."""

    seq: int
    at: datetime
    stream: str
    text: str


def parse_progress(text: str) -> tuple[float, str | None] | None:
    """``mlk:progress 0.42 reading rows`` -> ``(0.42, "reading rows")``; clamped to 0..1."""
    match = _PROGRESS.match(text.strip())
    if not match:
        return None
    value = min(max(float(match.group(1)), 0.0), 1.0)
    message = (match.group(2) or "").strip() or None
    return value, message


class _End:
    pass


END = _End()


class Subscription:
    """Live lines of one run, ending when the run's log ends."""

    def __init__(self, hub: LogHub, run_id: str) -> None:
        self._hub = hub
        self.run_id = run_id
        self.queue: queue.Queue[RunLogEntry | _End] = queue.Queue()

    def get(self, timeout: float | None = None) -> RunLogEntry | None:
        """The next line, or None at the end of the log (or after ``timeout``)."""
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if isinstance(item, _End) else item

    def __iter__(self) -> Iterator[RunLogEntry]:
        while True:
            item = self.queue.get()
            if isinstance(item, _End):
                return
            yield item

    def close(self) -> None:
        self._hub._unsubscribe(self)


class LogHub:
    """Fan-out of live log lines to subscribers, per run, in this process."""

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

    def publish(self, run_id: str, entry: RunLogEntry) -> None:
        with self._lock:
            subs = list(self._subs.get(run_id, ()))
        for sub in subs:
            sub.queue.put(entry)

    def end(self, run_id: str) -> None:
        with self._lock:
            subs = self._subs.pop(run_id, [])
        for sub in subs:
            sub.queue.put(END)


class LogRecorder:
    """Records one run's log lines; thread-safe ``add``; ``close`` flushes the rest."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        hub: LogHub,
        max_bytes: int,
        max_line_bytes: int,
        on_progress: Callable[[float, str | None], None] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.hub = hub
        self.max_bytes = max_bytes
        self.max_line_bytes = max_line_bytes
        self.on_progress = on_progress
        with store.session() as s:
            run = s.get(Run, run_id)
            last = s.execute(
                select(func.max(RunLogLine.seq), func.max(RunLogLine.at)).where(RunLogLine.run_id == run_id)
            ).one()
            self.seq = int(last[0] or 0)
            self.resume_after: datetime | None = last[1]
            self.bytes = int(run.log_bytes) if run else 0
            self.truncated = bool(run.log_truncated) if run else False
        self.dropped = 0
        self.last_at: datetime | None = self.resume_after
        self._pending: list[RunLogEntry] = []
        self._progress: tuple[float, str | None] | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name=f"mlk-log-{run_id}", daemon=True)
        self._flusher.start()

    def add(self, line: LogLine) -> None:
        if self._closed.is_set():
            return
        if self.resume_after is not None and line.at <= self.resume_after:
            return  # already stored (before the executor restarted, or the stream broke)
        self.last_at = line.at
        text = line.text
        if line.stream == "stdout":
            progress = parse_progress(text)
            if progress is not None:
                with self._lock:
                    self._progress = progress
                if self.on_progress:
                    self.on_progress(*progress)
        encoded = text.encode("utf-8", errors="replace")
        if len(encoded) > self.max_line_bytes:
            text = (
                encoded[: self.max_line_bytes].decode("utf-8", errors="ignore")
                + f" [mlk: line cut at {format_bytes(self.max_line_bytes)}]"
            )
            encoded = text.encode("utf-8")
        with self._lock:
            if self.truncated:
                self.dropped += 1
                return
            if self.bytes + len(encoded) + 1 > self.max_bytes:
                self.truncated = True
                self.dropped += 1
                line = LogLine(
                    at=line.at,
                    stream="system",
                    text=f"[mlk: log truncated at {format_bytes(self.max_bytes)}; later lines are not kept]",
                )
                text = line.text
                encoded = text.encode("utf-8")
            self.seq += 1
            self.bytes += len(encoded) + 1
            entry = RunLogEntry(seq=self.seq, at=line.at, stream=line.stream, text=text)
            self._pending.append(entry)
        self.hub.publish(self.run_id, entry)

    def resume(self) -> None:
        """Before following the log again: skip what was already recorded."""
        self.resume_after = self.last_at

    def system(self, text: str) -> None:
        """A line from the platform itself (retries, engine trouble), in the run's log."""
        self.add(LogLine(at=utcnow(), stream="system", text=f"[mlk] {text}"))

    def _flush_loop(self) -> None:
        while not self._closed.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the store may be briefly busy; retry next beat
                continue

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            progress, self._progress = self._progress, None
            counts = {
                "log_lines": self.seq,
                "log_bytes": self.bytes,
                "log_truncated": self.truncated,
            }
        if not pending and progress is None:
            return
        try:
            with self.store.session() as s:
                if pending:
                    s.add_all(
                        RunLogLine(run_id=self.run_id, seq=e.seq, at=e.at, stream=e.stream, text=e.text)
                        for e in pending
                    )
                values: dict[str, object] = dict(counts)
                if progress is not None:
                    values["progress"], values["progress_message"] = progress
                s.execute(update(Run).where(Run.id == self.run_id).values(**values))
        except Exception:
            with self._lock:  # put them back, in order, for the next flush
                self._pending = pending + self._pending
                if self._progress is None:
                    self._progress = progress
            raise

    def close(self) -> None:
        """Flush everything and end live subscriptions; a second call does nothing."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._flusher.join(timeout=5)
        for _ in range(20):
            try:
                self.flush()
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.25)
        self.hub.end(self.run_id)


def stored_lines(store: Store, run_id: str, *, after: int = 0, limit: int = 10_000) -> list[RunLogEntry]:
    with store.session() as s:
        rows = s.scalars(
            select(RunLogLine)
            .where(RunLogLine.run_id == run_id, RunLogLine.seq > after)
            .order_by(RunLogLine.seq)
            .limit(limit)
        ).all()
        return [RunLogEntry(seq=r.seq, at=r.at, stream=r.stream, text=r.text) for r in rows]
