"""``RunMonitor``: one run, live: its state, progress, log tail, elapsed time, and Cancel.

Layers, bottom up:

- ``RunWatch``: what the monitor knows (state, queue position, progress, the
  last lines) and how each event of the service's live stream changes it. Pure:
  tests feed it events. It drops any line at or before the last ``seq`` it has,
  so a resumed stream never shows a line twice.
- ``StreamFollower``: a thread that follows ``Client.follow_run`` and, when the
  stream breaks (the kernel's network, the service restarting), reconnects from
  the last ``seq`` it had, until the run ends or it is stopped.
- ``LogTail``: the last N lines in the browser. New lines are *sent* to the
  page as they come and appended there; the lines are not a synced trait, so
  the page is never re-rendered whole (a new view asks for the current tail once).
- ``RunMonitor``: the widget that puts them together.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ipyvuetify as v
import traitlets

from mlrun_kernel.client import TERMINAL_STATES, Client, LogLine, ServiceUnavailable
from mlrun_kernel.widgets.common import (
    STATE_COLORS,
    Loading,
    Notice,
    apply_theme,
    client_or_default,
    explain,
    safe_call,
    state_chip,
    state_words,
)

DEFAULT_TAIL = 200
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


def parse_progress(text: str) -> tuple[float, str | None] | None:
    """The service's reading of an ``mlk:progress`` line (same function, same answer)."""
    from mlrun_kernel.runs.logs import parse_progress as parse

    return parse(text)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def run_title(run_id: str, name: str | None) -> str:
    """The monitor's title: the run's name when it has one, always its id."""
    return f"{name} (run {run_id})" if name else f"Run {run_id}"


def format_elapsed(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class RunWatch:
    """The monitor's view of one run, moved by the live stream's events."""

    run_id: str
    tail: int = DEFAULT_TAIL
    state: str = "queued"
    reason: str | None = None
    queue_position: int | None = None
    progress: float | None = None
    progress_message: str | None = None
    last_seq: int = 0
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    run: dict[str, Any] | None = None
    lines: deque[LogLine] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.lines = deque(self.lines, maxlen=self.tail)

    @property
    def ended(self) -> bool:
        return self.state in TERMINAL_STATES or self.state == "deleted"

    def take_run(self, run: dict[str, Any]) -> None:
        """What ``get_run`` (or the stream's ``end``) says about the run as a whole."""
        self.run = run
        self.state = str(run.get("state") or self.state)
        self.reason = run.get("reason")
        self.queue_position = run.get("queue_position")
        if run.get("progress") is not None:
            self.progress = float(run["progress"])
            self.progress_message = run.get("progress_message")
        self.created_at = _time(run.get("created_at")) or self.created_at
        self.started_at = _time(run.get("started_at")) or self.started_at
        self.finished_at = _time(run.get("finished_at")) or self.finished_at

    def apply(self, event: str, data: dict[str, Any]) -> list[LogLine]:
        """Take one stream event; the log lines it adds (none if already seen)."""
        if event == "log":
            seq = int(data["seq"])
            if seq <= self.last_seq:
                return []  # a resumed stream repeating what we have
            self.last_seq = seq
            line: LogLine = {
                "seq": seq,
                "at": str(data.get("at")),
                "stream": str(data.get("stream") or "stdout"),
                "text": str(data.get("text") or ""),
            }
            self.lines.append(line)
            progress = parse_progress(line["text"]) if line["stream"] == "stdout" else None
            if progress is not None:
                self.progress, self.progress_message = progress
            return [line]
        if event == "state":
            self.state = str(data.get("state") or self.state)
            self.reason = data.get("reason")
            if self.state != "queued":
                self.queue_position = None
            if self.state == "running" and self.started_at is None:
                self.started_at = datetime.now(UTC)
        elif event == "end":
            if data.get("state") == "deleted":
                self.state = "deleted"
            else:
                self.take_run(data)
        return []

    def elapsed(self, now: datetime | None = None) -> float:
        """Seconds since the run started (or was queued), up to its end."""
        begin = self.started_at or self.created_at
        if begin is None:
            return 0.0
        end = self.finished_at or now or datetime.now(UTC)
        return (end - begin).total_seconds()


class StreamFollower:
    """Follows a run's live stream in a thread; resumes after a drop from the last line it had."""

    def __init__(
        self,
        client: Client,
        watch: RunWatch,
        on_change: Callable[[list[LogLine]], None],
        on_trouble: Callable[[BaseException | None], None] = lambda _: None,
    ) -> None:
        self.client = client
        self.watch = watch
        self.on_change = on_change
        self.on_trouble = on_trouble
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"mlk-follow-{watch.run_id}", daemon=True)

    def start(self) -> StreamFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _follow_once(self) -> bool:
        """One connection; True when the run ended (or we were stopped)."""
        for event, data in self.client.follow_run(self.watch.run_id, after=self.watch.last_seq):
            added = self.watch.apply(event, data)
            self.on_change(added)
            if self._stop.is_set():
                return True
            if event == "end":
                return True
        return self._stop.is_set()  # the service closed the stream without its end: a drop

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                if self._follow_once():
                    return
                trouble: BaseException | None = None
            except ServiceUnavailable as exc:
                trouble = exc
            except Exception as exc:  # a refusal (404: deleted, 403) ends following
                self.on_trouble(exc)
                return
            failures += 1
            self.reconnects += 1
            self.on_trouble(trouble)
            self._stop.wait(RETRY_SECONDS[min(failures - 1, len(RETRY_SECONDS) - 1)])
            try:  # the state may have moved while we were away
                self.watch.take_run(dict(self.client.get_run(self.watch.run_id)))
                self.on_change([])
                failures = 0
                self.on_trouble(None)
            except ServiceUnavailable:
                continue
            except Exception as exc:
                self.on_trouble(exc)
                return


_TAIL_TEMPLATE = """
<template>
  <div ref="box" class="mlk-log-tail"
       style="max-height: 320px; overflow-y: auto; font-family: monospace; font-size: 12px;
              white-space: pre-wrap; background: #f5f5f5; border-radius: 4px; padding: 8px;"></div>
</template>
<script>
export default {
  mounted() { this.ready({}); },
  methods: {
    jupyter_reset(lines) { this.$refs.box.textContent = ''; this.jupyter_append(lines); },
    jupyter_append(lines) {
      const box = this.$refs.box;
      if (!box) return;
      const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
      for (const line of lines) {
        const row = document.createElement('div');
        row.textContent = line.text;
        if (line.stream === 'stderr') row.style.color = '#C62828';
        box.appendChild(row);
      }
      while (box.childNodes.length > this.max_lines) box.removeChild(box.firstChild);
      if (stick) box.scrollTop = box.scrollHeight;
    },
  },
};
</script>
"""


class LogTail(v.VuetifyTemplate):
    """The last ``max_lines`` log lines; new ones are appended in the page, not re-rendered."""

    template = traitlets.Unicode(_TAIL_TEMPLATE).tag(sync=True)
    max_lines = traitlets.Int(DEFAULT_TAIL).tag(sync=True)

    def __init__(self, max_lines: int = DEFAULT_TAIL, **kwargs: Any) -> None:
        super().__init__(max_lines=max_lines, **kwargs)
        self.lines: deque[dict[str, str]] = deque(maxlen=max_lines)

    @staticmethod
    def _wire(line: LogLine) -> dict[str, str]:
        return {"text": line["text"], "stream": line["stream"]}

    def append(self, lines: list[LogLine]) -> None:
        if not lines:
            return
        batch = [self._wire(line) for line in lines]
        self.lines.extend(batch)
        self.send({"method": "append", "args": [batch]})

    def vue_ready(self, _data: Any = None) -> None:
        """A view appeared (a new page, a reload): give it the tail once."""
        self.send({"method": "reset", "args": [list(self.lines)]})


class RunMonitor(v.Card):
    """A run as it happens: state chip (with queue position), progress bar, live log tail,
    elapsed time and Cancel. Follows the service's live stream in a thread."""

    def __init__(
        self,
        run_id: str,
        client: Client | None = None,
        *,
        tail: int = DEFAULT_TAIL,
        follow: bool = True,
        on_end: Callable[[dict[str, Any]], None] | None = None,
        **kwargs: Any,
    ) -> None:
        apply_theme()
        self.client = client_or_default(client)
        self.watch = RunWatch(run_id, tail=tail)
        self.on_end = on_end
        self._ended_seen = False
        self._end_lock = threading.Lock()
        self.notice = Notice()
        self.loader = Loading()
        self._chip = state_chip("queued")
        self._elapsed = v.Html(tag="span", class_="text-caption text-medium-emphasis ml-3", children=[])
        self._bar = v.ProgressLinear(model_value=0, color="primary", height=8, rounded=True, class_="my-2")
        self._progress_text = v.Html(tag="div", class_="text-caption", children=[])
        self.log_tail = LogTail(max_lines=tail)
        self.cancel_button = v.Btn(
            children=["Cancel"], color="error", variant="tonal", prepend_icon="mdi-stop-circle-outline"
        )
        self.cancel_button.on_event("click", lambda *_: self.cancel())
        self._title = v.CardTitle(children=[run_title(run_id, None)])
        kwargs.setdefault("class_", "mlk-run-monitor pa-4")
        super().__init__(
            children=[
                self._title,
                v.CardText(
                    children=[
                        v.Html(tag="div", class_="d-flex align-center", children=[self._chip, self._elapsed]),
                        self._bar,
                        self._progress_text,
                        self.loader,
                        self.notice,
                        self.log_tail,
                    ]
                ),
                v.CardActions(children=[self.cancel_button]),
            ],
            **kwargs,
        )
        run = safe_call(lambda: self.client.get_run(run_id), self.notice, "load the run", self.loader)
        if run is not None:
            self.watch.take_run(dict(run))
        self.follower: StreamFollower | None = None
        self._ticker: threading.Thread | None = None
        self._stopped = threading.Event()
        self.render()
        if follow and run is not None and not self.watch.ended:
            # A monitor opened on a run under way (a new kernel, another page) starts at its
            # last ``tail`` lines, not at the first of a log that may hold millions.
            self.watch.last_seq = max(int(run.get("log_lines") or 0) - tail, 0)
            self.start()
        elif run is not None and self.watch.ended:
            # An ended run: show its last lines once.
            lines = safe_call(
                lambda: self.client.run_logs(run_id, after=max(run["log_lines"] - tail, 0)),
                self.notice,
                "read the run's log",
            )
            for line in lines or []:
                self.log_tail.append(self.watch.apply("log", dict(line)))
            self.render()

    # ---- following ------------------------------------------------------------------

    def start(self) -> None:
        self.follower = StreamFollower(self.client, self.watch, self._changed, self._trouble).start()
        self._ticker = threading.Thread(target=self._tick, name="mlk-monitor-tick", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        """Stop following (the run goes on; a new monitor picks it up)."""
        self._stopped.set()
        if self.follower is not None:
            self.follower.stop()

    def _changed(self, lines: list[LogLine]) -> None:
        self.log_tail.append(lines)
        self.render()

    def _trouble(self, exc: BaseException | None) -> None:
        if exc is None:
            self.notice.clear()
        elif isinstance(exc, ServiceUnavailable):
            self.notice.note("Lost the live log; reconnecting…", "warning")
        else:
            self.notice.show(explain(exc, "follow the run"))

    def _tick(self) -> None:
        """Elapsed time every second; a queued run's place in line every few seconds."""
        ticks = 0
        while not self._stopped.wait(1.0):
            ticks += 1
            if self.watch.state == "queued" and ticks % 3 == 0:
                # the stream reports real trouble; the ticker stays quiet
                with contextlib.suppress(Exception):
                    self.watch.queue_position = self.client.queue_position(self.watch.run_id)
            self.render()
            if self.watch.ended:
                return

    # ---- actions --------------------------------------------------------------------

    def cancel(self) -> None:
        run = safe_call(lambda: self.client.cancel_run(self.watch.run_id), self.notice, "cancel the run")
        if run is not None:
            self.watch.take_run(dict(run))
            self.render()

    # ---- drawing --------------------------------------------------------------------

    def render(self) -> None:
        w = self.watch
        title = run_title(w.run_id, (w.run or {}).get("name"))
        if self._title.children != [title]:
            self._title.children = [title]
        words = state_words(w.state, w.queue_position)
        if self._chip.children != [words]:  # the same chip, its text and colour changed
            self._chip.children = [words]
            self._chip.color = STATE_COLORS.get(w.state, "secondary")
        self._elapsed.children = [f"elapsed {format_elapsed(w.elapsed())}"]
        if w.progress is None:
            self._bar.indeterminate = w.state in ("pulling", "starting", "running", "collecting")
            self._bar.model_value = 100 if w.state == "succeeded" else 0
        else:
            self._bar.indeterminate = False
            self._bar.model_value = round(w.progress * 100, 1)
        words = f"{round((w.progress or 0) * 100)}%" if w.progress is not None else ""
        if w.progress_message:
            words += f" — {w.progress_message}"
        if w.ended and w.reason:
            words = f"{words}  ({w.reason})" if words else w.reason
        self._progress_text.children = [words]
        self.cancel_button.disabled = w.ended
        if w.ended:
            self._stopped.set()
            with self._end_lock:
                call = not self._ended_seen and self.on_end is not None and w.run is not None
                self._ended_seen = self._ended_seen or call
            if call and self.on_end is not None and w.run is not None:
                self.on_end(w.run)
