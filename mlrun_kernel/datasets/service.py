"""``Datasets``: the one Python API for datasets; the CLI, the service and widgets call it.

Layers, from the caller inwards:

- ``Datasets`` (this module): the parts below put together, with the database
  (``mlrun_kernel.store``) and the files on disk kept consistent. Methods take
  who is asking (a ``Principal`` or a user name) and return frozen records
  (``records``), never ORM objects.

  - ``upload_sessions``: resumable uploads (rows, part files, the hash kept
    between chunks); ``quotas``: usage against each owner's limit;
  - ``versions``: a finished upload, a file or a folder becomes the next
    version; ``reading``: what a caller may see; ``changes``: share, delete;
  - ``holds``: runs keep their input versions; ``upkeep``: garbage collection;
  - ``core``: the state they share (store, settings, data folder).

- ``uploads``: part files of resumable uploads, their locks, the copy loop.
- ``archives``: safe unpacking of zip/tar and reading of folders.
- ``blobs``: content-addressed files (sha256), installed atomically.
- ``detect`` and ``preview``: media types and previews, pure functions.
- ``names``: validation of every name a user gives.

Consistency rules: a blob file is installed before the transaction that
references it commits, and removed (set aside first) inside the transaction
that drops its last reference, with the blob's row locked in both; so no
committed row ever points at a missing file, and a failed step leaves at most
an unreferenced file behind. Writes on SQLite take the database write lock
first (``DatasetsCore._write_lock``) so concurrent writers wait instead of failing.
"""

from __future__ import annotations

from mlrun_kernel.datasets.changes import Changes
from mlrun_kernel.datasets.holds import Holds
from mlrun_kernel.datasets.records import (
    VISIBILITIES,
    DatasetFileInfo,
    DatasetInfo,
    DatasetVersionInfo,
    HoldInfo,
    Principal,
    Quota,
    UploadStatus,
    Visibility,
    human_bytes,
)
from mlrun_kernel.datasets.upkeep import Upkeep
from mlrun_kernel.datasets.versions import Versions

__all__ = [
    "VISIBILITIES",
    "DatasetFileInfo",
    "DatasetInfo",
    "DatasetVersionInfo",
    "Datasets",
    "HoldInfo",
    "Principal",
    "Quota",
    "UploadStatus",
    "Visibility",
    "human_bytes",
]


class Datasets(Versions, Changes, Holds, Upkeep):
    """Datasets of every user, in one store and one data folder.

    ``Datasets(store, root=None, *, settings=None, quota=None)``: ``root`` is
    the data folder (default ``MLK_DATA_DIR``): blobs go to ``root/blobs``,
    part files of uploads to ``root/uploads``. ``quota`` is bytes per user, or a
    callable ``owner -> bytes`` (None or 0: no quota); by default
    ``MLK_DATASET_QUOTA_BYTES``.
    """
