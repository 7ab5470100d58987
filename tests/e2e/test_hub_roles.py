"""Each role's landing, in Chromium against the hub `make up` runs (native accounts, demo users).

Model users land in the gallery under the apps' navigation bar and JupyterLab
answers them with a page pointing back; admins land in the evaluation app with the
admin panel one click away; moving someone between groups in the hub changes
what they may open at their next page load. Screenshots of every step land
in data/screenshots/.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import httpx
import pytest

from mlrun_kernel.client import Client
from tests.e2e.conftest import HubSession, kept_password

if TYPE_CHECKING:
    from tests.e2e.conftest import Hub

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub]

GALLERY = "voila/render/apps/models.ipynb"


def sign_in(page: Any, hub: Hub, user: str, next_url: str = "") -> None:
    page.goto(f"{hub.url}/hub/login" + (f"?next={next_url}" if next_url else ""))
    page.fill("#username_input", user)
    page.fill("#password_input", kept_password(hub, user))
    page.click("#login_submit")


def admin_session(hub: Hub) -> HubSession:
    return HubSession(hub, "demo-admin", kept_password(hub, "demo-admin"))


@pytest.mark.browser
def test_login_page_names_the_platform_and_says_what_it_is(up_hub: Hub, page, screenshots: Path) -> None:
    page.goto(f"{up_hub.url}/hub/login")
    intro = page.locator("#mlk-login-intro")
    assert intro.locator("h1").inner_text() == "mlrun-kernel"
    assert "Run machine-learning models on your own data" in intro.inner_text()
    assert page.locator("#mlk-signup").count() == 1
    assert page.title() == "mlrun-kernel"
    page.screenshot(path=str(screenshots / "hub-login.png"), full_page=True)


@pytest.mark.browser
def test_model_user_lands_in_the_gallery_and_jupyterlab_points_back(
    up_hub: Hub, page, screenshots: Path
) -> None:
    hub = up_hub
    sign_in(page, hub, "demo-user")
    page.wait_for_url(f"**/user/demo-user/{GALLERY}", timeout=120_000)
    nav = page.locator(".mlk-nav")
    nav.wait_for(timeout=90_000)
    page.locator(".mlk-model-card").first.wait_for(timeout=90_000)
    text = " ".join(nav.inner_text().split())
    for word in ("mlrun-kernel", "Models", "Runs", "Datasets", "demo-user", "Sign out"):
        assert word in text, f"{word!r} not in the navigation bar: {text}"
    assert page.locator(".mlk-nav-admin").count() == 0
    assert page.locator(".mlk-nav-lab").count() == 0
    page.screenshot(path=str(screenshots / "roles-model-user-gallery.png"), full_page=True)

    for workbench in ("lab", "lab/tree/notebooks", "tree"):
        response = page.goto(f"{hub.url}/user/demo-user/{workbench}")
        assert response is not None and response.status == 403, workbench
        assert page.locator("#mlk-guard-title").inner_text() == "This page is for model experts"
        assert "Traceback" not in page.inner_text("body")
    page.screenshot(path=str(screenshots / "roles-model-user-no-lab.png"), full_page=True)
    page.click("#mlk-guard-apps a >> text=Models")
    page.wait_for_url(f"**/user/demo-user/{GALLERY}", timeout=30_000)

    page.goto(f"{hub.url}/hub/home")
    assert page.locator("#mlk-app-models").count() == 1
    assert page.locator("#mlk-app-lab").count() == 0
    assert page.locator("#mlk-app-admin").count() == 0
    assert "model-user" in page.locator("#mlk-home").inner_text()
    page.screenshot(path=str(screenshots / "roles-model-user-home.png"), full_page=True)
    refused = page.goto(f"{hub.url}/hub/admin")
    assert refused is not None and refused.status == 403
    assert "ask an admin" in page.locator("#mlk-error-help").inner_text()
    page.screenshot(path=str(screenshots / "roles-model-user-refused-admin.png"), full_page=True)


@pytest.mark.browser
def test_admin_lands_in_the_evaluation_app_with_the_gallery_and_the_admin_panel_one_click_away(
    up_hub: Hub, page, screenshots: Path
) -> None:
    hub = up_hub
    sign_in(page, hub, "demo-admin")
    page.wait_for_url("**/user/demo-admin/voila/render/apps/evaluate.ipynb", timeout=120_000)
    page.locator(".mlk-eval-table").wait_for(timeout=120_000)
    page.screenshot(path=str(screenshots / "roles-admin-evaluations.png"), full_page=True)
    page.click(".mlk-nav-models")
    page.wait_for_url(f"**/user/demo-admin/{GALLERY}", timeout=60_000)
    page.locator(".mlk-nav-admin").wait_for(timeout=90_000)
    page.screenshot(path=str(screenshots / "roles-admin-gallery.png"), full_page=True)
    page.click(".mlk-nav-admin")
    page.wait_for_url("**/hub/admin**", timeout=30_000)
    page.get_by_text("demo-user", exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=str(screenshots / "roles-admin-panel.png"), full_page=True)
    page.goto(f"{hub.url}/hub/home")
    assert page.locator("#mlk-app-admin").count() == 1
    assert page.locator("#mlk-app-lab").count() == 1
    assert page.locator("#mlk-app-evaluations").count() == 1


def server_token(docker_client: docker.DockerClient, hub: Hub, user: str) -> tuple[str, str]:
    """The JUPYTERHUB_API_TOKEN of ``user``'s running container, and the container's id."""
    container = docker_client.containers.get(hub.container_name(user))
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    return env["JUPYTERHUB_API_TOKEN"], container.id


def test_a_running_servers_token_gains_and_loses_expert_rights_at_its_next_request(
    up_hub: Hub, docker_client: docker.DockerClient
) -> None:
    hub = up_hub
    admin = admin_session(hub)
    user = HubSession(hub, "demo-user", kept_password(hub, "demo-user"))
    builds = f"{hub.service_url}api/builds"  # an expert-only action (custom:models:publish)
    try:
        user.spawn()
        token, container_id = server_token(docker_client, hub, "demo-user")
        headers = {"Authorization": f"token {token}"}
        assert httpx.get(builds, headers=headers, timeout=30).status_code == 403

        moved = admin.api("POST", "/groups/model-experts/users", json={"users": ["demo-user"]})
        assert moved.status_code == 200, moved.text
        # The same token of the same container, at its next request (the test hub's service
        # keeps no cache of the hub's answers: MLK_AUTH_CACHE_SECONDS=0).
        answer = httpx.get(builds, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        me = httpx.get(f"{hub.url}/hub/api/user", headers=headers, timeout=30).json()
        assert "custom:models:publish" in me["scopes"] and "custom:models:admin" not in me["scopes"]

        moved = admin.api("DELETE", "/groups/model-experts/users", json={"users": ["demo-user"]})
        assert moved.status_code == 200, moved.text
        assert httpx.get(builds, headers=headers, timeout=30).status_code == 403
        # Still a model user: the everyday actions keep working with that token.
        assert httpx.get(f"{hub.service_url}api/models", headers=headers, timeout=30).status_code == 200
        assert server_token(docker_client, hub, "demo-user") == (token, container_id)
    finally:
        admin.api("DELETE", "/groups/model-experts/users", json={"users": ["demo-user"]})
        admin.close()
        user.close()


def group_members(admin: HubSession, group: str) -> set[str]:
    answer = admin.api("GET", f"/groups/{group}")
    assert answer.status_code == 200, answer.text
    return set(answer.json()["users"])


def move_in_admin_panel(
    page: Any, hub: Hub, admin: HubSession, user: str, group: str, join: bool, shots: Path, name: str
) -> None:
    """Add ``user`` to ``group`` (or take them out) by clicking in the hub's admin panel,
    a screenshot at each step (``<name>-1-groups.png`` ...); back once the hub has it."""
    page.goto(f"{hub.url}/hub/admin")
    page.get_by_role("button", name="Manage Groups").click()
    page.get_by_role("link", name=group, exact=True).wait_for(timeout=30_000)
    page.screenshot(path=str(shots / f"{name}-1-groups.png"), full_page=True)
    page.get_by_role("link", name=group, exact=True).click()
    page.locator("#username-input").wait_for(timeout=30_000)
    page.screenshot(path=str(shots / f"{name}-2-group-page.png"), full_page=True)
    if join:
        page.fill("#username-input", user)
        page.click("#validate-user")
        page.locator(".users-container .item.selected", has_text=user).wait_for(timeout=30_000)
    else:
        member = page.locator(".users-container .item.selected").filter(has_text=user)
        member.click()
        member.wait_for(state="detached", timeout=30_000)
    page.screenshot(path=str(shots / f"{name}-3-{'added' if join else 'removed'}.png"), full_page=True)
    page.click("#submit")
    deadline = time.monotonic() + 30
    while (user in group_members(admin, group)) != join:
        assert time.monotonic() < deadline, f"Apply in the admin panel did not move {user} ({group})"
        time.sleep(0.3)
    page.screenshot(path=str(shots / f"{name}-4-applied.png"), full_page=True)


@pytest.mark.browser
def test_admin_moves_a_user_between_groups_by_clicks_and_their_rights_change_at_the_next_request(
    up_hub: Hub, browser, docker_client: docker.DockerClient, screenshots: Path
) -> None:
    hub = up_hub
    admin = admin_session(hub)  # reads the groups back; every move is a click in the panel
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    user_context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin_page = admin_context.new_page()
    page = user_context.new_page()
    builds = f"{hub.service_url}api/builds"  # an expert-only action (custom:models:publish)
    try:
        sign_in(page, hub, "demo-user")
        page.wait_for_url(f"**/user/demo-user/{GALLERY}", timeout=120_000)
        assert page.goto(f"{hub.url}/user/demo-user/lab").status == 403
        token, container_id = server_token(docker_client, hub, "demo-user")
        headers = {"Authorization": f"token {token}"}
        assert httpx.get(builds, headers=headers, timeout=30).status_code == 403
        assert "demo-user" not in group_members(admin, "model-experts")

        sign_in(admin_page, hub, "demo-admin", next_url="/hub/admin")
        admin_page.wait_for_url("**/hub/admin**", timeout=60_000)
        move_in_admin_panel(
            admin_page, hub, admin, "demo-user", "model-experts", True, screenshots, "admin-panel-join"
        )
        # The same server, no restart: its token at the next request, the guard at the next
        # page load (after its few seconds of cache, ROLE_TTL_SECONDS; not a timing assertion).
        assert httpx.get(builds, headers=headers, timeout=30).status_code == 200
        time.sleep(3.5)
        response = page.goto(f"{hub.url}/user/demo-user/lab/tree/notebooks")
        assert response is not None and response.status == 200
        page.get_by_text("write-a-model-manifest.ipynb").first.wait_for(timeout=90_000)
        page.screenshot(path=str(screenshots / "roles-promoted-user-lab.png"))

        move_in_admin_panel(
            admin_page, hub, admin, "demo-user", "model-experts", False, screenshots, "admin-panel-leave"
        )
        assert httpx.get(builds, headers=headers, timeout=30).status_code == 403
        time.sleep(3.5)
        assert page.goto(f"{hub.url}/user/demo-user/lab").status == 403
        page.screenshot(path=str(screenshots / "roles-demoted-user-no-lab.png"))
        assert server_token(docker_client, hub, "demo-user") == (token, container_id)
    finally:
        admin.api("DELETE", "/groups/model-experts/users", json={"users": ["demo-user"]})
        admin.close()
        admin_context.close()
        user_context.close()


def test_model_user_cannot_reach_the_admins_actions_or_another_users_server(up_hub: Hub) -> None:
    hub = up_hub
    expert = HubSession(hub, "demo-expert", kept_password(hub, "demo-expert"))
    user = HubSession(hub, "demo-user", kept_password(hub, "demo-user"))
    try:
        expert.spawn()
        token = user.new_token()
        headers = {"Authorization": f"token {token}"}
        # Another user's server, through the proxy, with the user's own cookies or token.
        other = user.http.get("/user/demo-expert/lab", follow_redirects=True)
        assert other.status_code == 403, other.status_code
        by_token = httpx.get(f"{hub.url}/user/demo-expert/api/contents", headers=headers, timeout=30)
        assert by_token.status_code == 403
        # The hub's admin panel and API, and the model service's admin actions.
        assert user.http.get("/hub/admin").status_code == 403
        assert httpx.get(f"{hub.url}/hub/api/users", headers=headers, timeout=30).status_code == 403
        audit = httpx.get(f"{hub.url}/services/models/api/admin/audit", headers=headers, timeout=30)
        assert audit.status_code == 403
        # Another user's private dataset and run, by their addresses.
        with Client(hub.service_url, token=expert.new_token()) as theirs:
            version = theirs.upload_dataset(b"a,b\n1,2\n", "private-notes", filename="notes.csv")
            run = theirs.start_run("iris-classifier", inputs={"data": version["ref"]})
        service = f"{hub.url}/services/models/api"
        for path in (
            "/datasets/demo-expert/private-notes",
            "/datasets/demo-expert/private-notes/download",
            "/datasets/demo-expert/private-notes/preview",
            f"/runs/{run['id']}",
            f"/runs/{run['id']}/logs",
            f"/runs/{run['id']}/outputs",
        ):
            answer = httpx.get(service + path, headers=headers, timeout=30)
            assert answer.status_code in (403, 404), (path, answer.status_code)
        with Client(hub.service_url, token=token) as mine:
            assert all(d["owner"] != "demo-expert" for d in mine.list_datasets())
            assert all(r["id"] != run["id"] for r in mine.list_runs()["runs"])
    finally:
        user.close()
        expert.close()


def test_servers_run_on_the_deployments_network_and_homes_outlive_their_containers(
    up_hub: Hub, docker_client: docker.DockerClient
) -> None:
    hub = up_hub
    session = HubSession(hub, "demo-expert", kept_password(hub, "demo-expert"))
    admin = admin_session(hub)
    try:
        session.spawn()
        container = docker_client.containers.get(hub.container_name("demo-expert"))
        networks = set(container.attrs["NetworkSettings"]["Networks"])
        assert networks == {f"mlk-{hub.deployment}-notebooks"}, networks
        assert container.attrs["HostConfig"]["Memory"] > 0
        mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
        assert mounts["/home/jovyan"]["Type"] == "volume"
        # DockerSpawner escapes names: demo-expert -> demo-2dexpert
        assert mounts["/home/jovyan"]["Name"] == f"{hub.prefix}-home-demo-2dexpert"
        code, out = container.exec_run(["sh", "-c", "echo kept > ~/notes.txt"], user="jovyan")
        assert code == 0, out

        stopped = admin.api("DELETE", "/users/demo-expert/server")
        assert stopped.status_code in (202, 204), stopped.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                docker_client.containers.get(hub.container_name("demo-expert"))
            except docker.errors.NotFound:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the stopped server's container was not removed (remove=True)")

        session.spawn()
        again = docker_client.containers.get(hub.container_name("demo-expert"))
        assert again.id != container.id
        code, out = again.exec_run(["cat", "/home/jovyan/notes.txt"], user="jovyan")
        assert (code, out.decode().strip()) == (0, "kept")
        # The apps come from the image at every start; the curated notebooks stay there.
        code, out = again.exec_run(["ls", "/home/jovyan/apps", "/home/jovyan/notebooks"], user="jovyan")
        assert code == 0 and "models.ipynb" in out.decode() and "write-a-model-manifest.ipynb" in out.decode()
    finally:
        admin.close()
        session.close()


def test_users_cannot_pick_the_image_of_their_server(up_hub: Hub) -> None:
    session = HubSession(up_hub, "demo-user", kept_password(up_hub, "demo-user"))
    try:
        token = session.new_token()
        session.api("DELETE", "/users/demo-user/server")
        time.sleep(1)
        response = httpx.post(
            f"{up_hub.url}/hub/api/users/demo-user/server",
            headers={"Authorization": f"token {token}"},
            json={"image": "alpine:latest"},
            timeout=60,
        )
        assert response.status_code == 400, response.text
        assert "Specifying image to launch is not allowed" in response.text
    finally:
        # The hub keeps a spawn request's options as the user's defaults, even a refused one
        # (and an empty body reuses them): clear them, or every later start of demo-user
        # would be refused too.
        httpx.patch(
            f"{up_hub.url}/hub/api/users/demo-user/server",
            headers={"Authorization": f"token {token}"},
            json={"user_options": {}},
            timeout=60,
        )
        session.close()


@pytest.mark.browser
def test_experts_launcher_has_a_card_per_app(up_hub: Hub, page, screenshots: Path) -> None:
    hub = up_hub
    sign_in(page, hub, "demo-expert")
    page.wait_for_url("**/user/demo-expert/lab/tree/notebooks**", timeout=120_000)
    page.goto(f"{hub.url}/user/demo-expert/lab?reset")
    page.get_by_text("Model apps").first.wait_for(timeout=90_000)
    launcher = page.locator(".jp-Launcher-section").filter(has_text="Model apps")
    for title in ("Models", "Runs", "Datasets"):
        assert launcher.get_by_text(title, exact=True).count() >= 1, title
        card = launcher.locator(".jp-LauncherCard", has_text=title).first
        icon = card.locator(".jp-LauncherCard-icon svg")  # the app's own, not the title's letters
        assert icon.count() == 1, card.inner_html()
        assert icon.locator("path").count() >= 1, card.inner_html()
    page.screenshot(path=str(screenshots / "roles-expert-launcher.png"))
    with page.context.expect_page(timeout=30_000) as opened:
        launcher.get_by_text("Models", exact=True).first.click()
    app = opened.value
    app.wait_for_url(f"**/user/demo-expert/{GALLERY}", timeout=60_000)
    app.locator(".mlk-nav").wait_for(timeout=90_000)
    assert app.locator(".mlk-nav-lab").count() == 1
