"""A model user runs a model and gets a true end, with outputs, metrics, logs and reasons."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from mlrun_kernel.runs import Executor, InvalidRun, LocalInput, RunRequest
from tests.runs.conftest import leftover_containers

pytestmark = [pytest.mark.docker, pytest.mark.registry]


def run(executor: Executor, task: str, model: str = "mlk-test-behaving", **kwargs):
    info = executor.submit(RunRequest(model=model, task=task, owner="ana", **kwargs))
    return executor.wait(info.id, timeout=90)


def test_model_user_runs_a_model_and_gets_outputs_metrics_and_logs(
    executor: Executor, csv_file: Path, docker_client: docker.DockerClient
):
    info = run(executor, "predict", inputs={"data": LocalInput(csv_file)}, parameters={"threshold": 0.7})
    assert info.state == "succeeded", info.reason
    assert [e.state for e in info.events] == [
        "queued",
        "pulling",
        "starting",
        "running",
        "collecting",
        "succeeded",
    ]
    assert all(e.at is not None for e in info.events)
    assert info.exit_code == 0
    assert info.progress == 1.0
    assert info.metrics == {"rows": 3.0, "threshold": 0.7}
    paths = {f["path"] for f in info.outputs}
    assert {"copy.txt", "nested/deep.txt", "_metrics.json", "_result.json"} <= paths
    assert (info.outputs_dir / "copy.txt").read_text() == "rows=3 threshold=0.7\n"
    seen = info.result
    # the contract at run time
    assert seen["params"] == {"threshold": 0.7}
    assert seen["inputs"] == {"data": ["rows.csv"]}
    assert seen["env"] == {
        "MLK_TASK": "predict",
        "MLK_RUN_ID": info.id,
        "MLK_PARAMS": "/mlk/params.json",
        "MLK_INPUTS": "/mlk/inputs",
        "MLK_OUTPUTS": "/mlk/outputs",
    }
    # hardening
    assert (seen["uid"], seen["gid"]) == (65534, 65534)
    assert int(seen["cap_eff"], 16) == 0 and int(seen["cap_bnd"], 16) == 0
    assert seen["no_new_privs"] == "1"
    assert seen["pids_max"] == "512"
    assert int(seen["memory_max"]) == 256 * 1024 * 1024
    assert seen["interfaces"] == ["lo"]
    assert seen["input_writable"] is False
    assert seen["root_writable"] is False
    assert seen["tmp_writable"] is True
    # logs: kept in the store, timestamped, both streams, progress parsed
    lines = executor.logs(info.id)
    texts = [line.text for line in lines]
    assert "to stderr" in texts and "done" in texts
    assert {line.stream for line in lines} >= {"stdout", "stderr"}
    assert all(line.at >= info.started_at.replace(microsecond=0) for line in lines)
    # the container is gone
    assert leftover_containers(docker_client, executor.name) == []


def test_labels_name_run_owner_and_model(executor: Executor, docker_client: docker.DockerClient):
    info = executor.submit(
        RunRequest(model="mlk-test-behaving", task="sleep", parameters={"seconds": 5}, owner="ana")
    )
    for _ in range(100):
        if executor.get(info.id).state == "running":
            break
        import time

        time.sleep(0.1)
    (container,) = leftover_containers(docker_client, executor.name)
    labels = container.labels
    assert labels["io.mlkernel.run-id"] == info.id
    assert labels["io.mlkernel.owner"] == "ana"
    assert labels["io.mlkernel.model"] == "mlk-test-behaving"
    assert labels["io.mlkernel.model-digest"] == info.digest
    host = container.attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    binds = {b.split(":")[1]: b.split(":")[2] for b in host["Binds"]}
    assert binds["/mlk/params.json"] == "ro" and binds["/mlk/outputs"] == "rw"
    assert container.image.attrs["RepoDigests"][0].endswith(info.digest)
    executor.cancel(info.id, by="ana")
    assert executor.wait(info.id, timeout=30).reason == "cancelled by ana"


@pytest.mark.parametrize(
    ("task", "state", "reason"),
    [
        ("fail", "failed", "exit code 3: the model could not converge"),
        ("reject", "failed", "model rejected its input (exit 64): column 'sepal_length' is missing"),
    ],
)
def test_a_failing_model_ends_failed_with_its_reason(executor: Executor, task, state, reason):
    info = run(executor, task)
    assert (info.state, info.reason) == (state, reason)
    assert info.attempts == 1  # model failures are never retried


def test_out_of_memory_is_reported_with_the_limit(executor: Executor):
    info = run(executor, "predict", model="mlk-test-oom")
    assert info.state == "failed"
    assert info.reason == "out of memory (limit 48 MiB)"


def test_a_model_sleeping_past_its_limit_is_timed_out(executor: Executor):
    info = run(executor, "predict", model="mlk-test-sleeper")
    assert info.state == "timed_out"
    assert info.reason == "timed out after 2 s"
    assert [e.state for e in info.events][-1] == "timed_out"


def test_bad_requests_never_start(executor: Executor, csv_file: Path):
    with pytest.raises(InvalidRun, match="no model nope"):
        executor.submit(RunRequest(model="nope", task="predict"))
    with pytest.raises(InvalidRun, match="has no task 'train'"):
        executor.submit(RunRequest(model="mlk-test-behaving", task="train"))
    with pytest.raises(InvalidRun, match="input 'data' is required"):
        executor.submit(RunRequest(model="mlk-test-behaving", task="predict"))
    with pytest.raises(InvalidRun) as err:
        executor.submit(
            RunRequest(
                model="mlk-test-behaving",
                task="predict",
                inputs={"data": LocalInput(csv_file)},
                parameters={"threshold": 7},
            )
        )
    assert err.value.issues == [("/threshold", "must be <= 1")]
    assert executor.list() == []


def test_bad_json_gives_warnings_not_a_crash(executor: Executor):
    info = run(executor, "badjson")
    assert info.state == "succeeded"
    assert info.metrics is None and info.result is None
    assert any("_metrics.json is not valid JSON" in w for w in info.warnings)
    assert any("_result.json is not valid JSON" in w for w in info.warnings)


def test_params_file_is_the_validated_parameters_with_defaults(executor: Executor, csv_file):
    info = run(executor, "predict", inputs={"data": LocalInput(csv_file)})
    assert info.parameters == {"threshold": 0.5}
    stored = json.loads((info.outputs_dir.parent / "params.json").read_text())
    assert stored == {"threshold": 0.5}
