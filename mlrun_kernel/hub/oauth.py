"""MLK_* settings -> a configured oauthenticator: a generic OIDC provider, GitHub or GitLab.

Who may log in, in every OAuth mode, is one rule: a person whose provider
groups (an OIDC claim, GitHub org/teams, GitLab groups) map onto at least one
of our groups through ``MLK_OAUTH_GROUP_MAP``, or who is named in
``MLK_ADMIN_USERS``; ``MLK_OAUTH_ALLOW_ALL=1`` lets in anyone the provider
authenticates. The mapping is applied at every login (oauthenticator's
``manage_groups``): a person who leaves the provider group leaves ours.

``oauth_authenticator(mode, environ, public_url)`` returns the class and the
traits to set on it; it reads nothing but ``environ`` (and, for an OIDC
issuer without explicit endpoints, the issuer's discovery document).
docs/authentication.md is the operator's guide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from mlrun_kernel.hub.groups import GROUPS

OAUTH_MODES = ("oidc", "github", "gitlab")


class OAuthSettingsError(ValueError):
    """The MLK_OAUTH_* / MLK_OIDC_* settings cannot make a working authenticator."""


@dataclass(frozen=True)
class GroupMap:
    """Provider group -> our groups, parsed from ``MLK_OAUTH_GROUP_MAP``.

    The text is ``key=group,key=group``: ``key`` is what the provider says
    (an OIDC claim value, ``org`` or ``org:team`` on GitHub, a group path such
    as ``acme/ml`` on GitLab) and ``group`` one of ours. A key may map to
    several groups by repeating it.
    """

    entries: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> GroupMap:
        entries = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            key, sep, group = (s.strip() for s in item.rpartition("="))
            if not sep or not key or not group:
                raise OAuthSettingsError(
                    f"MLK_OAUTH_GROUP_MAP: {item!r} is not 'provider-group=our-group' "
                    f"(for example 'ml-team=model-experts')"
                )
            if group not in GROUPS:
                raise OAuthSettingsError(
                    f"MLK_OAUTH_GROUP_MAP: {item!r} maps to {group!r}, which is not one of {sorted(GROUPS)}"
                )
            entries.append((key, group))
        return cls(tuple(entries))

    def groups_for(self, provider_groups: Iterable[str]) -> set[str]:
        """Our groups for a person in ``provider_groups``."""
        held = set(provider_groups)
        return {group for key, group in self.entries if key in held}


def _claim(data: Mapping[str, Any], path: str) -> Any:
    """A dotted claim (``realm_access.roles``) of a userinfo dict, or None."""
    value: Any = data
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class ClaimGroups:
    """OIDC: the provider groups are the values of one claim of the userinfo (or ID token)."""

    claim: str
    user_key: str = "oauth_user"

    def __call__(self, auth_state: Mapping[str, Any]) -> set[str]:
        value = _claim(auth_state.get(self.user_key) or {}, self.claim)
        if isinstance(value, str):
            return {value}
        return {str(v) for v in value or ()}


def github_groups(auth_state: Mapping[str, Any]) -> set[str]:
    """GitHub: ``org`` and ``org:team`` for every team of the person (populate_teams_in_auth_state)."""
    found = set()
    for team in auth_state.get("teams") or ():
        org = (team.get("organization") or {}).get("login")
        if org:
            found.update({org, f"{org}:{team.get('slug')}"})
    return found


def gitlab_groups(auth_state: Mapping[str, Any]) -> set[str]:
    """GitLab: the full paths of the person's groups (filled by ``fetch_gitlab_groups``)."""
    return set(auth_state.get("gitlab_groups") or ())


async def fetch_gitlab_groups(authenticator: Any, auth_state: dict[str, Any]) -> dict[str, Any]:
    """modify_auth_state_hook: add the person's GitLab group paths (``GET /groups``, every page)."""
    token = auth_state["token_response"]["access_token"]
    paths: list[str] = []
    page = 1
    while True:
        url = f"{authenticator.gitlab_api}/groups?min_access_level=10&per_page=100&page={page}"
        batch = await authenticator.httpfetch(url, headers={"Authorization": f"Bearer {token}"})
        paths.extend(group["full_path"] for group in batch)
        if len(batch) < 100:
            break
        page += 1
    auth_state["gitlab_groups"] = paths
    return auth_state


@dataclass(frozen=True)
class MappedGroups:
    """auth_state_groups_key: our groups for an auth state, through the provider groups and the map."""

    provider_groups: Callable[[Mapping[str, Any]], set[str]]
    group_map: GroupMap

    def __call__(self, auth_state: Mapping[str, Any]) -> list[str]:
        return sorted(self.group_map.groups_for(self.provider_groups(auth_state)))


def discover_oidc(issuer: str) -> dict[str, Any]:
    """The issuer's OpenID discovery document (``/.well-known/openid-configuration``)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=10)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OAuthSettingsError(
            f"MLK_OIDC_ISSUER: cannot read {url} ({exc}); check the issuer URL, or set "
            "MLK_OIDC_AUTHORIZE_URL, MLK_OIDC_TOKEN_URL and MLK_OIDC_USERDATA_URL instead"
        ) from exc
    if not isinstance(document, dict):
        raise OAuthSettingsError(f"MLK_OIDC_ISSUER: {url} is not a discovery document")
    return document


def _setting(environ: Mapping[str, str], name: str, default: str = "") -> str:
    return environ.get(name, "").strip() or default


def _required(environ: Mapping[str, str], name: str, mode: str) -> str:
    value = _setting(environ, name)
    if not value:
        raise OAuthSettingsError(f"MLK_AUTHENTICATOR={mode} needs {name} (docs/authentication.md)")
    return value


def _oidc_endpoints(environ: Mapping[str, str]) -> dict[str, str]:
    names = {
        "authorize_url": "MLK_OIDC_AUTHORIZE_URL",
        "token_url": "MLK_OIDC_TOKEN_URL",
        "userdata_url": "MLK_OIDC_USERDATA_URL",
    }
    given = {trait: _setting(environ, name) for trait, name in names.items()}
    if all(given.values()):
        return given
    issuer = _setting(environ, "MLK_OIDC_ISSUER")
    if not issuer:
        raise OAuthSettingsError(
            "MLK_AUTHENTICATOR=oidc needs MLK_OIDC_ISSUER, or all of "
            "MLK_OIDC_AUTHORIZE_URL, MLK_OIDC_TOKEN_URL and MLK_OIDC_USERDATA_URL"
        )
    document = discover_oidc(issuer)
    keys = {
        "authorize_url": "authorization_endpoint",
        "token_url": "token_endpoint",
        "userdata_url": "userinfo_endpoint",
    }
    found = {trait: given[trait] or str(document.get(key) or "") for trait, key in keys.items()}
    missing = [keys[trait] for trait, value in found.items() if not value]
    if missing:
        raise OAuthSettingsError(f"MLK_OIDC_ISSUER: the discovery document has no {', '.join(missing)}")
    return found


def oauth_authenticator(mode: str, environ: Mapping[str, str], public_url: str) -> tuple[str, dict[str, Any]]:
    """The authenticator class (import path) and its traits for an OAuth ``mode``."""
    if mode not in OAUTH_MODES:
        raise OAuthSettingsError(f"{mode!r} is not an OAuth mode ({', '.join(OAUTH_MODES)})")
    allow_all = _setting(environ, "MLK_OAUTH_ALLOW_ALL", "0") == "1"
    map_text = _setting(environ, "MLK_OAUTH_GROUP_MAP")
    if not map_text and not allow_all:
        raise OAuthSettingsError(
            f"MLK_AUTHENTICATOR={mode}: say who may log in with MLK_OAUTH_GROUP_MAP "
            "(provider group -> model-users/model-experts/model-admins), or set MLK_OAUTH_ALLOW_ALL=1"
        )
    group_map = GroupMap.parse(map_text)
    callback = _setting(environ, "MLK_OAUTH_CALLBACK_URL", public_url.rstrip("/") + "/hub/oauth_callback")
    # manage_groups first: oauthenticator refuses the group traits while it is off.
    traits: dict[str, Any] = {
        "manage_groups": True,
        "client_id": _required(environ, "MLK_OAUTH_CLIENT_ID", mode),
        "client_secret": _required(environ, "MLK_OAUTH_CLIENT_SECRET", mode),
        "oauth_callback_url": callback,
        "allow_all": allow_all,
        "allowed_groups": set(GROUPS),
    }
    provider_groups: Callable[[Mapping[str, Any]], set[str]]
    if mode == "oidc":
        class_path = "oauthenticator.generic.GenericOAuthenticator"
        traits.update(_oidc_endpoints(environ))
        traits["username_claim"] = _setting(environ, "MLK_OAUTH_USERNAME_CLAIM", "preferred_username")
        traits["login_service"] = _setting(environ, "MLK_OAUTH_LOGIN_SERVICE", "OpenID Connect")
        scopes = _setting(environ, "MLK_OAUTH_SCOPES", "openid profile email")
        provider_groups = ClaimGroups(_setting(environ, "MLK_OAUTH_GROUPS_CLAIM", "groups"))
    elif mode == "github":
        class_path = "oauthenticator.github.GitHubOAuthenticator"
        traits["populate_teams_in_auth_state"] = True
        if _setting(environ, "MLK_GITHUB_URL"):
            traits["github_url"] = _setting(environ, "MLK_GITHUB_URL")
        scopes = _setting(environ, "MLK_OAUTH_SCOPES", "read:user read:org")
        provider_groups = github_groups
    else:
        class_path = "oauthenticator.gitlab.GitLabOAuthenticator"
        traits["gitlab_url"] = _setting(environ, "MLK_GITLAB_URL", "https://gitlab.com")
        traits["modify_auth_state_hook"] = fetch_gitlab_groups
        scopes = _setting(environ, "MLK_OAUTH_SCOPES", "read_user read_api")
        provider_groups = gitlab_groups
    traits["scope"] = scopes.split()
    traits["auth_state_groups_key"] = MappedGroups(provider_groups, group_map)
    return class_path, traits
