"""Build options of the model service, declared once, each with a default, help text and ``MLK_*``."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic import Field

from mlrun_kernel.config import MlkSettings

MiB = 1024**2


class BuildSettings(MlkSettings):
    """Builds through the service: context size, queue and time limits (``MLK_`` + the name upper-cased)."""

    section: ClassVar[str] = "Builds"

    build_context_max_bytes: int = Field(
        default=200 * MiB,
        ge=1024,
        description="Largest build context (the tar a notebook sends) the service accepts, counted "
        "while it arrives and again while it is unpacked; bigger is refused with 413.",
    )
    build_context_max_files: int = Field(
        default=20_000,
        ge=1,
        description="Most files a build context may hold.",
    )
    builds_per_user: int = Field(
        default=2,
        ge=1,
        description="Builds one user may have queued or running at once; more answer 429.",
    )
    build_workers: int = Field(
        default=1,
        ge=1,
        description="Builds the service runs at the same time (each builds, tests and pushes).",
    )
    build_timeout_seconds: int = Field(
        default=1800,
        ge=10,
        description="A build (build, contract test and push together) that takes longer is stopped "
        "and reported as timed out.",
    )


@lru_cache(maxsize=1)
def build_settings() -> BuildSettings:
    return BuildSettings.from_env()
