"""Who may push to a registry: the credentials the platform sends, and the project's own.

- :func:`registry_credentials` answers ``(user, password)`` from the settings:
  ``MLK_REGISTRY_PASSWORD``, else the password file (``MLK_REGISTRY_PASSWORD_FILE``,
  default ``<data_dir>/registry-password``); the user is ``MLK_REGISTRY_USERNAME``,
  default ``mlk``. ``mlk build --push``, the service and the tests all ask here.
- :func:`kept_password` makes the project registry's password once: the file is
  created with ``O_CREAT | O_EXCL`` and mode 0600 in the same ``open(2)``, so it
  never exists with wider permissions and is never chmodded afterwards; two
  processes racing to make it end up with the winner's password (the same
  discipline as ``mlrun_kernel.hub.kept``, which is not imported here because
  importing ``mlrun_kernel.hub`` loads the hub's dependencies, 2.5 s, and every
  ``mlk`` command imports this module).
- :func:`write_htpasswd` writes the file the registry's push side checks: one
  ``user:bcrypt-hash`` line (distribution accepts bcrypt only).

``python -m mlrun_kernel.registry htpasswd FILE`` is what ``scripts/registry.sh``
runs before it starts the push side.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

from mlrun_kernel.config import DEFAULT_REGISTRY_USERNAME, Settings, settings
from mlrun_kernel.registry.client import RegistryError


class RegistryCredentialsError(RegistryError):
    """The registry's credentials are configured but cannot be read or made."""

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)
        self.registry, self.request, self.cause, self.status = "", "credentials", message, None


def kept_password(path: Path, nbytes: int = 24) -> str:
    """The password kept in ``path``, made now (``nbytes`` of randomness, URL-safe) if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(nbytes) + "\n")
    for _ in range(20):  # another process may have created it and not written it yet
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.05)
    raise RegistryCredentialsError(f"{path} is empty: delete it and start the registry again to make one")


def registry_credentials(cfg: Settings | None = None) -> tuple[str, str] | None:
    """``(user, password)`` for the registry, or None when no password is configured or kept."""
    cfg = cfg or settings()
    password = cfg.registry_password
    if password is None:
        path = cfg.registry_password_path
        if not path.is_file():
            if cfg.registry_password_file is not None:
                raise RegistryCredentialsError(
                    f"MLK_REGISTRY_PASSWORD_FILE={path} does not exist: point it at the file that "
                    "holds the registry password, or unset it"
                )
            return None
        try:
            password = path.read_text().strip()
        except OSError as exc:
            raise RegistryCredentialsError(f"cannot read the registry password from {path}: {exc}") from exc
    return cfg.registry_username or DEFAULT_REGISTRY_USERNAME, password


# The registry checks the hash on every request of a push (a push is tens of requests,
# a seeded catalog thousands): at bcrypt's usual cost 10 that is 60-90 ms of CPU each
# on this machine, at 4 about 1 ms. The cost only slows the guessing of a weak password
# from a stolen htpasswd file (0600); the generated password is 24 random bytes, which
# no guessing reaches at any cost. Operators who set their own should make it as long.
BCRYPT_COST = 4


def htpasswd_line(username: str, password: str) -> str:
    """``user:$2b$...``: the bcrypt entry distribution's htpasswd auth accepts."""
    import bcrypt  # only the registry's set-up needs it

    if ":" in username or not username:
        raise RegistryCredentialsError(f"registry user name {username!r} must be non-empty, without ':'")
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_COST)).decode()
    return f"{username}:{hashed}\n"


def write_htpasswd(path: Path, username: str, password: str) -> None:
    """Replace ``path`` with a one-user htpasswd file, 0600 from its first byte."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # left by a crashed start with the same pid
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(htpasswd_line(username, password))
    os.replace(tmp, path)


def ensure_project_credentials(htpasswd: Path, cfg: Settings | None = None) -> tuple[str, str]:
    """The project registry's user and password (the password made once if missing), and its
    htpasswd file written for them."""
    cfg = cfg or settings()
    if cfg.registry_password is None:
        kept_password(cfg.registry_password_path)
    credentials = registry_credentials(cfg)
    if credentials is None:  # cannot happen: a password is set or was just kept
        raise RegistryCredentialsError(f"no registry password in {cfg.registry_password_path}")
    write_htpasswd(htpasswd, *credentials)
    return credentials


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "htpasswd":
        print("usage: python -m mlrun_kernel.registry htpasswd FILE", file=sys.stderr)
        return 2
    try:
        user, _ = ensure_project_credentials(Path(argv[1]))
    except (RegistryCredentialsError, OSError, ValueError) as exc:  # ValueError: a bad MLK_* value
        print(f"registry: {exc}", file=sys.stderr)
        return 1
    cfg = settings()
    where = "MLK_REGISTRY_PASSWORD" if cfg.registry_password is not None else cfg.registry_password_path
    print(f"registry: pushes need user {user!r} and the password in {where}")
    return 0
