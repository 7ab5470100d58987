"""The name a person gives a run: one rule for the executor, the service, the CLI and the widgets.

Kept free of heavy imports (like :mod:`mlrun_kernel.spec.media`), so a notebook's
``RunLauncher`` checks a name as the executor will, without loading it.
"""

from __future__ import annotations

import unicodedata

RUN_NAME_MAX = 200
"""The longest run name, in characters (the ``runs.name`` column, migration 0008)."""

_CONTROL = ("Cc", "Zl", "Zp")  # control characters, line and paragraph separators


class RunNameError(ValueError):
    """A run name that cannot be stored; ``str(error)`` says why, after "the run name"."""


def clean_run_name(value: str | None) -> str | None:
    """A run name as stored: stripped, ``None`` when empty. ``RunNameError`` for a name
    longer than :data:`RUN_NAME_MAX` or holding control characters (tabs, newlines, ...)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RunNameError(f"must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if len(text) > RUN_NAME_MAX:
        raise RunNameError(f"is {len(text)} characters long; at most {RUN_NAME_MAX} are allowed")
    bad = next((c for c in text if unicodedata.category(c) in _CONTROL), None)
    if bad is not None:
        raise RunNameError(f"holds a control character (U+{ord(bad):04X}); use one line of plain text")
    return text
