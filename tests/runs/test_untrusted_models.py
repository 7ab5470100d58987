"""Whatever a model does, the platform stays safe: links, floods, fork bombs, network."""

from __future__ import annotations

import pytest

from mlrun_kernel.runs import Executor, InvalidRun, RunRequest

pytestmark = [pytest.mark.docker, pytest.mark.registry]


def run(executor: Executor, task: str, model: str = "mlk-test-behaving", **params):
    info = executor.submit(RunRequest(model=model, task=task, owner="ana", parameters=params))
    return executor.wait(info.id, timeout=120)


def test_a_symlink_to_etc_passwd_is_refused_never_followed(executor: Executor):
    info = run(executor, "symlink")
    assert info.state == "succeeded"
    assert [f["path"] for f in info.outputs] == ["ok.txt"]
    assert any("outputs/passwd is a symbolic link to /etc/passwd" in w for w in info.warnings)
    assert any("outputs/etc is a symbolic link" in w for w in info.warnings)
    assert not (info.outputs_dir / "passwd").exists() and not (info.outputs_dir / "passwd").is_symlink()


def test_outputs_over_the_cap_fail_the_run_and_are_not_kept(make_executor):
    executor = make_executor(outputs_max_bytes=10 * 1024 * 1024)
    info = run(executor, "overcap", mib=30)
    assert info.state == "failed"
    assert info.reason == "outputs over the cap of 10 MiB"
    assert info.outputs_bytes <= 10 * 1024 * 1024
    assert not (info.outputs_dir / "big.bin").exists()


def test_a_slow_writer_is_stopped_when_it_passes_the_cap(make_executor):
    executor = make_executor(outputs_max_bytes=4 * 1024 * 1024, outputs_check_seconds=0.3)
    info = run(executor, "overcap", mib=60, pause=0.05)
    assert info.state == "failed"
    assert info.reason == "outputs over the cap of 4 MiB"
    assert any("outputs passed the cap" in line.text for line in executor.logs(info.id))


def test_a_million_lines_are_cut_at_the_log_cap_with_a_marker(make_executor):
    executor = make_executor(log_max_bytes=256 * 1024)
    info = run(executor, "lines")
    assert info.state == "succeeded"
    assert info.log_truncated
    lines = executor.logs(info.id, limit=100_000)
    assert lines[0].text == "line 0"
    assert lines[-1].stream == "system"
    assert lines[-1].text.startswith("[mlk: log truncated at 256 KiB")
    assert sum(len(line.text) + 1 for line in lines) <= 256 * 1024 + 200
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))


def test_a_fork_bomb_hits_the_pids_limit(make_executor):
    executor = make_executor(pids_limit=64)
    info = run(executor, "forkbomb")
    assert info.state == "succeeded"
    assert info.result["forked"] < 64
    assert "Resource temporarily unavailable" in info.result["error"]


def test_a_model_without_network_reaches_nothing(executor: Executor):
    info = run(executor, "network")
    reached = info.result["reached"]
    assert info.result["interfaces"] == ["lo"]
    assert all(value is not True for value in reached.values()), reached


def test_network_is_refused_unless_the_operator_allows_it(make_executor):
    executor = make_executor()
    with pytest.raises(InvalidRun, match="asks for network access"):
        executor.submit(RunRequest(model="mlk-test-network", task="predict"))
    allowed = make_executor(allow_network=True)
    info = run(allowed, "predict", model="mlk-test-network")
    assert info.state == "succeeded", info.reason
    assert "eth0" in info.result["interfaces"]


def test_operator_limits_lower_the_manifest_requests(make_executor):
    executor = make_executor(max_memory="128m", max_timeout_seconds=60)
    info = executor.submit(RunRequest(model="mlk-test-behaving", task="noop", owner="ana"))
    assert info.resources["memory_bytes"] == 128 * 1024 * 1024
    assert info.resources["timeout_seconds"] == 60
    assert "memory lowered to 128 MiB (operator limit)" in info.warnings
    assert executor.wait(info.id, timeout=60).state == "succeeded"
