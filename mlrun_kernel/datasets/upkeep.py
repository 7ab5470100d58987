"""Upkeep: removing what crashes and abandoned clients leave behind."""

from __future__ import annotations

import contextlib
import shutil
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from mlrun_kernel.datasets.upload_sessions import UploadSessions
from mlrun_kernel.store.models.datasets import Blob, Upload
from mlrun_kernel.store.types import utcnow


class Upkeep(UploadSessions):
    """Garbage collection of uploads, part files, staging and orphan blobs."""

    def collect_garbage(self, older_than: timedelta = timedelta(hours=24)) -> dict[str, int]:
        """Remove what crashes and abandoned clients leave behind, if older than ``older_than``.

        Expired uploads, part files without an upload, staging folders, and blob
        files no row references. Blobs are checked one by one under a lock, so
        an upload claiming the same content at that moment keeps it.
        """
        cutoff = utcnow() - older_than
        cutoff_ts = cutoff.timestamp()
        removed = {"uploads": self.expire_uploads(older_than), "parts": 0, "staging": 0, "blobs": 0}
        with self.store.session() as s:
            live = set(s.scalars(select(Upload.id)))
        for part in self.parts.folder.glob("*.part"):
            if part.stem not in live and part.stat().st_mtime < cutoff_ts:
                part.unlink(missing_ok=True)
                removed["parts"] += 1
        for leftover in self.blobs.tmp.iterdir():
            if leftover.stat().st_mtime < cutoff_ts:
                shutil.rmtree(leftover, ignore_errors=True)
                removed["staging"] += 1
        for shard in self.blobs.blobs.iterdir():
            for blob in shard.iterdir():
                if blob.stat().st_mtime < cutoff_ts and self._remove_orphan_blob(blob.name):
                    removed["blobs"] += 1
        return removed

    def _remove_orphan_blob(self, sha: str) -> bool:
        try:
            self.blobs.path(sha)
        except ValueError:
            return False  # not ours
        with self.store.session() as s:
            self._write_lock(s)
            if s.get(Blob, sha) is not None:
                return False
            # Take the row ourselves: an upload claiming this content now waits for us,
            # then finds the file gone and installs its own copy.
            try:
                with s.begin_nested():
                    s.add(Blob(sha256=sha, size=0))
            except IntegrityError:
                return False  # claimed meanwhile
            with contextlib.suppress(FileNotFoundError):
                self.blobs.path(sha).unlink()
            s.execute(delete(Blob).where(Blob.sha256 == sha))
        return True
