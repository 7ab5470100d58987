"""The accounts a deployment makes itself, and "who logs in with what".

``make up`` gives every group a demo account (``demo-user`` in model-users,
``demo-expert`` in model-experts, ``demo-admin`` in model-admins) and the hub
an admin (``admin``). Each password is made once and kept in
``$MLK_DATA_DIR/hub/<name>-password`` (0600 from the first byte), so
re-running ``make up`` never changes it.

``jupyterhub_config.py`` also writes ``$MLK_DATA_DIR/hub/logins.json``: the
authentication mode and the accounts with *where* their passwords are (never
the passwords), so ``scripts/hub.sh start`` and ``mlk status`` can say how
to log in without knowing the config.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlrun_kernel.hub.groups import MODEL_ADMINS, MODEL_EXPERTS, MODEL_USERS
from mlrun_kernel.hub.kept import kept_secret

#: demo account -> its group
DEMO_ACCOUNTS: dict[str, str] = {
    "demo-user": MODEL_USERS,
    "demo-expert": MODEL_EXPERTS,
    "demo-admin": MODEL_ADMINS,
}
ADMIN_PASSWORD_BYTES = 32  # 43 characters: SharedPasswordAuthenticator wants >= 32 for admins
DEMO_PASSWORD_BYTES = 12  # 16 characters
LOGINS_FILE = "logins.json"


@dataclass(frozen=True)
class Account:
    """One account the deployment makes: its name, its group or admin flag, where its password is."""

    name: str
    group: str | None = None
    admin: bool = False
    password_file: str | None = None  # a kept file, or None when password_env holds it
    password_env: str | None = None

    def password(self) -> str | None:
        """The password, if this process may read it."""
        if self.password_env:
            return os.environ.get(self.password_env, "").strip() or None
        if self.password_file:
            try:
                return Path(self.password_file).read_text().strip() or None
            except OSError:
                return None
        return None


def password_path(hub_dir: Path, name: str) -> Path:
    return hub_dir / f"{name}-password"


def admin_accounts(
    hub_dir: Path, admin_users: list[str], admin_password_env: str | None, *, one_password: bool = False
) -> list[Account]:
    """The hub admins, each with a kept password, or all with ``admin-password`` (``one_password``,
    the shared mode's single admin password), or the one in ``admin_password_env``."""
    accounts = []
    for name in admin_users:
        if admin_password_env:
            accounts.append(Account(name, admin=True, password_env=admin_password_env))
            continue
        path = password_path(hub_dir, "admin" if one_password else name)
        kept_secret(path, ADMIN_PASSWORD_BYTES)
        accounts.append(Account(name, admin=True, password_file=str(path)))
    return accounts


def demo_accounts(hub_dir: Path) -> list[Account]:
    """One account per group, each with a password made once and kept."""
    accounts = []
    for name, group in DEMO_ACCOUNTS.items():
        path = password_path(hub_dir, name)
        kept_secret(path, DEMO_PASSWORD_BYTES)
        accounts.append(Account(name, group=group, password_file=str(path)))
    return accounts


@dataclass(frozen=True)
class LoginInfo:
    """How people log in to one deployment: what ``logins.json`` holds."""

    mode: str  # native | shared | oidc | github | gitlab
    url: str  # the public URL
    accounts: list[Account] = field(default_factory=list)
    shared_password: Account | None = None  # shared mode: where the shared password is
    refused_groups: list[str] = field(default_factory=list)  # shared mode: never with the shared password
    provider: str | None = None  # OAuth modes: the provider's name

    def write(self, hub_dir: Path) -> None:
        """Replace ``logins.json`` atomically (it names files, it holds no secret)."""
        target = hub_dir / LOGINS_FILE
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(target)

    @classmethod
    def read(cls, hub_dir: Path) -> LoginInfo | None:
        """The deployment's login info, or None before the hub has started once."""
        try:
            raw = json.loads((hub_dir / LOGINS_FILE).read_text())
        except (OSError, ValueError):
            return None
        shared = raw.get("shared_password")
        return cls(
            mode=raw["mode"],
            url=raw["url"],
            accounts=[Account(**a) for a in raw.get("accounts", [])],
            shared_password=Account(**shared) if shared else None,
            refused_groups=list(raw.get("refused_groups", [])),
            provider=raw.get("provider"),
        )


def _password_hint(account: Account) -> str:
    password = account.password()
    if password:
        return password
    return f"(the password in ${account.password_env})" if account.password_env else "(password unreadable)"


def login_lines(info: LoginInfo) -> list[str]:
    """What to tell the person who ran ``make up``: where to log in, as whom, with what."""
    login = f"{info.url}/hub/login"
    lines: list[str] = []
    if info.mode == "shared" and info.shared_password:
        refused = " and ".join(info.refused_groups) or "privileged groups"
        lines.append(
            f"DEMO MODE (MLK_AUTHENTICATOR=shared): log in at {login} with any user name except admins and "
            f"members of {refused}, and the shared password {_password_hint(info.shared_password)}"
        )
    elif info.mode in ("oidc", "github", "gitlab"):
        lines.append(f"Log in at {login} with {info.provider or info.mode}.")
    else:
        lines.append(f"Log in at {login} as:")
    for account in info.accounts:
        role = "hub admin" if account.admin else (account.group or "")
        lines.append(f"  {account.name:<12} {role:<14} {_password_hint(account)}")
    if info.mode == "native":
        lines.append(
            f"Others sign up at {info.url}/hub/signup; an admin approves them at {info.url}/hub/authorize."
        )
    if any(a.admin for a in info.accounts):
        lines.append(f"The admin panel is {info.url}/hub/admin.")
    return lines
