"""RunMonitor against the real service: live logs through a connection that breaks,
the state chip with the queue position, progress from ``mlk:progress`` lines, Cancel."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mlrun_kernel.client import Client
from mlrun_kernel.widgets.monitor import RunMonitor
from tests.service.helpers import PREFIX, ServedApp, wait_for
from tests.widgets.cutter import Cutter

pytestmark = [pytest.mark.hub, pytest.mark.registry, pytest.mark.docker]


@pytest.fixture
def cutter(widget_service: ServedApp) -> Iterator[Cutter]:
    cut = Cutter(int(widget_service.port))
    yield cut
    cut.close()


def _chip(monitor: RunMonitor) -> str:
    return str(monitor._chip.children[0])


def test_a_broken_connection_resumes_from_the_last_line_with_no_line_shown_twice(
    cutter: Cutter, tokens: dict[str, str], showcase_name: str
) -> None:
    with Client(f"http://127.0.0.1:{cutter.port}{PREFIX}", tokens["user"], timeout=30) as client:
        run = client.start_run(showcase_name, task="count", parameters={"lines": 80, "interval": 0.1})
        monitor = RunMonitor(run["id"], client=client, tail=500, follow=False)
        sent: list[dict[str, Any]] = []
        monitor.log_tail.send = sent.append  # what goes to the page, message by message
        monitor.start()
        watch = monitor.watch
        wait_for(lambda: len(watch.lines) >= 15, timeout=180, interval=0.05)
        cutter.cut()
        seen_at_cut = watch.last_seq
        wait_for(lambda: watch.last_seq >= seen_at_cut + 15 or watch.ended, timeout=60, interval=0.05)
        cutter.cut()
        wait_for(lambda: watch.ended, timeout=120, interval=0.1)
        assert monitor.follower is not None and monitor.follower.join(30)

        assert monitor.follower.reconnects >= 2
        stored = client.run_logs(run["id"], limit=10_000)
        assert [line["seq"] for line in watch.lines] == [
            line["seq"] for line in stored
        ]  # all, once, in order
        appended = [line["text"] for msg in sent if msg["method"] == "append" for line in msg["args"][0]]
        assert appended == [line["text"] for line in stored]
        assert appended.count("line 40") == 1 and "line 80" in appended
        # the lines went as messages, not as a synced trait that re-renders the whole tail
        assert "line 40" not in json.dumps(monitor.log_tail.get_state())
        assert watch.state == "succeeded" and _chip(monitor) == "Succeeded"
        assert (watch.progress, watch.progress_message) == (1.0, "80 of 80")
        assert monitor._bar.model_value == 100.0
        assert monitor.cancel_button.disabled
        assert monitor._elapsed.children[0].startswith("elapsed 0:")


def test_a_monitor_opened_later_starts_at_the_last_lines_and_follows_to_the_end(
    uma: Client, showcase_name: str
) -> None:
    run = uma.start_run(showcase_name, task="count", parameters={"lines": 80, "interval": 0.1})
    wait_for(lambda: uma.get_run(run["id"])["log_lines"] >= 30, timeout=180, interval=0.1)
    monitor = RunMonitor(run["id"], client=uma, tail=10)  # as a new kernel would, mid-run
    first = monitor.watch.last_seq
    assert first >= 20
    wait_for(lambda: monitor.watch.ended, timeout=120, interval=0.1)
    assert monitor.follower is not None and monitor.follower.join(30)
    stored = uma.run_logs(run["id"], after=first, limit=10_000)
    assert [(line["seq"], line["text"]) for line in monitor.watch.lines] == [
        (line["seq"], line["text"]) for line in stored[-10:]
    ]
    assert (
        len(monitor.log_tail.lines) == 10
        and monitor.log_tail.lines[-1]["text"] == "mlk:progress 1.00 80 of 80"
    )
    assert monitor.watch.progress == 1.0


def test_a_queued_run_shows_its_place_in_line_and_cancel_ends_it(
    client_for: Callable[[str], Client], showcase_name: str
) -> None:
    ben = client_for("user2")
    busy = [
        ben.start_run(showcase_name, task="count", parameters={"lines": 600, "interval": 0.1})
        for _ in range(2)
    ]
    waiting = ben.start_run(showcase_name, task="count", parameters={"lines": 5})
    try:
        wait_for(lambda: ben.get_run(waiting["id"])["queue_position"] is not None, timeout=30)
        monitor = RunMonitor(waiting["id"], client=ben)
        position = monitor.watch.queue_position
        assert monitor.watch.state == "queued" and position is not None and position >= 1
        assert _chip(monitor) == f"Queued (#{position} in line)"
        monitor.cancel()
        assert monitor.watch.state == "cancelled" and _chip(monitor) == "Cancelled"
        assert monitor.cancel_button.disabled
        assert monitor.follower is not None and monitor.follower.join(30)
        running = RunMonitor(busy[0]["id"], client=ben)
        wait_for(lambda: running.watch.state == "running", timeout=180, interval=0.1)
        running.cancel()
        final = ben.wait_run(busy[0]["id"], timeout=120, poll=0.5)
        assert final["state"] == "cancelled"
        wait_for(lambda: running.watch.ended, timeout=30)
        assert _chip(running) == "Cancelled"
    finally:
        for run in [*busy, waiting]:
            ben.cancel_run(run["id"])
        time.sleep(0.1)
