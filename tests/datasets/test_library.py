"""The user's story with datasets through the Python API, on SQLite and PostgreSQL:
upload, version, preview, share, hold, delete; every bad input refused with nothing lost."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import threading
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mlrun_kernel.datasets import (
    Ambiguous,
    DatasetInUse,
    Datasets,
    Forbidden,
    InvalidInput,
    InvalidName,
    MediaTypeMismatch,
    NotFound,
    Principal,
    QuotaExceeded,
    UnsafeArchive,
    detect,
)
from mlrun_kernel.store.models.datasets import Blob, DatasetVersion
from tests.datasets.conftest import (
    IRIS_CSV,
    KiB,
    MiB,
    assert_untouched,
    blob_files,
    png_bytes,
    small_settings,
)

pytestmark = [pytest.mark.postgres]

ANA = Principal("ana", frozenset({"lab"}))
BEN = Principal("ben", frozenset({"lab"}))
CAT = Principal("cat", frozenset({"other"}))
ADMIN = Principal("root", frozenset(), is_admin=True)


def put(datasets: Datasets, owner, name: str, content: bytes, filename: str = "data.csv", **kw):
    return datasets.upload_file(owner, name, io.BytesIO(content), filename=filename, **kw)


def test_model_user_uploads_a_csv_and_sees_its_preview(datasets, tmp_path):
    path = tmp_path / "iris.csv"
    path.write_bytes(IRIS_CSV)
    info = datasets.upload_file("ana", "iris", path, description="the iris flowers")
    assert (info.ref, info.version, info.media_type, info.size) == (
        "ana/iris",
        1,
        detect.CSV,
        len(IRIS_CSV),
    )
    assert info.preview["kind"] == "table"
    assert [c["type"] for c in info.preview["columns"]] == ["float", "float", "string", "date", "bool"]
    assert datasets.preview("ana", "iris") == info.preview
    shown = datasets.get("ana", "iris")
    assert (shown.description, shown.visibility, shown.latest_version) == (
        "the iris flowers",
        "private",
        1,
    )
    blob = datasets.files("ana", "iris")[0].blob_path
    assert blob == datasets.root / "blobs" / "sha256" / info.sha256[:2] / info.sha256
    assert blob.read_bytes() == IRIS_CSV


def test_uploading_again_makes_new_versions_and_identical_content_no_new_blob(datasets):
    first = put(datasets, "ana", "iris", IRIS_CSV)
    second = put(datasets, "ana", "iris", IRIS_CSV)
    third = put(datasets, "ana", "iris", IRIS_CSV + b"5.0,3.3,setosa,2024-03-01,true\n")
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert first.sha256 == second.sha256 != third.sha256
    assert len(blob_files(datasets.root)) == 2
    assert [v.version for v in datasets.versions("ana", "iris")] == [1, 2, 3]
    with datasets.open("ana", "iris", 1) as f:
        assert f.read() == IRIS_CSV  # old versions stay usable
    assert datasets.get("ana", "iris").latest_version == 3
    with pytest.raises(NotFound, match="dataset ana/iris has no version 9"):
        datasets.get_version("ana", "iris", 9)


def test_the_same_content_from_two_users_is_stored_once(datasets):
    put(datasets, "ana", "iris", IRIS_CSV)
    put(datasets, "ben", "flowers", IRIS_CSV)
    assert len(blob_files(datasets.root)) == 1


def test_a_png_named_csv_is_refused_and_nothing_stored_changes(datasets, kept):
    with pytest.raises(MediaTypeMismatch) as err:
        put(datasets, "ana", "iris", png_bytes(), filename="photo.csv")
    assert "'photo.csv' is named as CSV but its content is a PNG image" in str(err.value)
    assert datasets.get("ana", "iris").latest_version == 1
    assert datasets.uploads("ana") == []
    assert_untouched(datasets, kept)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 10_000, "dataset name is 10000 characters long; at most 200 are allowed"),
        ("../iris", "looks like a path"),
        ("a/b", "contains '/'"),
        ("bad\x00", "contains a NUL byte"),
        ("tab\there", "control character U+0009"),
        ("", "dataset name is empty"),
    ],
)
def test_bad_names_are_refused_and_nothing_stored_changes(datasets, kept, name, message):
    with pytest.raises(InvalidName) as err:
        put(datasets, "ana", name, b"a,b\n1,2\n")
    assert message in str(err.value)
    upload = datasets.start_upload("ana", "x.csv")
    datasets.append_chunk(upload, 0, b"a,b\n1,2\n")
    with pytest.raises(InvalidName):
        datasets.complete_upload(upload, name=name)
    assert datasets.upload_status(upload).received == 8  # the upload waits for a good name
    assert datasets.complete_upload(upload, name="good").version == 1
    assert_untouched(datasets, kept)


def test_bad_visibility_is_refused(datasets, kept):
    with pytest.raises(InvalidInput, match="visibility 'group' needs the name of the group"):
        put(datasets, "ana", "x", b"a\n1\n", visibility="group")
    with pytest.raises(InvalidInput, match="'friends' is not one of private, group, public"):
        put(datasets, "ana", "x", b"a\n1\n", visibility="friends")
    assert_untouched(datasets, kept)


def test_users_see_their_own_their_groups_and_public_datasets(datasets):
    put(datasets, ANA, "private-notes", b"secret\n", filename="n.txt")
    put(datasets, ANA, "lab-data", b"a\n1\n", visibility="group", group="lab")
    put(datasets, CAT, "open-data", b"b\n2\n", visibility="public")
    assert [d.ref for d in datasets.list(ANA)] == ["ana/lab-data", "ana/private-notes", "cat/open-data"]
    assert [d.ref for d in datasets.list(BEN)] == ["ana/lab-data", "cat/open-data"]
    assert [d.ref for d in datasets.list(CAT)] == ["cat/open-data"]
    assert len(datasets.list(ADMIN)) == 3
    assert datasets.get(BEN, "ana/lab-data").group == "lab"
    assert datasets.get(BEN, "lab-data").owner == "ana"  # the only visible one by that name
    for who in (BEN, CAT):
        with pytest.raises(NotFound, match="no dataset 'ana/private-notes' that"):
            datasets.get_version(who, "ana/private-notes")
    assert datasets.get_version(ADMIN, "ana/private-notes").version == 1


def test_a_bare_name_shared_by_two_owners_is_ambiguous(datasets):
    put(datasets, ANA, "shared", b"a\n1\n", visibility="public")
    put(datasets, CAT, "shared", b"a\n2\n", visibility="public")
    assert datasets.get(ANA, "shared").owner == "ana"  # your own wins
    with pytest.raises(Ambiguous, match=r"\(ana/shared, cat/shared\); say which as owner/name"):
        datasets.get(BEN, "shared")
    assert datasets.get(BEN, "cat/shared").owner == "cat"


def test_only_the_owner_or_an_admin_can_share_or_delete(datasets, kept):
    datasets.share(ANA, "iris", "group", "lab")
    with pytest.raises(Forbidden, match="only ana \\(the owner\\) or an admin can share ana/iris"):
        datasets.share(BEN, "ana/iris", "public")
    with pytest.raises(Forbidden, match="can delete ana/iris"):
        datasets.delete(BEN, "ana/iris")
    with pytest.raises(NotFound):
        datasets.share(CAT, "ana/iris", "public")  # cat cannot even see it
    assert datasets.share(ADMIN, "ana/iris", "public").visibility == "public"
    assert datasets.get(CAT, "ana/iris").visibility == "public"
    assert datasets.share(ANA, "iris", "private").group is None
    with pytest.raises(NotFound):
        datasets.get(CAT, "ana/iris")
    assert_untouched(datasets, kept)


def test_delete_is_refused_while_a_run_holds_a_version(datasets, kept):
    second = put(datasets, "ana", "iris", IRIS_CSV + b"1,2,x,2024-01-01,true\n")
    datasets.hold(second.id, "run:42")
    datasets.hold(second.id, "run:42")  # idempotent
    with pytest.raises(DatasetInUse) as err:
        datasets.delete("ana", "iris")
    assert "dataset ana/iris is in use by run:42 (version 2)" in str(err.value)
    assert len(datasets.holds(second.id)) == 1
    assert_untouched(datasets, kept)
    assert datasets.release("run:42") == 1
    datasets.delete("ana", "iris")
    with pytest.raises(NotFound):
        datasets.get("ana", "iris")
    assert blob_files(datasets.root) == {}
    with pytest.raises(NotFound, match="no dataset version with id"):
        datasets.hold(second.id, "run:43")


def test_the_database_itself_refuses_to_drop_a_held_version(datasets, kept):
    datasets.hold(kept.info.id, "run:7")
    with pytest.raises(IntegrityError), datasets.store.session() as s:
        s.delete(s.get(DatasetVersion, kept.info.id))
    assert_untouched(datasets, kept)


def test_delete_frees_only_blobs_nothing_else_uses(datasets, kept):
    put(datasets, "ben", "copy-of-iris", IRIS_CSV)
    other = put(datasets, "ben", "other", b"z\n9\n")
    datasets.delete("ben", "other")
    assert set(blob_files(datasets.root)) == {kept.info.sha256}
    datasets.delete("ben", "copy-of-iris")
    assert_untouched(datasets, kept)
    with datasets.store.session() as s:
        assert set(s.scalars(select(Blob.sha256))) == {kept.info.sha256}
    assert other.sha256 not in blob_files(datasets.root)


def test_quota_counts_distinct_content_and_refuses_past_it(store, root, kept):
    """Stored content counts once per owner; an upload in flight needs room for its bytes."""
    datasets = Datasets(store, root, settings=small_settings(), quota=lambda owner: 450 * KiB)
    assert datasets.quota_for("ana") == 450 * KiB
    data = os.urandom(200 * KiB)
    put(datasets, "ana", "blob", data, filename="b.bin")
    put(datasets, "ana", "blob", data, filename="b.bin")  # identical: costs nothing more
    assert datasets.usage("ana") == 200 * KiB + len(kept.content)
    with pytest.raises(QuotaExceeded) as err:
        put(datasets, "ana", "more", os.urandom(260 * KiB), filename="m.bin")
    assert "'m.bin' needs" in str(err.value) and "of a 450.0 KiB quota" in str(err.value)
    assert [d.name for d in datasets.list("ana")] == ["blob", "iris"]
    assert datasets.uploads("ana") == []
    put(datasets, "ben", "more", os.urandom(260 * KiB), filename="m.bin")  # ben has room
    assert_untouched(datasets, kept)


def test_quota_is_checked_on_unpacked_archives(store, root, kept):
    datasets = Datasets(store, root, settings=small_settings(), quota=100 * KiB)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.csv", b"a\n" + b"1\n" * (80 * KiB))
    with pytest.raises(QuotaExceeded, match="storing dataset 'packed' needs 160.0 KiB more"):
        datasets.upload_file("ana", "packed", io.BytesIO(archive.getvalue()), filename="p.zip")
    assert_untouched(datasets, kept)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_a_zip_becomes_a_multi_file_version(datasets):
    content = {"train/iris.csv": IRIS_CSV, "img/cat.png": png_bytes(), "README.txt": b"hello\n"}
    info = datasets.upload_file("ana", "bundle", io.BytesIO(_zip(content)), filename="bundle.zip")
    assert (info.media_type, info.file_count, info.size) == (
        detect.FOLDER,
        3,
        sum(len(v) for v in content.values()),
    )
    assert info.preview["kind"] == "files" and info.preview["count"] == 3
    files = {f.path: f for f in datasets.files("ana", "bundle")}
    assert {p: f.media_type for p, f in files.items()} == {
        "README.txt": detect.TEXT,
        "img/cat.png": detect.PNG,
        "train/iris.csv": detect.CSV,
    }
    with datasets.open("ana", "bundle", path="train/iris.csv") as f:
        assert f.read() == IRIS_CSV
    with pytest.raises(InvalidInput, match="holds 3 files; say which with path="):
        datasets.open("ana", "bundle")


def test_a_zip_can_be_kept_whole(datasets):
    info = datasets.upload_file(
        "ana", "raw", io.BytesIO(_zip({"a.txt": b"a"})), filename="raw.zip", unpack=False
    )
    assert (info.media_type, info.file_count) == (detect.ZIP, 1)


def test_tar_gz_and_folders_become_multi_file_versions(datasets, tmp_path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in {"d/iris.csv": IRIS_CSV, "d/notes.txt": b"n\n"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    packed = datasets.upload_file("ana", "tgz", io.BytesIO(raw.getvalue()), filename="d.tar.gz")
    assert [f.path for f in datasets.files("ana", "tgz")] == ["d/iris.csv", "d/notes.txt"]
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "iris.csv").write_bytes(IRIS_CSV)
    (folder / "notes.txt").write_bytes(b"n\n")
    loose = datasets.upload_file("ana", "folder", folder)
    assert loose.media_type == detect.FOLDER and loose.file_count == 2
    assert len(blob_files(datasets.root)) == 2  # the same two files, stored once
    assert packed.sha256 != loose.sha256  # paths differ ("d/..."), so the trees differ
    out = datasets.materialize("ana", "folder", None, tmp_path / "mounted")
    assert (out / "iris.csv").read_bytes() == IRIS_CSV


def test_a_gzipped_csv_stays_one_file_and_a_fake_tar_gz_is_refused(datasets, kept):
    info = put(datasets, "ana", "gz", gzip.compress(IRIS_CSV), filename="rows.csv.gz")
    assert (info.media_type, info.file_count) == (detect.GZIP, 1)
    with pytest.raises(MediaTypeMismatch, match="holds no tar archive"):
        put(datasets, "ana", "fake", gzip.compress(IRIS_CSV), filename="rows.tar.gz")
    assert_untouched(datasets, kept)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../../evil.sh": b"x"}, "path traversal is refused"),
        ({"/etc/passwd": b"x"}, "is absolute"),
        ({f"f{i}.txt": b"x" for i in range(60)}, "holds more than 50 files"),
        ({"zeros.csv": b"0" * (6 * MiB)}, "expands more than 100:1"),
    ],
)
def test_unsafe_archives_are_refused_and_nothing_stored_changes(datasets, kept, members, message):
    before = blob_files(datasets.root)
    with pytest.raises(UnsafeArchive) as err:
        datasets.upload_file("ana", "iris", io.BytesIO(_zip(members)), filename="x.zip")
    assert message in str(err.value)
    assert blob_files(datasets.root) == before
    assert datasets.get("ana", "iris").latest_version == 1
    assert_untouched(datasets, kept)


def test_a_symlink_in_a_folder_is_refused(datasets, kept, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "ok.csv").write_bytes(IRIS_CSV)
    (folder / "shadow").symlink_to("/etc/shadow")
    with pytest.raises(UnsafeArchive, match="'shadow' is a symbolic link"):
        datasets.upload_file("ana", "iris", folder)
    assert_untouched(datasets, kept)


def test_parquet_upload_is_previewed(datasets, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3], "y": ["a", "b", "c"]}), path)
    info = datasets.upload_file("ana", "pq", path)
    assert info.media_type == detect.PARQUET
    assert info.preview["row_count"] == 3 and info.preview["rows"][0] == [1, "a"]


def test_an_image_upload_has_its_dimensions(datasets):
    info = put(datasets, "ana", "cat", png_bytes(4, 3), filename="cat.png")
    assert (info.preview["width"], info.preview["height"]) == (4, 3)


def test_concurrent_uploads_to_one_name_get_distinct_versions(datasets):
    errors: list[BaseException] = []

    def upload(i: int) -> None:
        try:
            put(datasets, "ana", "race", f"a\n{i}\n".encode())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [v.version for v in datasets.versions("ana", "race")] == [1, 2, 3, 4]


def test_deleting_while_others_upload_the_same_content_loses_nothing(datasets):
    """Delete frees a blob only when its last reference is gone, under a lock."""
    content = b"shared\n" * 100
    errors: list[BaseException] = []

    def churn(owner: str) -> None:
        try:
            for _ in range(5):
                put(datasets, owner, "same", content, filename="s.txt")
                datasets.delete(owner, "same")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(o,)) for o in ("ana", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    kept = put(datasets, "cat", "same", content, filename="s.txt")
    with datasets.open("cat", "same") as f:
        assert f.read() == content
    assert set(blob_files(datasets.root)) == {kept.sha256}


def test_garbage_left_by_crashes_is_collected_and_stored_data_kept(datasets, kept):
    orphan = datasets.blobs.path("f" * 64)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash between install and commit")
    stray_part = datasets.parts.folder / ("0" * 32 + ".part")
    stray_part.write_bytes(b"left by a crash after commit")
    (datasets.blobs.tmp / "stage-crashed").mkdir()
    alive = datasets.start_upload("ana", "alive.csv")
    assert datasets.collect_garbage(timedelta(hours=1)) == {
        "uploads": 0,
        "parts": 0,
        "staging": 0,
        "blobs": 0,
    }  # too young: an upload might be using them right now
    removed = datasets.collect_garbage(timedelta(seconds=-1))
    assert removed == {"uploads": 1, "parts": 1, "staging": 1, "blobs": 1}
    assert not orphan.exists() and not stray_part.exists()
    with pytest.raises(NotFound):
        datasets.upload_status(alive)
    assert_untouched(datasets, kept)
