"""Dataset options, declared once, each with a default, help text and an ``MLK_*`` variable.

These live beside the datasets code rather than in ``mlrun_kernel.config`` so the
datasets area owns its knobs; ``data_dir`` (where blobs and uploads go) still
comes from ``mlrun_kernel.config.settings()``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic import Field

from mlrun_kernel.config import MlkSettings

GiB = 1024**3
KiB = 1024
MiB = 1024**2


class DatasetSettings(MlkSettings):
    """Dataset limits and sizes: quotas, uploads, archives, previews (``MLK_`` + the name upper-cased)."""

    section: ClassVar[str] = "Datasets"

    dataset_quota_bytes: int = Field(
        default=50 * GiB,
        ge=0,
        description="Bytes of dataset content each user may own (distinct content, so a "
        "re-upload of identical bytes costs nothing); 0 means no quota.",
    )
    upload_chunk_bytes: int = Field(
        default=256 * KiB,
        ge=4096,
        description="Size of the pieces uploads are copied in; memory per upload stays "
        "near this whatever the file size. Pieces that stay in the CPU cache while they are "
        "written and hashed back are fastest (256 KiB: 1 GiB in 0.6 s; 8 MiB: 0.9-2 s).",
    )
    upload_checkpoint_bytes: int = Field(
        default=32 * MiB,
        ge=4096,
        description="While a stream is received, progress is fsynced and recorded this often, "
        "so a crash loses at most this much; larger is faster.",
    )
    archive_max_files: int = Field(
        default=100_000,
        ge=1,
        description="Most files a zip, tar or folder may hold (directories not counted).",
    )
    archive_max_bytes: int = Field(
        default=50 * GiB,
        ge=1,
        description="Most bytes a zip, tar or folder may unpack to, counted while unpacking.",
    )
    archive_max_ratio: float = Field(
        default=200.0,
        gt=1,
        description="Largest unpacked/packed size ratio accepted, checked while "
        "decompressing (a zip bomb is refused long before it fills the disk).",
    )
    archive_ratio_floor_bytes: int = Field(
        default=1 * MiB,
        ge=0,
        description="Unpacked bytes below which the ratio limit is not applied, so tiny "
        "archives of very repetitive text are accepted.",
    )
    preview_rows: int = Field(default=20, ge=1, description="Rows shown in a table preview.")
    preview_sample_rows: int = Field(
        default=1000, ge=1, description="Rows read to infer column types for a table preview."
    )
    preview_max_bytes: int = Field(
        default=4 * MiB,
        ge=4096,
        description="Most bytes read from a file to build its preview.",
    )
    preview_max_image_pixels: int = Field(
        default=50_000_000,
        ge=1,
        description="Images of more pixels (width x height, read from the header) get no "
        "thumbnail and are never decoded, for datasets and run outputs alike: a decompression "
        "bomb is a small file that decodes to gigabytes. 50 million pixels decode to about 200 MB.",
    )
    thumbnail_max_bytes: int = Field(
        default=64 * 1024,
        ge=0,
        description="Images up to this size are kept inline (base64) in the preview when "
        "Pillow is not installed to make a thumbnail.",
    )


@lru_cache(maxsize=1)
def dataset_settings() -> DatasetSettings:
    """The process-wide dataset settings, read once from the environment."""
    return DatasetSettings.from_env()
