"""The one door from the event loop to blocking code (store, Docker, registry, disk).

Like DockerSpawner's thread-pool helper: every route that touches the store or
the engine calls ``in_thread(fn, *args, **kwargs)``, so nothing blocks the loop.
The pool is anyio's default one, sized by ``set_thread_pool_size`` at startup.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` in a worker thread and await its result."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def set_thread_pool_size(size: int) -> None:
    """How many blocking calls may run at once (anyio's default is 40)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = size
