"""Kernels nobody uses are shut down; warm kernels waiting for a page are not (mlrun_kernel.hub.warm).

Real ipykernel processes under the single-user server's kernel manager, with
jupyter-server's own culler on a short timeout: a kernel no tab is connected to
(a Voilà tab closed without its shutdown call) goes, the pool's warm kernel
stays until a page takes it, and then it is culled like any other once its
page is gone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from mlrun_kernel.hub.warm import VOILA_MARK, WarmKernelManager

TIMEOUT = 2  # seconds without activity or connection


async def _until(condition: Callable[[], object], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.2)
    return False


async def _journey(root: Path) -> None:
    manager = WarmKernelManager(
        root_dir=str(root),
        warm_kernels={"apps": 1},
        warm_up_modules=["json"],
        cull_idle_timeout=TIMEOUT,
        cull_interval=1,
    )
    try:
        manager.fill_pools()
        assert await _until(lambda: manager.warm_kernel_ids(), 60), "no warm kernel"
        (warm,) = manager.warm_kernel_ids()
        closed_tab = await manager.start_kernel(path="", kernel_name="python3")

        assert await _until(lambda: closed_tab not in manager, 4 * TIMEOUT + 10), "idle kernel kept"
        assert warm in manager and manager.warm_kernel_ids() == [warm], "the waiting warm kernel was culled"

        page = await manager.start_kernel(path="apps", kernel_name="python3", env={VOILA_MARK: "1"})
        assert page == warm
        assert await _until(lambda: page not in manager, 4 * TIMEOUT + 10), "a taken kernel is never culled"
    finally:
        await manager.shutdown_all(now=True)


def test_idle_unconnected_kernels_are_culled_but_waiting_warm_kernels_stay(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    asyncio.run(_journey(tmp_path))
