"""Changes by owners and admins: sharing a dataset and deleting it (refused while a run holds it)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sqlalchemy import delete, select

from mlrun_kernel.datasets.errors import DatasetInUse, Forbidden
from mlrun_kernel.datasets.reading import Reading
from mlrun_kernel.datasets.records import (
    BATCH,
    DatasetInfo,
    Principal,
    Visibility,
    check_visibility,
)
from mlrun_kernel.store.models.datasets import (
    Blob,
    Dataset,
    DatasetFile,
    DatasetHold,
    DatasetVersion,
)
from mlrun_kernel.store.types import utcnow


class Changes(Reading):
    """Share and delete."""

    @staticmethod
    def _require_owner(who: Principal, ds: Dataset, action: str) -> None:
        if who.is_admin or who.name == ds.owner:
            return
        raise Forbidden(f"only {ds.owner} (the owner) or an admin can {action} {ds.owner}/{ds.name}")

    def share(
        self,
        who: Principal | str,
        ref: str,
        visibility: Visibility,
        group: str | None = None,
    ) -> DatasetInfo:
        """Change who can see a dataset: ``private``, ``group`` (with ``group``) or ``public``."""
        principal = Principal.of(who)
        new_visibility, new_group = check_visibility(visibility, group)
        with self.store.session() as s:
            self._write_lock(s)
            ds = self._find(s, principal, ref, lock=True)
            self._require_owner(principal, ds, "share")
            ds.visibility = str(new_visibility)
            ds.group_name = new_group
            ds.updated_at = utcnow()
            s.flush()
            return self._summaries(s, Dataset.id == ds.id)[0]

    def delete(self, who: Principal | str, ref: str) -> None:
        """Delete a dataset and all its versions; frees content nothing else uses.

        Refused with ``DatasetInUse`` while any version is held by a run.
        """
        principal = Principal.of(who)
        trash = Path(tempfile.mkdtemp(prefix="trash-", dir=self.blobs.tmp))
        moved: list[Path] = []
        try:
            with self.store.session() as s:
                self._write_lock(s)
                ds = self._find(s, principal, ref, lock=True)
                self._require_owner(principal, ds, "delete")
                version_ids = list(
                    s.scalars(
                        select(DatasetVersion.id)
                        .where(DatasetVersion.dataset_id == ds.id)
                        .order_by(DatasetVersion.id)
                        .with_for_update()
                    )
                )
                holds = s.execute(
                    select(DatasetHold.holder, DatasetVersion.version)
                    .join(DatasetVersion, DatasetHold.dataset_version_id == DatasetVersion.id)
                    .where(DatasetHold.dataset_version_id.in_(version_ids))
                    .order_by(DatasetVersion.version, DatasetHold.holder)
                ).all()
                if holds:
                    users = ", ".join(f"{holder} (version {v})" for holder, v in holds)
                    raise DatasetInUse(
                        f"dataset {ds.owner}/{ds.name} is in use by {users}; wait for "
                        "the run to finish (or cancel it), then delete again"
                    )
                shas = sorted(
                    set(
                        s.scalars(
                            select(DatasetFile.blob_sha256)
                            .where(DatasetFile.dataset_version_id.in_(version_ids))
                            .distinct()
                        )
                    )
                )
                s.execute(delete(DatasetFile).where(DatasetFile.dataset_version_id.in_(version_ids)))
                s.execute(delete(DatasetVersion).where(DatasetVersion.id.in_(version_ids)))
                s.execute(delete(Dataset).where(Dataset.id == ds.id))
                s.expunge(ds)
                for start in range(0, len(shas), BATCH):
                    batch = shas[start : start + BATCH]
                    locked = set(
                        s.scalars(
                            select(Blob.sha256)
                            .where(Blob.sha256.in_(batch))
                            .order_by(Blob.sha256)
                            .with_for_update()
                        )
                    )
                    still_used = set(
                        s.scalars(
                            select(DatasetFile.blob_sha256)
                            .where(DatasetFile.blob_sha256.in_(batch))
                            .distinct()
                        )
                    )
                    free = sorted(locked - still_used)
                    if free:
                        s.execute(delete(Blob).where(Blob.sha256.in_(free)))
                    for sha in free:
                        aside = self.blobs.set_aside(sha, trash)
                        if aside is not None:
                            moved.append(aside)
        except BaseException:
            for aside in moved:
                self.blobs.put_back(aside)
            raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
