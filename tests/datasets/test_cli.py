"""``mlk datasets``: what a user types and reads (embedded store, SQLite)."""

from __future__ import annotations

import argparse
import json

import pytest

from mlrun_kernel.cli import datasets as cli
from mlrun_kernel.cli.output import fail
from mlrun_kernel.config import settings
from tests.datasets.conftest import IRIS_CSV, png_bytes


@pytest.fixture
def mlk(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLK_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("MLK_USER", "alice")
    settings.cache_clear()
    parser = argparse.ArgumentParser(prog="mlk")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args(["datasets", *argv])
        try:
            code = int(args.handler(args))
        except Exception as exc:  # noqa: BLE001 - as the real `mlk` main does
            code = fail(exc)
        out = capsys.readouterr()
        return code, out.out, out.err

    yield run
    settings.cache_clear()


def test_user_uploads_lists_shows_previews_and_removes_a_dataset(mlk, tmp_path):
    path = tmp_path / "iris.csv"
    path.write_bytes(IRIS_CSV)
    code, out, _ = mlk("upload", str(path), "--name", "iris", "--description", "flowers")
    assert code == 0 and "stored alice/iris version 1" in out and "text/csv" in out

    code, out, _ = mlk("list")
    assert out.splitlines()[0].split()[:3] == ["REF", "LATEST_VERSION", "MEDIA_TYPE"]
    assert "alice/iris" in out and "flowers" in out

    code, out, _ = mlk("list", "--json")
    assert [d["ref"] for d in json.loads(out)] == ["alice/iris"]

    mlk("upload", str(path), "--name", "iris", "--visibility", "public")
    code, out, _ = mlk("show", "iris", "--version", "1", "--json")
    shown = json.loads(out)
    assert (shown["version"], shown["versions"], shown["visibility"]) == (1, 2, "public")
    assert shown["files"][0]["path"] == "iris.csv"
    code, out, _ = mlk("show", "iris")
    assert "version:    2" in out and "iris.csv" in out

    code, out, _ = mlk("preview", "iris")
    assert "SEPAL_LENGTH (FLOAT)" in out and "setosa" in out
    code, out, _ = mlk("preview", "iris", "--json")
    assert json.loads(out)["kind"] == "table"

    code, out, _ = mlk("rm", "iris")
    assert (code, out.strip()) == (0, "deleted alice/iris")
    code, _, err = mlk("show", "iris")
    assert code == 1 and "mlk: error: no dataset 'alice/iris' that alice can see" in err  # named in full


def test_bad_uploads_print_a_clear_error(mlk, tmp_path):
    photo = tmp_path / "photo.csv"
    photo.write_bytes(png_bytes())
    code, out, err = mlk("upload", str(photo), "--name", "pics")
    assert code == 1 and out == ""
    assert "mlk: error: 'photo.csv' is named as CSV but its content is a PNG image" in err
    code, _, err = mlk("upload", str(photo), "--name", "../pics")
    assert code == 1 and "looks like a path" in err
    code, _, err = mlk("upload", str(tmp_path / "missing.csv"), "--name", "x")
    assert code == 1 and "no file or folder at" in err
    code, out, _ = mlk("list", "--json")
    assert json.loads(out) == []


def test_folders_upload_and_preview_as_file_lists(mlk, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes())
    (folder / "labels.csv").write_bytes(b"file,label\na.png,cat\n")
    code, out, _ = mlk("upload", str(folder), "--name", "pets", "--json")
    assert code == 0 and json.loads(out)["file_count"] == 2
    code, out, _ = mlk("preview", "pets")
    assert "a.png" in out and "2 files" in out
