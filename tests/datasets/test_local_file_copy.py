"""Uploading a file that is on this machine: the kernel copies it, a thread hashes behind.

The digest must be of the bytes stored, limits must stop the copy before it
passes them, and when the kernel cannot copy between the two file systems the
upload goes through the ordinary streamed path with the same result.
"""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

import mlrun_kernel.datasets.uploads as uploads_module
from mlrun_kernel.datasets import Datasets, QuotaExceeded
from mlrun_kernel.datasets.uploads import receive, regular_file_source
from tests.datasets.conftest import KiB, MiB, assert_untouched, small_settings
from tests.datasets.test_uploads import csv_bytes

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def streamed(monkeypatch):
    """Counts the bytes written through Python rather than by the kernel (written for real)."""
    written = [0]
    real = uploads_module.write_all

    def spy(fd, data):  # type: ignore[no-untyped-def]
        written[0] += len(data)
        return real(fd, data)

    monkeypatch.setattr(uploads_module, "write_all", spy)
    return written


def test_a_local_file_is_copied_by_the_kernel_and_hashed_from_what_was_stored(datasets, tmp_path, streamed):
    data = csv_bytes(3 * MiB + 123)
    path = tmp_path / "big.csv"
    path.write_bytes(data)

    info = datasets.upload_file("ana", "big", path)

    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    with datasets.open("ana", "big") as f:
        assert f.read() == data
    # The kernel copied every byte: none went through Python.
    assert streamed == [0]


def test_the_copy_follows_a_partly_read_file_from_where_its_reader_stands(datasets, tmp_path):
    data = csv_bytes(200 * KiB)
    path = tmp_path / "rows.csv"
    path.write_bytes(data)
    upload = datasets.start_upload("ana", "rows.csv")
    with open(path, "rb") as f:
        f.read(10)  # a buffered reader has read ahead further than this in the OS
        datasets.append_chunk(upload, 0, f)
        assert f.tell() == len(data)  # the reader is left at the end, as after a plain read
    info = datasets.complete_upload(upload, name="rows")
    assert info.sha256 == hashlib.sha256(data[10:]).hexdigest()


def test_limits_stop_the_kernel_copy_before_it_passes_them(store, root, tmp_path, kept):
    datasets = Datasets(store, root, settings=small_settings(), quota=100 * KiB)
    path = tmp_path / "huge.csv"
    path.write_bytes(csv_bytes(200 * KiB))
    upload = datasets.start_upload("ana", "huge.csv")
    with open(path, "rb") as f, pytest.raises(QuotaExceeded, match="100.0 KiB quota"):
        datasets.append_chunk(upload, 0, f)
    assert datasets.upload_status(upload).received <= 100 * KiB
    assert datasets.usage("ana") <= 100 * KiB
    assert_untouched(datasets, kept)


def test_a_refused_step_keeps_what_was_copied_and_the_digest_covers_it(tmp_path):
    data = os.urandom(10 * KiB)
    (tmp_path / "src").write_bytes(data)
    (tmp_path / "part").write_bytes(b"")
    recorded: list[int] = []

    def before_piece(end: int) -> None:
        if end > 6 * KiB:
            raise RuntimeError(f"refused at {end}")

    hasher = hashlib.sha256()
    dst = os.open(tmp_path / "part", os.O_RDWR)
    try:
        with open(tmp_path / "src", "rb") as src, pytest.raises(RuntimeError, match="refused at 8192"):
            receive(
                dst,
                0,
                src,
                hasher,
                chunk_bytes=KiB,
                before_piece=before_piece,
                checkpoint=recorded.append,
                checkpoint_bytes=1 << 30,
                step_bytes=4 * KiB,
            )
    finally:
        os.close(dst)
    assert recorded == [4 * KiB]  # the final checkpoint: what landed before the refusal
    assert (tmp_path / "part").read_bytes() == data[: 4 * KiB]
    assert hasher.hexdigest() == hashlib.sha256(data[: 4 * KiB]).hexdigest()


def test_checkpoints_are_recorded_while_the_kernel_copies(tmp_path):
    data = os.urandom(64 * KiB)
    (tmp_path / "src").write_bytes(data)
    (tmp_path / "part").write_bytes(b"")
    recorded: list[int] = []
    dst = os.open(tmp_path / "part", os.O_RDWR)
    try:
        with open(tmp_path / "src", "rb") as src:
            end = receive(
                dst,
                0,
                src,
                None,
                chunk_bytes=KiB,
                before_piece=lambda end: None,
                checkpoint=recorded.append,
                checkpoint_bytes=16 * KiB,
                step_bytes=8 * KiB,
            )
            position = src.tell()
    finally:
        os.close(dst)
    assert (end, position) == (len(data), len(data))
    assert (tmp_path / "part").read_bytes() == data
    assert recorded[-1] == len(data)
    assert len(recorded) >= 2  # at least one periodic checkpoint before the final one
    assert recorded == sorted(recorded)


def shm_folder() -> Path:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm (a tmpfs) to copy across file systems from")
    return shm


def test_across_file_systems_the_upload_falls_back_to_streaming(datasets, tmp_path, streamed):
    data = csv_bytes(300 * KiB)
    source = shm_folder() / f"mlk-test-{os.getpid()}.csv"
    source.write_bytes(data)
    try:
        # Whether this kernel refuses the copy (EXDEV since Linux 5.19) decides the path:
        src = os.open(source, os.O_RDONLY)
        dst = os.open(tmp_path / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.copy_file_range(src, dst, 1)
            kernel_refuses = False
        except OSError as exc:
            kernel_refuses = exc.errno == errno.EXDEV
        finally:
            os.close(src)
            os.close(dst)

        info = datasets.upload_file("ana", "from-tmpfs", source)
    finally:
        source.unlink()
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    with datasets.open("ana", "from-tmpfs") as f:
        assert f.read() == data
    assert streamed == ([len(data)] if kernel_refuses else [0])


def test_only_regular_files_go_to_the_kernel(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\n1,2\n")
    with open(path, "rb") as f:
        assert regular_file_source(f) == (f.fileno(), 0)
    with open(path, "rb", buffering=0) as raw:
        assert regular_file_source(raw) == (raw.fileno(), 0)
    read_end, write_end = os.pipe()
    try:
        with open(read_end, "rb") as pipe:
            assert regular_file_source(pipe) is None
    finally:
        os.close(write_end)
    assert regular_file_source(iter([b"a,b\n"])) is None
