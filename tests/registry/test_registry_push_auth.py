"""The project's registry refuses anonymous pushes and still serves anonymous pulls.

An expert pushes with ``mlk build --push``: without credentials the registry
answers 401 and ``mlk`` says what to set; with the password the set-up keeps,
the push lands. The engine then pulls the image from loopback, and the catalog
reads its labels, both without credentials.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from mlrun_kernel.registry import RegistryAccess, RegistryClient
from tests.registry_process import RegistryProcess

pytestmark = [pytest.mark.docker, pytest.mark.registry]

MLK_YAML = """\
image: team/locked
title: Locked
version: 1.0.0
description: A model pushed to a registry that wants credentials (tests only).
release_notes:
  1.0.0: The first version.
manifest:
  tasks:
    predict:
      description: Does nothing.
      command: [python, -c, "pass"]
"""


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "mlk.yaml").write_text(MLK_YAML)
    (folder / "Dockerfile").write_text('FROM python:3.11-slim-bookworm\nCMD ["python", "-c", "pass"]\n')
    return folder


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    process = RegistryProcess(tmp_path / "registry").start()
    yield process
    process.stop()


def mlk_build_push(
    folder: Path, registry: RegistryProcess, data: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """``mlk build FOLDER --push --force`` against ``registry`` (a toy image: no contract test)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLK_REGISTRY_")}
    base.update(
        MLK_REGISTRY_URL=registry.url, MLK_REGISTRY_PUSH_URL=registry.push_url, MLK_DATA_DIR=str(data)
    )
    return subprocess.run(
        [sys.executable, "-m", "mlrun_kernel.cli", "build", str(folder), "--push", "--force", "--quiet"],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=600,
    )


def test_an_anonymous_push_is_refused_on_both_sides(registry: RegistryProcess) -> None:
    # The push side asks for credentials (the registry's own 401 and Basic challenge) ...
    start = httpx.post(f"{registry.push_url}/v2/team/x/blobs/uploads/")
    assert start.status_code == 401
    assert start.headers["www-authenticate"].startswith("Basic ")
    assert "UNAUTHORIZED" in start.text
    # ... and the anonymous pull side takes no writes at all.
    assert httpx.post(f"{registry.url}/v2/team/x/blobs/uploads/").status_code == 405
    digest = "sha256:" + "0" * 64
    assert httpx.delete(f"{registry.url}/v2/team/x/manifests/{digest}").status_code == 405
    # With the password the set-up made, the same request is taken.
    authed = httpx.post(f"{registry.push_url}/v2/team/x/blobs/uploads/", auth=registry.credentials)
    assert authed.status_code == 202


def test_the_setup_keeps_the_password_private_and_the_registry_only_a_hash(registry: RegistryProcess) -> None:
    import bcrypt

    assert registry.password_file.stat().st_mode & 0o777 == 0o600
    password = registry.password_file.read_text().strip()
    assert len(password) >= 32
    line = (registry.state / "htpasswd").read_text().strip()
    user, hashed = line.split(":", 1)
    assert user == "mlk" and password not in line
    assert bcrypt.checkpw(password.encode(), hashed.encode())
    # A restart keeps the password: clients configured once keep working.
    registry.stop()
    registry.start()
    assert registry.password_file.read_text().strip() == password


def test_expert_push_without_credentials_is_refused_then_with_them_lands_and_pulls_anonymously(
    registry: RegistryProcess, model_folder: Path, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    empty_data = tmp_path / "no-secrets"  # no registry-password here: no credentials at all
    refused = mlk_build_push(model_folder, registry, empty_data)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert "mlk: error: pushing" in refused.stderr
    assert "no credentials were given" in refused.stderr
    assert "MLK_REGISTRY_PASSWORD" in refused.stderr
    with RegistryClient(registry.url) as reader:
        assert list(reader.repositories()) == []  # nothing landed

    wrong = mlk_build_push(model_folder, registry, empty_data, MLK_REGISTRY_PASSWORD="not-the-password")
    assert wrong.returncode == 1 and "user 'mlk' was refused" in wrong.stderr, wrong.stderr

    pushed = mlk_build_push(
        model_folder, registry, empty_data, MLK_REGISTRY_PASSWORD_FILE=str(registry.password_file)
    )
    assert pushed.returncode == 0, pushed.stderr
    ref = f"{registry.addr}/team/locked"
    assert f"pushed {ref}:1.0.0, {ref}:latest -> sha256:" in pushed.stdout
    digest = re.search(r"-> (sha256:[0-9a-f]{64})", pushed.stdout).group(1)  # type: ignore[union-attr]
    # Only the pull address names the image locally; the push tags were dropped.
    tags = docker_client.images.get(f"{ref}:1.0.0").tags
    assert not any(t.startswith(registry.push_addr) for t in tags)

    # The catalog reads the labels anonymously from the pull side ...
    with RegistryClient(registry.url) as reader:
        assert sorted(reader.tags("team/locked")) == ["1.0.0", "latest"]
        assert reader.manifest("team/locked", "1.0.0").digest == digest
        assert reader.labels("team/locked", "latest")["org.opencontainers.image.title"] == "Locked"
    # ... and the engine pulls it anonymously from loopback, as runs do.
    docker_client.images.remove(f"{ref}:1.0.0")
    docker_client.images.remove(f"{ref}:latest")
    pulled = docker_client.images.pull(ref, tag="1.0.0")
    assert f"{ref}@{digest}" in pulled.attrs["RepoDigests"]


def test_a_library_push_uses_the_configured_access(
    registry: RegistryProcess, model_folder: Path, docker_client: docker.DockerClient
) -> None:
    from mlrun_kernel.build import PushRefused, build_model

    anonymous = RegistryAccess(registry.url, registry.push_url, None)
    with pytest.raises(PushRefused) as refused:
        build_model(model_folder, registry=anonymous, push=True)
    assert "no credentials were given" in str(refused.value)
    pull_side_only = RegistryAccess(registry.url, registry.url, registry.credentials)
    with pytest.raises(PushRefused, match="serves pulls only: push to its push side"):
        build_model(model_folder, registry=pull_side_only, push=True)
    build = build_model(model_folder, registry=registry.access, push=True)
    assert build.digest and build.image == f"{registry.addr}/team/locked:1.0.0"
    with registry.access.writer() as writer:  # deletes go to the push side, with the credentials
        writer.delete_manifest("team/locked", build.digest)
    with RegistryClient(registry.url) as reader:
        assert reader.tags("team/locked") == []


def test_the_catalog_reads_a_registry_that_wants_auth_with_the_configured_credentials(
    registry: RegistryProcess, tmp_path: Path
) -> None:
    """Any v2 registry with basic auth: here the push side, which answers nobody anonymously."""
    from mlrun_kernel.catalog import list_models, sync_catalog
    from mlrun_kernel.store import open_store
    from tests.model_labels import model_labels

    with registry.seeder() as seeder:
        seeder.image("team/churn", "1.0.0", model_labels("Churn"))
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        with RegistryClient(registry.push_url, retries=0) as anonymous:
            report = sync_catalog(store, anonymous)
        assert report.error and "HTTP 401" in report.error and "no credentials were given" in report.error
        user, password = registry.credentials
        with RegistryClient(registry.push_url, username=user, password=password) as authed:
            assert sync_catalog(store, authed).error is None
        assert [m.name for m in list_models(store)] == ["team/churn"]
    finally:
        store.close()


def test_an_older_open_registry_on_the_pull_address_is_restarted_read_only(registry: RegistryProcess) -> None:
    """Upgrading a machine whose `make up` ran the open registry: the next start closes it."""
    import time

    registry.stop()
    pull_side = (registry.state / "config.yml").read_text()
    config = pull_side.replace("readonly:\n      enabled: true", "readonly:\n      enabled: false")
    assert config != pull_side
    (registry.state / "config-open.yml").write_text(config)  # writable, no auth: as before
    with open(registry.state / "registry.log", "ab") as log:
        old = subprocess.Popen(
            ["docker-registry", "serve", str(registry.state / "config-open.yml")], stdout=log, stderr=log
        )
    (registry.state / "registry.pid").write_text(f"{old.pid}\n")
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{registry.url}/v2/").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.post(f"{registry.url}/v2/team/x/blobs/uploads/").status_code == 202  # open, as before
        registry.start()
        assert old.wait(timeout=10) is not None
        assert httpx.post(f"{registry.url}/v2/team/x/blobs/uploads/").status_code == 405
        assert httpx.post(f"{registry.push_url}/v2/team/x/blobs/uploads/").status_code == 401
    finally:
        old.kill()
        old.wait()
