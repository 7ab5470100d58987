"""A model that fork-bombs, writes 10,000 nested folders or gets one blob twice, run by a
platform whose run user must not be root: each ends with a verdict that says what happened."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlrun_kernel.runs import Executor, LocalInput, RunRequest
from mlrun_kernel.runs.errors import RunUserError
from mlrun_kernel.runs.outputs import remove_tree
from tests.runs.conftest import fast_settings, private_executor
from tests.runs.test_engines import swarm  # noqa: F401 - the one-node swarm fixture

pytestmark = [pytest.mark.docker, pytest.mark.registry]

MODEL = "mlk-test-hardening"


def run(executor: Executor, task: str, inputs=None, owner="ana"):
    info = executor.submit(RunRequest(model=MODEL, task=task, owner=owner, inputs=inputs or {}))
    return executor.wait(info.id, timeout=120)


# ------------------------------------------------------------------ the pids limit


def test_a_fork_bomb_ends_saying_it_reached_the_process_limit(make_executor):
    executor = make_executor(pids_limit=64)
    info = run(executor, "forkbomb")
    assert info.state == "failed"
    assert info.reason.startswith("process limit reached (pids 64): exit code 3"), info.reason
    assert "fork failed" in info.reason  # the model's own _failure.txt still follows


def test_a_fork_bomb_that_never_ends_times_out_saying_it_also_reached_the_process_limit(make_executor):
    executor = make_executor(pids_limit=48, max_timeout_seconds=3)
    info = run(executor, "forkbomb_forever")
    assert info.state == "timed_out"
    assert info.reason == "timed out after 3 s; process limit reached (pids 48)"


def test_a_model_that_survives_the_process_limit_succeeds_with_a_warning(make_executor):
    executor = make_executor(pids_limit=32)
    info = run(executor, "forkbomb_survivor")
    assert info.state == "succeeded", info.reason
    assert info.result["forked"] < 32
    assert any("process limit (pids 32)" in w for w in info.warnings), info.warnings


def test_a_run_that_stays_under_the_process_limit_says_nothing_of_it(make_executor):
    info = run(make_executor(pids_limit=64), "whoami")
    assert info.state == "succeeded", info.reason
    assert not any("process limit" in w for w in info.warnings)


# ------------------------------------------------------------------ the run user


@pytest.fixture
def empty_store(tmp_path: Path):
    from mlrun_kernel.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    yield store
    store.close()


@pytest.mark.parametrize("user", ["0", "0:0", "root", "root:root", "1000:0", " 0:1000", "00:7"])
def test_a_root_run_user_is_refused_when_the_executor_is_made(empty_store, tmp_path, user):
    with pytest.raises(RunUserError, match="must not run as root") as caught:
        Executor(empty_store, settings=fast_settings(run_user=user), root=tmp_path / "runs")
    assert "MLK_RUN_USER" in str(caught.value) and "65534:65534" in str(caught.value)
    assert not (tmp_path / "runs").exists()  # refused before anything was made


def test_an_executor_process_with_a_root_run_user_stops_with_the_reason_not_a_traceback(tmp_path):
    env = {**os.environ, "MLK_RUN_USER": "0:0", "MLK_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "mlrun_kernel.runs"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "MLK_RUN_USER is '0:0': model containers must not run as root" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("user", ["nobody", "ana:ana", "12x", "1000:1000:1000", ""])
def test_a_run_user_that_is_not_numeric_is_refused(empty_store, tmp_path, user):
    with pytest.raises(RunUserError, match="give a numeric uid:gid"):
        Executor(empty_store, settings=fast_settings(run_user=user), root=tmp_path / "runs")


def test_the_outputs_folder_belongs_to_the_configured_run_user(make_executor):
    executor = make_executor(run_user="4242:4343")
    info = run(executor, "whoami")
    assert info.state == "succeeded", info.reason
    assert info.result == {"uid": 4242, "gid": 4343, "outputs_owner": [4242, 4343]}
    assert (info.outputs_dir / "hello.txt").read_text() == "hello\n"


# ------------------------------------------------------------------ deep outputs


@pytest.fixture
def no_deep_leftovers(tmp_path: Path):
    """Whatever the test finds, no 10,000-deep tree stays behind (pytest's own cleanup of
    old temporary folders recurses, and would fail on it in everybody's later sessions)."""
    yield
    for outputs in tmp_path.glob("runs/*/outputs"):
        if (outputs / "d").is_dir():
            fd = os.open(outputs, os.O_RDONLY | os.O_DIRECTORY)
            try:
                remove_tree(fd, "d")
            finally:
                os.close(fd)


def test_ten_thousand_nested_folders_are_refused_with_a_reason_and_the_rest_is_kept(
    executor, no_deep_leftovers
):
    info = run(executor, "nested")
    assert info.state == "succeeded", info.reason
    assert [f["path"] for f in info.outputs] == ["ok.txt"]
    assert any("nested deeper than" in w and "removed" in w for w in info.warnings), info.warnings
    assert not any("internal error" in w for w in info.warnings)
    assert (info.outputs_dir / "ok.txt").read_text() == "fine\n"
    depth, folder = 0, info.outputs_dir
    while (folder / "d").is_dir():
        folder, depth = folder / "d", depth + 1
    assert depth <= 64
    executor.remove(info.id)
    assert not info.outputs_dir.exists()


# ------------------------------------------------------------------ one blob, two inputs


def _seen(info) -> dict:
    assert info.state == "succeeded", info.reason
    return info.result


def test_one_dataset_version_given_to_two_inputs_is_mounted_twice(make_executor):
    executor = make_executor()
    datasets = executor.datasets
    datasets.upload_file("ana", "rows", b"a,b\n1,2\n", filename="rows.csv")
    seen = _seen(run(executor, "inputs", {"a": "rows", "b": "rows"}))
    assert seen == {"a": {"rows.csv": "a,b"}, "b": {"rows.csv": "a,b"}}


def test_two_datasets_with_identical_bytes_are_both_mounted(make_executor):
    executor = make_executor()
    datasets = executor.datasets
    datasets.upload_file("ana", "first", b"x,y\n1,2\n", filename="first.csv")
    datasets.upload_file("ana", "second", b"x,y\n1,2\n", filename="second.csv")
    seen = _seen(run(executor, "inputs", {"a": "first", "b": "second"}))
    assert seen == {"a": {"first.csv": "x,y"}, "b": {"second.csv": "x,y"}}


def test_one_local_file_given_to_two_inputs_is_mounted_twice(executor, tmp_path):
    data = tmp_path / "same.csv"
    data.write_text("p,q\n")
    seen = _seen(run(executor, "inputs", {"a": LocalInput(data), "b": LocalInput(data)}))
    assert seen == {"a": {"same.csv": "p,q"}, "b": {"same.csv": "p,q"}}


def test_one_local_folder_given_to_two_inputs_is_mounted_twice(executor, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "one.txt").write_text("one\n")
    seen = _seen(run(executor, "inputs", {"a": LocalInput(folder), "b": LocalInput(Path(folder))}))
    assert seen == {"a": {"one.txt": "one"}, "b": {"one.txt": "one"}}


# ------------------------------------------------------------------ the same on Swarm


def test_on_a_one_node_swarm_the_same_verdicts_user_walk_and_mounts(
    swarm,  # noqa: F811 - the fixture imported above
    no_deep_leftovers,
    store,
    tmp_path,
    registry_addr,
):
    executor = private_executor(
        store, swarm, tmp_path / "runs", registry_addr, backend="swarm", pids_limit=64, run_user="4242:4343"
    ).start()
    try:
        data = tmp_path / "same.csv"
        data.write_text("p,q\n")
        twins = _seen(run(executor, "inputs", {"a": LocalInput(data), "b": LocalInput(data)}))
        assert twins == {"a": {"same.csv": "p,q"}, "b": {"same.csv": "p,q"}}
        bomb = run(executor, "forkbomb")
        assert bomb.reason.startswith("process limit reached (pids 64): exit code 3"), bomb.reason
        who = run(executor, "whoami")
        assert who.result == {"uid": 4242, "gid": 4343, "outputs_owner": [4242, 4343]}
        deep = run(executor, "nested")
        assert deep.state == "succeeded", deep.reason
        assert any("nested deeper than" in w for w in deep.warnings), deep.warnings
    finally:
        executor.stop()
