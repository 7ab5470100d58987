"""Dataset tables (migration 0002): blobs, datasets, versions, files, uploads, holds.

- ``Blob``: one row per distinct content (sha256) on disk; files reference it.
- ``Dataset``: a name owned by a user, with description and sharing.
- ``DatasetVersion``: an immutable snapshot (1, 2, 3...) with its media type,
  size, content hash and preview, computed once when it was stored.
- ``DatasetFile``: the files of a version (one for a single file; many for a
  folder or archive), each pointing at a blob.
- ``Upload``: a resumable upload in progress; its bytes live in a part file.
- ``DatasetHold``: a run (or anything else) using a version; delete waits for none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mlrun_kernel.store.models.base import Base
from mlrun_kernel.store.types import JSONType, utcnow


class Blob(Base):
    """File content, stored once on disk under its sha256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("owner", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(16), default="private")  # private | group | public
    group_name: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="DatasetVersion.version"
    )


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    file_count: Mapped[int] = mapped_column(Integer)
    # sha256 of the file, or for many files of their sorted "sha  size  path" lines.
    content_sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(1024))  # file, archive or folder uploaded
    preview: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")
    files: Mapped[list[DatasetFile]] = relationship(back_populates="version", cascade="all, delete-orphan")


class DatasetFile(Base):
    __tablename__ = "dataset_files"
    __table_args__ = (
        UniqueConstraint("dataset_version_id", "path"),
        Index("ix_dataset_files_blob_sha256", "blob_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(1024))
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(255))

    version: Mapped[DatasetVersion] = relationship(back_populates="files")


class Upload(Base):
    """A resumable upload in progress; the bytes so far live in a part file."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_owner", "owner"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str] = mapped_column(String(1024))
    expected_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Bytes durably in the part file (fsynced before this is raised).
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetHold(Base):
    """Something (``run:<id>``) uses a version; the version cannot be deleted meanwhile.

    The foreign key has no cascade on purpose: the database itself refuses to
    drop a held version, even if a hold is taken while a delete runs.
    """

    __tablename__ = "dataset_holds"
    __table_args__ = (
        UniqueConstraint("dataset_version_id", "holder"),
        Index("ix_dataset_holds_holder", "holder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"))
    holder: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
