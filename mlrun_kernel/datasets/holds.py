"""Holds: a runner keeps the versions a run uses from being deleted (``run:<id>``).

The ``dataset_holds`` foreign key has no cascade, so the database itself
refuses to drop a held version.
"""

from __future__ import annotations

import builtins

from sqlalchemy import delete, select

from mlrun_kernel.datasets.core import DatasetsCore
from mlrun_kernel.datasets.errors import NotFound
from mlrun_kernel.datasets.names import validate_principal_name
from mlrun_kernel.datasets.records import HoldInfo
from mlrun_kernel.store.models.datasets import DatasetHold, DatasetVersion


class Holds(DatasetsCore):
    """Hold and release versions."""

    def hold(self, version_id: int, holder: str) -> HoldInfo:
        """Mark a version as in use by ``holder`` (e.g. ``run:42``); idempotent."""
        holder = validate_principal_name(holder, "holder")
        with self.store.session() as s:
            self._write_lock(s)
            version = s.scalars(
                select(DatasetVersion).where(DatasetVersion.id == version_id).with_for_update(read=True)
            ).first()
            if version is None:
                raise NotFound(f"no dataset version with id {version_id}")
            row = s.scalars(
                select(DatasetHold).where(
                    DatasetHold.dataset_version_id == version_id, DatasetHold.holder == holder
                )
            ).first()
            if row is None:
                row = DatasetHold(dataset_version_id=version_id, holder=holder)
                s.add(row)
                s.flush()
            return HoldInfo(version_id=version_id, holder=row.holder, created_at=row.created_at)

    def release(self, holder: str, version_id: int | None = None) -> int:
        """Drop ``holder``'s holds (on one version, or all); how many were dropped."""
        with self.store.session() as s:
            stmt = delete(DatasetHold).where(DatasetHold.holder == holder)
            if version_id is not None:
                stmt = stmt.where(DatasetHold.dataset_version_id == version_id)
            return int(getattr(s.execute(stmt), "rowcount", 0) or 0)

    def holds(self, version_id: int | None = None) -> builtins.list[HoldInfo]:
        with self.store.session() as s:
            query = select(DatasetHold).order_by(DatasetHold.id)
            if version_id is not None:
                query = query.where(DatasetHold.dataset_version_id == version_id)
            return [
                HoldInfo(version_id=h.dataset_version_id, holder=h.holder, created_at=h.created_at)
                for h in s.scalars(query)
            ]
