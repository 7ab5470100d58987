"""Which media types an input takes: one rule for the runner and the dataset picker.

Kept free of heavy imports so a notebook's widgets can grey out datasets with the
runner's own rule without loading the executor.
"""

from __future__ import annotations


def media_type_accepted(media_type: str, accepted: tuple[str, ...]) -> bool:
    """True when ``media_type`` matches one of ``accepted`` (``*/*``, ``type/*`` or exact).

    An input that declares no media types takes any.
    """
    if not accepted:
        return True
    for pattern in accepted:
        if pattern in ("*/*", media_type):
            return True
        if pattern.endswith("/*") and media_type.startswith(pattern[:-1]):
            return True
    return False
