"""Quotas: what an owner uses (distinct stored content plus uploads in flight) against their limit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mlrun_kernel.datasets.blobs import StagedFile
from mlrun_kernel.datasets.core import DatasetsCore
from mlrun_kernel.datasets.errors import QuotaExceeded
from mlrun_kernel.datasets.records import BATCH, human_bytes
from mlrun_kernel.store.models.datasets import (
    Blob,
    Dataset,
    DatasetFile,
    DatasetVersion,
    Upload,
)


class Quotas(DatasetsCore):
    """Quota checks for uploads and new versions."""

    def quota_for(self, owner: str) -> int | None:
        """The owner's quota in bytes, or None for no quota."""
        quota = self._quota(owner) if callable(self._quota) else self._quota
        return quota or None

    def usage(self, owner: str) -> int:
        """Bytes the owner uses: distinct content of their datasets plus uploads in progress."""
        with self.store.session() as s:
            return self._used(s, owner)

    def _used(self, s: Session, owner: str, *, except_upload: str | None = None) -> int:
        owned = (
            select(DatasetFile.blob_sha256)
            .join(DatasetVersion, DatasetFile.dataset_version_id == DatasetVersion.id)
            .join(Dataset, DatasetVersion.dataset_id == Dataset.id)
            .where(Dataset.owner == owner)
        )
        stored = s.scalar(select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.sha256.in_(owned)))
        pending = select(func.coalesce(func.sum(Upload.received), 0)).where(Upload.owner == owner)
        if except_upload is not None:
            pending = pending.where(Upload.id != except_upload)
        return int(stored or 0) + int(s.scalar(pending) or 0)

    def _quota_error(self, owner: str, used: int, more: int, quota: int, what: str) -> QuotaExceeded:
        return QuotaExceeded(
            f"{what} needs {human_bytes(more)} more, but {owner} already uses "
            f"{human_bytes(used)} of a {human_bytes(quota)} quota; delete datasets you no "
            "longer need or ask an admin for a larger quota"
        )

    def _check_quota(
        self, s: Session, owner: str, name: str, staged: Sequence[StagedFile], upload_id: str | None
    ) -> None:
        quota = self.quota_for(owner)
        if quota is None:
            return
        sizes = {f.sha256: f.size for f in staged}
        shas = sorted(sizes)
        owned: set[str] = set()
        for start in range(0, len(shas), BATCH):
            batch = shas[start : start + BATCH]
            owned.update(
                s.scalars(
                    select(DatasetFile.blob_sha256)
                    .join(DatasetVersion, DatasetFile.dataset_version_id == DatasetVersion.id)
                    .join(Dataset, DatasetVersion.dataset_id == Dataset.id)
                    .where(Dataset.owner == owner, DatasetFile.blob_sha256.in_(batch))
                    .distinct()
                )
            )
        more = sum(size for sha, size in sizes.items() if sha not in owned)
        used = self._used(s, owner, except_upload=upload_id)
        if more and used + more > quota:
            raise self._quota_error(owner, used, more, quota, f"storing dataset {name!r}")
