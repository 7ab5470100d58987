"""The service's own options, each once, with its environment variable.

JupyterHub sets the ``JUPYTERHUB_*`` variables for a managed service; the
``MLK_*`` ones come from the operator (``jupyterhub_config.py`` passes them on).
Platform-wide options (data folder, database, registry) stay in
``mlrun_kernel.config``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from mlrun_kernel.config import settings


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _service_secret(data_dir: Path) -> str:
    """``MLK_SERVICE_SECRET``, else a secret made once and kept in the data folder."""
    given = _env("MLK_SERVICE_SECRET")
    if given:
        return given
    path = data_dir / "service-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        return value


@dataclass(frozen=True)
class ServiceSettings:
    """Where the service sits and how it behaves.

    ========================================  ==========================================
    ``prefix``                                ``JUPYTERHUB_SERVICE_PREFIX`` [/services/models/]
    ``url``                                   ``JUPYTERHUB_SERVICE_URL`` [http://127.0.0.1:8090]
    ``hub_api_url``                           ``JUPYTERHUB_API_URL`` [http://127.0.0.1:8081/hub/api]
    ``auth_cache_seconds``                    ``MLK_AUTH_CACHE_SECONDS`` [60]: how long a token check is kept
    ``static_token``                          ``MLK_SERVICE_STATIC_TOKEN`` [none]: a token that is an admin
                                              (development without a hub)
    ``static_user``                           ``MLK_SERVICE_STATIC_USER`` [admin]: whose name it carries
    ``registry_events_secret``                ``MLK_REGISTRY_EVENTS_SECRET`` [none: route refuses all]
    ``secret``                                ``MLK_SERVICE_SECRET`` [made once in data_dir]: signs URLs
    ``signed_url_seconds``                    ``MLK_SIGNED_URL_SECONDS`` [300]: life of a signed URL
    ``quick_sync_seconds``                    ``MLK_CATALOG_QUICK_SYNC_SECONDS`` [60]; 0 turns it off
    ``deep_sync_seconds``                     ``MLK_CATALOG_DEEP_SYNC_SECONDS`` [900]; 0 turns it off
    ``run_executor``                          ``MLK_SERVICE_RUN_EXECUTOR`` [1]: start the run executor
    ``public_url``                            ``MLK_PUBLIC_URL`` [MLK_HUB_BIND_URL]: the URL people open
                                              (https makes cookies Secure; changes must come from it)
    ========================================  ==========================================
    """

    name: str = "models"
    prefix: str = "/services/models/"
    url: str = "http://127.0.0.1:8090"
    hub_api_url: str = "http://127.0.0.1:8081/hub/api"
    registry_url: str = "http://127.0.0.1:5000"
    auth_cache_seconds: float = 60.0
    data_dir: Path = field(default_factory=lambda: settings().data_dir)
    store_url: str | None = None
    static_token: str | None = None
    static_user: str = "admin"
    registry_events_secret: str | None = None
    secret: str = ""
    signed_url_seconds: int = 300
    quick_sync_seconds: float = 60.0
    deep_sync_seconds: float = 900.0
    startup_sync_wait_seconds: float = 20.0
    run_executor: bool = True
    hub_oauth: bool = True
    public_url: str | None = None

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/") or not self.prefix.endswith("/"):
            object.__setattr__(self, "prefix", "/" + self.prefix.strip("/") + "/")
        if not self.secret:
            object.__setattr__(self, "secret", _service_secret(self.data_dir))

    @classmethod
    def from_env(cls) -> ServiceSettings:
        platform = settings()
        return cls(
            name=_env("JUPYTERHUB_SERVICE_NAME", cls.name),
            prefix=_env("JUPYTERHUB_SERVICE_PREFIX", cls.prefix),
            url=_env("JUPYTERHUB_SERVICE_URL", cls.url),
            hub_api_url=_env("JUPYTERHUB_API_URL", cls.hub_api_url),
            registry_url=platform.registry_url,
            auth_cache_seconds=float(_env("MLK_AUTH_CACHE_SECONDS", str(cls.auth_cache_seconds))),
            data_dir=platform.data_dir,
            store_url=platform.database_url,
            static_token=_env("MLK_SERVICE_STATIC_TOKEN") or None,
            static_user=_env("MLK_SERVICE_STATIC_USER", cls.static_user),
            registry_events_secret=_env("MLK_REGISTRY_EVENTS_SECRET") or None,
            secret=_env("MLK_SERVICE_SECRET"),
            signed_url_seconds=int(_env("MLK_SIGNED_URL_SECONDS", str(cls.signed_url_seconds))),
            quick_sync_seconds=float(_env("MLK_CATALOG_QUICK_SYNC_SECONDS", str(cls.quick_sync_seconds))),
            deep_sync_seconds=float(_env("MLK_CATALOG_DEEP_SYNC_SECONDS", str(cls.deep_sync_seconds))),
            run_executor=_env("MLK_SERVICE_RUN_EXECUTOR", "1") == "1",
            hub_oauth=bool(os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("JUPYTERHUB_CLIENT_ID")),
            public_url=_env("MLK_PUBLIC_URL") or _env("MLK_HUB_BIND_URL") or None,
        )
