"""The CLI (`mlk run`, `mlk runs ...`), opt-in reuse, datasets as inputs, live logs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time

import pytest

from mlrun_kernel.cli import runs as runs_cli
from mlrun_kernel.runs import Executor, InvalidRun, RunRequest
from mlrun_kernel.service.threads import in_thread
from tests.runs.conftest import leftover_containers

pytestmark = [pytest.mark.docker, pytest.mark.registry]


def mlk(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mlk")
    sub = parser.add_subparsers(dest="command", required=True)
    runs_cli.add_parser(sub)
    args = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture
def cli_env(monkeypatch, tmp_path, registry_url, test_models):
    from mlrun_kernel.config import settings
    from mlrun_kernel.runs.limits import run_settings

    monkeypatch.setenv("MLK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLK_REGISTRY_URL", registry_url)
    monkeypatch.setenv("MLK_EXECUTOR_NAME", f"cli-{tmp_path.name}")
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    settings.cache_clear()
    run_settings.cache_clear()
    yield tmp_path
    settings.cache_clear()
    run_settings.cache_clear()


def test_expert_runs_a_model_from_the_cli_and_manages_runs(cli_env, csv_file, capsys, docker_client):
    params = cli_env / "params.json"
    params.write_text(json.dumps({"threshold": 0.25}))
    code = mlk(
        "run",
        "mlk-test-behaving:1.0.0",
        "--task",
        "predict",
        "--input",
        f"data={csv_file}",
        "--params",
        str(params),
        "--follow",
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "to stderr" in out and "done" in out  # the log streamed
    run_id = out.split()[1].rstrip(":")
    assert f"run {run_id} succeeded" in out
    assert "metrics: rows=3, threshold=0.25" in out
    outputs = out.split("outputs: ")[1].split()[0]
    assert (cli_env / "data" / "runs" / run_id / "outputs").samefile(outputs)

    assert mlk("run", "mlk-test-behaving", "--task", "fail", "--param", "x=1") == 1
    failed = capsys.readouterr().out
    assert "failed: exit code 3: the model could not converge" in failed

    mlk("runs", "list")
    listing = capsys.readouterr().out
    assert run_id in listing and "succeeded" in listing and "failed" in listing
    mlk("runs", "show", run_id)
    shown = capsys.readouterr().out
    assert "queued" in shown and "collecting" in shown and "copy.txt" in shown
    mlk("runs", "logs", run_id)
    assert "done" in capsys.readouterr().out
    assert mlk("runs", "rerun", run_id) == 0
    assert "succeeded" in capsys.readouterr().out
    assert mlk("run", "mlk-test-behaving", "--task", "sleep", "--detach") == 0
    queued = capsys.readouterr().out.split()[1]
    mlk("runs", "cancel", queued)
    assert f"run {queued} cancelled: cancelled by ana" in capsys.readouterr().out
    mlk("runs", "rm", run_id)
    assert not (cli_env / "data" / "runs" / run_id).exists()
    assert leftover_containers(docker_client, f"cli-{cli_env.name}-cli-{os.getpid()}") == []


def test_reuse_returns_an_identical_successful_run(executor: Executor, csv_file):
    from mlrun_kernel.runs import LocalInput

    request = RunRequest(
        model="mlk-test-behaving",
        task="predict",
        owner="ana",
        inputs={"data": LocalInput(csv_file)},
        parameters={"threshold": 0.3},
    )
    first = executor.wait(executor.submit(request).id, timeout=60)
    again = executor.submit(RunRequest(**(request.__dict__ | {"reuse": True})))
    assert again.state == "succeeded" and again.reused_from == first.id
    assert again.outputs_dir == first.outputs_dir and again.metrics == first.metrics
    # different parameters, or no opt-in: a real run
    other = executor.submit(RunRequest(**(request.__dict__ | {"reuse": True, "parameters": {}})))
    assert other.reused_from is None and not any(e.reason for e in other.events)
    plain = executor.submit(request)
    assert plain.reused_from is None
    for run in (other, plain):
        executor.wait(run.id, timeout=60)


def test_dataset_versions_are_mounted_read_only_and_held(make_executor):
    executor = make_executor()
    datasets = executor.datasets
    version = datasets.upload_file("ana", "rows", b"a,b\n1,2\n3,4\n5,6\n", filename="rows.csv")
    run = executor.submit(
        RunRequest(
            model="mlk-test-behaving", task="predict", owner="ana", inputs={"data": "rows"}, parameters={}
        )
    )
    assert run.inputs["data"]["version_id"] == version.id
    assert [h.holder for h in datasets.holds(version.id)] == [f"run:{run.id}"]
    info = executor.wait(run.id, timeout=60)
    assert info.state == "succeeded", info.reason
    assert info.metrics["rows"] == 4
    assert datasets.holds(version.id) == []


def test_a_rerun_reads_the_very_dataset_version_the_first_run_read(make_executor):
    executor = make_executor()
    datasets = executor.datasets

    def seen(info) -> str:
        info = executor.wait(info.id, timeout=120)
        assert info.state == "succeeded", info.reason
        return info.result["a"]["rows.csv"]

    datasets.upload_file("ana", "rows", b"old,1\n", filename="rows.csv")
    inputs = {"a": "rows", "b": "rows"}
    first = executor.submit(RunRequest(model="mlk-test-hardening", task="inputs", owner="ana", inputs=inputs))
    assert seen(first) == "old,1"
    datasets.upload_file("ana", "rows", b"new,2\n", filename="rows.csv")  # version 2 of rows
    again = executor.rerun(first.id)
    assert again.inputs["a"]["version_id"] == first.inputs["a"]["version_id"]
    assert seen(again) == "old,1"
    # rows deleted and made again: its version 1 is other bytes, not what the first run read
    datasets.delete("ana", "rows")
    datasets.upload_file("ana", "rows", b"other,3\n", filename="rows.csv")
    with pytest.raises(InvalidRun, match=r"input 'a': no dataset version with id \d+ that ana can see"):
        executor.rerun(first.id)


def test_a_subscriber_gets_the_lines_while_the_model_is_still_printing(executor: Executor):
    """Live, not at the end: the first half of the lines arrive before the model prints its last.

    Measured against the model's own clock (each line carries the time it was printed), so
    a loaded machine slows both sides alike; latency itself is bench/bench_runs.py's job.
    """
    run = executor.submit(
        RunRequest(
            model="mlk-test-behaving", task="clock", owner="ana", parameters={"count": 15, "interval": 0.2}
        )
    )
    printed, received = [], []
    for line in executor.follow(run.id):
        if line.text.startswith("clock "):
            printed.append(float(line.text.split()[1]))
            received.append(time.time())
    assert len(printed) == 15
    last_printed = printed[-1]
    assert all(at < last_printed for at in received[:7]), (received, printed)
    assert executor.wait(run.id, timeout=30).state == "succeeded"


def test_async_callers_reach_the_executor_through_the_thread_pool(executor: Executor):
    async def main():
        info = await in_thread(
            executor.submit, RunRequest(model="mlk-test-behaving", task="noop", owner="ana")
        )
        ticks = []
        beat = asyncio.create_task(_tick(ticks))
        done = await in_thread(executor.wait, info.id, 60)
        beat.cancel()
        return done, ticks

    async def _tick(ticks):
        while True:
            ticks.append(threading.get_ident())
            await asyncio.sleep(0.01)

    done, ticks = asyncio.run(main())
    assert done.state == "succeeded"
    assert len(ticks) > 5  # the loop kept running while the engine was waited on
