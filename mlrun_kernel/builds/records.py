"""What the store remembers of builds, contract tests and pushes (tables of migration 0006).

A contract test is recorded against the image id (the config digest, which an
image has from the moment it is built), so ``mlk push`` can ask "has exactly
this image passed?" before anything reaches the registry.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from mlrun_kernel.store import Store
from mlrun_kernel.store.models.builds import ImagePush, ImageTest, ModelBuild
from mlrun_kernel.store.types import utcnow


@dataclass(frozen=True)
class TestRecord:
    image_id: str
    reference: str
    passed: bool
    report: dict[str, Any]
    tested_by: str
    tested_at: datetime


def record_build(
    store: Store,
    *,
    owner: str,
    via: str,
    image: str,
    version: str,
    image_id: str,
    revision: str | None,
    duration_seconds: float,
    started_at: datetime,
) -> str:
    """Record a finished CLI build; returns its id."""
    build_id = secrets.token_hex(8)
    with store.session() as s:
        s.add(
            ModelBuild(
                id=build_id,
                owner=owner,
                via=via,
                image=image,
                version=version,
                state="succeeded",
                image_id=image_id,
                revision=revision,
                created_at=started_at,
                started_at=started_at,
                finished_at=utcnow(),
                duration_seconds=duration_seconds,
            )
        )
    return build_id


def record_test(
    store: Store, *, image_id: str, reference: str, passed: bool, report: dict[str, Any], who: str
) -> None:
    with store.session() as s:
        s.add(ImageTest(image_id=image_id, reference=reference, passed=passed, report=report, tested_by=who))


def last_test(store: Store, image_id: str) -> TestRecord | None:
    """The latest contract test of ``image_id``, if it was ever tested."""
    with store.session() as s:
        row = s.scalars(
            select(ImageTest).where(ImageTest.image_id == image_id).order_by(ImageTest.id.desc()).limit(1)
        ).first()
        if row is None:
            return None
        return TestRecord(
            row.image_id, row.reference, row.passed, dict(row.report), row.tested_by, row.tested_at
        )


def record_push(
    store: Store,
    *,
    image: str,
    version: str,
    image_id: str,
    digest: str,
    moved_latest: bool,
    forced: list[str],
    who: str,
) -> None:
    with store.session() as s:
        s.add(
            ImagePush(
                image=image,
                version=version,
                image_id=image_id,
                digest=digest,
                moved_latest=moved_latest,
                forced=list(forced),
                pushed_by=who,
            )
        )


def pushes(store: Store, image: str) -> list[dict[str, Any]]:
    """Every recorded push of repository ``image``, oldest first."""
    with store.session() as s:
        rows = s.scalars(select(ImagePush).where(ImagePush.image == image).order_by(ImagePush.id)).all()
        return [
            {
                "version": r.version,
                "digest": r.digest,
                "image_id": r.image_id,
                "moved_latest": r.moved_latest,
                "forced": list(r.forced),
                "pushed_by": r.pushed_by,
                "pushed_at": r.pushed_at,
            }
            for r in rows
        ]
