"""The set-up both commands share: idempotent, air-gapped base images, CA bundles in builds."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from mlrun_kernel.build import BuildError, build_image
from mlrun_kernel.config import settings
from tests.paths import ROOT

pytestmark = [pytest.mark.docker]


def test_second_setup_run_finds_everything_up_and_changes_nothing():
    env = {**os.environ, "MLK_SKIP_APT": "1"}
    out = subprocess.run([ROOT / "scripts" / "setup.sh"], env=env, capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "packages",
        "venv",
        "proxy",
        "docker",
        "base image",
    ]
    for line in lines:
        assert any(word in line for word in ("present", "answering")), line


def test_offline_standin_base_image_behaves_like_python_slim(docker_client):
    tag = f"mlk-test/standin:{uuid.uuid4().hex[:8]}"
    script = ROOT / "hub" / "images" / "offline-base" / "build-standin.sh"
    try:
        done = subprocess.run([script, tag], capture_output=True, text=True, check=True)
        assert "stand-in built" in done.stdout
        probe = (
            "import sys, shutil, sysconfig, pathlib;"
            "print(sys.version_info[:2] == (3, 11), bool(shutil.which('pip')), bool(shutil.which('python')),"
            " pathlib.Path(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED').exists())"
        )
        out = docker_client.containers.run(tag, ["python", "-c", probe], remove=True).decode().split()
        assert out == ["True", "True", "True", "False"]
        again = subprocess.run([script, tag], capture_output=True, text=True, check=True)
        assert "present" in again.stdout
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def _pip_context(tmp_path: Path) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "Dockerfile").write_text(
        f"FROM {settings().base_image}\n"
        "COPY mlk-build-ca.pem /tmp/mlk-build-ca.pem\n"
        "RUN PIP_CERT=/tmp/mlk-build-ca.pem pip install --no-cache-dir --retries 0 --timeout 20 six==1.16.0\n"
    )
    return tmp_path


def test_pip_inside_docker_build_trusts_the_configured_ca_bundle(tmp_path, docker_client):
    tag = f"mlk-test/pip-ca:{uuid.uuid4().hex[:8]}"
    built = build_image(_pip_context(tmp_path), [tag], ca_bundle=settings().build_ca_bundle)
    try:
        out = docker_client.containers.run(
            tag, ["python", "-c", "import six; print(six.__version__)"], remove=True
        )
        assert out.decode().strip() == "1.16.0"
    finally:
        docker_client.images.remove(built.image_id, force=True)


def test_pip_inside_docker_build_fails_with_an_untrusted_bundle(tmp_path, docker_client):
    bogus = tmp_path / "bogus-ca.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=bogus",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(bogus),
        ],
        check=True,
        capture_output=True,
    )
    context = _pip_context(tmp_path / "ctx")
    with pytest.raises(BuildError, match="(?i)ssl|certificate"):
        build_image(context, [f"mlk-test/pip-bogus:{uuid.uuid4().hex[:8]}"], ca_bundle=bogus)


def test_build_ca_bundle_falls_back_to_the_system_bundle_when_no_variable_names_one(monkeypatch):
    from mlrun_kernel.config import Settings

    for var in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "MLK_BUILD_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    assert Settings().build_ca_bundle == (system if system.is_file() else None)
    monkeypatch.setenv("MLK_BUILD_CA_BUNDLE", "/etc/hostname")
    assert Settings().build_ca_bundle == Path("/etc/hostname")
