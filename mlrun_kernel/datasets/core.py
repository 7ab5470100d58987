"""What every part of ``Datasets`` shares: the store, the settings, the data folder.

``DatasetsCore`` holds them; the parts (``quotas``, ``upload_sessions``,
``versions``, ``reading``, ``changes``, ``holds``, ``upkeep``) are classes over
it that ``Datasets`` (``service.py``) puts together. ``_write_lock`` is how every
writing transaction starts on SQLite.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from mlrun_kernel.datasets.blobs import BlobStore
from mlrun_kernel.datasets.records import Quota
from mlrun_kernel.datasets.settings import DatasetSettings, dataset_settings
from mlrun_kernel.datasets.uploads import PartFiles
from mlrun_kernel.store import Store


class DatasetsCore:
    """The state of ``Datasets``; see ``service.Datasets`` for the arguments."""

    def __init__(
        self,
        store: Store,
        root: Path | str | None = None,
        *,
        settings: DatasetSettings | None = None,
        quota: Quota = None,
    ) -> None:
        if root is None:
            from mlrun_kernel.config import settings as platform_settings

            root = platform_settings().data_dir
        self.store = store
        self.settings = settings or dataset_settings()
        self.root = Path(root)
        self.blobs = BlobStore(self.root)
        self.parts = PartFiles(self.root)
        self._quota: Quota = quota if quota is not None else self.settings.dataset_quota_bytes
        # upload id -> (bytes hashed, hasher): lets an uninterrupted upload skip re-reading.
        self._hashers: dict[str, tuple[int, Any]] = {}
        self._hashers_lock = threading.Lock()

    @staticmethod
    def _write_lock(s: Session) -> None:
        """On SQLite, take the database write lock now so concurrent writers queue up.

        (A transaction that read first and wrote later would fail at once with
        "database is locked" instead of waiting.) PostgreSQL uses row locks.
        """
        if s.get_bind().dialect.name == "sqlite":
            s.execute(text("DELETE FROM dataset_holds WHERE 1 = 0"))
