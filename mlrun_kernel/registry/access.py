"""One registry as the platform uses it: where it serves pulls, where it takes pushes, who pushes.

The project's registry answers anonymous pulls on one address (``MLK_REGISTRY_URL``,
127.0.0.1:5000) and takes authenticated pushes on another (``MLK_REGISTRY_PUSH_URL``,
127.0.0.1:5001); any other v2 registry serves both on one URL with auth. Image
references always name the pull address: that is what the engine pulls and the
catalog records. ``mlk build --push``, the service and the tests get a
:class:`RegistryAccess` from :meth:`RegistryAccess.from_settings` (or build one
for a registry they started) instead of reading the settings themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mlrun_kernel.config import Settings, settings
from mlrun_kernel.registry.client import RegistryClient
from mlrun_kernel.registry.credentials import registry_credentials


def _host(url: str) -> str:
    return urlsplit(url if "//" in url else f"http://{url}").netloc


@dataclass(frozen=True)
class RegistryAccess:
    """Pull URL, push URL and the push credentials of one registry."""

    url: str
    push_url: str
    credentials: tuple[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, cfg: Settings | None = None) -> RegistryAccess:
        """The configured registry (``MLK_REGISTRY_URL``, ``MLK_REGISTRY_PUSH_URL``, credentials)."""
        cfg = cfg or settings()
        return cls(
            cfg.registry_url.rstrip("/"), cfg.registry_push_target.rstrip("/"), registry_credentials(cfg)
        )

    @classmethod
    def for_host(cls, host: str, cfg: Settings | None = None) -> RegistryAccess:
        """The registry images are tagged ``host/...`` for: the configured one when ``host`` is
        its pull host, else a registry taking pushes on that same host, with the configured
        credentials."""
        configured = cls.from_settings(cfg)
        if host == configured.host:
            return configured
        return cls(f"http://{host}", f"http://{host}", configured.credentials)

    @property
    def host(self) -> str:
        """``host:port`` image references name (the pull side)."""
        return _host(self.url)

    @property
    def push_host(self) -> str:
        """``host:port`` the engine pushes to."""
        return _host(self.push_url)

    def auth_config(self) -> dict[str, str] | None:
        """docker-py's ``auth_config`` for a push, or None to push without credentials."""
        if self.credentials is None:
            return None
        return {"username": self.credentials[0], "password": self.credentials[1]}

    def reader(self, **options: Any) -> RegistryClient:
        """A client for the pull side; the credentials go only where the registry asks for them."""
        return self._client(self.url, options)

    def writer(self, **options: Any) -> RegistryClient:
        """A client for the push side (deletes), with the credentials."""
        return self._client(self.push_url, options)

    def _client(self, url: str, options: dict[str, Any]) -> RegistryClient:
        user, password = self.credentials or (None, None)
        return RegistryClient(url, username=user, password=password, **options)
