"""jupyterhub_config.py, loaded as JupyterHub loads it, makes the authenticator the settings ask for.

No provider is reachable here, so the OAuth modes are proved on the objects:
the config is loaded with the environment set, the authenticator class it
names is built from that config, and its traits (and its group mapping, fed
the auth state a provider would send) are checked. An OIDC issuer's
discovery document is served by a real HTTP server on loopback.
"""

from __future__ import annotations

import http.server
import importlib
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from mlrun_kernel.hub.groups import GROUP_SCOPES
from mlrun_kernel.hub.kept import kept_secret
from mlrun_kernel.hub.oauth import fetch_gitlab_groups
from mlrun_kernel.service import scopes
from tests.paths import ROOT

OUR_GROUPS = {"model-users", "model-experts", "model-admins"}
OAUTH_CLIENT = {"MLK_OAUTH_CLIENT_ID": "mlk-hub", "MLK_OAUTH_CLIENT_SECRET": "s3cret"}


@pytest.fixture
def load_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Load jupyterhub_config.py with only the given MLK_* variables set (and a fresh data dir)."""

    def load(**options: str) -> Config:
        for name in list(os.environ):
            if name.startswith("MLK_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("MLK_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("MLK_HUB_BIND_URL", "http://127.0.0.1:8000")
        for name, value in options.items():
            monkeypatch.setenv(name, value)
        return PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT)).load_config()

    return load


def _authenticator(config: Config) -> Any:
    """The authenticator JupyterHub would build from ``config``."""
    module, _, name = config.JupyterHub.authenticator_class.rpartition(".")
    return getattr(importlib.import_module(module), name)(config=config)


def _closure(scope: str, custom: dict[str, dict[str, Any]]) -> set[str]:
    found, todo = {scope}, [scope]
    while todo:
        for sub in custom[todo.pop()].get("subscopes", []):
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_the_hub_defines_exactly_the_custom_scopes_scopes_py_declares(load_config: Any) -> None:
    custom = load_config().JupyterHub.custom_scopes
    assert set(custom) == set(scopes.ALL)
    for scope in scopes.ALL:
        assert custom[scope]["description"] == scopes.DESCRIPTIONS[scope]
        assert _closure(scope, custom) == set(scopes.IMPLIES[scope]), f"{scope}: subscopes drifted"
    # Defined once: the config file spells no scope itself.
    assert "custom:models:" not in (ROOT / "jupyterhub_config.py").read_text()


def test_the_groups_roles_grant_only_declared_scopes(load_config: Any) -> None:
    config = load_config()
    roles = {role["name"]: role for role in config.JupyterHub.load_roles}
    for group, granted in GROUP_SCOPES.items():
        assert roles[f"{group}-role"]["scopes"] == granted
        assert {s for s in granted if s.startswith("custom:")} <= set(scopes.ALL)


def test_by_default_the_hub_uses_native_accounts_that_keep_their_passwords(
    load_config: Any, tmp_path: Path
) -> None:
    first = load_config(MLK_DEMO_ACCOUNTS="1")
    assert first.JupyterHub.authenticator_class == "mlrun_kernel.hub.native.KeptAccountsNativeAuthenticator"
    kept = dict(first.KeptAccountsNativeAuthenticator.kept_accounts)
    assert set(kept) == {"admin", "demo-user", "demo-expert", "demo-admin"}
    assert first.JupyterHub.load_groups["model-experts"]["users"] == ["demo-expert"]
    native = first.NativeAuthenticator
    assert native.minimum_password_length == 10 and native.check_common_password is True
    assert native.allowed_failed_logins == 5 and native.seconds_before_next_try == 600
    assert native.open_signup is False and native.enable_signup is True
    hub_dir = tmp_path / "data" / "hub"
    files = {path.name: path.stat() for path in hub_dir.glob("*-password")}
    assert all(stat.S_IMODE(s.st_mode) == 0o600 for s in files.values())

    # `make up` again: the same passwords, the files untouched.
    again = load_config(MLK_DEMO_ACCOUNTS="1")
    assert dict(again.KeptAccountsNativeAuthenticator.kept_accounts) == kept
    assert {path.name: path.stat().st_mtime_ns for path in hub_dir.glob("*-password")} == {
        name: s.st_mtime_ns for name, s in files.items()
    }
    # Without MLK_DEMO_ACCOUNTS (a plain `scripts/hub.sh start`): only the admin.
    plain = load_config()
    assert set(plain.KeptAccountsNativeAuthenticator.kept_accounts) == {"admin"}


def test_native_settings_come_from_the_mlk_variables(load_config: Any) -> None:
    config = load_config(
        MLK_PASSWORD_MIN_LENGTH="14",
        MLK_PASSWORD_CHECK_COMMON="0",
        MLK_LOGIN_ATTEMPTS="7",
        MLK_LOGIN_LOCKOUT_SECONDS="60",
        MLK_SIGNUP="0",
    )
    native = config.NativeAuthenticator
    assert (native.minimum_password_length, native.check_common_password) == (14, False)
    assert (native.allowed_failed_logins, native.seconds_before_next_try) == (7, 60)
    assert native.enable_signup is False
    assert config.JupyterHub.template_vars["mlk_signup"] is False
    assert "mlk_demo_mode" not in config.JupyterHub.template_vars


def test_kept_secrets_are_0600_from_the_first_byte_and_never_rewritten(tmp_path: Path) -> None:
    old = os.umask(0)  # the file's mode comes from open(2) itself, not from a umask or a later chmod
    try:
        secret = kept_secret(tmp_path / "made", 16)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "made").stat().st_mode) == 0o600
    assert kept_secret(tmp_path / "made", 16) == secret
    existing = tmp_path / "existing"
    existing.write_text("operator-chosen\n")
    existing.chmod(0o640)
    assert kept_secret(existing, 16) == "operator-chosen"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640


def test_shared_mode_names_the_privileged_members_and_asks_for_the_banner(load_config: Any) -> None:
    config = load_config(
        MLK_AUTHENTICATOR="shared",
        MLK_MODEL_USERS="ada",
        MLK_MODEL_EXPERTS="eve",
        MLK_MODEL_ADMINS="olga",
    )
    authenticator = _authenticator(config)
    assert type(authenticator).__name__ == "DemoSharedPasswordAuthenticator"
    assert authenticator.privileged_users == {"eve", "olga"}
    assert authenticator.privileged_groups == {"model-experts", "model-admins"}
    assert authenticator.admin_users == {"admin"}
    assert config.JupyterHub.template_vars["mlk_demo_mode"] is True


# --- OAuth / OIDC ---------------------------------------------------------------------


def test_oidc_settings_make_a_configured_generic_oauthenticator(load_config: Any) -> None:
    config = load_config(
        MLK_AUTHENTICATOR="oidc",
        **OAUTH_CLIENT,
        MLK_OIDC_AUTHORIZE_URL="https://id.example/auth",
        MLK_OIDC_TOKEN_URL="https://id.example/token",
        MLK_OIDC_USERDATA_URL="https://id.example/userinfo",
        MLK_OAUTH_GROUPS_CLAIM="realm_access.roles",
        MLK_OAUTH_GROUP_MAP="ml-experts=model-experts,ml-experts=model-users,analysts=model-users",
    )
    auth = _authenticator(config)
    assert type(auth).__name__ == "GenericOAuthenticator"
    assert (auth.client_id, auth.client_secret) == ("mlk-hub", "s3cret")
    assert auth.authorize_url == "https://id.example/auth"
    assert auth.token_url == "https://id.example/token"
    assert auth.userdata_url == "https://id.example/userinfo"
    assert auth.oauth_callback_url == "http://127.0.0.1:8000/hub/oauth_callback"
    assert auth.username_claim == "preferred_username"
    assert auth.scope == ["openid", "profile", "email"]
    assert auth.manage_groups is True and auth.allow_all is False
    assert auth.allowed_groups == OUR_GROUPS  # mapped into one of our groups, or no entry
    assert auth.admin_users == set()  # no "admin" by default: that name belongs to someone at the provider
    assert "load_groups" not in config.JupyterHub  # the provider manages the groups

    state = {"oauth_user": {"realm_access": {"roles": ["ml-experts", "unrelated"]}}}
    assert auth.auth_state_groups_key(state) == ["model-experts", "model-users"]
    assert auth.auth_state_groups_key({"oauth_user": {"realm_access": {"roles": ["nobody"]}}}) == []
    assert auth.auth_state_groups_key({"oauth_user": {}}) == []


@pytest.fixture
def oidc_issuer() -> Iterator[str]:
    """A real HTTP server on loopback serving an OpenID discovery document."""
    server: http.server.HTTPServer

    class Discovery(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path != "/realms/ml/.well-known/openid-configuration":
                self.send_error(404)
                return
            issuer = f"http://127.0.0.1:{server.server_port}/realms/ml"
            body = json.dumps(
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/protocol/openid-connect/auth",
                    "token_endpoint": f"{issuer}/protocol/openid-connect/token",
                    "userinfo_endpoint": f"{issuer}/protocol/openid-connect/userinfo",
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Discovery)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/realms/ml"
    server.shutdown()
    server.server_close()


def test_an_oidc_issuer_gives_the_endpoints_through_its_discovery_document(
    load_config: Any, oidc_issuer: str
) -> None:
    config = load_config(
        MLK_AUTHENTICATOR="oidc",
        **OAUTH_CLIENT,
        MLK_OIDC_ISSUER=oidc_issuer,
        MLK_OAUTH_GROUP_MAP="staff=model-users",
        MLK_OAUTH_CALLBACK_URL="https://hub.example/hub/oauth_callback",
        MLK_ADMIN_USERS="grace",
    )
    auth = _authenticator(config)
    assert auth.authorize_url == f"{oidc_issuer}/protocol/openid-connect/auth"
    assert auth.token_url == f"{oidc_issuer}/protocol/openid-connect/token"
    assert auth.userdata_url == f"{oidc_issuer}/protocol/openid-connect/userinfo"
    assert auth.oauth_callback_url == "https://hub.example/hub/oauth_callback"
    assert auth.admin_users == {"grace"}
    assert auth.auth_state_groups_key({"oauth_user": {"groups": "staff"}}) == ["model-users"]


def test_github_orgs_and_teams_map_onto_our_groups(load_config: Any) -> None:
    config = load_config(
        MLK_AUTHENTICATOR="github",
        **OAUTH_CLIENT,
        MLK_OAUTH_GROUP_MAP="acme=model-users,acme:ml-platform=model-experts,acme:ml-leads=model-admins",
    )
    auth = _authenticator(config)
    assert type(auth).__name__ == "GitHubOAuthenticator"
    assert auth.populate_teams_in_auth_state is True
    assert auth.scope == ["read:user", "read:org"]
    assert auth.allowed_groups == OUR_GROUPS and auth.manage_groups is True
    teams = [
        {"slug": "ml-platform", "organization": {"login": "acme"}},
        {"slug": "ml-platform", "organization": {"login": "elsewhere"}},
    ]
    assert auth.auth_state_groups_key({"teams": teams}) == ["model-experts", "model-users"]
    assert auth.auth_state_groups_key({"teams": []}) == []


def test_gitlab_groups_map_onto_our_groups(load_config: Any) -> None:
    config = load_config(
        MLK_AUTHENTICATOR="gitlab",
        **OAUTH_CLIENT,
        MLK_GITLAB_URL="https://gitlab.acme.example",
        MLK_OAUTH_GROUP_MAP="acme/ml=model-experts",
    )
    auth = _authenticator(config)
    assert type(auth).__name__ == "GitLabOAuthenticator"
    assert auth.gitlab_url == "https://gitlab.acme.example"
    assert auth.gitlab_api.startswith("https://gitlab.acme.example/api/v")
    assert auth.modify_auth_state_hook is fetch_gitlab_groups
    assert auth.scope == ["read_user", "read_api"]
    assert auth.auth_state_groups_key({"gitlab_groups": ["acme/ml", "acme"]}) == ["model-experts"]


def test_notebook_servers_get_the_kernel_idle_timeout(load_config: Any) -> None:
    assert load_config().Spawner.environment["MLK_KERNEL_IDLE_TIMEOUT"] == "1800"
    config = load_config(MLK_KERNEL_IDLE_TIMEOUT="0")
    assert config.Spawner.environment["MLK_KERNEL_IDLE_TIMEOUT"] == "0"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"MLK_AUTHENTICATOR": "ldap"}, "must be one of native, shared, oidc, github, gitlab"),
        ({"MLK_KERNEL_IDLE_TIMEOUT": "soon"}, "MLK_KERNEL_IDLE_TIMEOUT must be a number of seconds"),
        ({"MLK_KERNEL_IDLE_TIMEOUT": "-5"}, "MLK_KERNEL_IDLE_TIMEOUT must be a number of seconds"),
        (
            {"MLK_AUTHENTICATOR": "github", "MLK_OAUTH_GROUP_MAP": "acme=model-users"},
            "MLK_AUTHENTICATOR=github needs MLK_OAUTH_CLIENT_ID",
        ),
        ({"MLK_AUTHENTICATOR": "github", **OAUTH_CLIENT}, "say who may log in with MLK_OAUTH_GROUP_MAP"),
        (
            {"MLK_AUTHENTICATOR": "github", **OAUTH_CLIENT, "MLK_OAUTH_GROUP_MAP": "acme=root"},
            "maps to 'root', which is not one of",
        ),
        (
            {"MLK_AUTHENTICATOR": "github", **OAUTH_CLIENT, "MLK_OAUTH_GROUP_MAP": "acme"},
            "'acme' is not 'provider-group=our-group'",
        ),
        (
            {"MLK_AUTHENTICATOR": "oidc", **OAUTH_CLIENT, "MLK_OAUTH_GROUP_MAP": "a=model-users"},
            "needs MLK_OIDC_ISSUER",
        ),
        (
            {
                "MLK_AUTHENTICATOR": "gitlab",
                **OAUTH_CLIENT,
                "MLK_OAUTH_ALLOW_ALL": "1",
                "MLK_MODEL_USERS": "ada",
            },
            "group membership comes from the provider",
        ),
    ],
)
def test_settings_that_cannot_work_stop_the_hub_with_a_reason(
    load_config: Any, options: dict[str, str], message: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        load_config(**options)
    assert message in str(stopped.value)


def _status(data_dir: Path) -> str:
    """What `mlk status` (the end of `make up`) prints for a data folder."""
    env = {**os.environ, "MLK_DATA_DIR": str(data_dir), "MLK_PUBLIC_URL": "http://127.0.0.1:9"}
    out = subprocess.run(
        [sys.executable, "-m", "mlrun_kernel.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_mlk_status_says_who_logs_in_with_what(load_config: Any, tmp_path: Path) -> None:
    config = load_config(MLK_DEMO_ACCOUNTS="1")
    printed = _status(tmp_path / "data")
    for name, password in config.KeptAccountsNativeAuthenticator.kept_accounts.items():
        line = next(line for line in printed.splitlines() if line.strip().startswith(name + " "))
        assert line.split()[-1] == password, line
    assert "Log in at http://127.0.0.1:8000/hub/login as:" in printed
    assert "/hub/signup" in printed and "/hub/authorize" in printed

    load_config(MLK_AUTHENTICATOR="shared", MLK_SHARED_PASSWORD="a-demo-password")
    printed = _status(tmp_path / "data")
    assert "DEMO MODE (MLK_AUTHENTICATOR=shared)" in printed
    assert "members of model-admins and model-experts" in printed
    assert "and the shared password a-demo-password" in printed
    assert "demo-user" not in printed


def test_an_https_public_url_makes_every_hub_cookie_secure(load_config: Any) -> None:
    """TLS ends at a proxy in front: the hub sees http, the cookies must still be Secure."""
    behind_tls = load_config(MLK_PUBLIC_URL="https://models.example.org")
    assert behind_tls.JupyterHub.public_url == "https://models.example.org/"
    assert behind_tls.JupyterHub.tornado_settings["cookie_options"] == {"secure": True}
    service = behind_tls.JupyterHub.services[0]
    assert service["environment"]["MLK_PUBLIC_URL"] == "https://models.example.org"
    plain = load_config()
    assert "cookie_options" not in plain.JupyterHub.get("tornado_settings", {})
    assert plain.JupyterHub.services[0]["environment"]["MLK_PUBLIC_URL"] == "http://127.0.0.1:8000"
