"""Fixtures of the CLI tests: the behaving test model in the session registry."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runs.image_contexts import build_test_model


@pytest.fixture(scope="session")
def behaving_model(registry_access: Any) -> Any:
    """``mlk-test-behaving`` (tests/runs/images/behaving), built and pushed once per session."""
    return build_test_model("behaving", registry_access)
