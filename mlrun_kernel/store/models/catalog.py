"""Catalog tables (migration 0001): the registry mirrored into the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mlrun_kernel.store.models.base import Base
from mlrun_kernel.store.types import JSONType, utcnow


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    gone_at: Mapped[datetime | None] = mapped_column(default=None)

    tags: Mapped[list[Tag]] = relationship(back_populates="repository", cascade="all, delete-orphan")
    versions: Mapped[list[ModelVersion]] = relationship(
        back_populates="repository", cascade="all, delete-orphan"
    )


class ModelVersion(Base):
    """One image digest of a repository: a model version's identity.

    ``problem`` is set when the image claims the contract but its labels are
    broken; such versions are shown to experts and admins, hidden from users.
    """

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("repository_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(100))
    config_digest: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(100))
    metadata_json: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    problem: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)

    repository: Mapped[Repository] = relationship(back_populates="versions")


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("repository_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(100))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    repository: Mapped[Repository] = relationship(back_populates="tags")
    model_version: Mapped[ModelVersion | None] = relationship()


class ImageConfigBlob(Base):
    """Labels of a config digest, so each config blob is fetched once, ever."""

    __tablename__ = "image_configs"

    digest: Mapped[str] = mapped_column(String(100), primary_key=True)
    labels: Mapped[dict[str, Any]] = mapped_column(JSONType)
    is_model: Mapped[bool] = mapped_column(Boolean)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class CatalogSync(Base):
    """The last sync of one registry: when the catalog was last known good."""

    __tablename__ = "catalog_syncs"

    registry_url: Mapped[str] = mapped_column(String(500), primary_key=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
