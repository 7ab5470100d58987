"""Pure policies of runs, with plain values: fair order, progress lines, limits, outputs."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from mlrun_kernel.runs import InvalidRun, RunSettings, effective_resources, parse_progress
from mlrun_kernel.runs.limits import format_bytes, format_duration
from mlrun_kernel.runs.outputs import collect_outputs
from mlrun_kernel.runs.queue import Waiting, fair_order, pick, positions
from mlrun_kernel.runs.states import RunState, can_move
from mlrun_kernel.spec import Resources

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def waiting(run_id: str, owner: str, minute: int, not_before: datetime | None = None) -> Waiting:
    return Waiting(run_id, owner, T0 + timedelta(minutes=minute), not_before)


def test_users_take_turns_and_the_least_busy_goes_first():
    queued = [
        waiting("a1", "ana", 0),
        waiting("a2", "ana", 1),
        waiting("a3", "ana", 2),
        waiting("b1", "ben", 3),
        waiting("c1", "cy", 4),
    ]
    assert [w.id for w in fair_order(queued, {})] == ["a1", "b1", "c1", "a2", "a3"]
    assert [w.id for w in fair_order(queued, {"ana": 1})] == ["b1", "c1", "a1", "a2", "a3"]
    assert positions(queued, {})["b1"] == 2
    served = {"ana": T0 + timedelta(hours=1), "ben": T0}
    assert [w.id for w in fair_order(queued[:2] + queued[3:4], {}, served)][:1] == ["b1"]


def test_pick_respects_global_and_per_user_limits_and_backoff():
    now = T0 + timedelta(hours=1)
    queued = [
        waiting("a1", "ana", 0),
        waiting("a2", "ana", 1),
        waiting("b1", "ben", 2),
        waiting("c1", "cy", 3, not_before=now + timedelta(seconds=5)),
    ]
    chosen = pick(queued, {"ana": 1}, max_total=3, max_per_user=1, now=now)
    assert [w.id for w in chosen] == ["b1"]  # ana is at her limit, cy waits for a retry
    assert pick(queued, {"x": 3}, max_total=3, max_per_user=5, now=now) == []


def test_progress_lines():
    assert parse_progress("mlk:progress 0.42 reading rows") == (0.42, "reading rows")
    assert parse_progress("mlk:progress 1") == (1.0, None)
    assert parse_progress("mlk:progress 7 too much") == (1.0, "too much")
    assert parse_progress("progress 0.5") is None
    assert parse_progress("mlk:progress soon") is None


def test_operator_limits_cap_but_never_raise():
    limits = RunSettings(max_memory="512m", max_cpus=1, max_timeout_seconds=600)
    got = effective_resources(Resources(memory="2g", cpus=4, timeout_seconds=1800), limits)
    assert (got.memory_bytes, got.cpus, got.timeout_seconds) == (512 * 1024**2, 1, 600)
    assert len(got.notes) == 3
    small = effective_resources(Resources(memory="64m", cpus=0.5, timeout_seconds=5), limits)
    assert (small.memory_bytes, small.cpus, small.notes) == (64 * 1024**2, 0.5, ())
    with pytest.raises(InvalidRun, match="asks for 1 GPU"):
        effective_resources(Resources(gpus=1), limits)
    assert effective_resources(Resources(gpus=1), RunSettings(max_gpus=2)).gpus == 1
    with pytest.raises(InvalidRun, match="network access"):
        effective_resources(Resources(network=True), limits)


def test_readable_sizes_and_durations():
    assert format_bytes(512 * 1024**2) == "512 MiB"
    assert format_bytes(1536 * 1024**2) == "1.5 GiB"
    assert format_duration(1800) == "30 min" and format_duration(5400) == "1 h 30 min"
    assert format_duration(2) == "2 s"


def test_states_only_move_forward():
    assert can_move(RunState.QUEUED, RunState.PULLING)
    assert can_move(RunState.RUNNING, RunState.TIMED_OUT)
    assert can_move(RunState.STARTING, RunState.QUEUED)  # an infrastructure retry
    assert not can_move(RunState.SUCCEEDED, RunState.FAILED)
    assert not can_move(RunState.QUEUED, RunState.RUNNING)


def test_outputs_refuse_hard_links_fifos_and_escapes(tmp_path):
    outputs = tmp_path / "outputs"
    (outputs / "sub").mkdir(parents=True)
    (outputs / "a.txt").write_text("a")
    (outputs / "sub" / "b.txt").write_text("bb")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    os.link(secret, outputs / "hard.txt")
    os.mkfifo(outputs / "pipe")
    (outputs / "up").symlink_to("../secret.txt")
    (outputs / "_metrics.json").write_text('{"acc": 0.9, "name": "x", "nan": NaN}')
    (outputs / "_failure.txt").write_text("x" * 5000)
    report = collect_outputs(outputs, max_bytes=10_000)
    assert [f["path"] for f in report.files] == ["_failure.txt", "_metrics.json", "a.txt", "sub/b.txt"]
    assert sorted(report.refused) == ["hard.txt", "pipe", "up"]
    assert secret.read_text() == "secret"  # never touched through a link
    assert report.metrics == {"acc": 0.9}
    assert sum("is not a finite number" in w for w in report.warnings) == 2
    assert len(report.failure_text) == 4001
    over = collect_outputs(outputs, max_bytes=4000)
    assert over.over_cap and "_failure.txt" in over.refused
