"""Media types come from content, and the extension must agree (pure logic)."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

import pytest

from mlrun_kernel.datasets import MediaTypeMismatch, detect
from tests.datasets.conftest import IRIS_CSV, gif_bytes, jpeg_bytes, png_bytes


def _tar_bytes() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("a.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    return out.getvalue()


def _zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "hi")
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "content", "media"),
    [
        ("iris.csv", IRIS_CSV, detect.CSV),
        ("iris.tsv", b"a\tb\n1\t2\n", detect.TSV),
        ("rows.jsonl", b'{"a": 1}\n{"a": 2}\n', detect.JSONL),
        ("rows.ndjson", b'{"a": 1}\n', detect.JSONL),
        ("doc.json", b'  {"a": [1, 2]}', detect.JSON),
        ("notes.txt", "café au lait\n".encode(), detect.TEXT),
        ("latin1.txt", "café au lait\n".encode("latin-1"), detect.TEXT),
        ("table.parquet", b"PAR1" + b"\x00" * 20 + b"PAR1", detect.PARQUET),
        ("cat.png", png_bytes(), detect.PNG),
        ("cat.jpg", jpeg_bytes(), detect.JPEG),
        ("cat.gif", gif_bytes(), detect.GIF),
        ("bundle.zip", _zip_bytes(), detect.ZIP),
        ("bundle.tar", _tar_bytes(), detect.TAR),
        ("bundle.tar.gz", gzip.compress(_tar_bytes()), detect.GZIP),
        ("rows.csv.gz", gzip.compress(IRIS_CSV), detect.GZIP),
        ("no-extension", IRIS_CSV, detect.TEXT),
        ("weights.bin", bytes(range(256)), detect.BINARY),
        ("unknown.xyz", png_bytes(), detect.PNG),
    ],
)
def test_content_and_extension_agree(filename, content, media):
    assert detect.media_type_for(filename, content[:65536], content[-8:], size=len(content)) == media


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("photo.csv", png_bytes(), "'photo.csv' is named as CSV but its content is a PNG image"),
        ("data.png", IRIS_CSV, "is named as a PNG image but its content is plain text"),
        ("data.json", IRIS_CSV, "does not start with '{' or '['"),
        ("rows.jsonl", b"not json\n", "first line is not JSON"),
        ("table.parquet", IRIS_CSV, "is named as Parquet but its content is plain text"),
        ("cut.parquet", b"PAR1" + b"\x00" * 20, "is named as Parquet but its content is binary"),
        ("bundle.zip", _tar_bytes(), "named as a zip archive but its content is a tar archive"),
        ("bundle.tar.gz", _zip_bytes(), "a gzip-compressed tar archive"),
        ("notes.txt", bytes(range(256)), "is named as plain text but its content is binary data"),
    ],
)
def test_content_that_contradicts_the_extension_is_refused(filename, content, message):
    with pytest.raises(MediaTypeMismatch) as err:
        detect.media_type_for(filename, content, content[-8:], size=len(content))
    assert message in str(err.value)
    assert "rename" in str(err.value) or "JSON" in str(err.value)


def test_a_utf8_character_cut_by_the_sample_is_still_text():
    sample = ("é" * 100).encode()[:-1]
    assert detect.sniff(sample) == detect.TEXT


def test_tar_without_magic_is_found_by_its_checksum():
    block = bytearray(_tar_bytes()[:512])
    block[257:265] = b"\x00" * 8  # an old v7 header has no "ustar" magic
    checksum = sum(block[:148]) + 8 * 32 + sum(block[156:])
    block[148:156] = f"{checksum:06o}\x00 ".encode()
    assert detect.looks_like_tar(bytes(block))
    assert not detect.looks_like_tar(b"\x00" * 512)


def test_a_jsonl_line_longer_than_the_sample_is_not_misjudged():
    head = b'{"text": "' + b"x" * 70_000
    assert detect.media_type_for("big.jsonl", head[:65536], b"}\n", size=200_000) == detect.JSONL


def test_utf16_text_gets_a_hint():
    content = "a,b\n1,2\n".encode("utf-16")
    with pytest.raises(MediaTypeMismatch, match="UTF-16 is not accepted"):
        detect.media_type_for("data.csv", content, content[-8:], size=len(content))
