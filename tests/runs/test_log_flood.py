"""A model that floods its log must not break its run, the store, or the people sharing it.

The flood model (tests/runs/images/flood) prints two million short lines as fast
as Python can and exits 0; a run of it must end ``succeeded`` with its log cut
at the cap, while the store stays free for every other writer, also when the
CLI's embedded executor and an executor process share one SQLite file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlrun_kernel.runs import Executor, RunRequest
from mlrun_kernel.runs.backends.local import LocalBackend
from mlrun_kernel.runs.logfile import STRIDE, LogFileWriter, count_lines, index_for, read_lines
from mlrun_kernel.runs.logs import LogHub, LogRecorder, stored_lines
from mlrun_kernel.store import Store, open_store
from mlrun_kernel.store.models import Run, RunLogLine
from tests.runs.conftest import fast_settings, sync_into

MLK = str(Path(sys.executable).with_name("mlk"))
TWO_MILLION = 2_000_000
MARKER = "[mlk: log truncated at"


def flood(executor: Executor, count: int = TWO_MILLION, timeout: float = 240):
    info = executor.submit(
        RunRequest(model="mlk-test-flood", task="flood", owner="ana", parameters={"count": count})
    )
    return executor.wait(info.id, timeout=timeout)


def last_lines(executor: Executor, run_id: str, n: int = 2) -> list[str]:
    info = executor.get(run_id)
    return [line.text for line in executor.logs(run_id, after=max(0, info.log_lines - n))]


# --------------------------------------------------------------------------- real floods


@pytest.mark.docker
@pytest.mark.registry
def test_a_model_printing_two_million_lines_succeeds_with_its_log_cut_at_the_cap(make_executor):
    executor = make_executor()  # the default cap: 16 MiB
    info = flood(executor)
    assert (info.state, info.reason, info.exit_code) == ("succeeded", None, 0)
    assert info.log_truncated
    assert last_lines(executor, info.id)[-1] == f"{MARKER} 16 MiB; later lines are not kept]"
    first = executor.logs(info.id, limit=3)
    assert [(line.seq, line.text) for line in first] == [(1, "line 0"), (2, "line 1"), (3, "line 2")]
    # every line is where its seq says, across the index's strides
    for after in (STRIDE - 1, STRIDE, 5 * STRIDE + 7, info.log_lines // 2, info.log_lines - 2):
        line = executor.logs(info.id, after=after, limit=1)[0]
        assert (line.seq, line.text) == (after + 1, f"line {after}")
    kept = info.log_lines - 1
    assert sum(len(f"line {i}") + 1 for i in range(kept)) <= 16 * 1024 * 1024
    assert sum(len(f"line {i}") + 1 for i in range(kept + 1)) > 16 * 1024 * 1024 - 100
    assert [e.state for e in info.events][-3:] == ["running", "collecting", "succeeded"]


@pytest.mark.docker
@pytest.mark.registry
def test_a_flood_and_a_follower_see_every_kept_line_in_order(make_executor):
    executor = make_executor(log_max_bytes=2 * 1024 * 1024)
    run = executor.submit(
        RunRequest(model="mlk-test-flood", task="flood", owner="ana", parameters={"count": 400_000})
    )
    seqs, texts = [], []
    for line in executor.follow(run.id):
        seqs.append(line.seq)
        texts.append(line.text)
    info = executor.get(run.id)
    assert info.state == "succeeded" and info.log_truncated
    assert seqs == list(range(1, info.log_lines + 1))
    assert texts[:-1] == [f"line {i}" for i in range(len(texts) - 1)]
    assert texts[-1].startswith(MARKER)


@pytest.fixture
def any_store(store_url: str, registry_url: str, test_models) -> Iterator[Store]:
    """A store on SQLite and on PostgreSQL, with the session registry's catalog."""
    store = open_store(store_url)
    sync_into(store, registry_url)
    yield store
    store.close()


@pytest.mark.docker
@pytest.mark.registry
@pytest.mark.postgres
def test_the_log_reads_the_same_after_a_restart_on_sqlite_and_postgresql(
    any_store: Store, store_url: str, tmp_path: Path, registry_addr: str, docker_client
):
    def executor_on(store: Store, name: str) -> Executor:
        return Executor(
            store,
            backend=LocalBackend(docker_client),
            settings=fast_settings(log_max_bytes=512 * 1024),
            root=tmp_path / "runs",
            registry=registry_addr,
            name=name,
        )

    first = executor_on(any_store, "before-restart").start()
    try:
        info = flood(first, count=200_000)
        before = [(e.seq, e.text) for e in first.logs(info.id, after=1000, limit=50)]
    finally:
        first.stop()
    assert info.state == "succeeded" and info.log_truncated

    restarted_store = open_store(store_url)  # a new process would open it the same way
    try:
        again = executor_on(restarted_store, "after-restart")
        assert [(e.seq, e.text) for e in again.logs(info.id, after=1000, limit=50)] == before
        assert before[0] == (1001, "line 1000")
        followed = list(again.follow(info.id, after=info.log_lines - 3))
        assert [e.seq for e in followed] == [info.log_lines - 2, info.log_lines - 1, info.log_lines]
        assert followed[-1].text.startswith(MARKER) and followed[-1].stream == "system"
        assert again.get(info.id).log_lines == info.log_lines
    finally:
        restarted_store.close()


@pytest.mark.docker
@pytest.mark.registry
def test_state_moves_wait_out_a_writer_holding_the_store_past_its_busy_timeout(make_executor, store: Store):
    """The busy timeout is 10 s; a writer that keeps the lock 12 s used to fail the run's moves."""
    executor = make_executor()
    run = executor.submit(
        RunRequest(model="mlk-test-behaving", task="sleep", owner="ana", parameters={"seconds": 1})
    )
    deadline = time.monotonic() + 60
    while executor.get(run.id).state != "running":
        assert time.monotonic() < deadline, executor.get(run.id)
        time.sleep(0.05)
    held = threading.Event()

    def hold_the_lock() -> None:
        db = sqlite3.connect(store.url.removeprefix("sqlite:///"), timeout=30)
        db.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(12)
        db.rollback()
        db.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    held.wait(30)
    info = executor.wait(run.id, timeout=120)
    holder.join()
    assert (info.state, info.reason) == ("succeeded", None)
    assert [e.state for e in info.events][-2:] == ["collecting", "succeeded"]


@pytest.mark.docker
@pytest.mark.registry
def test_the_cli_and_an_executor_process_share_one_sqlite_store_through_two_floods(
    tmp_path: Path, registry_url: str, registry_addr: str, test_models
):
    """Two real processes on one SQLite file: ``python -m mlrun_kernel.runs`` (as the service
    runs its executor) carries one flood while ``mlk run`` (embedded executor) carries another."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLK_") and k != "JUPYTERHUB_API_TOKEN"}
    env |= {
        "MLK_DATA_DIR": str(tmp_path / "data"),
        "MLK_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'store.sqlite'}",
        "MLK_REGISTRY_URL": registry_url,
        "MLK_HEARTBEAT_SECONDS": "1",
    }
    (tmp_path / "data").mkdir()
    subprocess.run([MLK, "models", "list"], env=env, check=True, capture_output=True)  # store + catalog
    service = subprocess.Popen(  # one run at a time: the CLI's run is left for the CLI
        [sys.executable, "-m", "mlrun_kernel.runs", "--name", "service-like", "--registry", registry_addr],
        env=env | {"MLK_MAX_CONCURRENT_RUNS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert service.stdout is not None
        assert b"ready" in service.stdout.readline()
        flood_args = ["--task", "flood", "--param", f"count={TWO_MILLION}"]
        queued = subprocess.run(
            [MLK, "run", "mlk-test-flood", *flood_args, "--detach", "--json"],
            env=env,
            capture_output=True,
            check=True,
        )
        detached = _run_id(queued.stdout)
        store = open_store(env["MLK_DATABASE_URL"])
        deadline = time.monotonic() + 120
        while _state(store, detached) != "running":  # flooding when the CLI's run starts
            assert time.monotonic() < deadline, _state(store, detached)
            time.sleep(0.05)
        cli = subprocess.run(
            [MLK, "run", "mlk-test-flood", *flood_args, "--json"], env=env, capture_output=True
        )
        assert cli.returncode == 0, cli.stderr.decode()
        assert b"Traceback" not in cli.stderr and b"locked" not in cli.stderr, cli.stderr.decode()
        ran = json.loads(cli.stdout[cli.stdout.index(b"{") :])
        try:
            deadline = time.monotonic() + 240
            while _state(store, detached) not in ("succeeded", "failed", "cancelled", "timed_out"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            for run_id in (ran["id"], detached):
                with store.session() as s:
                    row = s.get(Run, run_id)
                    assert row is not None
                    assert (row.state, row.reason, row.exit_code) == ("succeeded", None, 0), run_id
                    assert row.log_truncated
                    lines = row.log_lines
                last = stored_lines(store, run_id, after=lines - 1)
                assert last[0].text.startswith(MARKER), run_id
            with store.session() as s:
                executors = {s.get(Run, run_id).executor for run_id in (ran["id"], detached)}  # type: ignore[union-attr]
            assert "service-like" in executors and len(executors) == 2
        finally:
            store.close()
    finally:
        service.terminate()
        _, err = service.communicate(timeout=60)
    assert b"Traceback" not in err and b"locked" not in err, err.decode()


@pytest.mark.docker
@pytest.mark.registry
def test_the_service_api_reads_the_same_lines_before_and_after_it_restarts(
    make_executor, store: Store, tmp_path: Path, registry_url: str
):
    import httpx

    from bench.service_process import TOKEN, start_service
    from tests.conftest import free_port

    executor = make_executor(log_max_bytes=512 * 1024)
    info = flood(executor, count=100_000)
    assert info.state == "succeeded" and info.log_truncated
    headers = {"Authorization": f"token {TOKEN}"}

    def read_through_the_api() -> tuple[list[tuple[int, str]], list[str]]:
        service, url = start_service(tmp_path / "service", free_port(), registry_url, store_url=store.url)
        try:
            page = httpx.get(
                f"{url}api/runs/{info.id}/logs", params={"after": 2047, "limit": 3}, headers=headers
            )
            assert page.status_code == 200, page.text
            events = []
            with httpx.stream(
                "GET",
                f"{url}api/runs/{info.id}/logs/stream",
                headers=headers | {"Last-Event-ID": str(info.log_lines - 2)},
                timeout=30,
            ) as response:
                events = [line for line in response.iter_lines() if line.startswith("id:")]
            return [(e["seq"], e["text"]) for e in page.json()], events
        finally:
            service.terminate()
            service.wait(timeout=30)

    (tmp_path / "service").mkdir()
    before = read_through_the_api()
    assert before[0] == [(2048, "line 2047"), (2049, "line 2048"), (2050, "line 2049")]
    assert before[1] == [f"id: {info.log_lines - 1}", f"id: {info.log_lines}"]
    assert read_through_the_api() == before


def _run_id(output: bytes) -> str:
    text = output.decode()
    if "{" in text:
        return str(json.loads(text[text.index("{") :])["id"])
    return text.split()[1].rstrip(":")


def _state(store: Store, run_id: str) -> str | None:
    with store.session() as s:
        row = s.get(Run, run_id)
        return row.state if row is not None else None


# --------------------------------------------------------------------------- the file, alone


def test_a_reader_sees_whole_lines_only_and_a_reopened_log_goes_on_after_them(tmp_path: Path):
    path = tmp_path / "log"
    writer = LogFileWriter(path)
    at = datetime(2026, 12, 1, 21, 46, 28, 123456, tzinfo=UTC)
    for start in range(0, 5000, 1000):
        writer.append("stdout", at, [f"line {i}".encode() for i in range(start, start + 1000)])
    writer.close()
    with open(path, "ab") as fh:  # a writer killed in the middle of a line
        fh.write(b"2026-12-01T21:46:29.000000Z e half a li")
    assert count_lines(path) == 5000
    assert [e.text for e in read_lines(path, after=4998)] == ["line 4998", "line 4999"]
    index = index_for(path)
    index.write_bytes(index.read_bytes()[:8])  # the index lost its tail too
    reopened = LogFileWriter(path)
    assert reopened.lines == 5000 and reopened.last is not None and reopened.last.text == "line 4999"
    reopened.append("stderr", at + timedelta(seconds=1), [b"after the restart"])
    reopened.close()
    assert len(index.read_bytes()) == 8 * (5001 // STRIDE + 1)
    entries = read_lines(path, after=4999)
    assert [(e.seq, e.stream, e.text, e.at) for e in entries] == [
        (5000, "stdout", "line 4999", at),
        (5001, "stderr", "after the restart", at + timedelta(seconds=1)),
    ]
    assert read_lines(tmp_path / "missing", after=0) == []


def _store_with_run(tmp_path: Path) -> tuple[Store, str]:
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    with store.session() as s:
        s.add(
            Run(
                id="r1",
                owner="ana",
                model="m",
                model_ref="1",
                digest="sha256:0",
                image="x",
                task="t",
                reuse_key="k",
                storage=str(tmp_path / "runs" / "r1"),
            )
        )
    return store, "r1"


def test_chunks_become_lines_with_the_caps_progress_and_utf8_handled(tmp_path: Path):
    store, run_id = _store_with_run(tmp_path)
    progress: list[tuple[float, str | None]] = []
    recorder = LogRecorder(
        store,
        run_id,
        hub=LogHub(),
        max_bytes=4096,
        max_line_bytes=100,
        on_progress=lambda value, text: progress.append((value, text)),
    )
    recorder.add_output("stdout", b"first li")
    recorder.add_output("stdout", b"ne\r\nmlk:progress 0.5 half\nbad \xff byte\n")
    recorder.add_output("stderr", b"x" * 150)  # longer than a line may be, no newline yet
    recorder.add_output("stderr", b"y" * 50 + b"\nnext\n")
    recorder.add_output("stdout", b"no newline at the end")
    recorder.end_output()
    recorder.add_output("stdout", b"".join(b"%04d\n" % i for i in range(2000)))  # past the cap
    recorder.add_output("stdout", b"dropped\n")
    recorder.system("not kept either: the log is full")
    recorder.close()
    lines = stored_lines(store, run_id, limit=100_000)
    texts = [line.text for line in lines]
    assert texts[:6] == [
        "first line",
        "mlk:progress 0.5 half",
        "bad \ufffd byte",
        "x" * 100 + " [mlk: line cut at 100 bytes]",
        "next",
        "no newline at the end",
    ]
    assert [line.stream for line in lines[:6]] == ["stdout", "stdout", "stdout", "stderr", "stderr", "stdout"]
    assert texts[6] == "0000" and texts[-1] == f"{MARKER} 4 KiB; later lines are not kept]"
    assert sum(len(t.encode()) + 1 for t in texts[:-1]) <= 4096
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    assert progress == [(0.5, "half")]
    with store.session() as s:
        row = s.get(Run, run_id)
        assert row is not None
        assert (row.log_lines, row.log_truncated, row.progress) == (len(lines), True, 0.5)
        assert row.log_path == str(tmp_path / "runs" / "r1" / "log")
    store.close()


def test_a_run_logged_before_log_files_is_read_from_the_table_and_continued_in_a_file(tmp_path: Path):
    store, run_id = _store_with_run(tmp_path)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with store.session() as s:
        s.add_all(RunLogLine(run_id=run_id, seq=i, at=at, stream="stdout", text=f"old {i}") for i in (1, 2))
    assert [line.text for line in stored_lines(store, run_id)] == ["old 1", "old 2"]
    recorder = LogRecorder(store, run_id, hub=LogHub(), max_bytes=1 << 20, max_line_bytes=1000)
    recorder.add_output("stdout", b"new\n")
    recorder.close()
    assert [(line.seq, line.text) for line in stored_lines(store, run_id)] == [
        (1, "old 1"),
        (2, "old 2"),
        (3, "new"),
    ]
    store.close()


@pytest.mark.postgres
def test_migration_0005_gives_runs_their_log_file_and_keeps_older_logs(store_url: str):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect, text

    from mlrun_kernel.store import Base

    store = Store(store_url)
    try:
        store.upgrade("0004")
        with store.engine.begin() as conn:  # a run logged into rows, before log files
            conn.execute(
                text(
                    "INSERT INTO runs (id, owner, model, model_ref, digest, image, task, command, inputs,"
                    " parameters, resources, reuse_key, state, created_at, state_changed_at, attempts,"
                    " cancel_requested, storage, warnings, log_lines, log_bytes, log_truncated)"
                    " VALUES ('old', 'ana', 'm', '1', 'sha256:0', 'x', 't', NULL, '{}', '{}', '{}', 'k',"
                    " 'succeeded', :at, :at, 1, false, '/nowhere', '[]', 1, 4, false)"
                ),
                {"at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
            conn.execute(
                text(
                    "INSERT INTO run_log_lines (run_id, seq, at, stream, text)"
                    " VALUES ('old', 1, :at, 'stdout', 'kept')"
                ),
                {"at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
        store.upgrade()
        assert "log_path" in {c["name"] for c in inspect(store.engine).get_columns("runs")}
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(context, Base.metadata) if "runs" in repr(d)[:200]]
        assert diffs == []
        assert [(e.seq, e.text) for e in stored_lines(store, "old")] == [(1, "kept")]
    finally:
        store.close()


@pytest.mark.docker
@pytest.mark.registry
def test_mlk_run_follow_and_mlk_runs_logs_print_every_line_of_a_long_log_once_in_order(
    tmp_path: Path, registry_url: str, test_models
):
    """``--follow`` prints the lines in batches (one write each) and ``mlk runs logs`` pages through
    the whole stored log: before, the embedded ``runs logs`` stopped at the first 10,000 lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLK_") and k != "JUPYTERHUB_API_TOKEN"}
    env |= {
        "MLK_DATA_DIR": str(tmp_path / "data"),
        "MLK_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'store.sqlite'}",
        "MLK_REGISTRY_URL": registry_url,
    }
    (tmp_path / "data").mkdir()
    count = 25_000
    expected = [f"line {i}" for i in range(count)]
    followed = subprocess.run(
        [MLK, "run", "mlk-test-flood", "--task", "flood", "--param", f"count={count}", "--follow"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert followed.returncode == 0, followed.stderr
    out = followed.stdout.splitlines()
    run_id = out[0].split()[1].rstrip(":")
    assert [line for line in out if line.startswith("line ")] == expected
    stored = subprocess.run(
        [MLK, "runs", "logs", run_id], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert stored.stdout.splitlines() == expected
    stamped = subprocess.run(
        [MLK, "runs", "logs", run_id, "-t"], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert [line.split(" ", 1)[1] for line in stamped.stdout.splitlines()] == expected
