"""Login to an interactive gallery, against a blank Voilà notebook in the same server, in one run.

Prints, for a hub started here (native accounts, the example models in a
registry of its own, the single-user image built from this checkout):

  returning user: submitting the login form -> the gallery's first model card,
                  with the user's server already running           target <= 2x
  baseline:       a blank Voilà notebook (one cell printing a word) opened in
                  the same server, same browser, same run (in the home folder:
                  a kernel started for the page, as Voilà does by default)
  warm blank:     the same notebook in the apps' folder, whose pages take a
                  warm kernel (mlrun_kernel.hub.warm): what the pool saves
  first login:    submitting the form -> the gallery's first card for a user
                  whose server is not running (spawn included)
  bare container: `docker run` of the single-user image until its Jupyter
                  server answers, the floor of any spawn

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

                def login_to_gallery(user: str, ready: str = ".mlk-model-card") -> float:
                    context = browser.new_context()
                    page = context.new_page()
                    page.goto(f"{hub.url}/hub/login")
                    page.fill("#username_input", user)
                    page.fill("#password_input", kept_password(hub, user))
                    started = time.monotonic()
                    page.click("#login_submit")
                    page.locator(ready).first.wait_for(timeout=180_000)
                    took = time.monotonic() - started
                    context.close()
                    return took

                first = login_to_gallery("demo-user")  # spawns the server
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

                def blank(where: str = "blank.ipynb") -> float:
                    context = browser.new_context()
                    page = context.new_page()
                    page.goto(f"{hub.url}/hub/login")
                    page.fill("#username_input", "demo-user")
                    page.fill("#password_input", kept_password(hub, "demo-user"))
                    page.click("#login_submit")
                    page.locator(".mlk-model-card").first.wait_for(timeout=180_000)
                    started = time.monotonic()
                    page.goto(f"{hub.url}/user/demo-user/voila/render/{where}")
                    page.get_by_text("blank-ready").first.wait_for(timeout=60_000)
                    took = time.monotonic() - started
                    context.close()
                    return took

                login_to_gallery("demo-user")  # warm: the OS caches, the server's first render
                returning = median_of(args.rounds, lambda: login_to_gallery("demo-user"))
                baseline = median_of(args.rounds, blank)
                warm_blank = median_of(args.rounds, lambda: blank("apps/blank.ipynb"))
                # A second first login: the admin, who lands in the evaluation app.
                firsts = [first, login_to_gallery("demo-admin", ready=".mlk-eval-table")]
                browser.close()
            session.close()
        bare = median_of(args.rounds, lambda: bare_container(SINGLEUSER_TAG))
    finally:
        registry.stop()

    ratio = returning / baseline
    print(
        json.dumps(
            {
                "returning_login_to_gallery_s": round(returning, 2),
                "blank_voila_s": round(baseline, 2),
                "blank_voila_warm_kernel_s": round(warm_blank, 2),
                "first_login_to_gallery_s": round(statistics.median(firsts), 2),
                "bare_docker_run_s": round(bare, 2),
            }
        )
    )
    print(f"returning user, login -> interactive gallery: {returning:6.2f}s")
    print(f"blank Voila notebook, same server:            {baseline:6.2f}s")
    print(f"  ratio {ratio:.2f}x (target <= 2x)")
    print(f"blank Voila notebook, warm kernel (apps/):    {warm_blank:6.2f}s")
    print(f"  ratio to the cold blank {warm_blank / baseline:.2f}x")
    print(f"first login, spawn included -> landing app:   {statistics.median(firsts):6.2f}s")
    print(f"bare docker run of the image -> Jupyter up:   {bare:6.2f}s")
    print(f"  ratio {statistics.median(firsts) / bare:.2f}x")
    return 0 if ratio <= 2 else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
