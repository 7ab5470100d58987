"""Real log-in in a real hub: accounts, sign-up and approval, lock-out, and the demo mode's limits.

Two hubs that only log people in (no notebook image, no registry):

- ``native_hub``: the default, NativeAuthenticator, started the way ``make up``
  starts it (``MLK_DEMO_ACCOUNTS=1``): the admin and one demo account per
  group exist, approved, with kept passwords; strangers sign up and wait.
- ``demo_hub``: ``MLK_AUTHENTICATOR=shared``, the demo mode, where one
  password opens any name with read+run but never a privileged one.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import httpx
import pytest

from tests.e2e.conftest import PASSWORD, HubSession, running_hub, try_login

if TYPE_CHECKING:
    from tests.e2e.conftest import Hub

pytestmark = [pytest.mark.docker, pytest.mark.hub]

DEMO = {"demo-user": "model-users", "demo-expert": "model-experts", "demo-admin": "model-admins"}
# Quiet hubs: no catalog syncs against a registry these tests do not start, no executor.
QUIET = {
    "MLK_CATALOG_QUICK_SYNC_SECONDS": "0",
    "MLK_CATALOG_DEEP_SYNC_SECONDS": "0",
    "MLK_SERVICE_RUN_EXECUTOR": "0",
}


@pytest.fixture(scope="module")
def native_hub(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient) -> Iterator[Hub]:
    with running_hub(
        tmp_path_factory.mktemp("native-hub"),
        docker_client,
        password="",
        MLK_AUTHENTICATOR="native",
        MLK_DEMO_ACCOUNTS="1",
        MLK_LOGIN_ATTEMPTS="3",
        MLK_LOGIN_LOCKOUT_SECONDS="3600",
        **QUIET,
    ) as hub:
        yield hub


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient) -> Iterator[Hub]:
    with running_hub(
        tmp_path_factory.mktemp("demo-hub"),
        docker_client,
        MLK_AUTHENTICATOR="shared",
        MLK_SHARED_PASSWORD=PASSWORD,
        MLK_MODEL_USERS="ada",
        MLK_MODEL_EXPERTS="eve",
        MLK_MODEL_ADMINS="olga",
        **QUIET,
    ) as hub:
        yield hub


def _kept_password(hub: Hub, name: str) -> str:
    path = hub.data_dir / "hub" / f"{name}-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} is not 0600"
    return path.read_text().strip()


def _logs_in(hub: Hub, user: str, password: str) -> bool:
    with httpx.Client(base_url=hub.url, timeout=30.0) as http:
        return try_login(http, user, password).status_code == 302


def _admin(hub: Hub) -> HubSession:
    return HubSession(hub, "admin", _kept_password(hub, "admin"))


def _sign_up(hub: Hub, user: str, password: str) -> str:
    """Fill NativeAuthenticator's sign-up form; the text of the answer page."""
    with httpx.Client(base_url=hub.url, timeout=30.0) as http:
        http.get("/hub/signup").raise_for_status()
        xsrf = http.cookies.get("_xsrf", path="/hub/") or ""
        form = {
            "username": user,
            "signup_password": password,
            "signup_password_confirmation": password,
            "_xsrf": xsrf,
        }
        response = http.post("/hub/signup", data=form)
        assert response.status_code == 200, response.text
        return " ".join(response.text.split())


# --- the default: NativeAuthenticator -------------------------------------------------


def test_make_up_prints_the_demo_accounts_and_each_logs_in_with_its_kept_password(native_hub: Hub) -> None:
    admin_password = _kept_password(native_hub, "admin")
    assert len(admin_password) >= 32
    assert f"admin        hub admin      {admin_password}" in native_hub.start_output
    for name, group in DEMO.items():
        password = _kept_password(native_hub, name)
        assert f"{name:<12} {group:<14} {password}" in native_hub.start_output
        assert _logs_in(native_hub, name, password), f"{name} could not log in with its kept password"
        assert not _logs_in(native_hub, name, password + "x")

    admin = _admin(native_hub)
    for name, group in DEMO.items():
        model = admin.api("GET", f"/users/{name}").json()
        assert group in model["groups"], f"{name} is not in {group}: {model['groups']}"
    assert admin.api("GET", "/users/admin").json()["admin"] is True
    # The one password that opened every name is gone: nothing on disk, nothing accepted.
    assert not (native_hub.data_dir / "hub" / "shared-password").exists()
    assert not _logs_in(native_hub, "anybody", PASSWORD)


def test_a_sign_up_waits_for_an_admin_and_weak_passwords_are_refused(native_hub: Hub) -> None:
    assert "at least 10 characters and is not too common" in _sign_up(native_hub, "shorty", "tiny-pw")
    assert "at least 10 characters and is not too common" in _sign_up(native_hub, "commoner", "1234567890")
    assert not _logs_in(native_hub, "shorty", "tiny-pw")

    password = "a long and unusual passphrase 42"
    assert "Your information has been sent to the admin" in _sign_up(native_hub, "newbie", password)
    assert not _logs_in(native_hub, "newbie", password), "an unapproved sign-up logged in"

    # Only an admin may approve; once approved, the new user logs in.
    stranger = HubSession(native_hub, "demo-user", _kept_password(native_hub, "demo-user"))
    assert stranger.http.get("/hub/authorize/newbie").status_code == 403
    assert not _logs_in(native_hub, "newbie", password)
    admin = _admin(native_hub)
    waiting = admin.http.get("/hub/authorize")  # the admin's "Authorize users" page
    assert waiting.status_code == 200 and "newbie" in waiting.text
    assert admin.http.get("/hub/authorize/newbie").status_code == 302
    assert _logs_in(native_hub, "newbie", password)
    # The new user may change the password on NativeAuthenticator's page.
    newbie = HubSession(native_hub, "newbie", password)
    assert newbie.http.get("/hub/change-password").status_code == 200


def test_repeated_failed_logins_lock_the_name_out(native_hub: Hub) -> None:
    password = "the lock-out test's own passphrase"
    _sign_up(native_hub, "lena", password)
    _admin(native_hub).http.get("/hub/authorize/lena")
    assert _logs_in(native_hub, "lena", password)

    for _ in range(3):  # MLK_LOGIN_ATTEMPTS=3
        assert not _logs_in(native_hub, "lena", "a wrong guess")
    assert not _logs_in(native_hub, "lena", password), "the right password still worked after 3 failures"
    # The lock is per name: the others log in as before.
    assert _logs_in(native_hub, "demo-expert", _kept_password(native_hub, "demo-expert"))


def test_a_squatted_demo_name_is_not_inherited(native_hub: Hub) -> None:
    """A name the deployment keeps cannot be signed up for by someone else."""
    answer = _sign_up(native_hub, "demo-admin", "someone else's passphrase 7")
    assert "already in use" in answer
    assert not _logs_in(native_hub, "demo-admin", "someone else's passphrase 7")


@pytest.mark.browser
def test_demo_user_signs_in_through_the_native_login_page(
    native_hub: Hub, page: Any, screenshots: Path
) -> None:
    page.goto(f"{native_hub.url}/hub/login?next=/hub/home")
    assert page.locator("#mlk-demo-banner").count() == 0, "the real log-in must not say it is a demo"
    assert page.locator("#mlk-signup a").is_visible()
    page.screenshot(path=str(screenshots / "hub-login-native.png"))
    page.fill("#username_input", "demo-user")
    page.fill("#password_input", _kept_password(native_hub, "demo-user"))
    page.click("#login_submit")
    page.wait_for_url("**/hub/home", timeout=30_000)
    page.screenshot(path=str(screenshots / "hub-home-demo-user.png"))


# --- the demo mode: one shared password, never for the privileged -------------------------


def test_demo_mode_refuses_the_shared_password_to_experts_admins_and_hub_admins(demo_hub: Hub) -> None:
    assert _logs_in(demo_hub, "ada", PASSWORD)  # model-users: read+run
    assert _logs_in(demo_hub, "carl", PASSWORD)  # a throwaway name
    assert not _logs_in(demo_hub, "eve", PASSWORD), "a model-experts member used the shared password"
    assert not _logs_in(demo_hub, "olga", PASSWORD), "a model-admins member used the shared password"
    assert not _logs_in(demo_hub, "admin", PASSWORD), "the hub admin used the shared password"
    admin_password = _kept_password(demo_hub, "admin")
    assert _logs_in(demo_hub, "admin", admin_password)

    # Membership given later, in the hub, counts as much as the configured one.
    admin = HubSession(demo_hub, "admin", admin_password)
    added = admin.api("POST", "/groups/model-experts/users", json={"users": ["carl"]})
    assert added.status_code == 200, added.text
    assert not _logs_in(demo_hub, "carl", PASSWORD), "carl joined model-experts and still used it"
    assert _logs_in(demo_hub, "dora", PASSWORD)
    made_admin = admin.api("PATCH", "/users/dora", json={"admin": True})
    assert made_admin.status_code == 200, made_admin.text
    assert not _logs_in(demo_hub, "dora", PASSWORD), "a hub admin made in the panel used it"


@pytest.mark.browser
def test_demo_mode_login_page_shows_a_banner(demo_hub: Hub, page: Any, screenshots: Path) -> None:
    page.goto(f"{demo_hub.url}/hub/login")
    banner = page.locator("#mlk-demo-banner")
    banner.wait_for(timeout=30_000)
    assert banner.is_visible()
    text = " ".join(banner.inner_text().split())
    assert "Demo mode: shared password." in text
    assert "model-admins and model-experts cannot log in here" in text
    page.screenshot(path=str(screenshots / "hub-login-demo-banner.png"))

    page.fill("#username_input", "eve")
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_load_state("networkidle")
    assert "/hub/login" in page.url
    assert page.locator(".login_error").is_visible()
    assert page.locator("#mlk-demo-banner").is_visible()
    page.screenshot(path=str(screenshots / "hub-login-demo-refused.png"))
