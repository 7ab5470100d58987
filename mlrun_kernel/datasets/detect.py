"""Media type detection: the content's first bytes decide, the extension must agree.

``sniff`` looks only at content (magic numbers, then "is this text?");
``media_type_for`` combines it with the file name's extension and raises
``MediaTypeMismatch`` when they disagree (a PNG named ``.csv``), because a model
fed the wrong kind of file fails in ways users cannot read.
"""

from __future__ import annotations

import json

from mlrun_kernel.datasets.errors import MediaTypeMismatch

HEAD_BYTES = 64 * 1024

CSV = "text/csv"
TSV = "text/tab-separated-values"
JSONL = "application/jsonl"
JSON = "application/json"
PARQUET = "application/vnd.apache.parquet"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
ZIP = "application/zip"
TAR = "application/x-tar"
GZIP = "application/gzip"
BZIP2 = "application/x-bzip2"
XZ = "application/x-xz"
TEXT = "text/plain"
BINARY = "application/octet-stream"
EMPTY = "application/x-empty"
FOLDER = "inode/directory"

TABLES = frozenset({CSV, TSV, JSONL, PARQUET})
IMAGES = frozenset({PNG, JPEG, GIF})
COMPRESSED = frozenset({GZIP, BZIP2, XZ})
ARCHIVES = frozenset({ZIP, TAR})

# What each media type is called in messages.
LABELS = {
    CSV: "CSV",
    TSV: "TSV",
    JSONL: "JSON Lines",
    JSON: "JSON",
    PARQUET: "Parquet",
    PNG: "a PNG image",
    JPEG: "a JPEG image",
    GIF: "a GIF image",
    ZIP: "a zip archive",
    TAR: "a tar archive",
    GZIP: "gzip-compressed data",
    BZIP2: "bzip2-compressed data",
    XZ: "xz-compressed data",
    TEXT: "plain text",
    BINARY: "binary data",
}

# Extensions we know, longest first so ".tar.gz" wins over ".gz".
_EXTENSIONS: list[tuple[str, str]] = sorted(
    [
        (".csv", CSV),
        (".tsv", TSV),
        (".tab", TSV),
        (".jsonl", JSONL),
        (".ndjson", JSONL),
        (".json", JSON),
        (".parquet", PARQUET),
        (".pq", PARQUET),
        (".png", PNG),
        (".jpg", JPEG),
        (".jpeg", JPEG),
        (".gif", GIF),
        (".zip", ZIP),
        (".tar", TAR),
        (".tar.gz", TAR + "+gzip"),
        (".tgz", TAR + "+gzip"),
        (".tar.bz2", TAR + "+bzip2"),
        (".tbz2", TAR + "+bzip2"),
        (".tar.xz", TAR + "+xz"),
        (".txz", TAR + "+xz"),
        (".gz", GZIP),
        (".bz2", BZIP2),
        (".xz", XZ),
        (".txt", TEXT),
        (".text", TEXT),
        (".md", TEXT),
        (".log", TEXT),
    ],
    key=lambda item: -len(item[0]),
)
_TEXT_TYPES = frozenset({CSV, TSV, JSONL, JSON, TEXT})


def extension_type(filename: str) -> str | None:
    """The media type a file name's extension promises, or None if we do not know it."""
    lower = filename.lower()
    for ext, media in _EXTENSIONS:
        if lower.endswith(ext) and len(lower) > len(ext):
            return media
    return None


def looks_like_tar(block: bytes) -> bool:
    """True if ``block`` (the first 512 bytes) is a tar header: magic or a valid checksum."""
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    try:
        stored = int(block[148:156].split(b"\x00", 1)[0].strip() or b"-1", 8)
    except ValueError:
        return False
    computed = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    return stored == computed and block[0] != 0


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return True
    # Not UTF-8: accept other 8-bit encodings when control characters are rare.
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls <= len(head) // 100


def sniff(head: bytes, tail: bytes = b"") -> str:
    """The media type the content shows, from its first (and last) bytes."""
    if head.startswith(b"PAR1") and (not tail or tail.endswith(b"PAR1")):
        return PARQUET
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return ZIP
    if head.startswith(b"\x1f\x8b"):
        return GZIP
    if head.startswith(b"BZh") and len(head) > 3 and head[3:4].isdigit():
        return BZIP2
    if head.startswith(b"\xfd7zXZ\x00"):
        return XZ
    if looks_like_tar(head[:512]):
        return TAR
    if not head:
        return EMPTY
    if _is_text(head):
        return TEXT
    return BINARY


def _first_json_line(head: bytes) -> bytes | None:
    for line in head.splitlines():
        if line.strip():
            return line
    return None


def _check_text_kind(filename: str, promised: str, head: bytes, complete: bool) -> None:
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if promised == JSON and text and text[:1] not in (b"{", b"["):
        raise MediaTypeMismatch(
            f"{filename!r} is named .json but does not start with '{{' or '[': it is not a JSON document"
        )
    if promised == JSONL:
        lines = head.splitlines()
        if not complete:
            if len(lines) <= 1:
                return  # one line longer than the sample: nothing whole to check
            lines = lines[:-1]  # the sample may cut the last line
        line = _first_json_line(b"\n".join(lines))
        if line is None:
            return
        try:
            json.loads(line)
        except ValueError as exc:
            raise MediaTypeMismatch(
                f"{filename!r} is named as JSON Lines but its first line is not JSON ({exc})"
            ) from exc


def media_type_for(filename: str, head: bytes, tail: bytes = b"", *, size: int | None = None) -> str:
    """The media type of a file, checking that its content matches its extension.

    ``head`` is the first bytes (``HEAD_BYTES`` is plenty), ``tail`` the last
    few (Parquet keeps its magic at both ends). Raises ``MediaTypeMismatch``.
    """
    content = sniff(head, tail)
    promised = extension_type(filename)
    complete = size is not None and size <= len(head)
    if content == EMPTY:
        return EMPTY
    if promised is None:
        return content
    if promised.startswith(TAR + "+"):
        compression = promised.split("+", 1)[1]
        wanted = {"gzip": GZIP, "bzip2": BZIP2, "xz": XZ}[compression]
        if content != wanted:
            raise _mismatch(filename, content, f"a {compression}-compressed tar archive")
        return content  # the tar inside is checked while unpacking
    if promised in _TEXT_TYPES:
        if content != TEXT:
            raise _mismatch(filename, content, LABELS[promised])
        _check_text_kind(filename, promised, head, complete)
        return promised
    if content != promised:
        raise _mismatch(filename, content, LABELS[promised])
    return content


def _mismatch(filename: str, content: str, promised_label: str) -> MediaTypeMismatch:
    found = LABELS.get(content, content)
    hint = ""
    if content == BINARY and promised_label in ("CSV", "TSV", "JSON", "JSON Lines", "plain text"):
        hint = " (text must be UTF-8 or another 8-bit encoding; UTF-16 is not accepted)"
    return MediaTypeMismatch(
        f"{filename!r} is named as {promised_label} but its content is {found}{hint}; "
        "rename the file to match its content or upload the right file"
    )
