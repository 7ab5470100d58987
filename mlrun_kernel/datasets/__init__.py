"""Datasets: files users upload for models to run on, stored once by content.

The public surface is ``Datasets`` (the Python API every front end calls),
``Principal`` (who is asking), the info dataclasses it returns, and the error
types. See ``service.py`` for how the modules stack, and docs/datasets.md.
"""

from mlrun_kernel.datasets.errors import (
    Ambiguous,
    DatasetError,
    DatasetInUse,
    EmptyFile,
    Forbidden,
    InvalidInput,
    InvalidName,
    MediaTypeMismatch,
    NotFound,
    QuotaExceeded,
    UnsafeArchive,
    UploadBusy,
    UploadIncomplete,
    UploadOffsetMismatch,
    UploadTooLarge,
)
from mlrun_kernel.datasets.service import (
    DatasetFileInfo,
    DatasetInfo,
    Datasets,
    DatasetVersionInfo,
    HoldInfo,
    Principal,
    UploadStatus,
)
from mlrun_kernel.datasets.settings import DatasetSettings, dataset_settings

__all__ = [
    "Ambiguous",
    "DatasetError",
    "DatasetFileInfo",
    "DatasetInUse",
    "DatasetInfo",
    "DatasetSettings",
    "DatasetVersionInfo",
    "Datasets",
    "EmptyFile",
    "Forbidden",
    "HoldInfo",
    "InvalidInput",
    "InvalidName",
    "MediaTypeMismatch",
    "NotFound",
    "Principal",
    "QuotaExceeded",
    "UnsafeArchive",
    "UploadBusy",
    "UploadIncomplete",
    "UploadOffsetMismatch",
    "UploadStatus",
    "UploadTooLarge",
    "dataset_settings",
]
