"""Who is asking and what comes back: ``Principal`` and the frozen records ``Datasets`` returns.

Never ORM objects: these are built from rows inside a session and travel
freely. Their wire shapes (``DatasetOut``, ``DatasetVersionOut``, ``DatasetDetail``,
``FileOut``, ``UploadOut``: what the service answers and the embedded CLI prints) are
built from them at the end of this module (:mod:`mlrun_kernel.wire`), minus what
stays on the service's host; the notebook client's types are generated from those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import create_model

from mlrun_kernel.datasets.errors import InvalidInput
from mlrun_kernel.datasets.names import validate_principal_name
from mlrun_kernel.datasets.preview import Preview
from mlrun_kernel.wire import wire_model

Visibility = Literal["private", "group", "public"]
VISIBILITIES: tuple[str, ...] = ("private", "group", "public")
Quota = int | Callable[[str], int | None] | None
BATCH = 500  # rows per statement when a version has many files


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user name, their groups, and whether they are an admin."""

    name: str
    groups: frozenset[str] = frozenset()
    is_admin: bool = False

    def __post_init__(self) -> None:
        validate_principal_name(self.name, "user name")

    @classmethod
    def of(cls, who: Principal | str) -> Principal:
        """A ``Principal`` as given, or a plain user (no groups, not admin) from a name."""
        if isinstance(who, Principal):
            return who
        return cls(name=validate_principal_name(who))


@dataclass(frozen=True)
class DatasetVersionInfo:
    """One stored version of a dataset."""

    id: int
    dataset_id: int
    owner: str
    name: str
    version: int
    media_type: str
    size: int
    file_count: int
    sha256: str
    source_name: str
    created_at: datetime
    preview: Preview | None

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset and a summary of its newest version."""

    id: int
    owner: str
    name: str
    description: str
    visibility: str
    group: str | None
    created_at: datetime
    updated_at: datetime
    latest_version: int
    version_count: int
    size: int
    media_type: str
    file_count: int

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class DatasetFileInfo:
    """One file of a version; ``blob_path`` is where its bytes are on disk (read-only)."""

    path: str
    size: int
    media_type: str
    sha256: str
    blob_path: Path


@dataclass(frozen=True)
class UploadStatus:
    id: str
    owner: str
    filename: str
    received: int
    expected_size: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class HoldInfo:
    version_id: int
    holder: str
    created_at: datetime


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


def check_visibility(visibility: str | None, group: str | None) -> tuple[str | None, str | None]:
    """(visibility, group) checked together; (None, None) keeps what a dataset has."""
    if visibility is None:
        if group is not None:
            raise InvalidInput("a group was given without visibility='group'")
        return None, None
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
    if visibility == "group":
        if not group:
            raise InvalidInput("visibility 'group' needs the name of the group to share with")
        return visibility, validate_principal_name(group, "group name")
    if group is not None:
        raise InvalidInput(f"a group only goes with visibility 'group', not {visibility!r}")
    return visibility, None


# ---- wire shapes (see the module docstring)

DatasetOut = wire_model(DatasetInfo, "DatasetOut", computed={"ref": str})
DatasetVersionOut = wire_model(
    DatasetVersionInfo, "DatasetVersionOut", computed={"ref": str}, hidden={"dataset_id", "preview"}
)
DatasetDetail = create_model(
    "DatasetDetail",
    __base__=DatasetOut,
    __doc__="A dataset with every version.",
    versions=(list[DatasetVersionOut], ...),  # type: ignore[valid-type]
)
FileOut = wire_model(DatasetFileInfo, "FileOut", hidden={"blob_path"})
"""A file of a version; where its bytes are on the service's host stays there."""
UploadOut = wire_model(UploadStatus, "UploadOut", doc="An upload in progress: where to resume.")
