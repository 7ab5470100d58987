"""The push credentials: made once by the set-up, private from the first byte, found by every client."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from mlrun_kernel.config import Settings
from mlrun_kernel.registry import RegistryAccess, RegistryCredentialsError, registry_credentials
from mlrun_kernel.registry.credentials import ensure_project_credentials, kept_password


@pytest.fixture(autouse=True)
def _no_registry_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts (the Makefile exports the project's push address)."""
    for name in list(os.environ):
        if name.startswith("MLK_REGISTRY"):
            monkeypatch.delenv(name)


def test_the_password_is_made_once_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    path = tmp_path / "data" / "registry-password"
    old = os.umask(0)
    try:
        first = kept_password(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32 and kept_password(path) == first


def test_racing_set_ups_end_with_one_password(tmp_path: Path) -> None:
    path = tmp_path / "registry-password"
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(kept_password(path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1 and path.read_text().strip() == seen[0]


def test_clients_find_the_kept_password_and_the_default_user(tmp_path: Path) -> None:
    cfg = Settings(data_dir=tmp_path)
    assert registry_credentials(cfg) is None  # nothing kept yet: push without credentials
    user, password = ensure_project_credentials(tmp_path / "htpasswd", cfg)
    assert registry_credentials(cfg) == ("mlk", password) == (user, password)
    assert stat.S_IMODE((tmp_path / "htpasswd").stat().st_mode) == 0o600
    access = RegistryAccess.from_settings(cfg)
    assert (access.url, access.push_url) == ("http://127.0.0.1:5000", "http://127.0.0.1:5001")
    assert access.auth_config() == {"username": "mlk", "password": password}
    assert password not in repr(access)


def test_explicit_settings_win_and_another_registry_takes_pushes_on_its_own_url(tmp_path: Path) -> None:
    cfg = Settings(
        data_dir=tmp_path,
        registry_url="https://harbor.example.com",
        registry_username="robot$ci",
        registry_password="tok",
    )
    access = RegistryAccess.from_settings(cfg)
    assert access.push_url == "https://harbor.example.com" and access.credentials == ("robot$ci", "tok")
    assert access.host == access.push_host == "harbor.example.com"


def test_a_password_file_that_is_named_but_missing_is_an_error_that_says_so(tmp_path: Path) -> None:
    cfg = Settings(data_dir=tmp_path, registry_password_file=tmp_path / "nope")
    with pytest.raises(RegistryCredentialsError, match="MLK_REGISTRY_PASSWORD_FILE=.*does not exist"):
        registry_credentials(cfg)
