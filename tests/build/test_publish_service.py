"""A model expert without a Docker socket publishes from a notebook: the service builds,
tests and pushes; a failed or refused build publishes nothing and says why."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import pytest

from mlrun_kernel.build.scaffold import scaffold
from mlrun_kernel.builds.settings import BuildSettings
from mlrun_kernel.client import Client, InvalidRequest, PermissionDenied, ServiceError
from mlrun_kernel.expert import BuildFailed, pack, publish
from tests.build.conftest import registry_tags
from tests.service.helpers import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub]


def _client(build_service, tokens, role: str = "expert") -> Client:
    served, _ = build_service
    return Client(served.url, token=tokens[role], timeout=60)


def _versions(client: Client, name: str) -> list[str]:
    try:
        return [v["version"] for v in client.get_model(name)["versions"]]
    except ServiceError:
        return []


def test_expert_publishes_the_sklearn_template_from_a_notebook(build_service, tokens, tmp_path: Path) -> None:
    _, registry = build_service
    folder = scaffold(tmp_path / "notebook-model", name="notebook-model").folder
    client = _client(build_service, tokens)
    events: list[tuple[str, dict]] = []
    build = publish(folder, client=client, show=False, on_event=lambda e, d: events.append((e, d)))
    done_at = time.monotonic()
    assert build["state"] == "succeeded" and build["digest"].startswith("sha256:")
    assert build["report"]["passed"] and len(build["report"]["examples"]) == 3
    logs = [d["text"] for e, d in events if e == "log"]
    assert any("step" in line.lower() for line in logs) and any("contract test passed" in t for t in logs)
    progress = [d["progress"] for e, d in events if e == "state" and d.get("progress") is not None]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert registry_tags(registry, "notebook-model") == ["0.1.0", "latest"]
    # the registry's push notification brings it into the catalog
    wait_for(lambda: "0.1.0" in _versions(client, "notebook-model"), timeout=2.0)
    assert time.monotonic() - done_at < 2.5


def test_a_caller_without_the_publish_scope_cannot_build(build_service, tokens, tmp_path: Path) -> None:
    folder = scaffold(tmp_path / "m", template="generic").folder
    with pytest.raises(PermissionDenied, match="custom:models:publish"):
        _client(build_service, tokens, "user").start_build(iter([pack(folder).read()]))
    served, _ = build_service
    assert all(b.owner != "uma" for b in served.app.state.builds.recent())


def test_a_context_holding_a_link_out_of_the_folder_is_refused(build_service, tokens) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("mlk.yaml")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
        link = tarfile.TarInfo("model/weights.bin")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        tar.addfile(link)
    with pytest.raises(InvalidRequest, match="is a symbolic link .* links are refused"):
        _client(build_service, tokens).start_build(iter([buffer.getvalue()]))


def test_a_context_over_the_size_cap_is_refused_while_it_arrives(build_service, tokens, tmp_path) -> None:
    served, _ = build_service
    queue = served.app.state.builds
    kept = queue.settings
    queue.settings = BuildSettings(build_context_max_bytes=64 * 1024)
    try:
        folder = scaffold(tmp_path / "big", template="generic").folder
        (folder / "weights.bin").write_bytes(b"\0" * 200_000)
        with pytest.raises(InvalidRequest, match="413.*over the 0 MiB limit"):
            _client(build_service, tokens).start_build(iter([pack(folder).read()]))
    finally:
        queue.settings = kept
    assert not any(p.name for p in queue.root.iterdir() if (p / "context.tar").exists())


def test_a_model_that_breaks_the_contract_fails_the_build_and_publishes_nothing(
    build_service, tokens, tmp_path: Path
) -> None:
    _, registry = build_service
    folder = scaffold(tmp_path / "leaky", template="generic").folder
    tasks = folder / "model" / "tasks.py"
    tasks.write_text(tasks.read_text().replace('output_path("predictions.csv")', 'Path("/tmp/p.csv")'))
    with pytest.raises(
        BuildFailed, match="the contract test failed: predict: output 'predictions'"
    ) as caught:
        publish(folder, client=_client(build_service, tokens), show=False)
    assert caught.value.build["state"] == "failed"
    assert registry_tags(registry, "leaky") == []


def test_a_failing_dockerfile_step_fails_the_build_with_the_step(build_service, tokens, tmp_path) -> None:
    folder = scaffold(tmp_path / "nostep", template="generic").folder
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace("CMD [", "RUN echo no weights here && exit 7\nCMD [")
    )
    with pytest.raises(BuildFailed, match="returned a non-zero code: 7"):
        publish(folder, client=_client(build_service, tokens), show=False)


def test_builds_queue_per_user_and_a_long_build_can_be_cancelled(build_service, tokens, tmp_path) -> None:
    served, registry = build_service
    queue = served.app.state.builds
    kept = queue.settings
    queue.settings = BuildSettings(builds_per_user=1)
    client = _client(build_service, tokens)
    try:
        folder = scaffold(tmp_path / "slow", template="generic").folder
        dockerfile = folder / "Dockerfile"
        slow = "RUN for i in $(seq 120); do echo tick $i; sleep 1; done\nCMD ["
        dockerfile.write_text(dockerfile.read_text().replace("CMD [", slow))
        first = client.start_build(iter([pack(folder).read()]))
        with pytest.raises(ServiceError, match="429.*already has 1 build"):
            client.start_build(iter([pack(folder).read()]))
        wait_for(lambda: any("tick 2" in x["text"] for x in client.build_log(first["id"])), timeout=120)
        client.cancel_build(first["id"])
        wait_for(lambda: client.get_build(first["id"])["state"] == "cancelled", timeout=30)
    finally:
        queue.settings = kept
    assert registry_tags(registry, "slow") == []


def test_a_build_over_its_time_limit_is_stopped(build_service, tokens, tmp_path) -> None:
    served, _ = build_service
    queue = served.app.state.builds
    kept = queue.settings
    queue.settings = BuildSettings(build_timeout_seconds=10)
    try:
        folder = scaffold(tmp_path / "forever", template="generic").folder
        dockerfile = folder / "Dockerfile"
        slow = "RUN for i in $(seq 120); do echo still going $i; sleep 1; done\nCMD ["
        dockerfile.write_text(dockerfile.read_text().replace("CMD [", slow))
        with pytest.raises(BuildFailed, match="timed_out: timed out after 10 s"):
            publish(folder, client=_client(build_service, tokens), show=False)
    finally:
        queue.settings = kept
