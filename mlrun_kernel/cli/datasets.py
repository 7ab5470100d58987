"""``mlk datasets upload|list|show|preview|rm``: datasets.

One body per command over :class:`~mlrun_kernel.cli.platform.Platform`: embedded,
the local store and data folder (``MLK_DATABASE_URL``, ``MLK_DATA_DIR``) as the
user ``$MLK_USER`` (else ``$JUPYTERHUB_USER``, else the OS user name); in a
notebook container, the model service. ``NAME`` means one of yours on both sides;
``OWNER/NAME`` names anyone's you may see.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from mlrun_kernel.cli.output import emit, table
from mlrun_kernel.cli.platform import UploadAsk, open_platform
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


def _version_text(v: dict[str, Any]) -> str:
    created = datetime.fromisoformat(v["created_at"])
    lines = [
        f"dataset:    {v['ref']}",
        f"version:    {v['version']}",
        f"media type: {v['media_type']}",
        f"size:       {human_bytes(v['size'])} ({v['size']} bytes) in {v['file_count']} file(s)",
        f"sha256:     {v['sha256']}",
        f"uploaded:   {v['source_name']} at {created:%Y-%m-%d %H:%M:%S} UTC",
    ]
    return "\n".join(lines)


def run_upload(args: argparse.Namespace) -> int:
    ask = UploadAsk(
        path=Path(args.path),
        name=args.name,
        description=args.description,
        visibility=args.visibility,
        group=args.group,
        unpack=not args.no_unpack,
    )
    info = open_platform().upload(ask)
    if args.json:
        emit(info, as_json=True)
    else:
        emit(f"stored {info['ref']} version {info['version']}\n" + _version_text(info), as_json=False)
    return 0


def run_list(args: argparse.Namespace) -> int:
    rows = open_platform().datasets()
    if args.json:
        emit(rows, as_json=True)
        return 0
    shown = [
        row
        | {
            "size": human_bytes(row["size"]),
            "shared": row["visibility"] + (f":{row['group']}" if row["group"] else ""),
            "updated": f"{datetime.fromisoformat(row['updated_at']):%Y-%m-%d %H:%M}",
        }
        for row in rows
    ]
    emit(
        shown,
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


def run_show(args: argparse.Namespace) -> int:
    platform = open_platform()
    dataset = platform.dataset(args.name)
    wanted = args.version or dataset["latest_version"]
    info = next((v for v in dataset["versions"] if v["version"] == wanted), None)
    if info is None:
        raise LookupError(
            f"dataset {dataset['ref']} has no version {wanted} (it has {dataset['version_count']})"
        )
    files = platform.files(dataset["ref"], info["version"])
    if args.json:
        data = info | {
            "description": dataset["description"],
            "visibility": dataset["visibility"],
            "group": dataset["group"],
            "versions": dataset["version_count"],
            "files": files,
        }
        emit(data, as_json=True)
        return 0
    shared = dataset["visibility"] + (f" ({dataset['group']})" if dataset["group"] else "")
    text = _version_text(info) + f"\nversions:   {dataset['version_count']}\nvisibility: {shared}"
    if dataset["description"]:
        text += f"\ndescription: {dataset['description']}"
    rows = [
        {"path": f["path"], "size": human_bytes(f["size"]), "media_type": f["media_type"]} for f in files[:50]
    ]
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


def run_preview(args: argparse.Namespace) -> int:
    preview = open_platform().preview(args.name, args.version)
    emit(preview if args.json else preview_text(preview), as_json=args.json)
    return 0


def run_rm(args: argparse.Namespace) -> int:
    ref = open_platform().delete_dataset(args.name)
    emit({"deleted": ref} if args.json else f"deleted {ref}", as_json=args.json)
    return 0
