"""Where a browser's request comes from, checked against the URL people open.

A browser sends the service's cookie with any request to it, a forged form's
on another site too. Changes made with that cookie therefore need three things
(``deps._request_token``): the ``X-Requested-With`` header (only scripts of the
same origin can add it without CORS, which is off), and an ``Origin`` header,
or failing that a ``Referer``, naming the platform's public URL
(``ServiceSettings.public_url``). Without a public URL, or when it is a bind-all
address, the origin must be the host the request was sent to.

``cookie_is_secure`` says whether the cookie gets ``Secure``: when the public
URL is https, or the request came over https (directly or through a
TLS-terminating proxy that says so in ``X-Forwarded-Proto``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
ANY_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginRefused(Exception):
    """A cookie-authenticated change that did not come from the platform's own pages."""


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a URL, or None if it has no http(s) origin."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _forwarded_scheme(headers: Mapping[str, str], scheme: str) -> str:
    proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto if proto in DEFAULT_PORTS else scheme


def allowed_origins(
    public_url: str | None, headers: Mapping[str, str], scheme: str
) -> set[tuple[str, str, int]]:
    """The origins a change may come from: the public URL's, else the request's own host."""
    public = _origin(public_url) if public_url else None
    if public is not None and public[1] not in ANY_HOSTS:
        allowed = {public}
        if public[1] in LOOPBACK_HOSTS:  # 127.0.0.1 and localhost are the same machine
            allowed |= {(public[0], host.strip("[]"), public[2]) for host in LOOPBACK_HOSTS}
        return allowed
    host = headers.get("host", "")
    own = _origin(f"{_forwarded_scheme(headers, scheme)}://{host}") if host else None
    return {own} if own else set()


def check_origin(public_url: str | None, headers: Mapping[str, str], scheme: str) -> None:
    """Refuse (``OriginRefused``) a change whose Origin/Referer is not the platform's."""
    allowed = allowed_origins(public_url, headers, scheme)
    where = public_url or "this service's own host"
    origin_header = headers.get("origin")
    if origin_header is not None:
        source, what = _origin(origin_header), f"Origin {origin_header!r}"
    elif headers.get("referer"):
        source, what = _origin(headers["referer"]), "Referer"
    else:
        raise OriginRefused(f"a cookie-authenticated change needs an Origin or Referer header from {where}")
    if source is None or source not in allowed:
        raise OriginRefused(f"a cookie-authenticated change must come from a page of {where}, not {what}")


def cookie_is_secure(public_url: str | None, headers: Mapping[str, str], scheme: str) -> bool:
    """Whether the login cookie gets ``Secure``."""
    public = _origin(public_url) if public_url else None
    return (public is not None and public[0] == "https") or _forwarded_scheme(headers, scheme) == "https"
