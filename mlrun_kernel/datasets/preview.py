"""Previews, computed once when a version is stored and kept with it as JSON.

Shapes (``kind`` says which):

- ``table``: ``columns`` (``name``, ``type`` one of int/float/bool/date/datetime/
  string/object/array, ``nullable``), ``rows`` (first rows, lists of values),
  ``row_count`` when the format knows it (Parquet), ``format``.
- ``image``: ``format``, ``width``, ``height``, ``thumbnail`` (a ``data:`` URL or None),
  and ``reason`` when no thumbnail was made on purpose (an image of more pixels
  than ``preview_max_image_pixels``: a decompression bomb is a small file that
  decodes to gigabytes, so its size is read from the header and it is never
  decoded, nor inlined for a browser to decode).
- ``text``: ``head`` (the first lines), ``truncated``.
- ``files``: ``count``, ``total_bytes``, ``files`` (first entries: path, size, media_type).
- ``none``: ``reason`` (binary data, archives kept whole, or a preview that failed).

Every reader reads at most ``preview_max_bytes`` of the file, so a preview of
a 100 GiB CSV costs the same as one of a small file, and no image of more than
``preview_max_image_pixels`` is decoded.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from mlrun_kernel.datasets import detect
from mlrun_kernel.datasets.settings import dataset_settings

Preview = dict[str, Any]

_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?\Z|[+-]?(inf|nan)\Z", re.I)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\Z")
_BOOLS = frozenset({"true", "false"})
_ORDER = ["bool", "int", "float", "date", "datetime", "string"]
_CELL_MAX = 200


def _kind_of(value: str) -> str:
    """The narrowest type a CSV cell fits."""
    v = value.strip()
    if v.lower() in _BOOLS:
        return "bool"
    if _INT.match(v):
        return "int"
    if _FLOAT.match(v):
        return "float"
    if _DATE.match(v):
        try:
            date.fromisoformat(v)
            return "date"
        except ValueError:
            return "string"
    if _DATETIME.match(v):
        try:
            datetime.fromisoformat(v.replace("Z", "+00:00"))
            return "datetime"
        except ValueError:
            return "string"
    return "string"


def _merge(a: str | None, b: str) -> str:
    if a is None or a == b:
        return b
    if {a, b} == {"int", "float"}:
        return "float"
    if {a, b} == {"date", "datetime"}:
        return "datetime"
    return "string"


def infer_column_types(rows: Iterable[Sequence[str]], width: int) -> list[tuple[str, bool]]:
    """(type, nullable) for each column from sampled text rows; empty cells mean null."""
    kinds: list[str | None] = [None] * width
    nullable = [False] * width
    for row in rows:
        for i in range(width):
            cell = row[i] if i < len(row) else ""
            if cell.strip() == "":
                nullable[i] = True
                continue
            kinds[i] = _merge(kinds[i], _kind_of(cell))
    return [(k or "string", n) for k, n in zip(kinds, nullable, strict=True)]


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _CELL_MAX:
        return value[: _CELL_MAX - 1] + "…"
    return value


def _read_head(path: Path, limit: int) -> tuple[bytes, bool]:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    return data[:limit], len(data) > limit


def _decode(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


class _Lines:
    """The lines of a text file, read lazily, stopping after about ``max_chars``.

    Memory stays at one line (itself capped), however large the file or its lines.
    """

    def __init__(self, path: Path, max_chars: int) -> None:
        self.path = path
        self.max_chars = max_chars
        self.truncated = False

    def __iter__(self) -> Iterator[str]:
        with open(self.path, encoding="utf-8-sig", errors="replace", newline="") as f:
            used = 0
            while True:
                line = f.readline(max(self.max_chars - used, 1))
                if not line:
                    return
                used += len(line)
                if used >= self.max_chars:
                    self.truncated = True
                    if line.endswith("\n"):
                        yield line
                    return  # a line cut by the limit is not a row
                yield line


def table_preview_delimited(
    path: Path, delimiter: str, fmt: str, *, rows: int, sample: int, max_bytes: int
) -> Preview:
    lines = _Lines(path, max_bytes)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return {"kind": "none", "reason": "no rows"}
    sampled: list[list[str]] = []
    for row in reader:
        if not row:
            continue
        sampled.append([_clip(c) for c in row])
        if len(sampled) > sample:
            break
    more = len(sampled) > sample
    sampled = sampled[:sample]
    width = max([len(header)] + [len(r) for r in sampled[:rows]])
    names = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    names += [f"column_{i + 1}" for i in range(len(names), width)]
    types = infer_column_types(sampled, width)
    return {
        "kind": "table",
        "format": fmt,
        "columns": [
            {"name": n, "type": t, "nullable": nullable}
            for n, (t, nullable) in zip(names, types, strict=True)
        ],
        "rows": sampled[:rows],
        "truncated": lines.truncated or more or len(sampled) > rows,
    }


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    kind = _kind_of(str(value))
    return kind if kind in ("date", "datetime") else "string"


def table_preview_jsonl(path: Path, *, rows: int, sample: int, max_bytes: int) -> Preview:
    lines = _Lines(path, max_bytes)
    records: list[dict[str, Any]] = []
    more = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if len(records) >= sample:
            more = True
            break
        try:
            value = json.loads(line)
        except ValueError as exc:
            return {"kind": "none", "reason": f"line {number} is not JSON: {exc}"}
        records.append(value if isinstance(value, dict) else {"value": value})
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = []
    for name in names:
        kind: str | None = None
        nullable = False
        for record in records:
            value = record.get(name)
            if value is None:
                nullable = True
                continue
            found = _json_kind(value)
            kind = found if kind is None or kind == found else _merge(kind, found)
        columns.append({"name": name, "type": kind or "string", "nullable": nullable})
    return {
        "kind": "table",
        "format": "jsonl",
        "columns": columns,
        "rows": [[_clip(r.get(n)) for n in names] for r in records[:rows]],
        "truncated": lines.truncated or more or len(records) > rows,
    }


def _arrow_type(arrow_type: Any) -> str:
    import pyarrow as pa

    t = pa.types
    if t.is_boolean(arrow_type):
        return "bool"
    if t.is_integer(arrow_type):
        return "int"
    if t.is_floating(arrow_type) or t.is_decimal(arrow_type):
        return "float"
    if t.is_date(arrow_type):
        return "date"
    if t.is_timestamp(arrow_type):
        return "datetime"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type):
        return "string"
    if t.is_struct(arrow_type) or t.is_map(arrow_type):
        return "object"
    if t.is_list(arrow_type) or t.is_large_list(arrow_type):
        return "array"
    return "string"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return _clip(value)
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return _clip(base64.b64encode(value[:150]).decode())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value[:20]]
    return _clip(str(value))


def table_preview_parquet(path: Path, *, rows: int) -> Preview:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return {
            "kind": "none",
            "format": "parquet",
            "reason": "Parquet previews need pyarrow: pip install pyarrow",
        }
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    first: list[dict[str, Any]] = []
    for batch in parquet.iter_batches(batch_size=rows):
        first = batch.to_pylist()
        break
    return {
        "kind": "table",
        "format": "parquet",
        "columns": [
            {"name": f.name, "type": _arrow_type(f.type), "nullable": bool(f.nullable)} for f in schema
        ],
        "rows": [[_jsonable(r.get(f.name)) for f in schema] for r in first],
        "row_count": parquet.metadata.num_rows,
        "truncated": parquet.metadata.num_rows > len(first),
    }


def image_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF or JPEG header, without decoding the image."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return int(w), int(h)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        w, h = struct.unpack("<HH", head[6:10])
        return int(w), int(h)
    if head.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(head):
            if head[i] != 0xFF:
                return None
            marker = head[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", head[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", head[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + length
    return None


class ImageTooLarge(Exception):
    """An image has more pixels than the preview may decode; the message says how many."""


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"no thumbnail: the image is {width} x {height} = {width * height:,} pixels, more than "
            f"the {max_pixels:,} a preview decodes (MLK_PREVIEW_MAX_IMAGE_PIXELS); a small file that "
            "claims this many pixels may be a decompression bomb"
        )


def image_preview(
    path: Path, media_type: str, size: int, *, inline_max: int, max_pixels: int | None = None
) -> Preview:
    """Size from the header, and a thumbnail unless the image has over ``max_pixels``."""
    if max_pixels is None:
        max_pixels = dataset_settings().preview_max_image_pixels
    fmt = media_type.split("/", 1)[1]
    head, _ = _read_head(path, 256 * 1024)
    dims = image_size(head)
    preview: Preview = {
        "kind": "image",
        "format": fmt,
        "width": dims[0] if dims else None,
        "height": dims[1] if dims else None,
        "thumbnail": None,
    }
    try:
        if dims is not None:
            _check_pixels(*dims, max_pixels)
        thumb = _pillow_thumbnail(path, max_pixels)
    except ImageTooLarge as exc:
        preview["reason"] = str(exc)
        return preview
    if thumb is not None:
        preview["thumbnail"] = "data:image/png;base64," + base64.b64encode(thumb).decode()
    elif size <= inline_max and dims is not None:  # never hand a browser pixels we did not count
        preview["thumbnail"] = f"data:{media_type};base64," + base64.b64encode(path.read_bytes()).decode()
    return preview


def _pillow_thumbnail(path: Path, max_pixels: int, box: int = 256) -> bytes | None:
    """A PNG thumbnail via Pillow when it is installed; None otherwise or on any error.

    ``ImageTooLarge`` if the image has more than ``max_pixels``, checked on the
    size Pillow reads from the header, before anything is decoded.
    """
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(path) as image:
            _check_pixels(*image.size, max_pixels)
            image.thumbnail((box, box))
            out = io.BytesIO()
            image.convert("RGBA" if image.mode in ("P", "LA", "RGBA") else "RGB").save(out, format="PNG")
            return out.getvalue()
    except ImageTooLarge:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own cap, if set below ours
        raise ImageTooLarge(f"no thumbnail: {exc}") from None
    except Exception:  # noqa: BLE001 - a preview never fails an upload
        return None


def text_preview(path: Path, *, lines: int = 50, max_bytes: int = 16 * 1024) -> Preview:
    data, truncated = _read_head(path, max_bytes)
    text = _decode(data)
    kept = text.splitlines()[:lines]
    return {
        "kind": "text",
        "head": "\n".join(kept),
        "truncated": truncated or len(text.splitlines()) > lines,
    }


def file_preview(
    path: Path,
    media_type: str,
    size: int,
    *,
    rows: int = 20,
    sample: int = 1000,
    max_bytes: int = 4 * 1024 * 1024,
    inline_max: int = 64 * 1024,
    max_pixels: int | None = None,
) -> Preview:
    """The preview of one stored file; never raises (a failure becomes ``kind: none``).

    ``max_pixels``: the most pixels an image may have to be decoded for a
    thumbnail; None reads ``MLK_PREVIEW_MAX_IMAGE_PIXELS`` (``dataset_settings()``).
    """
    try:
        if media_type == detect.CSV:
            return table_preview_delimited(path, ",", "csv", rows=rows, sample=sample, max_bytes=max_bytes)
        if media_type == detect.TSV:
            return table_preview_delimited(path, "\t", "tsv", rows=rows, sample=sample, max_bytes=max_bytes)
        if media_type == detect.JSONL:
            return table_preview_jsonl(path, rows=rows, sample=sample, max_bytes=max_bytes)
        if media_type == detect.PARQUET:
            return table_preview_parquet(path, rows=rows)
        if media_type in detect.IMAGES:
            return image_preview(path, media_type, size, inline_max=inline_max, max_pixels=max_pixels)
        if media_type in (detect.TEXT, detect.JSON):
            return text_preview(path)
        return {
            "kind": "none",
            "reason": f"no preview for {detect.LABELS.get(media_type, media_type)}",
        }
    except Exception as exc:  # noqa: BLE001 - a preview never fails an upload
        return {"kind": "none", "reason": f"preview failed: {exc}"}


def folder_preview(entries: Sequence[tuple[str, int, str]], *, limit: int = 100) -> Preview:
    """A listing of a multi-file dataset: (path, size, media_type) sorted by path."""
    return {
        "kind": "files",
        "count": len(entries),
        "total_bytes": sum(size for _, size, _ in entries),
        "files": [{"path": p, "size": s, "media_type": m} for p, s, m in sorted(entries)[:limit]],
        "truncated": len(entries) > limit,
    }
