"""Store writes that wait out a busy database instead of failing.

SQLite has one writer at a time. Its busy timeout (``engine.py``) makes a
writer wait for the lock, yet a writer can still be refused with "database is
locked": when the timeout runs out under a steady stream of other writers
(another process sharing the file, such as the CLI's embedded executor beside
the service's), or at once when its read snapshot went stale. PostgreSQL
refuses a transaction on a deadlock or a serialization failure. In each case
nothing was written, and the whole transaction is safe to run again:
:func:`retry_busy` does so after a doubling, jittered delay, for at most
``limit`` seconds, then raises :class:`StoreBusy`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

T = TypeVar("T")

_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
_PG_RETRYABLE = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


class StoreBusy(RuntimeError):
    """The store stayed locked by other writers for longer than a write may wait."""


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is the database refusing a write for now (worth a retry), not a bug."""
    if not isinstance(exc, DBAPIError):
        return False
    original = exc.orig
    text = str(original).lower()
    if any(marker in text for marker in _SQLITE_BUSY):
        return True
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code in _PG_RETRYABLE


def retry_busy(
    fn: Callable[[], T],
    *,
    what: str,
    limit: float = 60.0,
    first_delay: float = 0.02,
    max_delay: float = 1.0,
) -> T:
    """``fn()`` (one whole transaction), run again while the database is busy, up to ``limit`` s."""
    deadline = time.monotonic() + limit
    delay = first_delay
    while True:
        try:
            return fn()
        except DBAPIError as exc:
            if not is_busy(exc):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreBusy(
                    f"the store stayed locked by other writers for {limit:g} s while {what}; "
                    "nothing was changed. Try again, and look for a process holding the "
                    "database (a long import, a stuck transaction)"
                ) from exc
            time.sleep(min(left, delay * random.uniform(0.5, 1.5)))  # noqa: S311 - jitter, not crypto
            delay = min(delay * 2, max_delay)
