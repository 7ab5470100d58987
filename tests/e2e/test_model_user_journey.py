"""A model user's whole journey, in Chromium, on the hub `make up` runs.

Sign up, wait for an admin's approval (given in the hub's approval page), sign
in, land in the gallery, open the iris model's card, upload a CSV, fill the
form, run, follow the run (state and log), read the predictions table, run the
evaluation for its metrics, find the run in the history and re-run it. A
screenshot of every step is kept in data/screenshots/journey-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import kept_password

if TYPE_CHECKING:
    from tests.e2e.conftest import Hub

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub, pytest.mark.browser]

USER = "newton"
PASSPHRASE = "apples fall down slowly 1687"
ROWS = (
    "sepal_length,sepal_width,petal_length,petal_width,species\n"
    "5.1,3.5,1.4,0.2,setosa\n6.7,3.0,5.2,2.3,virginica\n5.9,3.0,4.2,1.5,versicolor\n"
    "4.9,3.0,1.4,0.2,setosa\n6.3,3.3,6.0,2.5,virginica\n"
)
GALLERY = "voila/render/apps/models.ipynb"


class Steps:
    """Numbered screenshots, so the artifacts read as the story."""

    def __init__(self, page: Any, folder: Path) -> None:
        self.page, self.folder, self.n = page, folder, 0

    def shot(self, name: str) -> None:
        self.n += 1
        self.page.screenshot(path=str(self.folder / f"journey-{self.n:02d}-{name}.png"), full_page=True)


def test_model_user_signs_up_is_approved_runs_iris_on_a_csv_and_reruns_it(
    up_hub: Hub, browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    hub = up_hub
    csv = tmp_path / "flowers.csv"
    csv.write_text(ROWS)
    user_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = user_context.new_page()
    steps = Steps(page, screenshots)
    try:
        # 1. Sign up: the account waits for an admin.
        page.goto(f"{hub.url}/hub/signup")
        page.fill("#username_input", USER)
        if page.locator("#email_input").count():
            page.fill("#email_input", "newton@example.org")
        page.fill("#password_input", PASSPHRASE)
        page.fill("#password_confirmation_input", PASSPHRASE)
        steps.shot("sign-up")
        page.click("#signup_submit")
        page.get_by_text("information has been sent to the admin", exact=False).wait_for(timeout=30_000)
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", USER)
        page.fill("#password_input", PASSPHRASE)
        page.click("#login_submit")
        page.wait_for_load_state("networkidle")
        assert "/hub/login" in page.url, "an unapproved account logged in"

        # 2. The admin approves it (NativeAuthenticator's approval page of the admin panel).
        admin = admin_context.new_page()
        admin.goto(f"{hub.url}/hub/login?next=/hub/authorize")
        admin.fill("#username_input", "demo-admin")
        admin.fill("#password_input", kept_password(hub, "demo-admin"))
        admin.click("#login_submit")
        admin.wait_for_url("**/hub/authorize**", timeout=30_000)
        row = admin.locator(f"tr#{USER}")
        row.get_by_role("button", name="Authorize", exact=True).click()
        admin.locator(f"tr#{USER}").get_by_role("button", name="Unauthorize", exact=True).wait_for(
            timeout=30_000
        )
        admin.screenshot(path=str(screenshots / "journey-00-admin-approves.png"), full_page=True)

        # 3. Sign in: the gallery.
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", USER)
        page.fill("#password_input", PASSPHRASE)
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{USER}/{GALLERY}", timeout=180_000)
        iris = page.locator(".mlk-model-card").filter(has_text="Iris classifier").first
        iris.wait_for(timeout=120_000)
        steps.shot("gallery")

        # 4. The iris model's card, and its predict launcher.
        iris.click()
        detail = page.locator(".mlk-model-detail")
        detail.wait_for(timeout=60_000)
        steps.shot("model-card")
        detail.get_by_role("button", name="Run predict").click()
        launcher = page.locator(".mlk-launcher")
        launcher.wait_for(timeout=60_000)

        # 5. Upload the CSV in the launcher's dataset picker.
        launcher.locator(".mlk-dataset-upload-open").first.click()
        launcher.locator("input.mlk-upload-file").first.set_input_files(str(csv))
        launcher.locator(".mlk-upload-name input").first.fill("flowers")
        launcher.locator(".mlk-upload-start").first.click()
        launcher.get_by_text(re.compile(f"Stored {USER}/flowers version 1")).first.wait_for(timeout=120_000)
        steps.shot("uploaded")

        # 6. The form (the threshold), then Run.
        threshold = launcher.get_by_label("Confidence threshold")
        threshold.fill("0.2")
        steps.shot("form")
        run_button = launcher.get_by_role("button", name="Run", exact=True)
        run_button.wait_for(timeout=30_000)
        run_button.click()

        # 7. The run, followed: its state and log, then the predictions table.
        monitor = page.locator(".mlk-run-monitor").first
        monitor.wait_for(timeout=60_000)
        monitor.scroll_into_view_if_needed()
        steps.shot("run-started")
        page.locator(".mlk-results").first.wait_for(timeout=240_000)
        assert "Succeeded" in monitor.inner_text()
        assert page.locator(".mlk-log-tail").first.inner_text().strip(), "no log lines shown"
        table = page.locator(".mlk-results .mlk-paged-table").first
        table.wait_for(timeout=60_000)
        assert "predicted_species" in table.inner_text()
        table.scroll_into_view_if_needed()
        steps.shot("predictions")

        # 8. The evaluation of the same rows: the metrics.
        detail.get_by_role("button", name="Run evaluate").click()
        evaluate = page.locator(".mlk-launcher").filter(has_text="Run evaluate").first
        evaluate.wait_for(timeout=60_000)
        evaluate.locator(".mlk-dataset-item").filter(has_text="flowers").first.click()
        evaluate.get_by_role("button", name="Run", exact=True).click()
        metrics = page.locator(".mlk-results .mlk-metrics").first
        metrics.wait_for(timeout=240_000)
        assert "accuracy" in metrics.inner_text()
        metrics.scroll_into_view_if_needed()
        steps.shot("metrics")

        # 9. The history: the run is there, and it runs again.
        page.locator(".mlk-nav-runs").click()
        page.wait_for_url(f"**/user/{USER}/voila/render/apps/runs.ipynb", timeout=30_000)
        history = page.locator(".mlk-run-history")
        history.wait_for(timeout=90_000)
        assert "iris-classifier" in history.inner_text()
        steps.shot("history")
        history.locator("tbody tr").first.locator("input[type=checkbox]").check()
        page.get_by_role("button", name="Re-run").click()
        page.get_by_text(re.compile("Succeeded|Queued|Running|Starting|Pulling")).first.wait_for(
            timeout=60_000
        )
        steps.shot("re-run")
    finally:
        user_context.close()
        admin_context.close()
