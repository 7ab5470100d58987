"""Cookie-authenticated changes must come from the platform's public URL (pure logic)."""

from __future__ import annotations

import pytest

from mlrun_kernel.service.origin import OriginRefused, check_origin, cookie_is_secure

PUBLIC = "https://models.example.org"


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://models.example.org"},
        {"origin": "https://models.example.org:443"},
        {"referer": "https://models.example.org/user/uma/voila/render/apps/models.ipynb?x=1"},
    ],
)
def test_a_change_from_the_public_url_passes(headers: dict[str, str]) -> None:
    check_origin(PUBLIC, {"host": "10.0.0.5:8090", **headers}, "http")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "needs an Origin or Referer"),
        ({"origin": "null"}, "must come from a page of https://models.example.org"),
        ({"origin": "http://models.example.org"}, "must come from"),  # http is another origin
        ({"origin": "https://models.example.org.evil.example"}, "must come from"),
        ({"origin": "https://models.example.org:8443"}, "must come from"),
        ({"referer": "https://evil.example/?https://models.example.org"}, "must come from"),
        # the Origin header wins over a Referer that looks right
        ({"origin": "https://evil.example", "referer": "https://models.example.org/"}, "must come from"),
        ({"origin": "https://models.example.org:notaport"}, "must come from"),
    ],
)
def test_a_change_from_anywhere_else_is_refused(headers: dict[str, str], message: str) -> None:
    with pytest.raises(OriginRefused, match=message):
        check_origin(PUBLIC, {"host": "models.example.org", **headers}, "https")


def test_on_loopback_localhost_and_127_0_0_1_are_the_same_site() -> None:
    check_origin("http://127.0.0.1:8000", {"origin": "http://localhost:8000"}, "http")
    with pytest.raises(OriginRefused):
        check_origin("http://127.0.0.1:8000", {"origin": "http://localhost:9000"}, "http")


@pytest.mark.parametrize("public", [None, "http://0.0.0.0:8000"])
def test_without_a_public_url_the_origin_must_be_the_requests_own_host(public: str | None) -> None:
    check_origin(public, {"host": "hub.lan:8000", "origin": "http://hub.lan:8000"}, "http")
    behind_tls = {"host": "hub.lan", "x-forwarded-proto": "https", "origin": "https://hub.lan"}
    check_origin(public, behind_tls, "http")
    with pytest.raises(OriginRefused):
        check_origin(public, {"host": "hub.lan:8000", "origin": "http://evil.example:8000"}, "http")


@pytest.mark.parametrize(
    ("public", "headers", "scheme", "secure"),
    [
        ("https://models.example.org", {}, "http", True),  # TLS ends in front of the hub
        ("http://127.0.0.1:8000", {}, "http", False),
        ("http://127.0.0.1:8000", {"x-forwarded-proto": "https,http"}, "http", True),
        (None, {}, "https", True),
        (None, {"x-forwarded-proto": "gopher"}, "http", False),
    ],
)
def test_the_cookie_is_secure_when_people_reach_the_platform_over_https(
    public: str | None, headers: dict[str, str], scheme: str, secure: bool
) -> None:
    assert cookie_is_secure(public, headers, scheme) is secure
