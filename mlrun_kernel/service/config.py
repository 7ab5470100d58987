"""The service's own options, each once, with its environment variable.

JupyterHub sets the ``JUPYTERHUB_*`` variables for a managed service; the
``MLK_*`` ones come from the operator (``jupyterhub_config.py`` passes them on).
Platform-wide options (data folder, database, registry, public URL) are
declared in ``mlrun_kernel.config`` and passed in here, not read twice.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from mlrun_kernel.config import MlkSettings, passed_in, settings


def _service_secret(data_dir: Path) -> str:
    """A secret made once and kept in the data folder (0600 from the first byte)."""
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


def _hub_gave_oauth_client() -> bool:
    # Set by JupyterHub for a managed service with an OAuth client, not by the operator.
    return bool(os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("JUPYTERHUB_CLIENT_ID"))


class ServiceSettings(MlkSettings):
    """Where the model service sits and how it behaves (``python -m mlrun_kernel.service``)."""

    model_config = SettingsConfigDict(frozen=True)
    section: ClassVar[str] = "Model service"

    name: str = Field(
        default="models",
        validation_alias="JUPYTERHUB_SERVICE_NAME",
        description="The service's name in the hub (set by JupyterHub).",
    )
    prefix: str = Field(
        default="/services/models/",
        validation_alias="JUPYTERHUB_SERVICE_PREFIX",
        description="URL path the service answers under (set by JupyterHub).",
    )
    url: str = Field(
        default="http://127.0.0.1:8090",
        validation_alias="JUPYTERHUB_SERVICE_URL",
        description="Where the service listens (set by JupyterHub; `--url` overrides it).",
    )
    hub_api_url: str = Field(
        default="http://127.0.0.1:8081/hub/api",
        validation_alias="JUPYTERHUB_API_URL",
        description="The hub's API, asked who owns each token (set by JupyterHub).",
    )
    auth_cache_seconds: float = Field(
        default=60.0, ge=0, description="How long the hub's answer about a token is kept."
    )
    static_token: str | None = Field(
        default=None,
        repr=False,
        validation_alias="MLK_SERVICE_STATIC_TOKEN",
        description="A token that is an admin, for development without a hub (unset: none).",
    )
    static_user: str = Field(
        default="admin",
        validation_alias="MLK_SERVICE_STATIC_USER",
        description="The user name MLK_SERVICE_STATIC_TOKEN acts as.",
    )
    registry_events_secret: str | None = Field(
        default=None,
        repr=False,
        description="Secret the registry sends with push notifications; unset, the notification "
        "route refuses every call (jupyterhub_config.py makes one once).",
    )
    signed_url_seconds: int = Field(default=300, ge=1, description="Life of a signed download URL.")
    quick_sync_seconds: float = Field(
        default=60.0,
        ge=0,
        validation_alias="MLK_CATALOG_QUICK_SYNC_SECONDS",
        description="How often the catalog lists the registry's tags; 0 turns it off.",
    )
    deep_sync_seconds: float = Field(
        default=900.0,
        ge=0,
        validation_alias="MLK_CATALOG_DEEP_SYNC_SECONDS",
        description="How often the catalog re-checks every tag's digest; 0 turns it off.",
    )
    startup_sync_wait_seconds: float = Field(
        default=20.0,
        ge=0,
        validation_alias="MLK_CATALOG_STARTUP_WAIT_SECONDS",
        description="How long the service waits at start for the first catalog sync before it answers.",
    )
    run_executor: bool = Field(
        default=True,
        validation_alias="MLK_SERVICE_RUN_EXECUTOR",
        description="Whether the service starts the run executor (0: runs answer 503, "
        "for a service beside a separate `python -m mlrun_kernel.runs`).",
    )
    data_dir: Path = passed_in(lambda: settings().data_dir, "MLK_DATA_DIR (Platform).")
    registry_url: str = passed_in(lambda: settings().registry_url, "MLK_REGISTRY_URL (Platform).")
    store_url: str | None = passed_in(
        lambda: settings().database_url, "MLK_DATABASE_URL (Platform); None: the SQLite file in data_dir."
    )
    public_url: str | None = passed_in(lambda: settings().public_url, "MLK_PUBLIC_URL (Platform).")
    hub_oauth: bool = passed_in(
        _hub_gave_oauth_client,
        "Whether browsers log in through the hub's OAuth: on when JupyterHub gave the service "
        "JUPYTERHUB_API_TOKEN and JUPYTERHUB_CLIENT_ID.",
    )
    secret: str = Field(
        default_factory=lambda data: _service_secret(data["data_dir"]),
        repr=False,
        validation_alias="MLK_SERVICE_SECRET",
        description="Key that signs download URLs; default a secret made once and kept in "
        "<data_dir>/service-secret.",
    )

    @field_validator("prefix")
    @classmethod
    def _slashes_around(cls, prefix: str) -> str:
        return prefix if prefix.startswith("/") and prefix.endswith("/") else "/" + prefix.strip("/") + "/"
