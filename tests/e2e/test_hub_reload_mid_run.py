"""A page reload in the middle of a run shows the same run still progressing, in Chromium.

Against the hub `make up` runs: a model user starts a run of a model that
sleeps and prints a tick a second (the test image ``mlk-test-behaving``, task
``sleep``), reloads its deep link (``run.ipynb?run=<id>``) while it runs, and the
monitor there shows the same run running, its log going on with no line
twice, then the results. Screenshots: data/screenshots/reload-mid-run-*.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from mlrun_kernel.client import Client
from tests.e2e.conftest import HubSession, kept_password
from tests.e2e.test_hub_roles import GALLERY, sign_in
from tests.runs.image_contexts import build_test_model

if TYPE_CHECKING:
    from mlrun_kernel.registry import RegistryAccess
    from tests.e2e.conftest import Hub

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub, pytest.mark.browser]

MODEL = "mlk-test-behaving"
RUN_APP = "voila/render/apps/run.ipynb"


@pytest.fixture(scope="module")
def sleeper(up_hub: Hub, registry_access: RegistryAccess) -> str:
    """The test model with the ``sleep`` task, pushed to the hub's registry and in its catalog."""
    build_test_model("behaving", registry_access)
    admin = HubSession(up_hub, "demo-admin", kept_password(up_hub, "demo-admin"))
    try:
        headers = {"Authorization": f"token {admin.new_token()}"}
        synced = httpx.post(f"{up_hub.service_url}api/catalog/sync", headers=headers, timeout=120)
        assert synced.status_code in (200, 202), synced.text
        deadline = time.monotonic() + 60
        while (
            httpx.get(f"{up_hub.service_url}api/models/{MODEL}", headers=headers, timeout=30).status_code
            != 200
        ):
            assert time.monotonic() < deadline, f"{MODEL} not in the hub's catalog"
            time.sleep(1)
    finally:
        admin.close()
    return MODEL


def ticks(page: Any) -> list[str]:
    """The monitor's log lines on the page, in order."""
    return [line.strip() for line in page.locator(".mlk-log-tail > div").all_inner_texts()]


def last_tick(lines: list[str]) -> int:
    numbers = [int(m[1]) for line in lines if (m := re.fullmatch(r"tick (\d+)", line))]
    return max(numbers, default=-1)


def test_a_reload_mid_run_shows_the_same_run_still_progressing_then_its_results(
    up_hub: Hub, sleeper: str, browser: Any, screenshots: Path
) -> None:
    hub = up_hub
    session = HubSession(hub, "demo-user", kept_password(hub, "demo-user"))
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()

    def shot(name: str) -> None:
        page.screenshot(path=str(screenshots / f"reload-mid-run-{name}.png"), full_page=True)

    try:
        with Client(hub.service_url, token=session.new_token()) as client:
            before = {run["id"] for run in client.list_runs()["runs"]}
            sign_in(page, hub, "demo-user")
            page.wait_for_url(f"**/user/demo-user/{GALLERY}", timeout=120_000)

            # 1. Start the run from the launcher's deep link (20 s of ticks).
            page.goto(f"{hub.url}/user/demo-user/{RUN_APP}?model={sleeper}&task=sleep")
            launcher = page.locator(".mlk-launcher").first
            launcher.wait_for(timeout=90_000)
            seconds = launcher.get_by_label("seconds")
            if seconds.count():
                seconds.first.fill("20")
            shot("1-launcher")
            launcher.get_by_role("button", name="Run", exact=True).click()
            page.locator(".mlk-run-monitor").first.wait_for(timeout=60_000)
            deadline = time.monotonic() + 60
            while not (started := {run["id"] for run in client.list_runs()["runs"]} - before):
                assert time.monotonic() < deadline, "the launcher started no run"
                time.sleep(0.5)
            (run_id,) = started
            page.get_by_text("tick 2", exact=True).first.wait_for(timeout=120_000)
            shot("2-running")

            # 2. Reload through the run's own deep link while it runs.
            assert client.get_run(run_id)["state"] == "running"
            page.goto(f"{hub.url}/user/demo-user/{RUN_APP}?run={run_id}")
            monitor = page.locator(".mlk-run-monitor").first
            monitor.wait_for(timeout=90_000)
            assert run_id in monitor.inner_text()  # the title names the run: the same one
            page.locator(".mlk-log-tail > div").first.wait_for(timeout=60_000)
            assert "Running" in monitor.locator(".mlk-state-chip").inner_text(), monitor.inner_text()
            seen = last_tick(ticks(page))
            assert seen >= 0, ticks(page)
            shot("3-after-reload")

            # 3. The log goes on (later ticks arrive), with no line shown twice.
            page.get_by_text(f"tick {seen + 3}", exact=True).first.wait_for(timeout=60_000)
            shot("4-still-progressing")
            lines = ticks(page)
            assert len(lines) == len(set(lines)), f"a log line shown twice after the reload: {lines}"

            # 4. Then the results, under the monitor, on the same page.
            page.locator(".mlk-results").first.wait_for(timeout=120_000)
            assert "Succeeded" in monitor.inner_text(), monitor.inner_text()
            lines = ticks(page)
            assert len(lines) == len(set(lines)), f"a log line shown twice: {lines}"
            assert client.get_run(run_id)["state"] == "succeeded"
            page.locator(".mlk-results").first.scroll_into_view_if_needed()
            shot("5-results")
    finally:
        context.close()
        session.close()
