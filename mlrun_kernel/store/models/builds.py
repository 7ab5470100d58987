"""Build tables (migration 0006): model builds, contract tests by image, pushes.

- :class:`ModelBuild`: one build of a model folder, by the CLI or the service
  (who, when, how long, the image it made, and for service builds where it stands).
- :class:`ImageTest`: one ``mlk test`` of an image, keyed by the image id (the
  config digest, known before any push): ``mlk push`` refuses an image whose
  id has no passing test unless forced.
- :class:`ImagePush`: one push of a version tag, with the registry digest and
  whether it was forced (and past what).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mlrun_kernel.store.models.base import Base
from mlrun_kernel.store.types import JSONType, utcnow


class ModelBuild(Base):
    __tablename__ = "model_builds"
    __table_args__ = (
        Index("ix_model_builds_owner_created", "owner", "created_at"),
        Index("ix_model_builds_state_created", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    via: Mapped[str] = mapped_column(String(16))
    """``cli`` or ``service``."""
    image: Mapped[str | None] = mapped_column(String(255), default=None)
    """The repository name from mlk.yaml (unknown until the context is read)."""
    version: Mapped[str | None] = mapped_column(String(100), default=None)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    """queued, building, testing, pushing, succeeded, failed, cancelled."""
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    image_id: Mapped[str | None] = mapped_column(String(100), default=None)
    digest: Mapped[str | None] = mapped_column(String(100), default=None)
    revision: Mapped[str | None] = mapped_column(String(100), default=None)
    context_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    progress: Mapped[float | None] = mapped_column(Float, default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_seconds: Mapped[float | None] = mapped_column(Float, default=None)


class ImageTest(Base):
    __tablename__ = "image_tests"
    __table_args__ = (Index("ix_image_tests_image_id", "image_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str] = mapped_column(String(600))
    passed: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tested_by: Mapped[str] = mapped_column(String(255))
    tested_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImagePush(Base):
    __tablename__ = "image_pushes"
    __table_args__ = (Index("ix_image_pushes_image_version", "image", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(100))
    image_id: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(100))
    moved_latest: Mapped[bool] = mapped_column(Boolean)
    forced: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    """What ``--force`` overrode: ``untested``, ``failed-test``, ``other-digest``; empty when not forced."""
    pushed_by: Mapped[str] = mapped_column(String(255))
    pushed_at: Mapped[datetime] = mapped_column(default=utcnow)
