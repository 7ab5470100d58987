"""Every option of the platform, declared once.

Each option has one declaration here, one default that serves the embedded
(single machine) setup, help text, and an ``MLK_*`` environment variable, in
the spirit of JupyterHub's traitlets options. ``settings()`` reads them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu (update-ca-certificates adds company CAs)
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora
    "/etc/ssl/cert.pem",  # Alpine, macOS
)


def _default_ca_bundle() -> Path | None:
    """The CA bundle this machine trusts: the one the environment names for pip or
    requests, else the system bundle, where a company's proxy CA is usually installed."""
    for var in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(var)
        if value and Path(value).is_file():
            return Path(value)
    for candidate in _SYSTEM_CA_BUNDLES:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


class Settings(BaseSettings):
    """Platform options. Environment variables are the names upper-cased with ``MLK_``."""

    model_config = SettingsConfigDict(env_prefix="MLK_", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: Path.cwd() / "data",
        description="Folder for the SQLite store, datasets, run outputs and logs.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; default a SQLite file in data_dir "
        "(postgresql+psycopg://user:pass@host/db at scale).",
    )
    registry_url: str = Field(
        default="http://127.0.0.1:5000",
        description="Base URL of the Docker registry (v2 API) that holds model images.",
    )
    registry_username: str | None = Field(default=None, description="Registry user, if it needs auth.")
    registry_password: str | None = Field(
        default=None, description="Registry password or token, if it needs auth."
    )
    base_image: str = Field(
        default="python:3.11-slim-bookworm",
        description=("Base image the project's Dockerfiles name; built offline when it cannot be pulled."),
    )
    build_ca_bundle: Path | None = Field(
        default_factory=_default_ca_bundle,
        description=(
            "Extra CA bundle trusted by pip inside image builds (for TLS-intercepting proxies). "
            "Defaults to the file PIP_CERT, SSL_CERT_FILE or REQUESTS_CA_BUNDLE names, "
            "else the system bundle (/etc/ssl/certs/ca-certificates.crt, ...), else certifi's."
        ),
    )

    @property
    def registry_host(self) -> str:
        """``host:port`` of the registry, as image references name it."""
        return urlsplit(self.registry_url).netloc


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
