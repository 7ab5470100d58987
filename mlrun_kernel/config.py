"""Every option of the platform, declared once.

Each option is one pydantic field in one :class:`MlkSettings` class: its type,
one default that serves the embedded (single machine) setup, a description,
and an ``MLK_*`` environment variable (the field's name upper-cased, or the
``validation_alias`` it names), in the spirit of JupyterHub's traitlets
options. The classes, one per area, and the order docs/configuration.md shows
them in (``scripts/gen-config-docs.py`` writes that page from them):

- :class:`Settings` here: the platform (data folder, store, registry, builds);
- :class:`ClientSettings` here: notebooks and the ``mlk`` command line;
- ``DatasetSettings`` in ``mlrun_kernel.datasets.settings``;
- ``RunSettings`` in ``mlrun_kernel.runs.limits``;
- ``ServiceSettings`` in ``mlrun_kernel.service.config``.

To add an option, add a field with a ``description`` to the class of its area;
to add an area, subclass :class:`MlkSettings` and name the class in
``mlrun_kernel.config_docs.SETTINGS_CLASSES``. Nothing else reads ``MLK_*``
variables from the environment (tests/unit/test_config_docs.py checks).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

_SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu (update-ca-certificates adds company CAs)
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora
    "/etc/ssl/cert.pem",  # Alpine, macOS
)

_NOT_FROM_ENV = "mlk_not_from_env"


class SettingsError(ValueError):
    """An environment variable holds a value its option cannot take."""


def passed_in(default_factory: Any, description: str) -> Any:
    """A field the code fills in (from another area's option, or its own wiring), never
    read from the environment, so that each variable has exactly one declaration."""
    return Field(
        default_factory=default_factory, description=description, json_schema_extra={_NOT_FROM_ENV: True}
    )


def is_option(field: FieldInfo) -> bool:
    """Whether ``field`` is read from the environment (not :func:`passed_in`)."""
    extra = field.json_schema_extra
    return not (isinstance(extra, dict) and extra.get(_NOT_FROM_ENV))


class _OptionsFromEnv(PydanticBaseSettingsSource):
    """The environment, minus the :func:`passed_in` fields; no ``.env`` or secrets files."""

    def __init__(self, settings_cls: type[BaseSettings], env: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ delegates to the env source

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        return {
            key: value for key, value in self._env().items() if key not in fields or is_option(fields[key])
        }


class MlkSettings(BaseSettings):
    """Options of one area. Each field reads ``MLK_<NAME>`` unless its alias names another
    variable; an empty variable counts as unset."""

    model_config = SettingsConfigDict(
        env_prefix="MLK_",
        extra="ignore",
        env_ignore_empty=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    section: ClassVar[str] = ""
    """The heading of this area in docs/configuration.md."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _OptionsFromEnv(settings_cls, env_settings)

    @classmethod
    def variables(cls, name: str) -> tuple[str, ...]:
        """The environment variables field ``name`` reads, first the one to document."""
        field = cls.model_fields[name]
        if not is_option(field):
            return ()
        alias = field.validation_alias
        if isinstance(alias, str):
            return (alias,)
        if isinstance(alias, AliasChoices):
            return tuple(choice for choice in alias.choices if isinstance(choice, str))
        return (((cls.model_config.get("env_prefix") or "") + name).upper(),)

    @classmethod
    def from_env(cls) -> Self:
        """The options as the environment sets them; a bad value raises :class:`SettingsError`
        naming the variable, the value and what it must be."""
        try:
            return cls()
        except ValidationError as exc:
            raise SettingsError(_explain(cls, exc)) from None


def _explain(cls: type[MlkSettings], exc: ValidationError) -> str:
    by_variable = {var.upper(): name for name in cls.model_fields for var in cls.variables(name)}
    problems = []
    for error in exc.errors():
        if error["type"] == "default_factory_not_called":
            continue  # a consequence of another error
        where = str(error["loc"][0]) if error["loc"] else ""
        name = by_variable.get(where.upper(), where)
        variable = cls.variables(name)[0] if name in cls.model_fields and cls.variables(name) else where
        problems.append(f"{variable}={error.get('input')!r}: {error['msg']}")
    return "; ".join(problems) + ". Fix the environment variable or unset it for the default."


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


# The project's registry (scripts/registry.sh): anonymous pulls on one address, pushes on another.
DEFAULT_REGISTRY_URL = "http://127.0.0.1:5000"
DEFAULT_REGISTRY_PUSH_URL = "http://127.0.0.1:5001"
DEFAULT_REGISTRY_USERNAME = "mlk"


class Settings(MlkSettings):
    """Where the platform keeps its state and finds its registry; read by every part."""

    section: ClassVar[str] = "Platform"

    data_dir: Path = Field(
        default_factory=lambda: Path.cwd() / "data",
        description="Folder for the SQLite store, datasets, run outputs and logs "
        "(default: `data` in the working directory).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; default a SQLite file `mlrun-kernel.sqlite` in "
        "the data folder (postgresql+psycopg://user:pass@host/db at scale).",
    )
    registry_url: str = Field(
        default=DEFAULT_REGISTRY_URL,
        description="Base URL of the Docker registry (v2 API) that holds model images: where the "
        "engine pulls from and the catalog reads (anonymously, on the project's registry).",
    )
    registry_push_url: str | None = Field(
        default=None,
        description="Where pushes and deletes go, when the registry takes them on another address "
        f"than it serves pulls on. Default: {DEFAULT_REGISTRY_PUSH_URL} (the push side of the "
        "project's registry, scripts/registry.sh) when registry_url is the default, else registry_url.",
    )
    registry_username: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLK_REGISTRY_USERNAME", "MLK_REGISTRY_USER"),
        description="Registry user for pushes, and for reads where the registry asks for auth; "
        f"default {DEFAULT_REGISTRY_USERNAME!r} (the project's registry's user) when a password is set.",
    )
    registry_password: str | None = Field(
        default=None,
        repr=False,
        description="Registry password or token; default: the content of the registry password file.",
    )
    registry_password_file: Path | None = Field(
        default=None,
        description="File holding the registry password; default `registry-password` in the data "
        "folder, which scripts/registry.sh makes once (0600) for the project's registry.",
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
    public_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLK_PUBLIC_URL", "MLK_HUB_BIND_URL"),
        description="The URL people open (the hub's proxy); default MLK_HUB_BIND_URL, the address "
        "the proxy listens on. https makes the service's cookies Secure, and cookie-authenticated "
        "changes must come from it; `mlk status` checks the hub there (else http://127.0.0.1:8000).",
    )

    @property
    def registry_host(self) -> str:
        """``host:port`` of the registry, as image references name it."""
        return urlsplit(self.registry_url).netloc

    @property
    def registry_push_target(self) -> str:
        """The URL pushes and deletes go to (``registry_push_url`` with its default)."""
        if self.registry_push_url:
            return self.registry_push_url
        if self.registry_url.rstrip("/") == DEFAULT_REGISTRY_URL:
            return DEFAULT_REGISTRY_PUSH_URL
        return self.registry_url

    @property
    def registry_password_path(self) -> Path:
        """Where the registry password is kept (``registry_password_file`` with its default)."""
        return self.registry_password_file or self.data_dir / "registry-password"


class ClientSettings(MlkSettings):
    """What notebooks and the ``mlk`` command line read: where the service is, and who calls."""

    section: ClassVar[str] = "Notebooks and the mlk command line"

    service_url: str | None = Field(
        default=None,
        description="URL of the model service; when set, `mlk` works through it instead of opening "
        "the store itself, and `Client()` talks to it (the hub sets it in notebook containers; "
        "default for `Client()`: http://127.0.0.1:8000/services/models/).",
    )
    service_token: str | None = Field(
        default=None,
        repr=False,
        description="Token `Client()` and remote `mlk` send to the service; default "
        "JUPYTERHUB_API_TOKEN, which the hub gives every notebook server.",
    )
    user: str | None = Field(
        default=None,
        description="Whom the embedded `mlk` acts as (unset: the user name the hub, in "
        "JUPYTERHUB_USER, or the OS gives).",
    )
    platform_name: str = Field(
        default="mlrun-kernel",
        description="The platform's name in the Voilà apps' navigation bar; the hub sets it in "
        "notebook containers from its own MLK_PLATFORM_NAME (jupyterhub_config.py).",
    )
    role: str | None = Field(
        default=None,
        description="The user's role (model-user, model-expert or model-admin) when the hub started "
        "their server; the server's guard and the apps' bar ask the hub for the current one and "
        "fall back to this (the hub sets it; docs/hub.md).",
    )
    kernel_idle_timeout: int = Field(
        default=1800,
        ge=0,
        description="Seconds a notebook server keeps a kernel that runs nothing and that no browser "
        "tab is connected to (a Voilà app's tab closed without saying so, a notebook closed) before "
        "it shuts the kernel down; 0 keeps every kernel. Warm kernels waiting for a page are kept. "
        "The hub passes its own MLK_KERNEL_IDLE_TIMEOUT to the notebook containers.",
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings.from_env()


def client_settings() -> ClientSettings:
    """Read at each call, not once: a notebook may set ``MLK_SERVICE_URL`` after import,
    as it could when these were plain environment look-ups."""
    return ClientSettings.from_env()
