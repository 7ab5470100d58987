"""The doors from the event loop to blocking code (store, Docker, registry, disk).

Like DockerSpawner's thread-pool helper: every route that touches the store or
the engine calls ``in_thread(fn, *args, **kwargs)``, so nothing blocks the loop.

Two pools, because the calls are of two kinds:

- ``in_thread``: quick work, mostly the store. A small pool (``QUICK_THREADS``):
  with 64 threads on one SQLite file, 50 clients creating runs waited 5-6 s at
  p99 while the process sat mostly idle (bench/bench_service.py); with 8, 2.3 s.
- ``in_waiting_thread``: calls that wait on something slow outside the
  process: an upload's body arriving from the network, unpacking an archive, a
  registry sync, starting or stopping the run executor. They get a pool of
  their own (``WAITING_THREADS``), so a few slow uploads never starve the quick
  calls, and the quick calls never queue behind them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar

T = TypeVar("T")

QUICK_THREADS = 8
WAITING_THREADS = 64

_waiting: RunVar[CapacityLimiter] = RunVar("mlk_waiting_threads")  # one per event loop, like anyio's own


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run quick blocking work ``fn(*args, **kwargs)`` in a worker thread and await it."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


async def in_waiting_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` that waits on the network, a disk or the registry, in the other pool."""
    try:
        limiter = _waiting.get()
    except LookupError:
        limiter = CapacityLimiter(WAITING_THREADS)
        _waiting.set(limiter)
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=limiter)


def set_thread_pool_size(size: int = QUICK_THREADS) -> None:
    """How many quick blocking calls may run at once (anyio's default is 40)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = size
