"""Validation of everything a user names: datasets, file names, paths inside archives.

Each check refuses with an ``InvalidName`` that says what is wrong and where,
never a bare "invalid". Names are not paths (content lives under its sha256),
but they travel in URLs, CLI arguments and mount points, so they stay plain.
"""

from __future__ import annotations

import unicodedata

from mlrun_kernel.datasets.errors import InvalidInput, InvalidName

NAME_MAX = 200
PATH_MAX = 1024
COMPONENT_MAX = 255
DESCRIPTION_MAX = 10_000
_NAME_PUNCTUATION = frozenset(" ._-+()@,=")


def _show(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    return repr(shown)


def _control_char(text: str) -> tuple[int, str] | None:
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return i, ch
    return None


def _common_checks(text: object, what: str, limit: int) -> str:
    if not isinstance(text, str):
        raise InvalidName(f"{what} must be text, not {type(text).__name__}")
    if text == "":
        raise InvalidName(f"{what} is empty")
    if len(text) > limit:
        raise InvalidName(f"{what} is {len(text)} characters long; at most {limit} are allowed")
    if "\x00" in text:
        raise InvalidName(f"{what} {_show(text)} contains a NUL byte")
    bad = _control_char(text)
    if bad is not None:
        i, ch = bad
        raise InvalidName(
            f"{what} {_show(text)} contains the control character U+{ord(ch):04X} at position {i}"
        )
    return text


def validate_dataset_name(name: object) -> str:
    """``name`` if it is an acceptable dataset name, else ``InvalidName`` saying why.

    Letters and digits of any script, spaces inside, and ``. _ - + ( ) @ , =``;
    at most 200 characters; not starting with a dot; no path separators.
    """
    text = _common_checks(name, "dataset name", NAME_MAX)
    parts = text.replace("\\", "/").split("/")
    if ".." in parts or "." in parts:
        raise InvalidName(
            f"dataset name {_show(text)} looks like a path ('..' and '.' are not allowed): "
            "a name is one word such as 'sales-2024'"
        )
    for sep in ("/", "\\"):
        if sep in text:
            raise InvalidName(
                f"dataset name {_show(text)} contains {sep!r}: names cannot hold path "
                "separators (use '-' or '_')"
            )
    if text != text.strip():
        raise InvalidName(f"dataset name {_show(text)} starts or ends with a space")
    if text.startswith("."):
        raise InvalidName(f"dataset name {_show(text)} starts with '.'")
    for ch in text:
        if not (ch.isalnum() or ch in _NAME_PUNCTUATION):
            raise InvalidName(
                f"dataset name {_show(text)} contains {ch!r}, which is not allowed; use "
                "letters, digits, spaces and . _ - + ( ) @ , ="
            )
    return text


def validate_filename(filename: object) -> str:
    """A single file name as uploaded (no folders): ``report.csv``."""
    text = _common_checks(filename, "file name", COMPONENT_MAX)
    if "/" in text or "\\" in text:
        raise InvalidName(f"file name {_show(text)} contains a path separator; give the bare file name")
    if text in (".", ".."):
        raise InvalidName(f"file name {text!r} is not a file name")
    return text


def validate_member_path(path: object, *, where: str = "archive") -> str:
    """A relative path inside an archive or folder, normalised to ``a/b/c.csv``.

    Refuses absolute paths, drive letters, backslashes, ``..`` and empty
    components, control characters, and overlong names.
    """
    what = f"path in the {where}"
    if isinstance(path, str) and path.endswith("/"):
        path = path.rstrip("/")  # directories arrive as 'a/b/'
    text = _common_checks(path, what, PATH_MAX)
    if "\\" in text:
        raise InvalidName(f"{what} {_show(text)} contains a backslash")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise InvalidName(f"{what} {_show(text)} is absolute; only relative paths are allowed")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts:
        raise InvalidName(f"{what} {_show(text)} names no file")
    for part in parts:
        if part == "..":
            raise InvalidName(f"{what} {_show(text)} climbs out with '..' (path traversal is refused)")
        if len(part.encode()) > COMPONENT_MAX:
            raise InvalidName(f"{what} {_show(text)} has a component longer than {COMPONENT_MAX} bytes")
    return "/".join(parts)


def validate_principal_name(name: object, what: str = "owner") -> str:
    """A user or group name, as JupyterHub gives it."""
    text = _common_checks(name, what, 255)
    if "/" in text:
        raise InvalidName(f"{what} {_show(text)} contains '/'")
    return text


def validate_description(description: object) -> str:
    if not isinstance(description, str):
        raise InvalidInput(f"description must be text, not {type(description).__name__}")
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            f"description is {len(description)} characters long; at most {DESCRIPTION_MAX} are allowed"
        )
    if "\x00" in description:
        raise InvalidInput("description contains a NUL byte")
    return description


def split_ref(ref: str) -> tuple[str | None, str]:
    """``'ana/sales'`` -> ``('ana', 'sales')``; ``'sales'`` -> ``(None, 'sales')``.

    Dataset names never contain '/', so one slash separates owner and name.
    """
    if not isinstance(ref, str):
        raise InvalidName(f"dataset reference must be text, not {type(ref).__name__}")
    owner, sep, name = ref.partition("/")
    if not sep or "/" in name or owner in ("", ".", ".."):
        return None, validate_dataset_name(ref)  # refuses, saying why, if it holds a '/'
    return validate_principal_name(owner), validate_dataset_name(name)
