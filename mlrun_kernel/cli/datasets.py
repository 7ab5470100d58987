"""``mlk datasets upload|list|show|preview|rm``: datasets, through the embedded library.

The CLI works on the local store and data folder (``MLK_DATABASE_URL``,
``MLK_DATA_DIR``) as the user ``$MLK_USER`` (default: the OS user name). Every
command is a thin wrapper over ``mlrun_kernel.datasets.Datasets``.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
from typing import Any

from mlrun_kernel.cli import remote
from mlrun_kernel.cli.output import emit, table
from mlrun_kernel.config import client_settings
from mlrun_kernel.datasets import Datasets, DatasetVersionInfo, Principal
from mlrun_kernel.datasets.service import VISIBILITIES, human_bytes


def add_parser(sub: Any) -> None:
    p = sub.add_parser("datasets", help="upload, list, show, preview and delete datasets")
    dsub = p.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")

    up = dsub.add_parser("upload", help="store a file, folder, zip or tar as a new version")
    up.add_argument("path", help="file, folder, .zip, .tar or .tar.gz to upload")
    up.add_argument("--name", required=True, help="dataset name (a new version if it exists)")
    up.add_argument("--description", default=None, help="what the data is")
    up.add_argument(
        "--visibility",
        choices=VISIBILITIES,
        default=None,
        help="who can see it (default: private for a new dataset, else unchanged)",
    )
    up.add_argument("--group", default=None, help="the group to share with (--visibility group)")
    up.add_argument(
        "--no-unpack",
        action="store_true",
        help="keep a zip/tar as one file instead of unpacking it",
    )
    up.add_argument("--json", action="store_true", help="print JSON")
    up.set_defaults(handler=run_upload)

    lst = dsub.add_parser("list", help="datasets you can see")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=run_list)

    show = dsub.add_parser("show", help="one dataset version and its files")
    show.add_argument("name", help="NAME or OWNER/NAME")
    show.add_argument("--version", type=int, default=None, help="version (default: newest)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=run_show)

    preview = dsub.add_parser("preview", help="the first rows, image size or text of a version")
    preview.add_argument("name", help="NAME or OWNER/NAME")
    preview.add_argument("--version", type=int, default=None, help="version (default: newest)")
    preview.add_argument("--json", action="store_true", help="print JSON")
    preview.set_defaults(handler=run_preview)

    rm = dsub.add_parser("rm", help="delete a dataset and all its versions")
    rm.add_argument("name", help="NAME or OWNER/NAME")
    rm.add_argument("--json", action="store_true", help="print JSON")
    rm.set_defaults(handler=run_rm)


def current_user() -> Principal:
    """``$MLK_USER``, else the OS user name; the embedded CLI has no groups or admin."""
    return Principal(name=client_settings().user or getpass.getuser())


def open_datasets() -> Datasets:
    from mlrun_kernel.store import open_store

    return Datasets(open_store())


def _jsonable(obj: Any) -> Any:
    data = dataclasses.asdict(obj)
    data["ref"] = obj.ref
    return data


def _version_text(v: DatasetVersionInfo) -> str:
    lines = [
        f"dataset:    {v.ref}",
        f"version:    {v.version}",
        f"media type: {v.media_type}",
        f"size:       {human_bytes(v.size)} ({v.size} bytes) in {v.file_count} file(s)",
        f"sha256:     {v.sha256}",
        f"uploaded:   {v.source_name} at {v.created_at:%Y-%m-%d %H:%M:%S} UTC",
    ]
    return "\n".join(lines)


@remote.or_remote(remote.datasets_upload)
def run_upload(args: argparse.Namespace) -> int:
    info = open_datasets().upload_file(
        current_user(),
        args.name,
        args.path,
        description=args.description,
        visibility=args.visibility,
        group=args.group,
        unpack=not args.no_unpack,
    )
    if args.json:
        emit(_jsonable(info), as_json=True)
    else:
        emit(f"stored {info.ref} version {info.version}\n" + _version_text(info), as_json=False)
    return 0


@remote.or_remote(remote.datasets_list)
def run_list(args: argparse.Namespace) -> int:
    rows = [_jsonable(d) for d in open_datasets().list(current_user())]
    if args.json:
        emit(rows, as_json=True)
        return 0
    for row in rows:
        row["size"] = human_bytes(row["size"])
        row["shared"] = row["visibility"] + (f":{row['group']}" if row["group"] else "")
        row["updated"] = f"{row['updated_at']:%Y-%m-%d %H:%M}"
    emit(
        rows,
        as_json=False,
        columns=[
            "ref",
            "latest_version",
            "media_type",
            "size",
            "file_count",
            "shared",
            "updated",
            "description",
        ],
    )
    return 0


@remote.or_remote(remote.datasets_show)
def run_show(args: argparse.Namespace) -> int:
    ds = open_datasets()
    user = current_user()
    info = ds.get_version(user, args.name, args.version)
    dataset = ds.get(user, args.name)
    files = ds.files(user, args.name, info.version)
    if args.json:
        data = _jsonable(info)
        data.pop("preview")
        data["description"] = dataset.description
        data["visibility"] = dataset.visibility
        data["group"] = dataset.group
        data["versions"] = dataset.version_count
        data["files"] = [
            {"path": f.path, "size": f.size, "media_type": f.media_type, "sha256": f.sha256} for f in files
        ]
        emit(data, as_json=True)
        return 0
    shared = dataset.visibility + (f" ({dataset.group})" if dataset.group else "")
    text = _version_text(info) + f"\nversions:   {dataset.version_count}\nvisibility: {shared}"
    if dataset.description:
        text += f"\ndescription: {dataset.description}"
    rows = [{"path": f.path, "size": human_bytes(f.size), "media_type": f.media_type} for f in files[:50]]
    text += "\n\n" + table(rows, ["path", "size", "media_type"])
    if len(files) > 50:
        text += f"\n… and {len(files) - 50} more files"
    emit(text, as_json=False)
    return 0


def preview_text(preview: dict[str, Any]) -> str:
    """A preview as people read it: a table, an image's size, text, or a file list."""
    kind = preview.get("kind")
    if kind == "table":
        columns = [f"{c['name']} ({c['type']})" for c in preview["columns"]]
        rows = [dict(zip(columns, row, strict=False)) for row in preview["rows"]]
        text = table(rows, columns) if columns else "(no columns)"
        if preview.get("row_count") is not None:
            text += f"\n{preview['row_count']} rows in all"
        elif preview.get("truncated"):
            text += "\n…"
        return text
    if kind == "image":
        size = f"{preview['width']}x{preview['height']}" if preview.get("width") else "unknown size"
        return f"{preview['format'].upper()} image, {size}"
    if kind == "text":
        return str(preview["head"]) + ("\n…" if preview.get("truncated") else "")
    if kind == "files":
        rows = [{**f, "size": human_bytes(f["size"])} for f in preview["files"]]
        text = table(rows, ["path", "size", "media_type"])
        return text + f"\n{preview['count']} files, {human_bytes(preview['total_bytes'])}"
    return f"(no preview: {preview.get('reason', 'none')})"


@remote.or_remote(remote.datasets_preview)
def run_preview(args: argparse.Namespace) -> int:
    preview = open_datasets().preview(current_user(), args.name, args.version)
    emit(preview if args.json else preview_text(preview), as_json=args.json)
    return 0


@remote.or_remote(remote.datasets_rm)
def run_rm(args: argparse.Namespace) -> int:
    ds = open_datasets()
    user = current_user()
    ref = ds.get(user, args.name).ref
    ds.delete(user, args.name)
    emit({"deleted": ref} if args.json else f"deleted {ref}", as_json=args.json)
    return 0
