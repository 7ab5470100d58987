"""Warm kernels for the Voilà apps: a returning user's page does not wait for a kernel start.

Voilà's own ``preheat_kernel`` (``voila.voila_kernel_manager``) works only in
Voilà's standalone server: in the jupyter-server extension our single-user
servers run (``/voila/render/...``), its handler finds no pool and starts a
kernel per page view (``voila/handler.py``: "For server extension case"). It
would also run the whole notebook before the request, which our apps cannot
allow: they read the page's query string and call the service when they run.

So this is the equivalent, one layer down. :class:`WarmKernelManager` is the
single-user server's kernel manager (``c.ServerApp.kernel_manager_class``). For
each folder in ``warm_kernels`` it keeps that many kernels started, with the
apps' modules already imported (``warm_up_modules``), but no cell of any app
run. When Voilà asks for a kernel for a notebook in such a folder, it gets a
warm one: first the kernel's ``os.environ`` takes the request's values (the
page's ``QUERY_STRING``, ``SCRIPT_NAME``, ``VOILA_REQUEST_URL``, ... everything
Voilà passes for a fresh kernel), then Voilà runs the notebook in it as in a
fresh kernel; the pool refills in the background. Anything else (JupyterLab's
kernels, a folder without a pool, an empty pool) starts a kernel as usual.

Invariant: a warm kernel serves one page only, and it has executed nothing
but imports and the environment update before the page's cells.

Kernels nobody uses are shut down by jupyter-server's own culler
(``cull_idle_timeout``, set from ``MLK_KERNEL_IDLE_TIMEOUT`` in the image's
config): a Voilà tab closed without its shutdown call leaves a kernel with no
connection, and each one holds the apps' memory inside the container's limit.
A warm kernel waiting in its pool is idle and unconnected by design, so the
culler skips it until a page takes it.

:func:`_load_jupyter_server_extension` fills the pools as the server starts
(``mlrun_kernel.hub.warm`` is enabled as a server extension in the image).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any, cast

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Dict, Float, Int, List, Unicode

#: set in a warm kernel's environment until a page takes it (then removed)
WARM_MARK = "MLK_WARM_KERNEL"
#: Voilà puts this in the environment of every kernel it starts for a page
VOILA_MARK = "VOILA_PREHEAT"


class WarmKernelError(Exception):
    """A warm kernel did not become ready (its warm-up or hand-off failed)."""


class WarmKernelManager(AsyncMappingKernelManager):
    """The server's kernel manager, with pools of warm kernels for Voilà pages."""

    warm_kernels = Dict(
        key_trait=Unicode(),
        value_trait=Int(),
        default_value={"apps": 1},
        config=True,
        help="""Warm kernels kept per folder (an API path relative to the server's root):
        every notebook Voilà renders from that folder takes its kernel from the pool.
        Each warm kernel holds the imported modules' memory (about 100 MB). {} turns it off.""",
    )
    warm_kernel_name = Unicode(
        "python3", config=True, help="The kernel spec of the warm kernels (the apps' kernelspec)."
    )
    warm_up_modules = List(
        Unicode(),
        default_value=[
            "ipywidgets",
            "ipyvuetify",
            "mlrun_kernel.client",
            "mlrun_kernel.widgets.nav",
            "mlrun_kernel.widgets.apps",
            "mlrun_kernel.widgets.gallery",
            "mlrun_kernel.widgets.launcher",
            "mlrun_kernel.widgets.monitor",
            "mlrun_kernel.widgets.results",
            "mlrun_kernel.widgets.history",
            "mlrun_kernel.widgets.datasets",
            "mistune",  # the gallery's Markdown, imported at its first card
        ],
        config=True,
        help="Modules a warm kernel imports before any page takes it (one failing is skipped).",
    )
    warm_timeout = Float(
        60.0,
        config=True,
        help="Seconds a warm kernel may take to start and import, or to take a page's environment.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pools: dict[str, list[asyncio.Task[str]]] = {}
        self._warm_env: dict[str, dict[str, str]] = {}

    # -- the pools -----------------------------------------------------------

    def fill_pools(self) -> None:
        """Start warm kernels until every pool holds its size (returns at once)."""
        for folder in self.warm_kernels:
            self._fill(folder)

    def warm_kernel_ids(self) -> list[str]:
        """The kernels warmed and waiting for a page (for tests and the log)."""
        return [
            task.result()
            for pool in self._pools.values()
            for task in pool
            if task.done() and not task.exception()
        ]

    def _fill(self, folder: str) -> None:
        pool = self._pools.setdefault(folder, [])
        pool[:] = [task for task in pool if not (task.done() and (task.cancelled() or task.exception()))]
        while len(pool) < self.warm_kernels.get(folder, 0):
            pool.append(asyncio.ensure_future(self._warm_one(folder)))

    async def _warm_one(self, folder: str) -> str:
        env = {**os.environ, WARM_MARK: "1"}
        kernel_id = await super().start_kernel(
            path=cast(Any, folder), kernel_name=self.warm_kernel_name, env=env
        )
        self._warm_env[kernel_id] = env
        code = (
            "import importlib as _mlk_importlib\n"
            f"for _mlk_module in {list(self.warm_up_modules)!r}:\n"
            "    try:\n"
            "        _mlk_importlib.import_module(_mlk_module)\n"
            "    except Exception:\n"
            "        pass\n"
            "del _mlk_importlib, _mlk_module\n"
        )
        try:
            await self._execute(kernel_id, code)
        except Exception:
            await self._discard(kernel_id)
            raise
        self.log.info("Warm kernel %s ready for %s/", kernel_id, folder)
        return kernel_id

    async def _take(self, folder: str, env: dict[str, str]) -> str | None:
        """A warm kernel of ``folder`` given the page's ``env``, or None when there is none."""
        pool = self._pools.get(folder, [])
        while pool:
            task = pool.pop(0)
            try:
                kernel_id = await task
            except Exception as exc:  # a warm-up that failed: the next one, or a cold start
                self.log.warning("Warm kernel for %s/ failed: %s", folder, exc)
                continue
            if kernel_id not in self:
                continue
            warm = self._warm_env.pop(kernel_id, {})
            changed = {name: value for name, value in env.items() if warm.get(name) != value}
            gone = [name for name in warm if name not in env]
            code = (
                "import os as _mlk_os\n"
                f"_mlk_os.environ.update({json.dumps(changed)})\n"
                f"for _mlk_name in {json.dumps(gone)}:\n"
                "    _mlk_os.environ.pop(_mlk_name, None)\n"
                "del _mlk_os\n"
            )
            try:
                await self._execute(kernel_id, code)
            except Exception as exc:
                self.log.warning("Warm kernel %s could not take the page's environment: %s", kernel_id, exc)
                await self._discard(kernel_id)
                continue
            return kernel_id
        return None

    # -- the kernel manager's door ------------------------------------------

    async def start_kernel(  # type: ignore[override]
        self, *, kernel_id: str | None = None, path: str | None = None, **kwargs: Any
    ) -> str:
        env = kwargs.get("env") or {}
        folder = (path or "").strip("/")
        wanted = kwargs.get("kernel_name") or self.default_kernel_name
        if (
            kernel_id is None
            and VOILA_MARK in env
            and folder in self.warm_kernels
            and wanted == self.warm_kernel_name
        ):
            taken = await self._take(folder, dict(env))
            self._fill(folder)
            if taken is not None:
                self.log.info("Voila page in %s/ takes warm kernel %s", folder, taken)
                return taken
        return await super().start_kernel(kernel_id=kernel_id, path=cast(Any, path), **kwargs)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """jupyter-server's culler, except for the warm kernels waiting for a page (a dead one
        goes, and its pool refills at the next page)."""
        waiting = kernel_id in self._warm_env
        if waiting and getattr(self.get_kernel(kernel_id), "execution_state", None) != "dead":
            return
        await super().cull_kernel_if_idle(kernel_id)

    async def _execute(self, kernel_id: str, code: str) -> None:
        client: Any = self.get_kernel(kernel_id).client()  # an asynchronous client at run time
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=self.warm_timeout)
            reply = await client.execute_interactive(
                code,
                silent=True,
                store_history=False,
                timeout=self.warm_timeout,
                output_hook=lambda _msg: None,
            )
        finally:
            client.stop_channels()
        if reply["content"].get("status") != "ok":
            raise WarmKernelError(f"kernel {kernel_id}: {reply['content'].get('ename', 'error')}")

    async def _discard(self, kernel_id: str) -> None:
        self._warm_env.pop(kernel_id, None)
        if kernel_id in self:
            await self.shutdown_kernel(kernel_id, now=True)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mlrun_kernel.hub.warm"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Fill the pools once the server's event loop runs (nothing to do for another kernel
    manager). Should that fail, the first page starts its kernel cold and fills them."""
    manager = server_app.kernel_manager
    if isinstance(manager, WarmKernelManager):
        from tornado.ioloop import IOLoop

        try:
            IOLoop.current().add_callback(manager.fill_pools)
        except Exception as exc:  # the pools then fill at the first page
            server_app.log.warning("mlrun_kernel.hub.warm: pools not filled at start: %s", exc)
        server_app.log.info("mlrun_kernel.hub.warm: warm kernels %s", dict(manager.warm_kernels))
