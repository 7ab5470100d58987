"""Fixtures for the datasets tests: a ``Datasets`` on each backend, sample files, and a
check that what was stored before a refused input is still whole."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlrun_kernel.datasets import Datasets, DatasetSettings, DatasetVersionInfo
from mlrun_kernel.store import Store, open_store

KiB = 1024
MiB = 1024 * 1024

IRIS_CSV = (
    b"sepal_length,sepal_width,species,measured_on,checked\n"
    b"5.1,3.5,setosa,2024-01-02,true\n"
    b"4.9,3,setosa,2024-01-03,false\n"
    b"6.3,,virginica,2024-02-01,true\n"
)


def small_settings(**overrides: object) -> DatasetSettings:
    """Small chunks and limits so the same code paths run on kilobytes, not gigabytes."""
    values: dict[str, object] = {
        "dataset_quota_bytes": 0,
        "upload_chunk_bytes": 64 * KiB,
        "upload_checkpoint_bytes": 128 * KiB,
        "archive_max_files": 50,
        "archive_max_bytes": 8 * MiB,
        "archive_max_ratio": 100.0,
        "archive_ratio_floor_bytes": 256 * KiB,
    }
    values.update(overrides)
    return DatasetSettings(**values)  # type: ignore[arg-type]


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG, built by hand so no imaging library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def gif_bytes(width: int = 5, height: int = 4) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b"\x3b"


def jpeg_bytes(width: int = 7, height: int = 6) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def datasets(store: Store, root: Path) -> Datasets:
    return Datasets(store, root, settings=small_settings())


@dataclass
class Kept:
    """A dataset stored before a test tries something bad, to check it stays whole."""

    info: DatasetVersionInfo
    content: bytes


def blob_files(root: Path) -> dict[str, str]:
    """Every blob on disk: name -> sha256 of its bytes."""
    found = {}
    for path in (root / "blobs" / "sha256").rglob("*"):
        if path.is_file():
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def kept(datasets: Datasets, tmp_path: Path) -> Kept:
    path = tmp_path / "iris.csv"
    path.write_bytes(IRIS_CSV)
    info = datasets.upload_file("ana", "iris", path, description="the iris flowers")
    return Kept(info=info, content=IRIS_CSV)


def assert_untouched(datasets: Datasets, kept: Kept) -> None:
    """The kept dataset reads back byte for byte; blobs are whole; no staging is left."""
    again = datasets.get_version("ana", "iris", kept.info.version)
    assert again == kept.info
    with datasets.open("ana", "iris", kept.info.version) as f:
        assert f.read() == kept.content
    for name, digest in blob_files(datasets.root).items():
        assert name == digest, f"blob {name} holds other bytes"
    assert list((datasets.root / "blobs" / "tmp").iterdir()) == []


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A real PNG of ``width`` x ``height`` black pixels (1 bit each) in about 100 KiB:
    the shape of a decompression bomb (900 million pixels by default)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )
