"""Previews: tables with inferred column types, image sizes, text heads (pure logic)."""

from __future__ import annotations

import json

import pytest

from mlrun_kernel.datasets import detect
from mlrun_kernel.datasets.preview import (
    file_preview,
    folder_preview,
    image_size,
    infer_column_types,
)
from tests.datasets.conftest import IRIS_CSV, gif_bytes, jpeg_bytes, png_bomb, png_bytes


def _columns(preview):
    return {c["name"]: (c["type"], c["nullable"]) for c in preview["columns"]}


def test_csv_preview_shows_first_rows_with_inferred_types(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_bytes(IRIS_CSV)
    preview = file_preview(path, detect.CSV, path.stat().st_size)
    assert preview["kind"] == "table" and preview["format"] == "csv"
    assert _columns(preview) == {
        "sepal_length": ("float", False),
        "sepal_width": ("float", True),
        "species": ("string", False),
        "measured_on": ("date", False),
        "checked": ("bool", False),
    }
    assert preview["rows"][0] == ["5.1", "3.5", "setosa", "2024-01-02", "true"]
    assert json.loads(json.dumps(preview)) == preview  # stored as JSON as is


def test_column_types_widen_across_sampled_rows():
    rows = [["1", "2024-01-01", "x"], ["2.5", "2024-01-01T10:00:00", "1"]]
    assert infer_column_types(rows, 3) == [
        ("float", False),
        ("datetime", False),
        ("string", False),
    ]


def test_tsv_preview_and_row_limit(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("n\tword\n" + "".join(f"{i}\tw{i}\n" for i in range(100)))
    preview = file_preview(path, detect.TSV, path.stat().st_size, rows=5)
    assert len(preview["rows"]) == 5 and preview["truncated"]
    assert _columns(preview) == {"n": ("int", False), "word": ("string", False)}


def test_preview_reads_a_bounded_prefix_of_a_huge_file(tmp_path):
    path = tmp_path / "wide.csv"
    with open(path, "w") as f:
        f.write("a,b\n")
        for i in range(200_000):
            f.write(f"{i},{i * 2}\n")
    preview = file_preview(path, detect.CSV, path.stat().st_size, max_bytes=8192, sample=10_000)
    assert preview["truncated"]
    assert _columns(preview) == {"a": ("int", False), "b": ("int", False)}


def test_jsonl_preview_unions_keys_and_types(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": 1, "tags": ["a"], "ok": true}\n{"id": 2, "when": "2024-05-06"}\n')
    preview = file_preview(path, detect.JSONL, path.stat().st_size)
    assert _columns(preview) == {
        "id": ("int", False),
        "tags": ("array", True),
        "ok": ("bool", True),
        "when": ("date", True),
    }
    assert preview["rows"][1] == [2, None, None, "2024-05-06"]


def test_a_broken_jsonl_line_gives_no_preview_rather_than_an_error(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": 1}\n{oops\n')
    preview = file_preview(path, detect.JSONL, path.stat().st_size)
    assert preview["kind"] == "none" and "line 2 is not JSON" in preview["reason"]


def test_parquet_preview_with_pyarrow(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import datetime

    table = pa.table(
        {
            "id": pa.array(range(50), pa.int64()),
            "score": pa.array([i / 3 for i in range(50)]),
            "name": pa.array([f"n{i}" for i in range(50)]),
            "day": pa.array([datetime.date(2024, 1, 1 + i % 28) for i in range(50)]),
            "ok": pa.array([i % 2 == 0 for i in range(50)]),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    preview = file_preview(path, detect.PARQUET, path.stat().st_size, rows=3)
    assert preview["row_count"] == 50 and len(preview["rows"]) == 3
    assert {c["name"]: c["type"] for c in preview["columns"]} == {
        "id": "int",
        "score": "float",
        "name": "string",
        "day": "date",
        "ok": "bool",
    }
    assert preview["rows"][0] == [0, 0.0, "n0", "2024-01-01", True]
    json.dumps(preview)


def test_parquet_preview_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 10 + b"PAR1")
    preview = file_preview(path, detect.PARQUET, 18)
    assert preview == {
        "kind": "none",
        "format": "parquet",
        "reason": "Parquet previews need pyarrow: pip install pyarrow",
    }


@pytest.mark.parametrize(
    ("content", "media", "size"),
    [
        (png_bytes(3, 2), detect.PNG, (3, 2)),
        (gif_bytes(5, 4), detect.GIF, (5, 4)),
        (jpeg_bytes(7, 6), detect.JPEG, (7, 6)),
    ],
)
def test_images_show_their_size_and_a_small_inline_copy(tmp_path, content, media, size):
    assert image_size(content) == size
    path = tmp_path / "img"
    path.write_bytes(content)
    preview = file_preview(path, media, len(content))
    assert (preview["kind"], preview["width"], preview["height"]) == ("image", *size)
    assert preview["thumbnail"].startswith("data:image/")


def test_large_images_are_not_inlined_without_pillow(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_bytes(300, 200))
    preview = file_preview(path, detect.PNG, path.stat().st_size, inline_max=10)
    try:
        import PIL  # noqa: F401
    except ImportError:
        assert preview["thumbnail"] is None
    assert (preview["width"], preview["height"]) == (300, 200)


def test_text_preview_is_the_head(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("".join(f"line {i}\n" for i in range(500)))
    preview = file_preview(path, detect.TEXT, path.stat().st_size)
    assert preview["kind"] == "text" and preview["truncated"]
    assert preview["head"].splitlines()[:2] == ["line 0", "line 1"]
    assert len(preview["head"].splitlines()) == 50


def test_binary_files_have_no_preview(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(bytes(range(256)))
    assert file_preview(path, detect.BINARY, 256)["kind"] == "none"


def test_folder_preview_lists_files():
    preview = folder_preview([("b.csv", 10, detect.CSV), ("a.txt", 5, detect.TEXT)], limit=1)
    assert preview == {
        "kind": "files",
        "count": 2,
        "total_bytes": 15,
        "files": [{"path": "a.txt", "size": 5, "media_type": detect.TEXT}],
        "truncated": True,
    }


def test_a_file_that_is_one_giant_line_is_previewed_from_a_bounded_read(tmp_path):
    path = tmp_path / "one-line.csv"
    path.write_bytes(b"a," * (4 * 1024 * 1024))
    preview = file_preview(path, detect.CSV, path.stat().st_size, max_bytes=64 * 1024)
    assert preview["kind"] == "none" or preview["truncated"]


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    """100 KiB on disk, 100 million pixels decoded: under Pillow's own hard limit, over ours."""
    return png_bomb(10_000, 10_000)


def test_a_decompression_bomb_gets_its_size_and_a_reason_but_is_never_decoded(tmp_path, bomb_png):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png)
    assert path.stat().st_size < 200 * 1024
    preview = file_preview(path, detect.PNG, len(bomb_png), max_pixels=50_000_000)
    assert (preview["kind"], preview["width"], preview["height"]) == ("image", 10_000, 10_000)
    assert preview["thumbnail"] is None
    assert "100,000,000 pixels" in preview["reason"]
    assert "MLK_PREVIEW_MAX_IMAGE_PIXELS" in preview["reason"]


def test_the_pixel_cap_is_a_setting(tmp_path, monkeypatch):
    from mlrun_kernel.datasets import dataset_settings

    path = tmp_path / "small.png"
    path.write_bytes(png_bytes(30, 20))
    assert file_preview(path, detect.PNG, path.stat().st_size)["thumbnail"] is not None
    monkeypatch.setenv("MLK_PREVIEW_MAX_IMAGE_PIXELS", "500")
    dataset_settings.cache_clear()
    try:
        refused = file_preview(path, detect.PNG, path.stat().st_size)
    finally:
        dataset_settings.cache_clear()
    assert refused["thumbnail"] is None and "600 pixels" in refused["reason"]


def test_an_uploaded_bomb_is_stored_with_a_preview_that_says_why_it_has_no_thumbnail(
    datasets, tmp_path, bomb_png
):
    path = tmp_path / "huge.png"
    path.write_bytes(bomb_png)
    version = datasets.upload_file("ana", "bomb", path)
    assert version.media_type == detect.PNG and version.size == len(bomb_png)
    assert version.preview["thumbnail"] is None
    assert "decompression bomb" in version.preview["reason"]


def test_a_run_output_that_is_a_bomb_is_previewed_with_the_same_cap(tmp_path):
    from mlrun_kernel.service.routes.runs import _output_preview

    path = tmp_path / "outputs" / "plot.png"
    path.parent.mkdir()
    path.write_bytes(png_bomb(20_000, 20_000))  # over Pillow's own hard limit too
    preview = _output_preview(path)
    assert (preview["media_type"], preview["width"], preview["height"]) == (detect.PNG, 20_000, 20_000)
    assert preview["thumbnail"] is None and "400,000,000 pixels" in preview["reason"]
