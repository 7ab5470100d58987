"""The walking skeleton: login -> spawned container -> Voila app -> model service -> registry.

Every piece is real: JupyterHub with DockerSpawner, the single-user image
built from this checkout, the hub-managed model service, a registry holding
the example models, and Chromium clicking through the login form.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import docker
import httpx
import pytest

from mlrun_kernel.client import Client, ServiceError

if TYPE_CHECKING:
    from tests.e2e.conftest import ExpectedModel, Hub, HubSession

    Login = Callable[[str], HubSession]

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub]

SERVICE_ACCESS = "access:services!service=models"


@dataclass
class Traffic:
    """Every request a page makes: an edge site has no internet, so all must go to the hub."""

    hub_host: str
    elsewhere: list[str] = field(default_factory=list)
    answered: dict[str, int] = field(default_factory=dict)

    @classmethod
    def record(cls, page: Any, hub_url: str) -> Traffic:
        traffic = cls(urlsplit(hub_url).netloc)
        page.on("request", traffic._request)
        page.on("response", lambda response: traffic.answered.__setitem__(response.url, response.status))
        return traffic

    def _request(self, request: Any) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("http", "https") and url.netloc != self.hub_host:
            self.elsewhere.append(request.url)

    def assert_all_local_and_found(self) -> None:
        assert self.elsewhere == [], f"the pages fetched assets from outside the hub: {self.elsewhere}"
        missing = {url: status for url, status in self.answered.items() if status >= 400}
        assert missing == {}, f"assets the pages asked for and did not get: {missing}"


def _plain(markdown: str) -> str:
    """The text a reader sees of a one-paragraph Markdown description."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = text.replace("**", "").replace("*", "").replace("`", "")
    return " ".join(text.split())


@pytest.mark.browser
def test_model_user_logs_in_and_lands_in_the_model_gallery(
    hub: Hub, page, expected_models: list[ExpectedModel], screenshots: Path
) -> None:
    traffic = Traffic.record(page, hub.url)
    started = time.monotonic()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", "ada")
    page.fill("#password_input", hub.password)
    page.click("#login_submit")

    # The hub spawns ada's container and sends her straight to the Voila app.
    page.wait_for_url("**/user/ada/voila/render/apps/models.ipynb", timeout=120_000)
    landed = time.monotonic() - started
    for model in expected_models:
        page.get_by_text(model.title, exact=True).first.wait_for(timeout=90_000)
    shown = time.monotonic() - started
    print(f"[e2e] login -> Voila app in {landed:.1f}s, gallery filled in {shown:.1f}s")

    page.screenshot(path=str(screenshots / "hub-model-gallery.png"), full_page=True)

    text = " ".join(page.inner_text("body").split())
    for model in expected_models:
        assert _plain(model.description) in text, f"{model.title}: description not shown"
        assert f"v{model.version}" in text
    # The app shows outputs only: no code, no error.
    assert "ModelGallery" not in text
    assert "could not list the models" not in text
    # The session registry may also hold test images other suites pushed: one card each.
    cards = page.locator(".mlk-model-card")
    for model in expected_models:
        assert cards.filter(has_text=model.title).count() == 1, f"{model.title}: not exactly one card"
    assert f"{cards.count()} models in the registry" in text
    traffic.assert_all_local_and_found()
    font_awesome = [url for url in traffic.answered if "/voila/templates/mlk/static/fontawesome/css/" in url]
    assert len(font_awesome) == 2 and all(traffic.answered[url] == 200 for url in font_awesome)


@pytest.mark.browser
def test_expert_opens_jupyterlab_with_the_curated_notebooks_and_nothing_from_the_internet(
    up_hub: Hub, page, screenshots: Path
) -> None:
    from tests.e2e.conftest import kept_password

    hub = up_hub
    traffic = Traffic.record(page, hub.url)
    # An expert lands in JupyterLab's file browser on the curated notebooks (no ?next=).
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", "demo-expert")
    page.fill("#password_input", kept_password(hub, "demo-expert"))
    page.click("#login_submit")
    page.wait_for_url("**/user/demo-expert/lab/tree/notebooks**", timeout=120_000)
    page.get_by_text("write-a-model-manifest.ipynb").first.wait_for(timeout=90_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshots / "hub-jupyterlab-expert.png"))
    traffic.assert_all_local_and_found()


@pytest.mark.browser
def test_the_generated_admin_opens_the_admin_panel_and_nobody_else_does(
    hub: Hub, page, screenshots: Path
) -> None:
    admin_password = (hub.data_dir / "hub" / "admin-password").read_text().strip()
    assert len(admin_password) >= 32

    def log_in(user: str, password: str) -> None:
        page.goto(f"{hub.url}/hub/login?next=/hub/admin")
        page.fill("#username_input", user)
        page.fill("#password_input", password)
        page.click("#login_submit")
        page.wait_for_load_state("networkidle")

    log_in("admin", hub.password)  # the users' shared password is not the admins'
    assert "/hub/login" in page.url
    log_in("admin", admin_password)
    page.wait_for_url("**/hub/admin**", timeout=30_000)
    page.get_by_text("admin", exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=str(screenshots / "hub-admin-panel.png"), full_page=True)
    page.context.clear_cookies()

    log_in("carl", hub.password)
    assert page.request.get(f"{hub.url}/hub/admin").status == 403


def test_user_token_from_the_hub_reaches_the_model_service(
    hub: Hub, hub_session: Login, expected_models: list[ExpectedModel]
) -> None:
    token = hub_session("grace").new_token()
    models_url = f"{hub.url}/services/models/api/models"

    for header in (f"token {token}", f"Bearer {token}"):
        response = httpx.get(models_url, headers={"Authorization": header}, timeout=60)
        assert response.status_code == 200, response.text
        titles = {entry["title"] for entry in response.json()}
        assert {model.title for model in expected_models} <= titles
    entry = next(e for e in response.json() if e["title"] == expected_models[0].title)
    assert entry["digest"].startswith("sha256:")
    assert entry["version"] == expected_models[0].version
    assert entry["tasks"] and entry["keywords"]
    assert entry["problem"] is None


def test_model_service_refuses_missing_bad_and_unscoped_tokens(hub: Hub, hub_session: Login) -> None:
    models_url = f"{hub.url}/services/models/api/models"

    health = httpx.get(f"{hub.url}/services/models/api/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"

    missing = httpx.get(models_url, timeout=30)
    assert missing.status_code == 401
    assert "missing JupyterHub token" in missing.json()["detail"]

    bad = httpx.get(models_url, headers={"Authorization": "token not-a-real-token"}, timeout=30)
    assert bad.status_code == 401
    assert "invalid or expired" in bad.json()["detail"]

    unscoped = hub_session("mallory").new_token(scopes=["read:users:name!user"])
    refused = httpx.get(models_url, headers={"Authorization": f"token {unscoped}"}, timeout=30)
    assert refused.status_code == 403
    assert SERVICE_ACCESS in refused.json()["detail"]

    # The notebook client turns the same answers into errors that say what happened.
    with pytest.raises(ServiceError) as error, Client(hub.service_url, token="nope") as client:
        client.list_models()
    assert error.value.status == 401
    assert hub.service_url in str(error.value) and "invalid or expired" in str(error.value)


def test_single_user_container_reaches_the_service_with_its_own_token(
    hub: Hub,
    hub_session: Login,
    docker_client: docker.DockerClient,
    expected_models: list[ExpectedModel],
) -> None:
    started = time.monotonic()
    hub_session("linus").spawn()
    print(f"[e2e] REST spawn ready in {time.monotonic() - started:.1f}s")
    container = docker_client.containers.get(hub.container_name("linus"))

    # What a notebook does: Client() finds MLK_SERVICE_URL and JUPYTERHUB_API_TOKEN itself.
    script = "import json; from mlrun_kernel.client import Client; print(json.dumps(Client().list_models()))"
    code, output = container.exec_run(["python", "-c", script], user="jovyan")
    assert code == 0, output.decode()
    titles = {entry["title"] for entry in json.loads(output.decode().strip().splitlines()[-1])}
    assert {model.title for model in expected_models} <= titles

    # Boundaries: the container never holds the Docker socket, and runs as jovyan.
    mounts = " ".join(m.get("Source", "") + m.get("Destination", "") for m in container.attrs["Mounts"])
    assert "docker.sock" not in mounts
    assert container.attrs["Config"]["User"] == "jovyan"
    labels = container.labels
    assert labels["io.mlkernel.deployment"] == hub.deployment
    assert labels["io.mlkernel.component"] == "singleuser"


def test_groups_are_loaded_for_the_listed_users(hub: Hub, hub_session: Login) -> None:
    token = hub_session("ada").new_token()
    me = httpx.get(f"{hub.url}/hub/api/user", headers={"Authorization": f"token {token}"}).json()
    assert "model-users" in me["groups"]
    assert SERVICE_ACCESS in me["scopes"] or "access:services" in me["scopes"]
