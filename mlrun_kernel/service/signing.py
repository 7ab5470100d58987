"""Short-lived signed URLs: a browser sends or fetches a file without holding a token.

A signature is an HMAC-SHA256, keyed with the service secret, over the HTTP
method, the path, the user the URL acts for and the expiry time. Changing any
of them, or waiting past ``expires``, makes the URL useless. The query string
carries ``user``, ``expires`` and ``signature``, and the ``bound`` parameters
(a dataset version, a file path, what the signer could see), which are signed
too. Other parameters (the offset of an upload chunk) are free: they cannot
reach beyond the path.

A valid signature only says what was allowed when the URL was made; the routes
check again, when it is used, that it still is (``routes/datasets.py``).

``Signer`` reads the time from the clock it is given, so expiry is tested by
moving a clock, not by waiting or by editing a signed value.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

Clock = Callable[[], float]


class SignatureError(Exception):
    """A signed URL is missing, altered or expired; the message says which."""


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires: int


def _mac(secret: str, method: str, path: str, user: str, expires: int, bound: dict[str, str]) -> str:
    message = f"{method.upper()}\n{path}\n{user}\n{expires}\n{urlencode(sorted(bound.items()))}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Signer:
    """Signs URLs valid for ``seconds`` with ``secret``, and checks them, by ``clock``."""

    secret: str
    seconds: int
    clock: Clock = field(default=time.time)

    def sign(self, method: str, path: str, user: str, *, bound: dict[str, str] | None = None) -> SignedUrl:
        """A URL (path + query) valid for ``seconds`` from now for ``method`` on ``path`` as ``user``."""
        expires = int(self.clock()) + self.seconds
        bound = bound or {}
        query = {**bound, "user": user, "expires": str(expires)}
        query["signature"] = _mac(self.secret, method, path, user, expires, bound)
        return SignedUrl(url=f"{path}?{urlencode(query)}", expires=expires)

    def verify(
        self,
        method: str,
        path: str,
        user: str | None,
        expires: str | None,
        signature: str | None,
        bound: dict[str, str] | None = None,
    ) -> str:
        """The user a signed request acts for; ``SignatureError`` if it is not valid now."""
        if not (user and expires and signature):
            raise SignatureError(
                "this URL needs user, expires and signature query parameters (ask for a new one)"
            )
        try:
            when = int(expires)
        except ValueError:
            raise SignatureError("expires is not a time") from None
        expected = _mac(self.secret, method, path, user, when, bound or {})
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise SignatureError("the signature does not match this URL (altered, or made for another one)")
        if when < self.clock():
            raise SignatureError("this signed URL has expired; ask for a new one")
        return user
