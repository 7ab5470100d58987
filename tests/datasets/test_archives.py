"""Archives and folders are unpacked safely: every trick is refused with a clear reason,
and limits are checked on the bytes really produced, while streaming (no database)."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from mlrun_kernel.datasets import EmptyFile, MediaTypeMismatch, UnsafeArchive, detect
from mlrun_kernel.datasets.archives import Limits, collect_folder, is_archive, unpack
from mlrun_kernel.datasets.blobs import BlobStore
from mlrun_kernel.datasets.settings import DatasetSettings
from tests.datasets.conftest import IRIS_CSV, KiB, MiB, png_bytes

LIMITS = Limits(max_files=50, max_bytes=8 * MiB, max_ratio=100.0, ratio_floor=256 * KiB)


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "data")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "staging"
    out.mkdir()
    return out


def write_zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]], **kw) -> Path:
    with zipfile.ZipFile(path, "w", **kw) as z:
        for info, data in members:
            z.writestr(info, data)
    return path


def write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode="w", **kw):
    with tarfile.open(path, mode, **kw) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def tar_info(name: str, kind: bytes = tarfile.REGTYPE, **attrs) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def run_unpack(path: Path, blobs: BlobStore, folder: Path, limits: Limits = LIMITS):
    media = detect.sniff(path.read_bytes()[:65536], path.read_bytes()[-8:])
    return unpack(path, media, path.name, blobs, folder, limits, 64 * KiB)


def test_a_zip_unpacks_into_staged_files_with_types(tmp_path, blobs, folder):
    path = write_zip(
        tmp_path / "d.zip",
        [("train/iris.csv", IRIS_CSV), ("train/", b""), ("img/cat.png", png_bytes())],
        compression=zipfile.ZIP_DEFLATED,
    )
    staged = run_unpack(path, blobs, folder)
    assert [(s.path, s.media_type, s.size) for s in staged] == [
        ("img/cat.png", detect.PNG, len(png_bytes())),
        ("train/iris.csv", detect.CSV, len(IRIS_CSV)),
    ]
    assert all(s.source.read_bytes() for s in staged)


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tars_plain_and_compressed_unpack(tmp_path, blobs, folder, mode):
    path = write_tar(
        tmp_path / "d.tar",
        [(tar_info("data", tarfile.DIRTYPE), None), (tar_info("data/iris.csv"), IRIS_CSV)],
        mode=mode,
    )
    media = detect.sniff(path.read_bytes()[:512])
    assert is_archive(path, media)
    staged = unpack(path, media, "d.tar", blobs, folder, LIMITS, 64 * KiB)
    assert [(s.path, s.media_type) for s in staged] == [("data/iris.csv", detect.CSV)]


def test_a_gzipped_csv_is_not_an_archive(tmp_path):
    path = tmp_path / "rows.csv.gz"
    path.write_bytes(gzip.compress(IRIS_CSV))
    assert not is_archive(path, detect.GZIP)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.sh", "climbs out with '..' (path traversal is refused)"),
        ("ok/../../evil.sh", "climbs out with '..'"),
        ("/etc/cron.d/evil", "is absolute"),
        ("..\\evil.bat", "contains a backslash"),
    ],
)
def test_zip_path_traversal_is_refused(tmp_path, blobs, folder, name, message):
    path = write_zip(tmp_path / "t.zip", [("fine.txt", b"ok"), (name, b"boom")])
    with pytest.raises(UnsafeArchive) as err:
        run_unpack(path, blobs, folder)
    assert message in str(err.value) and "zip archive 't.zip'" in str(err.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [("../evil.sh", "climbs out with '..'"), ("/etc/passwd", "is absolute")],
)
def test_tar_path_traversal_is_refused(tmp_path, blobs, folder, name, message):
    path = write_tar(tmp_path / "t.tar", [(tar_info(name), b"boom")])
    with pytest.raises(UnsafeArchive, match=message):
        run_unpack(path, blobs, folder)


def _zip_special(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (stat.S_IFLNK | 0o777, "'link' is a symbolic link; links are refused"),
        (stat.S_IFIFO | 0o644, "'link' is a device, fifo or socket"),
        (stat.S_IFCHR | 0o644, "'link' is a device, fifo or socket"),
    ],
)
def test_zip_links_and_devices_are_refused(tmp_path, blobs, folder, mode, message):
    path = write_zip(tmp_path / "l.zip", [(_zip_special("link", mode), b"/etc/passwd")])
    with pytest.raises(UnsafeArchive, match=message):
        run_unpack(path, blobs, folder)


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (tar_info("link", tarfile.SYMTYPE, linkname="/etc/passwd"), "is a symbolic link"),
        (tar_info("hard", tarfile.LNKTYPE, linkname="data.txt"), "is a hard link"),
        (tar_info("dev", tarfile.CHRTYPE, devmajor=1, devminor=3), "is a device or fifo"),
        (tar_info("blk", tarfile.BLKTYPE, devmajor=8, devminor=0), "is a device or fifo"),
        (tar_info("pipe", tarfile.FIFOTYPE), "is a device or fifo"),
    ],
)
def test_tar_links_devices_and_fifos_are_refused(tmp_path, blobs, folder, info, message):
    path = write_tar(tmp_path / "l.tar", [(tar_info("data.txt"), b"ok"), (info, None)])
    with pytest.raises(UnsafeArchive, match=message):
        run_unpack(path, blobs, folder)


def test_a_1000_to_1_zip_bomb_is_refused_while_streaming(tmp_path, blobs, folder):
    """Refused at the default ratio limit, after a few MiB, never the full 40 MiB."""
    path = tmp_path / "bomb.zip"
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open("zeros.csv", "w") as member,
    ):
        for _ in range(40):
            member.write(b"\x30" * MiB)
    ratio = 40 * MiB / path.stat().st_size
    assert ratio > 900
    default = DatasetSettings()
    limits = Limits(
        max_files=10,
        max_bytes=1024 * MiB,
        max_ratio=default.archive_max_ratio,
        ratio_floor=default.archive_ratio_floor_bytes,
    )
    with pytest.raises(UnsafeArchive) as err:
        run_unpack(path, blobs, folder, limits)
    assert f"expands more than {default.archive_max_ratio:g}:1" in str(err.value)
    assert "decompression bomb" in str(err.value)
    written = sum(p.stat().st_size for p in folder.iterdir())
    assert written < 10 * MiB  # stopped early, by what it produced, not what headers say


def test_a_zip_that_lies_about_sizes_in_its_headers_is_refused(tmp_path, blobs, folder):
    """Headers claiming a tiny size do not let a bomb through: the real bytes count."""
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", b"a" * (8 * MiB))
    data = bytearray(path.read_bytes())
    # Rewrite the uncompressed size in the local and central headers to 10 bytes.
    local = data.find(b"PK\x03\x04")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    central = data.find(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive):
        run_unpack(path, blobs, folder)


def test_a_gzipped_tar_bomb_is_refused_while_decompressing(tmp_path, blobs, folder):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tar_info("zeros.bin", size=60 * MiB)
        tar.addfile(info, io.BytesIO(b"\x00" * (60 * MiB)))
    path = tmp_path / "bomb.tar.gz"
    path.write_bytes(gzip.compress(raw.getvalue(), compresslevel=9))
    assert 60 * MiB / path.stat().st_size > 900
    roomy = Limits(max_files=10, max_bytes=1024 * MiB, max_ratio=100.0, ratio_floor=256 * KiB)
    with pytest.raises(UnsafeArchive, match=r"expands more than 100:1 \(while decompressing"):
        run_unpack(path, blobs, folder, roomy)
    assert sum(p.stat().st_size for p in folder.iterdir()) < 10 * MiB


def test_too_many_files_are_refused(tmp_path, blobs, folder):
    path = write_zip(tmp_path / "many.zip", [(f"f{i}.txt", b"x") for i in range(51)])
    with pytest.raises(UnsafeArchive, match="holds more than 50 files"):
        run_unpack(path, blobs, folder)


def test_too_many_unpacked_bytes_are_refused(tmp_path, blobs, folder):
    path = write_zip(tmp_path / "big.zip", [("big.bin", os.urandom(9 * MiB))])
    with pytest.raises(UnsafeArchive, match="unpacks to more than 8388608 bytes"):
        run_unpack(path, blobs, folder)


def test_duplicate_and_conflicting_paths_are_refused(tmp_path, blobs, folder):
    with pytest.warns(UserWarning):
        dup = write_zip(tmp_path / "dup.zip", [("a.txt", b"1"), ("a.txt", b"2")])
    with pytest.raises(UnsafeArchive, match="'a.txt' appears twice"):
        run_unpack(dup, blobs, folder)
    both = write_zip(tmp_path / "both.zip", [("a", b"file"), ("a/b.txt", b"inside")])
    with pytest.raises(UnsafeArchive, match="'a' is both a file and a folder"):
        run_unpack(both, blobs, folder)


def test_encrypted_zip_members_are_refused(tmp_path, blobs, folder):
    path = write_zip(tmp_path / "enc.zip", [("secret.txt", b"xx")])
    data = bytearray(path.read_bytes())
    for magic, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" flag
        data[data.find(magic) + at] |= 0x1
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive, match="'secret.txt' is encrypted"):
        run_unpack(path, blobs, folder)


def test_damaged_archives_are_refused(tmp_path, blobs, folder):
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + os.urandom(200))
    with pytest.raises(UnsafeArchive, match="is not a readable zip archive"):
        run_unpack(path, blobs, folder)
    tar = tmp_path / "broken.tar.gz"
    tar.write_bytes(gzip.compress(b"ustar" * 1000)[:300])
    with pytest.raises(UnsafeArchive, match="is not a readable tar archive"):
        unpack(tar, detect.GZIP, tar.name, blobs, folder, LIMITS, 64 * KiB)


def test_an_archive_without_files_is_refused(tmp_path, blobs, folder):
    path = write_zip(tmp_path / "dirs.zip", [("only/", b"")])
    with pytest.raises(EmptyFile, match="zip archive 'dirs.zip' holds no files"):
        run_unpack(path, blobs, folder)


def test_an_oversized_pax_header_is_refused_before_it_is_read(tmp_path, blobs, folder):
    info = tar_info("a.txt")
    info.pax_headers = {"comment": "x" * (2 * MiB)}
    path = write_tar(tmp_path / "pax.tar", [(info, b"hi")], format=tarfile.PAX_FORMAT)
    with pytest.raises(UnsafeArchive, match="extended header"):
        run_unpack(path, blobs, folder)


def test_a_member_whose_content_contradicts_its_name_is_refused(tmp_path, blobs, folder):
    path = write_zip(tmp_path / "pics.zip", [("ok.csv", IRIS_CSV), ("img/photo.csv", png_bytes())])
    with pytest.raises(MediaTypeMismatch) as err:
        run_unpack(path, blobs, folder)
    assert "zip archive 'pics.zip', file 'img/photo.csv'" in str(err.value)
    assert "its content is a PNG image" in str(err.value)


def test_a_folder_is_read_file_by_file(tmp_path, blobs, folder):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "iris.csv").write_bytes(IRIS_CSV)
    (src / "sub" / "cat.png").write_bytes(png_bytes())
    (src / "empty.txt").write_bytes(b"")
    staged = collect_folder(src, blobs, folder, LIMITS, 64 * KiB)
    assert [(s.path, s.media_type) for s in staged] == [
        ("empty.txt", detect.EMPTY),
        ("iris.csv", detect.CSV),
        ("sub/cat.png", detect.PNG),
    ]


def test_links_and_fifos_in_a_folder_are_refused(tmp_path, blobs, folder):
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("ok")
    (src / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(UnsafeArchive, match="'passwd' is a symbolic link"):
        collect_folder(src, blobs, folder, LIMITS, 64 * KiB)
    (src / "passwd").unlink()
    os.mkfifo(src / "pipe")
    with pytest.raises(UnsafeArchive, match="'pipe' is a device, fifo or socket"):
        collect_folder(src, blobs, folder, LIMITS, 64 * KiB)
