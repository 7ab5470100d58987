"""A returning user's app page takes a kernel warmed before the request (mlrun_kernel.hub.warm).

Against the hub `make up` runs, in Chromium: the single-user server keeps a warm
kernel for the apps' folder; each page Voilà renders takes it (its id, in the
page's Jupyter config, is one the server listed before the page was asked for)
and the pool refills. The deep link's query string and the user's token still
reach the app's code, which runs in the warm kernel after the request.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.conftest import HubSession, kept_password
from tests.e2e.test_hub_roles import GALLERY, sign_in

if TYPE_CHECKING:
    from tests.e2e.conftest import Hub

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub, pytest.mark.browser]


def page_kernel_id(page: Any) -> str:
    """The kernel Voilà gave this page (``kernelId`` in the page's Jupyter config)."""
    config = page.locator("#jupyter-config-data").first.text_content(timeout=90_000)
    return str(json.loads(config or "{}")["kernelId"])


def test_a_returning_users_app_pages_take_kernels_warmed_before_the_request(
    up_hub: Hub, browser: Any, screenshots: Path
) -> None:
    hub = up_hub
    session = HubSession(hub, "demo-user", kept_password(hub, "demo-user"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    headers = {"Authorization": f"token {session.new_token()}"}
    kernels_url = f"{hub.url}/user/demo-user/api/kernels"

    def kernels() -> set[str]:
        answer = httpx.get(kernels_url, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return {kernel["id"] for kernel in answer.json()}

    def waiting(in_use: set[str]) -> set[str]:
        """The kernels no page holds, once the server has one (the warm pool refilled)."""
        deadline = time.monotonic() + 90
        while not (spare := kernels() - in_use):
            assert time.monotonic() < deadline, f"no warm kernel waiting besides {in_use}"
            time.sleep(0.5)
        return spare

    try:
        session.spawn()  # a returning user: the server is already running
        first = context.new_page()
        sign_in(first, hub, "demo-user")
        first.wait_for_url(f"**/user/demo-user/{GALLERY}", timeout=120_000)
        first.locator(".mlk-model-card").first.wait_for(timeout=90_000)
        in_use = {page_kernel_id(first)}

        # The gallery opened again: its kernel was started (and warmed) before the request.
        warm = waiting(in_use)
        again = context.new_page()
        again.goto(f"{hub.url}/user/demo-user/{GALLERY}")
        again.locator(".mlk-model-card").first.wait_for(timeout=90_000)
        kernel = page_kernel_id(again)
        assert kernel in warm, f"the gallery's kernel {kernel} is not one of the warm ones {warm}"
        assert "demo-user" in again.locator(".mlk-nav").inner_text()  # the user's token reached it
        again.screenshot(path=str(screenshots / "warm-kernel-gallery.png"), full_page=True)
        in_use.add(kernel)

        # A deep link: the page's query string reaches the app's code in a warm kernel.
        warm = waiting(in_use)
        link = context.new_page()
        link.goto(f"{hub.url}/user/demo-user/voila/render/apps/run.ipynb?model=iris-classifier&task=predict")
        launcher = link.locator(".mlk-launcher").first
        launcher.wait_for(timeout=90_000)
        kernel = page_kernel_id(link)
        assert kernel in warm, f"the deep link's kernel {kernel} is not one of the warm ones {warm}"
        assert "predict" in launcher.inner_text().lower()
        link.screenshot(path=str(screenshots / "warm-kernel-deep-link.png"), full_page=True)
        in_use.add(kernel)
        waiting(in_use)  # and the pool fills again
    finally:
        context.close()
        session.close()
