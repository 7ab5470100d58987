"""Secrets made once and kept in a file, so restarts (and re-running ``make up``) keep them.

The file is created with ``O_CREAT | O_EXCL`` and mode 0600 in the same
``open(2)``: there is no moment when it exists with wider permissions, and
two processes racing to make it end up with the same secret (the loser reads
the winner's). It is never chmodded afterwards.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path


class KeptSecretError(RuntimeError):
    """A kept secret's file exists but cannot be used."""


def write_new_secret(path: Path, value: str) -> bool:
    """Write ``value`` to a new 0600 file at ``path``; False if the file already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    return True


def kept_secret(path: Path, nbytes: int) -> str:
    """The secret kept in ``path``, made now (``nbytes`` of randomness, URL-safe) if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_new_secret(path, secrets.token_urlsafe(nbytes))
    for _ in range(20):  # another process may have created it and not written it yet
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.05)
    raise KeptSecretError(f"{path} is empty: delete it and start again to make a new secret")
