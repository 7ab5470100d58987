"""Resumable uploads: streamed in fixed chunks, resumed after a failure or a restart,
and refused clearly when the client is wrong (SQLite and PostgreSQL)."""

from __future__ import annotations

import fcntl
import hashlib
import io
import tracemalloc
from datetime import timedelta

import pytest

from mlrun_kernel.datasets import (
    Datasets,
    EmptyFile,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    UploadBusy,
    UploadIncomplete,
    UploadOffsetMismatch,
    UploadTooLarge,
)
from mlrun_kernel.store import open_store
from tests.datasets.conftest import KiB, MiB, assert_untouched, small_settings

pytestmark = [pytest.mark.postgres]


def csv_bytes(size: int) -> bytes:
    """``size`` bytes of a CSV whose rows all differ."""
    out = io.BytesIO()
    out.write(b"row,value\n")
    i = 0
    while out.tell() < size:
        out.write(f"{i},{i * 7 % 1000}\n".encode())
        i += 1
    return out.getvalue()[:size]


class Interrupted(Exception):
    pass


def stream_that_breaks(data: bytes, after: int, piece: int = 10_000):
    """Yields ``data`` in pieces, then fails (a dropped connection) after ``after`` bytes."""
    sent = 0
    while sent < len(data):
        if sent >= after:
            raise Interrupted(f"connection lost after {sent} bytes")
        yield data[sent : sent + piece]
        sent += piece


def test_an_interrupted_upload_resumes_where_it_stopped(datasets, kept):
    data = csv_bytes(3 * MiB + 123)
    upload = datasets.start_upload("ana", "big.csv", size=len(data))
    with pytest.raises(Interrupted):
        datasets.append_chunk(upload, 0, stream_that_breaks(data, after=1_000_000))
    status = datasets.upload_status(upload)
    assert status.received == 1_000_000  # every byte that arrived is kept
    with pytest.raises(UploadOffsetMismatch) as err:
        datasets.append_chunk(upload, 0, io.BytesIO(data))
    assert err.value.expected == 1_000_000
    assert "next chunk must start at offset 1000000, not 0" in str(err.value)
    datasets.append_chunk(upload, status.received, io.BytesIO(data[status.received :]))
    info = datasets.complete_upload(upload, name="big")
    assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with datasets.open("ana", "big") as f:
        assert f.read() == data
    assert not (datasets.root / "uploads" / f"{upload}.part").exists()
    assert_untouched(datasets, kept)


def test_an_upload_survives_a_restart_of_the_process(store_url, root):
    data = csv_bytes(2 * MiB)
    first_store = open_store(store_url)
    first = Datasets(first_store, root, settings=small_settings())
    upload = first.start_upload("ana", "restart.csv")
    with pytest.raises(Interrupted):
        first.append_chunk(upload, 0, stream_that_breaks(data, after=700_000))
    first_store.close()
    del first  # the process is gone; only the store and the part file remain

    second_store = open_store(store_url)
    second = Datasets(second_store, root, settings=small_settings())
    try:
        received = second.upload_status(upload).received
        assert received == 700_000
        assert (root / "uploads" / f"{upload}.part").stat().st_size == received
        second.append_chunk(upload, received, data[received:])
        info = second.complete_upload(upload, name="restart")
        assert info.sha256 == hashlib.sha256(data).hexdigest()  # re-hashed from disk
    finally:
        second_store.close()


def test_bytes_written_after_the_last_checkpoint_are_cut_and_resent(datasets):
    """A crash can leave bytes in the part file that were never acknowledged."""
    data = csv_bytes(300 * KiB)
    upload = datasets.start_upload("ana", "crash.csv")
    datasets.append_chunk(upload, 0, data[:100_000])
    with open(datasets.root / "uploads" / f"{upload}.part", "ab") as part:
        part.write(b"garbage that was never acknowledged")
    assert datasets.upload_status(upload).received == 100_000
    datasets.append_chunk(upload, 100_000, data[100_000:])
    info = datasets.complete_upload(upload, name="crash")
    assert info.sha256 == hashlib.sha256(data).hexdigest()


def test_chunks_arrive_in_several_requests(datasets):
    data = csv_bytes(200 * KiB)
    upload = datasets.start_upload("ana", "parts.csv", size=len(data))
    for start in range(0, len(data), 50 * KiB):
        status = datasets.append_chunk(upload, start, data[start : start + 50 * KiB])
        assert status.received == min(start + 50 * KiB, len(data))
    assert datasets.complete_upload(upload, name="parts").size == len(data)


def test_memory_stays_flat_whatever_the_file_size(datasets):
    """A 48 MiB stream goes through in 64 KiB pieces; Python never holds the file."""

    class Generated(io.RawIOBase):
        def __init__(self, size: int) -> None:
            self.left = size
            self.n = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            if not self.left:
                return 0
            line = f"{self.n},{self.n * 3}\n".encode() * 1000
            self.n += 1
            count = min(len(buffer), len(line), self.left)
            buffer[:count] = line[:count]
            self.left -= count
            return count

    size = 48 * MiB
    tracemalloc.start()
    try:
        upload = datasets.start_upload("ana", "gen.csv", size=size)
        datasets.append_chunk(upload, 0, Generated(size))
        info = datasets.complete_upload(upload, name="gen")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == size
    assert peak < 8 * MiB, f"peak Python memory {peak / MiB:.1f} MiB for a 48 MiB upload"


def test_more_bytes_than_announced_are_refused(datasets, kept):
    upload = datasets.start_upload("ana", "small.csv", size=1000)
    with pytest.raises(UploadTooLarge, match="announced 1000 bytes but more are arriving"):
        datasets.append_chunk(upload, 0, csv_bytes(2000))
    assert datasets.upload_status(upload).received == 0
    assert_untouched(datasets, kept)


def test_completing_before_all_bytes_arrived_is_refused(datasets, kept):
    upload = datasets.start_upload("ana", "half.csv", size=1000)
    datasets.append_chunk(upload, 0, csv_bytes(1000)[:400])
    with pytest.raises(UploadIncomplete, match="has 400 of the 1000 bytes announced; send the rest"):
        datasets.complete_upload(upload, name="half")
    datasets.append_chunk(upload, 400, csv_bytes(1000)[400:])
    assert datasets.complete_upload(upload, name="half").version == 1
    assert_untouched(datasets, kept)


def test_empty_files_are_refused(datasets, kept, tmp_path):
    with pytest.raises(EmptyFile, match="'nothing.csv' is an empty file"):
        datasets.start_upload("ana", "nothing.csv", size=0)
    upload = datasets.start_upload("ana", "nothing.csv")
    with pytest.raises(EmptyFile, match="empty file"):
        datasets.complete_upload(upload, name="nothing")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(EmptyFile, match="'empty.csv' is an empty file"):
        datasets.upload_file("ana", "iris", empty)
    assert [d.name for d in datasets.list("ana")] == ["iris"]
    assert_untouched(datasets, kept)


def test_a_second_writer_on_the_same_upload_is_refused(datasets):
    upload = datasets.start_upload("ana", "busy.csv")
    with open(datasets.root / "uploads" / f"{upload}.part", "rb") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        with pytest.raises(UploadBusy, match="receiving data from another request"):
            datasets.append_chunk(upload, 0, b"a,b\n")


def test_uploads_belong_to_their_owner(datasets):
    upload = datasets.start_upload("ana", "mine.csv")
    with pytest.raises(NotFound):
        datasets.append_chunk(upload, 0, b"a,b\n", owner="ben")
    with pytest.raises(NotFound):
        datasets.upload_status(upload, owner="ben")
    assert datasets.upload_status(upload, owner="ana").owner == "ana"


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "x" * 32, "", "A" * 32])
def test_malformed_upload_ids_are_not_found(datasets, bad_id):
    with pytest.raises(NotFound):
        datasets.append_chunk(bad_id, 0, b"x")
    with pytest.raises(NotFound):
        datasets.upload_status(bad_id)


def test_text_streams_are_refused(datasets):
    upload = datasets.start_upload("ana", "t.csv")
    with pytest.raises(InvalidInput, match="open the file in binary mode"):
        datasets.append_chunk(upload, 0, io.StringIO("a,b\n"))


def test_abort_and_expire_free_the_part_files(datasets):
    one = datasets.start_upload("ana", "a.csv")
    datasets.append_chunk(one, 0, b"a,b\n1,2\n")
    datasets.abort_upload(one)
    assert not (datasets.root / "uploads" / f"{one}.part").exists()
    with pytest.raises(NotFound):
        datasets.upload_status(one)
    two = datasets.start_upload("ana", "b.csv")
    assert datasets.expire_uploads(timedelta(hours=1)) == 0
    assert datasets.expire_uploads(timedelta(seconds=-1)) == 1
    assert datasets.uploads("ana") == []
    assert not (datasets.root / "uploads" / f"{two}.part").exists()


def test_the_quota_is_enforced_while_streaming(store, root, kept):
    datasets = Datasets(store, root, settings=small_settings(), quota=100 * KiB)
    with pytest.raises(QuotaExceeded, match="uses .* of a 100.0 KiB quota"):
        datasets.start_upload("ana", "huge.csv", size=200 * KiB)
    upload = datasets.start_upload("ana", "huge.csv")
    with pytest.raises(QuotaExceeded, match="delete datasets you no longer need"):
        datasets.append_chunk(upload, 0, csv_bytes(200 * KiB))
    assert datasets.upload_status(upload).received < 100 * KiB
    assert datasets.usage("ana") < 100 * KiB
    assert datasets.usage("ben") == 0
    assert_untouched(datasets, kept)


CHILD = """
import sys, time
from mlrun_kernel.datasets import Datasets
from mlrun_kernel.store import open_store
from tests.datasets.conftest import small_settings
from tests.datasets.test_uploads import csv_bytes

url, root = sys.argv[1], sys.argv[2]
datasets = Datasets(open_store(url), root, settings=small_settings())
upload = datasets.start_upload("ana", "killed.csv")
print(upload, flush=True)

def slow():
    data = csv_bytes(4 * 1024 * 1024)
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]
        time.sleep(0.01)

datasets.append_chunk(upload, 0, slow())
"""


def test_a_killed_process_resumes_from_its_last_checkpoint(store_url, root, datasets):
    """kill -9 mid-stream: no exception handler runs, yet the checkpoints kept progress."""
    import signal
    import subprocess
    import sys
    import time

    from tests.paths import ROOT

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, store_url, str(root)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        upload = child.stdout.readline().strip()
        deadline = time.monotonic() + 60
        while datasets.upload_status(upload).received < 512 * KiB:
            assert time.monotonic() < deadline, "the child made no progress"
            assert child.poll() is None, "the child ended before it was killed"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    data = csv_bytes(4 * MiB)
    received = datasets.upload_status(upload).received
    assert 512 * KiB <= received < len(data)
    datasets.append_chunk(upload, received, data[received:])
    info = datasets.complete_upload(upload, name="killed")
    assert info.sha256 == hashlib.sha256(data).hexdigest()
