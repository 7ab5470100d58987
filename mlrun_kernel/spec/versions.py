"""Semantic versions of models: which are valid, and how they order.

The catalog lists a model's versions newest first *by semver* (``1.10.0`` after
``1.9.0``, ``2.0.0-rc.1`` before ``2.0.0``), not by push date, and ``mlk push``
moves ``:latest`` only to the highest version. Both use :func:`semver_key`.
Precedence follows semver.org section 11; build metadata (``+...``) is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["SEMVER", "SemverKey", "highest", "is_semver", "semver_key"]

SEMVER = re.compile(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
"""MAJOR.MINOR.PATCH[-prerelease][+build], as semver.org's regular expression."""

# A sort key: (major, minor, patch, release flag, prerelease identifiers).
SemverKey = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


def is_semver(text: str) -> bool:
    """Whether ``text`` is a semantic version such as ``1.2.0`` or ``2.0.0-rc.1``."""
    return bool(SEMVER.match(text))


def semver_key(text: str) -> SemverKey:
    """A key that sorts versions by semver precedence; non-versions sort below every version.

    A release sorts above its prereleases; prerelease identifiers compare
    numerically when numeric, else as text, numeric ones lower.
    """
    match = SEMVER.match(text)
    if not match:
        return (-1, -1, -1, -1, ((1, 0, text),))
    major, minor, patch, pre, _build = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, parts)


def highest(versions: Iterable[str]) -> str | None:
    """The highest semantic version among ``versions`` (non-versions ignored), or None."""
    valid = [v for v in versions if is_semver(v)]
    return max(valid, key=semver_key) if valid else None
