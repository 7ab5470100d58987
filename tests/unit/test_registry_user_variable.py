"""`mlk push` takes the registry user from MLK_REGISTRY_USER (the issue's name) or MLK_REGISTRY_USERNAME."""

from __future__ import annotations

import pytest

from mlrun_kernel.config import Settings


@pytest.mark.parametrize("variable", ["MLK_REGISTRY_USER", "MLK_REGISTRY_USERNAME"])
def test_either_name_sets_the_registry_user(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.delenv("MLK_REGISTRY_USER", raising=False)
    monkeypatch.delenv("MLK_REGISTRY_USERNAME", raising=False)
    monkeypatch.setenv(variable, "publisher")
    assert Settings.from_env().registry_username == "publisher"


def test_the_documented_name_wins_when_both_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLK_REGISTRY_USERNAME", "documented")
    monkeypatch.setenv("MLK_REGISTRY_USER", "short")
    assert Settings.from_env().registry_username == "documented"
