"""Login to an interactive gallery, against a blank Voilà notebook in the same server, in one run.

Prints, for a hub started here (native accounts, the example models in a
registry of its own, the single-user image built from this checkout), for a
user whose server is already running, from two kinds of browser:

  a fresh browser (a new context: nothing cached) and the browser of a
  returning user (one context, signed out through the hub and every cookie
  dropped between logins, its HTTP cache kept):

  login:          submitting the login form -> the gallery's first model card
  baseline:       a blank Voilà notebook (one cell printing a word) opened in
                  the same server, from a browser in the same state (in the
                  home folder: a kernel started for the page, as Voilà does by
                  default)                                  target <= 2x each
  warm blank:     the same notebook in the apps' folder, whose pages take a
                  warm kernel (mlrun_kernel.hub.warm): what the pool saves

  first login:    submitting the form -> the landing app for a user whose
                  server is not running (spawn included)
  bare container: `docker run` of the single-user image until its Jupyter
                  server answers, the floor of any spawn

Until 2026-12-03 the login was timed from a fresh browser and the baseline
from a browser that had just drawn the gallery: the two pages share most of
their ~170 scripts, so the ratio measured the HTTP cache as much as the login.

Each figure is the median of ``--rounds`` tries (default 5).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    SINGLEUSER_TAG,
    HubSession,
    kept_password,
    running_hub,
)
from tests.paths import EXAMPLES  # noqa: E402
from tests.registry_process import RegistryProcess  # noqa: E402

BLANK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "blank",
            "metadata": {},
            "outputs": [],
            "source": ["print('blank-ready')"],
        }
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def median_of(rounds: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(rounds))


def bare_container(image: str) -> float:
    """`docker run` of the image until its Jupyter server answers /api (no hub, no auth)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    container = subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--rm",
            "-p",
            f"127.0.0.1:{port}:8888",
            image,
            "jupyter",
            "server",
            "--ip=0.0.0.0",
            "--ServerApp.token=",
            "--ServerApp.password=",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


class LoginBench:
    """The timed steps, each from a browser in a known state: its HTTP cache empty (a new
    context) or kept from earlier visits (one context, signed out between logins). A login and
    its baseline are always measured from browsers in the same state: the pages share most of
    their scripts, so a cached baseline against an uncached login measures the cache."""

    def __init__(self, browser: Any, url: str, password: str, user: str = "demo-user") -> None:
        self.browser, self.url, self.password, self.user = browser, url, password, user
        self._returning: Any = None  # the returning user's browser context
        self._signed_in: Any = None  # cookies of a signed-in session, for fresh blanks

    def login(self, context: Any, ready: str = ".mlk-model-card") -> float:
        """Submit the login form in ``context`` until ``ready`` shows (the context stays open)."""
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{self.url}/hub/login")
        page.fill("#username_input", self.user)
        page.fill("#password_input", self.password)
        started = time.monotonic()
        page.click("#login_submit")
        page.locator(ready).first.wait_for(timeout=180_000)
        return time.monotonic() - started

    def fresh_login(self, ready: str = ".mlk-model-card") -> float:
        context = self.browser.new_context()
        try:
            took = self.login(context, ready)
            self._signed_in = context.storage_state()
            return took
        finally:
            context.close()

    def fresh_blank(self, where: str = "blank.ipynb") -> float:
        """The blank notebook in a new context holding only a signed-in session's cookies."""
        if self._signed_in is None:
            self.fresh_login()
        context = self.browser.new_context(storage_state=self._signed_in)
        try:
            return self._blank(context.new_page(), where)
        finally:
            context.close()

    def returning_login(self) -> float:
        """Sign out (the hub's logout, every cookie dropped), then sign in again."""
        if self._returning is None:
            self._returning = self.browser.new_context()
            self.login(self._returning)
        page = self._returning.pages[0]
        page.goto(f"{self.url}/hub/logout")
        self._returning.clear_cookies()
        return self.login(self._returning)

    def returning_blank(self, where: str = "blank.ipynb") -> float:
        if self._returning is None:
            self.returning_login()
        return self._blank(self._returning.pages[0], where)

    def _blank(self, page: Any, where: str) -> float:
        started = time.monotonic()
        page.goto(f"{self.url}/user/{self.user}/voila/render/{where}")
        page.get_by_text("blank-ready").first.wait_for(timeout=60_000)
        return time.monotonic() - started

    def close(self) -> None:
        if self._returning is not None:
            self._returning.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from mlrun_kernel.build import build_image, build_model
    from mlrun_kernel.config import settings

    print("building the single-user image (cached layers: seconds)...", flush=True)
    build_image(
        ROOT,
        [SINGLEUSER_TAG],
        dockerfile="hub/images/singleuser/Dockerfile",
        ca_bundle=settings().build_ca_bundle,
    )
    client = docker.from_env()
    state = Path(tempfile.mkdtemp(prefix="mlk-bench-hub-"))
    registry = RegistryProcess(state / "registry").start()
    try:
        for folder in EXAMPLES:
            build_model(folder, registry=registry.access, push=True)
        with running_hub(
            state / "data",
            client,
            "",
            MLK_AUTHENTICATOR="native",
            MLK_DEMO_ACCOUNTS="1",
            MLK_REGISTRY_URL=f"http://{registry.addr}",
            MLK_SINGLEUSER_IMAGE=SINGLEUSER_TAG,
        ) as hub:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                bench = LoginBench(browser, hub.url, kept_password(hub, "demo-user"))

                first = bench.fresh_login()  # spawns the server
                session = HubSession(hub, "demo-user", kept_password(hub, "demo-user"))
                token = session.new_token()
                for where in ("blank.ipynb", "apps/blank.ipynb"):
                    put = httpx.put(
                        f"{hub.url}/user/demo-user/api/contents/{where}",
                        headers={"Authorization": f"token {token}"},
                        json={"type": "notebook", "format": "json", "content": BLANK},
                        timeout=30,
                    )
                    put.raise_for_status()

                bench.fresh_login()  # warm: the OS caches, the server's first render
                fresh = median_of(args.rounds, bench.fresh_login)
                fresh_blank = median_of(args.rounds, bench.fresh_blank)
                returning = median_of(args.rounds, bench.returning_login)
                returning_blank = median_of(args.rounds, bench.returning_blank)
                warm_blank = median_of(args.rounds, lambda: bench.returning_blank("apps/blank.ipynb"))
                bench.close()
                # A second first login: the admin, who lands in the evaluation app.
                admin = LoginBench(browser, hub.url, kept_password(hub, "demo-admin"), "demo-admin")
                firsts = [first, admin.fresh_login(ready=".mlk-eval-table")]
                browser.close()
            session.close()
        bare = median_of(args.rounds, lambda: bare_container(SINGLEUSER_TAG))
    finally:
        registry.stop()

    ratios = {"fresh": fresh / fresh_blank, "returning": returning / returning_blank}
    first_login = statistics.median(firsts)
    print(
        json.dumps(
            {
                "fresh_browser_login_to_gallery_s": round(fresh, 2),
                "fresh_browser_blank_voila_s": round(fresh_blank, 2),
                "returning_browser_login_to_gallery_s": round(returning, 2),
                "returning_browser_blank_voila_s": round(returning_blank, 2),
                "blank_voila_warm_kernel_s": round(warm_blank, 2),
                "first_login_to_gallery_s": round(first_login, 2),
                "bare_docker_run_s": round(bare, 2),
            }
        )
    )
    print("a fresh browser (nothing cached):")
    print(f"  login -> interactive gallery:                {fresh:6.2f}s")
    print(f"  blank Voila notebook, same server:           {fresh_blank:6.2f}s")
    print(f"    ratio {ratios['fresh']:.2f}x (target <= 2x)")
    print("the browser of a user who signed out and signs in again (its cache kept):")
    print(f"  login -> interactive gallery:                {returning:6.2f}s")
    print(f"  blank Voila notebook, same server:           {returning_blank:6.2f}s")
    print(f"    ratio {ratios['returning']:.2f}x (target <= 2x)")
    print(f"  blank Voila notebook, warm kernel (apps/):   {warm_blank:6.2f}s")
    print(f"    ratio to the cold blank {warm_blank / returning_blank:.2f}x")
    print(f"first login, spawn included -> landing app:    {first_login:6.2f}s")
    print(f"bare docker run of the image -> Jupyter up:    {bare:6.2f}s")
    print(f"  ratio {first_login / bare:.2f}x")
    return 0 if max(ratios.values()) <= 2 else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
