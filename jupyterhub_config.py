"""The mlrun-kernel deployment: JupyterHub + DockerSpawner + the model service.

Start it from the repository root with ``scripts/hub.sh start`` (or
``jupyterhub -f jupyterhub_config.py``). What runs, and who talks to whom::

    browser ─► proxy  MLK_HUB_BIND_URL (http://127.0.0.1:8000)
                 ├─ /hub/             ─► hub         http://<docker0>:8081  (MLK_HUB_API_PORT)
                 ├─ /user/<name>/     ─► container   mlk-<name>, published on 127.0.0.1
                 └─ /services/models/ ─► model svc   http://<docker0>:8090  (MLK_SERVICE_PORT)

    single-user container ─► hub API      http://<docker0>:8081/hub/api   (JUPYTERHUB_API_URL)
                          ─► model service http://<docker0>:8090/services/models/ (MLK_SERVICE_URL)

``<docker0>`` is the host's address on Docker's default bridge (172.17.0.1 on a
stock engine), the one address both the host and the containers reach. The
hub API and the model service listen there, and only there; the public proxy
stays on loopback unless MLK_HUB_BIND_URL says otherwise.

Every choice can be overridden with an environment variable (empty means
unset); the defaults serve one machine::

    MLK_DATA_DIR [./data next to this file]
        hub state (db, cookie secret, proxy pid, log) in $MLK_DATA_DIR/hub/
    MLK_HUB_BIND_URL [http://127.0.0.1:8000]
        public URL the proxy listens on
    MLK_PUBLIC_URL [MLK_HUB_BIND_URL]
        the URL people open, when a proxy sits in front (https://models.example.org);
        https makes every cookie Secure, and the model service accepts cookie-made
        changes only from pages of this URL
    MLK_HUB_CONNECT_IP [address of MLK_DOCKER_BRIDGE]
        where containers reach the host
    MLK_DOCKER_BRIDGE [docker0]
        host interface of Docker's default bridge
    MLK_HUB_API_PORT [8081]
        hub API port, on MLK_HUB_CONNECT_IP
    MLK_PROXY_API_URL [http://127.0.0.1:8001]
        configurable-http-proxy's REST API
    MLK_PROXY_COMMAND [.tools/node_modules/.bin/configurable-http-proxy]
        else the one on PATH
    MLK_AUTHENTICATOR [native]
        who may log in (docs/authentication.md): native (accounts in the hub's
        database: sign-up, admin approval, password rules, lock-out), shared
        (DEMO ONLY: one password for any name with read+run, a banner says so),
        oidc, github or gitlab (oauthenticator, below)
    MLK_ADMIN_USERS [admin; none in the OAuth modes]
        comma-separated hub admin names; "none" for no admin. native: each gets
        an approved account, password kept in $MLK_DATA_DIR/hub/<name>-password
    MLK_ADMIN_PASSWORD [generated once per admin]
        the admins' password (at least 32 characters) instead of the kept ones
    MLK_DEMO_ACCOUNTS [0; `make up` sets 1]
        native: 1 makes demo-user (model-users), demo-expert (model-experts) and
        demo-admin (model-admins), approved, passwords kept in
        $MLK_DATA_DIR/hub/demo-*-password; re-running never changes them
    MLK_SIGNUP [1]
        native: 1 shows the sign-up page (new accounts wait for an admin's approval)
    MLK_OPEN_SIGNUP [0]
        native: 1 lets sign-ups log in without approval (open hubs only)
    MLK_PASSWORD_MIN_LENGTH [10]
        native: shortest password accepted at sign-up and password change
    MLK_PASSWORD_CHECK_COMMON [1]
        native: 1 refuses passwords from NativeAuthenticator's common-password list
    MLK_LOGIN_ATTEMPTS [5]
        native: failed log-ins in a row before a name is locked out (0: never)
    MLK_LOGIN_LOCKOUT_SECONDS [600]
        native: how long a locked-out name waits before it may try again
    MLK_SHARED_PASSWORD [generated once]
        shared: the demo password; kept in $MLK_DATA_DIR/hub/shared-password. Admins
        and members of model-experts/model-admins can never log in with it
    MLK_OAUTH_CLIENT_ID, MLK_OAUTH_CLIENT_SECRET [none]
        oidc/github/gitlab: the OAuth application registered at the provider
    MLK_OAUTH_CALLBACK_URL [<MLK_PUBLIC_URL or MLK_HUB_BIND_URL>/hub/oauth_callback]
        oidc/github/gitlab: the redirect URL registered at the provider
    MLK_OAUTH_GROUP_MAP [none]
        oidc/github/gitlab: provider group -> our group, e.g.
        "ml-team=model-experts,acme:analysts=model-users"; only people mapped to
        a group (or in MLK_ADMIN_USERS) may log in, unless MLK_OAUTH_ALLOW_ALL=1
    MLK_OAUTH_ALLOW_ALL [0]
        oidc/github/gitlab: 1 lets in anyone the provider authenticates
    MLK_OAUTH_SCOPES [per provider]
        oidc/github/gitlab: the scopes asked for, space-separated
    MLK_OIDC_ISSUER, MLK_OIDC_AUTHORIZE_URL, MLK_OIDC_TOKEN_URL, MLK_OIDC_USERDATA_URL
        oidc: the issuer (its discovery document gives the endpoints), or the endpoints
    MLK_OAUTH_USERNAME_CLAIM [preferred_username], MLK_OAUTH_GROUPS_CLAIM [groups]
        oidc: the claims holding the user name and the groups (dotted paths allowed)
    MLK_OAUTH_LOGIN_SERVICE [OpenID Connect]
        oidc: the provider's name on the login button
    MLK_GITHUB_URL [https://github.com], MLK_GITLAB_URL [https://gitlab.com]
        github/gitlab: the provider's address (GitHub Enterprise, a self-hosted GitLab)
    MLK_MODEL_USERS [none]
        comma-separated members of group model-users
    MLK_MODEL_EXPERTS [none]
        comma-separated members of group model-experts
    MLK_MODEL_ADMINS [none]
        comma-separated members of group model-admins
    MLK_OPEN_ACCESS [1]
        1: every user may use the model service as a model user; 0: only the
        three groups (model-users: read+run, model-experts: +publish,
        model-admins and hub admins: admin)
    MLK_SINGLEUSER_IMAGE [mlrun-kernel/singleuser:latest]
        image of the users' notebook containers
    MLK_SINGLEUSER_PULL_POLICY [never]
        DockerSpawner.pull_policy (the image is built here)
    MLK_SINGLEUSER_PREFIX [mlk]
        container names are <prefix>-<user>
    MLK_SINGLEUSER_MEM_LIMIT [2G]
        memory limit of a notebook container
    MLK_SINGLEUSER_CPU_LIMIT [none]
        CPU limit of a notebook container
    MLK_DEFAULT_URL [by role]
        where users land after login; unset: model users in the model gallery
        (/voila/render/apps/models.ipynb), model experts in JupyterLab
        (/lab/tree/notebooks), admins in the evaluation app
        (/voila/render/apps/evaluate.ipynb); mlrun_kernel/hub/roles.py
    MLK_PLATFORM_NAME [mlrun-kernel]
        the platform's name on the hub's pages and the apps' navigation bar
    MLK_PLATFORM_TAGLINE [Run machine-learning models on your own data, in the browser.]
        the line under the name on the login page
    MLK_SPAWNER [docker]
        docker: one container per user on this engine (DockerSpawner); swarm: one
        service per user on a Docker Swarm (SwarmSpawner; docs/swarm.md)
    MLK_SINGLEUSER_NETWORK [mlk-<deployment>-notebooks]
        the user-defined Docker network of the notebook containers (made at the
        first spawn if missing: a bridge, or an attachable overlay with MLK_SPAWNER=swarm)
    MLK_SINGLEUSER_HOME_VOLUME [<prefix>-home-{username}]
        the named volume mounted as each user's home (/home/jovyan); it outlives the
        container, so notebooks and files survive a restart; "none" for no volume
    MLK_IDLE_TIMEOUT [3600]
        seconds without activity before jupyterhub-idle-culler stops a server (0: never)
    MLK_IDLE_CULL_EVERY [300]
        how often the idle culler looks, in seconds
    MLK_KERNEL_IDLE_TIMEOUT [1800]
        seconds a notebook server keeps a kernel that runs nothing and that no tab is
        connected to (a closed app tab, a closed notebook; 0: keep them); warm kernels stay
    MLK_SERVICE_PORT [8090]
        model service port, on MLK_HUB_CONNECT_IP
    MLK_REGISTRY_URL [http://127.0.0.1:5000]
        the registry the model service reads
    MLK_REGISTRY_EVENTS_SECRET [generated once]
        the secret the registry sends with push notifications to the service
        (POST /services/models/api/registry/events); kept in
        $MLK_DATA_DIR/registry-events-secret, which scripts/registry.sh reads too
    MLK_CATALOG_QUICK_SYNC_SECONDS [60]
        how often the service lists the registry's tags (0: never)
    MLK_CATALOG_DEEP_SYNC_SECONDS [900]
        how often the service re-checks every tag's digest (0: never)
    MLK_DEPLOYMENT [default]
        label io.mlkernel.deployment on the containers
    MLK_HUB_LOG_LEVEL [INFO]
        the hub's log level
"""

import dataclasses
import fcntl
import os
import shutil
import socket
import struct
import sys
from pathlib import Path
from urllib.parse import urlsplit

from mlrun_kernel.hub.accounts import Account, LoginInfo, admin_accounts, demo_accounts
from mlrun_kernel.hub.deployment import DeploymentError, ensure_network
from mlrun_kernel.hub.groups import (
    GROUP_SCOPES,
    GROUPS,
    MODEL_ADMINS,
    SERVICE_NAME,
    hub_custom_scopes,
    privileged_groups,
)
from mlrun_kernel.hub.kept import kept_secret
from mlrun_kernel.hub.oauth import OAUTH_MODES, OAuthSettingsError, oauth_authenticator
from mlrun_kernel.hub.roles import HUB_ADMIN_SCOPES, home_apps, landing_url, role_of
from mlrun_kernel.hub.server_token import keep_service_scopes, quiet_service_scope_discards, server_token_asks

c = get_config()  # noqa: F821 -- provided by traitlets when JupyterHub loads this file

HERE = Path(__file__).resolve().parent


def env(name, default=""):
    """An MLK_* option: the environment's value if set and not empty, else ``default``."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_list(name):
    """A comma-separated MLK_* option as a list of names."""
    return [item.strip() for item in env(name).split(",") if item.strip()]


def interface_ipv4(name):
    """The IPv4 address of a network interface (SIOCGIFADDR), or None if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def docker_bridge_gateway():
    """The gateway of Docker's default `bridge` network, as the engine reports it."""
    try:
        import docker

        ipam = docker.from_env(timeout=10).networks.get("bridge").attrs.get("IPAM") or {}
    except Exception:
        return None
    for pool in ipam.get("Config") or []:
        if pool.get("Gateway"):
            return pool["Gateway"]
    return None


# ---------------------------------------------------------------------------
# Where things live
# ---------------------------------------------------------------------------

DATA_DIR = Path(env("MLK_DATA_DIR", str(HERE / "data")))
if not DATA_DIR.is_absolute():
    DATA_DIR = HERE / DATA_DIR
HUB_DIR = DATA_DIR / "hub"
HUB_DIR.mkdir(parents=True, exist_ok=True)

# The hub's database, cookie secret and the proxy's pid file stay out of the
# repository root, in one folder an operator can back up or wipe.
c.JupyterHub.db_url = f"sqlite:///{HUB_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB_DIR / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(HUB_DIR / "proxy.pid")
c.JupyterHub.log_level = env("MLK_HUB_LOG_LEVEL", "INFO")

# ---------------------------------------------------------------------------
# Network: public proxy on loopback, hub API and model service on docker0
# ---------------------------------------------------------------------------

# The address containers use to reach the host. Without it the single-user
# server cannot call the hub API and every spawn times out. Read from the bridge
# interface (what the kernel really has), then from the engine, never guessed.
bridge = env("MLK_DOCKER_BRIDGE", "docker0")
HUB_CONNECT_IP = env("MLK_HUB_CONNECT_IP") or interface_ipv4(bridge) or docker_bridge_gateway()
if not HUB_CONNECT_IP:
    raise SystemExit(
        f"jupyterhub_config.py: cannot find the address of Docker's bridge ({bridge}). "
        "Is the Docker engine running? Set MLK_HUB_CONNECT_IP to the host address containers reach."
    )

# Public entry point: the proxy. Loopback by default; put a TLS-terminating
# reverse proxy in front, or set e.g. http://0.0.0.0:8000, to serve others.
c.JupyterHub.bind_url = env("MLK_HUB_BIND_URL", "http://127.0.0.1:8000")

# The hub API must be reachable from the containers, so it listens on the bridge
# address (not 0.0.0.0: nothing outside this host needs it).
HUB_API_PORT = int(env("MLK_HUB_API_PORT", "8081"))
c.JupyterHub.hub_bind_url = f"http://{HUB_CONNECT_IP}:{HUB_API_PORT}"
c.JupyterHub.hub_connect_ip = HUB_CONNECT_IP

# The proxy: the copy `scripts/setup.sh` installs under .tools/, else PATH.
c.ConfigurableHTTPProxy.api_url = env("MLK_PROXY_API_URL", "http://127.0.0.1:8001")
local_chp = HERE / ".tools" / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [
    env("MLK_PROXY_COMMAND", str(local_chp) if local_chp.exists() else "configurable-http-proxy")
]
# Stop the proxy with the hub (the default, said out loud: tests rely on it).
c.JupyterHub.cleanup_proxy = True

# ---------------------------------------------------------------------------
# Who can log in (docs/authentication.md): MLK_AUTHENTICATOR picks the mode
# ---------------------------------------------------------------------------

AUTH_MODE = env("MLK_AUTHENTICATOR", "native")
# What the hub's page templates (hub/templates/) show besides JupyterHub's own variables.
PLATFORM_NAME = env("MLK_PLATFORM_NAME", "mlrun-kernel")
template_vars = {
    "mlk_platform_name": PLATFORM_NAME,
    "mlk_platform_tagline": env(
        "MLK_PLATFORM_TAGLINE", "Run machine-learning models on your own data, in the browser."
    ),
}
AUTH_MODES = ("native", "shared", *OAUTH_MODES)
if AUTH_MODE not in AUTH_MODES:
    raise SystemExit(f"MLK_AUTHENTICATOR must be one of {', '.join(AUTH_MODES)}, not {AUTH_MODE!r}")
PUBLIC_URL = env("MLK_PUBLIC_URL", c.JupyterHub.bind_url).rstrip("/")
OAUTH = AUTH_MODE in OAUTH_MODES

# Admins: "admin" out of the box, so whoever ran `make up` can open the admin
# panel. Not in the OAuth modes, where "admin" would be whoever owns that name
# at the provider: there MLK_ADMIN_USERS must name them.
if env("MLK_ADMIN_USERS") == "none":
    admin_users = []
else:
    admin_users = env_list("MLK_ADMIN_USERS") or ([] if OAUTH else ["admin"])
if admin_users:
    c.Authenticator.admin_users = set(admin_users)
if env("MLK_ADMIN_PASSWORD") and len(env("MLK_ADMIN_PASSWORD")) < 32:
    raise SystemExit("MLK_ADMIN_PASSWORD must be at least 32 characters (JupyterHub's rule for admins)")
admin_password_env = "MLK_ADMIN_PASSWORD" if env("MLK_ADMIN_PASSWORD") else None
# SharedPasswordAuthenticator has one admin password; NativeAuthenticator one per account.
accounts: list[Account] = (
    []
    if OAUTH
    else admin_accounts(HUB_DIR, admin_users, admin_password_env, one_password=AUTH_MODE == "shared")
)

# Group members named by the operator (MLK_MODEL_USERS, ...).
members = {group: env_list(variable) for group, (variable, _) in GROUPS.items()}
login_info = LoginInfo(mode=AUTH_MODE, url=PUBLIC_URL)

if AUTH_MODE == "native":
    # Accounts live in the hub's database; sign-ups wait for an admin at /hub/authorize.
    if env("MLK_DEMO_ACCOUNTS", "0") == "1":
        accounts += demo_accounts(HUB_DIR)
        for account in accounts:
            if account.group:
                members[account.group].append(account.name)
    c.JupyterHub.authenticator_class = "mlrun_kernel.hub.native.KeptAccountsNativeAuthenticator"
    kept_passwords = {a.name: a.password() for a in accounts}
    unreadable = sorted(name for name, password in kept_passwords.items() if not password)
    if unreadable:
        raise SystemExit(f"jupyterhub_config.py: cannot read the kept passwords of {', '.join(unreadable)}")
    c.KeptAccountsNativeAuthenticator.kept_accounts = kept_passwords
    c.NativeAuthenticator.enable_signup = env("MLK_SIGNUP", "1") == "1"
    c.NativeAuthenticator.open_signup = env("MLK_OPEN_SIGNUP", "0") == "1"
    c.NativeAuthenticator.minimum_password_length = int(env("MLK_PASSWORD_MIN_LENGTH", "10"))
    c.NativeAuthenticator.check_common_password = env("MLK_PASSWORD_CHECK_COMMON", "1") == "1"
    c.NativeAuthenticator.allowed_failed_logins = int(env("MLK_LOGIN_ATTEMPTS", "5"))
    c.NativeAuthenticator.seconds_before_next_try = int(env("MLK_LOGIN_LOCKOUT_SECONDS", "600"))
    # An approved account may log in (NativeAuthenticator checks the approval itself).
    c.Authenticator.allow_all = True
    template_vars["mlk_signup"] = c.NativeAuthenticator.enable_signup
elif AUTH_MODE == "shared":
    # DEMO ONLY: any name logs in with one password, so that password never
    # stands for more than read+run, and the login page says it is a demo.
    c.JupyterHub.authenticator_class = "mlrun_kernel.hub.shared.DemoSharedPasswordAuthenticator"
    shared_account = (
        Account("shared", password_env="MLK_SHARED_PASSWORD")
        if env("MLK_SHARED_PASSWORD")
        else Account("shared", password_file=str(HUB_DIR / "shared-password"))
    )
    c.SharedPasswordAuthenticator.user_password = env("MLK_SHARED_PASSWORD") or kept_secret(
        HUB_DIR / "shared-password", 12
    )
    refused = sorted(privileged_groups())
    c.DemoSharedPasswordAuthenticator.privileged_groups = set(refused)
    c.DemoSharedPasswordAuthenticator.privileged_users = {
        name for group in refused for name in members[group]
    }
    if accounts:
        c.SharedPasswordAuthenticator.admin_password = accounts[0].password()
    c.Authenticator.allow_all = True
    template_vars.update(mlk_demo_mode=True, mlk_refused_groups=refused)
    login_info = LoginInfo(
        mode=AUTH_MODE, url=PUBLIC_URL, shared_password=shared_account, refused_groups=refused
    )
else:
    # OAuth/OIDC: the provider says who it is; MLK_OAUTH_GROUP_MAP says which of
    # our groups that makes them, at every login (manage_groups).
    if any(members.values()):
        raise SystemExit(
            f"MLK_AUTHENTICATOR={AUTH_MODE}: group membership comes from the provider through "
            "MLK_OAUTH_GROUP_MAP; unset MLK_MODEL_USERS, MLK_MODEL_EXPERTS and MLK_MODEL_ADMINS"
        )
    try:
        oauth_class, oauth_traits = oauth_authenticator(AUTH_MODE, os.environ, PUBLIC_URL)
    except OAuthSettingsError as exc:
        raise SystemExit(f"jupyterhub_config.py: {exc}") from None
    c.JupyterHub.authenticator_class = oauth_class
    section = c[oauth_class.rsplit(".", 1)[1]]
    for trait, value in oauth_traits.items():
        setattr(section, trait, value)
    login_info = LoginInfo(mode=AUTH_MODE, url=PUBLIC_URL, provider=oauth_traits.get("login_service"))

# Our pages (hub/templates/): the platform's name on each; the login page with a line on
# what it is, the demo banner in shared mode and the sign-up link in native; the home page
# with the apps of the user's role; the spawn-pending page saying what happens.
c.JupyterHub.template_paths = [str(HERE / "hub" / "templates")]


def _user_role(user):
    return role_of((group.name for group in user.groups), bool(user.admin)) if user else ""


def _user_apps(user):
    return home_apps((group.name for group in user.groups), bool(user.admin), user.url) if user else []


template_vars.update(mlk_role=_user_role, mlk_apps=_user_apps)
c.JupyterHub.template_vars = template_vars
# Who logs in with what, for scripts/hub.sh start and `mlk status` (no secret in it).
dataclasses.replace(login_info, accounts=accounts).write(HUB_DIR)

# ---------------------------------------------------------------------------
# Groups and what their servers' tokens may do
# ---------------------------------------------------------------------------

# load_groups only adds: removing a member is done in the admin panel or API.
# (In the OAuth modes the authenticator manages the groups, and JupyterHub
# refuses load_groups alongside.)
if not OAUTH:
    c.JupyterHub.load_groups = {group: {"users": names} for group, names in members.items()}

# What the model service lets each group do: JupyterHub custom scopes, declared
# once in mlrun_kernel/service/scopes.py (which also has the route table) and
# checked by the service on every request. A stronger scope includes the
# weaker ones (subscopes).
c.JupyterHub.custom_scopes = hub_custom_scopes()
OPEN_ACCESS = env("MLK_OPEN_ACCESS", "1") == "1"
c.JupyterHub.load_roles = [
    {
        "name": f"{group}-role",
        "description": f"What members of {group} may do with the model service.",
        "scopes": scopes,
        "groups": [group],
    }
    for group, scopes in GROUP_SCOPES.items()
]
# Members of model-admins run the hub's admin panel (people, groups, approvals, servers)
# without being hub admins: they cannot open other people's servers.
c.JupyterHub.load_roles.append(
    {
        "name": "model-admins-hub",
        "description": "The admin panel: users, groups, sign-up approvals, starting and stopping servers.",
        "scopes": list(HUB_ADMIN_SCOPES),
        "groups": [MODEL_ADMINS],
    }
)
# The hub's admins administer the model service too.
if admin_users:
    c.JupyterHub.load_roles.append(
        {
            "name": "model-service-admin",
            "description": "Hub admins administer the model service.",
            "scopes": GROUP_SCOPES[MODEL_ADMINS],
            "users": sorted(admin_users),
        }
    )
# Every user who may log in may use the service as a model user (MLK_OPEN_ACCESS=0: only the groups).
if OPEN_ACCESS:
    c.JupyterHub.extra_user_scopes = set(GROUP_SCOPES["model-users"])


# The token of a user's container (JUPYTERHUB_API_TOKEN) asks for the server's own scopes and
# every scope of the model service; the hub grants, at each request, the part the user's
# groups give at that moment (mlrun_kernel/hub/server_token.py). An admin moving someone
# between groups changes what their running server may do at its next request, with no
# restart. (The hub keeps at spawn only what the user held then; the pre_spawn_hook below
# puts the service scopes back on the token.)
c.Spawner.server_token_scopes = server_token_asks
quiet_service_scope_discards()

# ---------------------------------------------------------------------------
# Single-user servers: one Docker container per user, never with the Docker socket
# ---------------------------------------------------------------------------

SPAWNER = env("MLK_SPAWNER", "docker")
if SPAWNER not in ("docker", "swarm"):
    raise SystemExit(f"MLK_SPAWNER must be docker or swarm, not {SPAWNER!r}")
# swarm: one Docker service per user (SwarmSpawner reuses DockerSpawner's options below).
c.JupyterHub.spawner_class = (
    "docker" if SPAWNER == "docker" else "mlrun_kernel.hub.swarm.PublishedPortSwarmSpawner"
)
c.DockerSpawner.image = env("MLK_SINGLEUSER_IMAGE", "mlrun-kernel/singleuser:latest")
# Users never pick an image: no options form, and an `image` in a spawn request is refused.
c.DockerSpawner.allowed_images = []
# The image is built here (scripts/build-singleuser.py), not pulled: with
# "never" a missing image fails the spawn at once with a clear message.
c.DockerSpawner.pull_policy = env("MLK_SINGLEUSER_PULL_POLICY", "never")
SINGLEUSER_PREFIX = env("MLK_SINGLEUSER_PREFIX", "mlk")
c.DockerSpawner.prefix = SINGLEUSER_PREFIX
DEPLOYMENT = env("MLK_DEPLOYMENT", "default")
DEPLOYMENT_LABELS = {"io.mlkernel.component": "singleuser", "io.mlkernel.deployment": DEPLOYMENT}
# Containers are disposable: a stopped server's container is removed; what the
# user keeps lives in the home volume below.
c.DockerSpawner.remove = True
# Labels let operators and tests find the containers of one deployment.
c.DockerSpawner.extra_create_kwargs = {"labels": dict(DEPLOYMENT_LABELS)}
c.DockerSpawner.mem_limit = env("MLK_SINGLEUSER_MEM_LIMIT", "2G")
if env("MLK_SINGLEUSER_CPU_LIMIT"):
    c.DockerSpawner.cpu_limit = float(env("MLK_SINGLEUSER_CPU_LIMIT"))

# A user-defined network of this deployment's own (not Docker's default bridge).
# The proxy still reaches each server on its port published on 127.0.0.1, and the
# containers reach the hub API and the model service on HUB_CONNECT_IP.
NETWORK = env("MLK_SINGLEUSER_NETWORK", f"mlk-{DEPLOYMENT}-notebooks")
c.DockerSpawner.network_name = NETWORK

# Each user's home is a named volume: notebooks and files outlive the container.
# The image's entrypoint refreshes the apps (~/apps) and adds missing curated
# notebooks (~/notebooks) at every start, so an image update reaches old homes.
HOME_VOLUME = env("MLK_SINGLEUSER_HOME_VOLUME", f"{SINGLEUSER_PREFIX}-home-{{username}}")
if HOME_VOLUME != "none":
    c.DockerSpawner.volumes = {HOME_VOLUME: "/home/jovyan"}

# Where a freshly started server sends its user, by role (mlrun_kernel/hub/roles.py):
# model users and admins to the model gallery, experts to JupyterLab's curated notebooks.
# MLK_DEFAULT_URL sends everyone to one place instead.
DEFAULT_URL = env("MLK_DEFAULT_URL")


async def landing_by_role(spawner):
    """Spawner.pre_spawn_hook: the notebooks' network made if missing (at the first spawn, not
    when this file is read: reading the configuration changes nothing), and the user's landing
    page, from their groups at this spawn."""
    import asyncio

    import docker

    try:
        await asyncio.to_thread(
            ensure_network,
            docker.from_env(timeout=30),
            NETWORK,
            swarm=SPAWNER == "swarm",
            labels=DEPLOYMENT_LABELS,
        )
    except docker.errors.DockerException as exc:
        raise DeploymentError(f"cannot reach the Docker engine ({exc}): is it running?") from None
    user = spawner.user
    role = role_of((group.name for group in user.groups), bool(user.admin))
    spawner.default_url = DEFAULT_URL or landing_url(role)
    # The server's token may carry each service scope the user's groups give at any later request.
    keep_service_scopes(spawner)
    # The server's guard asks the hub for the current role; this is its answer until then.
    spawner.environment = {**spawner.environment, "MLK_ROLE": role}


c.Spawner.pre_spawn_hook = landing_by_role
# Opening an app of a stopped server from the home page starts it without a click.
c.JupyterHub.implicit_spawn_seconds = 1
# A cold container (Python imports, JupyterLab extensions) needs some seconds.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90

# ---------------------------------------------------------------------------
# The model service: hub-managed, the only process that talks to Docker
# ---------------------------------------------------------------------------

SERVICE_PORT = int(env("MLK_SERVICE_PORT", "8090"))
SERVICE_BIND_URL = f"http://{HUB_CONNECT_IP}:{SERVICE_PORT}"
REGISTRY_URL = env("MLK_REGISTRY_URL", "http://127.0.0.1:5000")
# The service inherits the operator's MLK_* options (registry, data, database,
# ...) but none of the hub's secrets.
HUB_SECRETS = {"MLK_SHARED_PASSWORD", "MLK_ADMIN_PASSWORD", "MLK_OAUTH_CLIENT_SECRET"}
service_environment = {
    name: value for name, value in os.environ.items() if name.startswith("MLK_") and name not in HUB_SECRETS
}
# The secret the registry sends with its push notifications (scripts/registry.sh
# reads the same variable, or this file, to write the registry's config).
events_secret = env("MLK_REGISTRY_EVENTS_SECRET") or kept_secret(DATA_DIR / "registry-events-secret", 24)
service_environment.update(
    {
        "MLK_REGISTRY_EVENTS_SECRET": events_secret,
        "MLK_DATA_DIR": str(DATA_DIR),
        "MLK_REGISTRY_URL": REGISTRY_URL,
        # Where browsers' cookie-made changes must come from (and when cookies are Secure).
        "MLK_PUBLIC_URL": PUBLIC_URL,
        # Periodic catalog resyncs (seconds; 0 turns one off).
        "MLK_CATALOG_QUICK_SYNC_SECONDS": env("MLK_CATALOG_QUICK_SYNC_SECONDS", "60"),
        "MLK_CATALOG_DEEP_SYNC_SECONDS": env("MLK_CATALOG_DEEP_SYNC_SECONDS", "900"),
        # The Docker engine (the service is the only client of it).
        **({"DOCKER_HOST": os.environ["DOCKER_HOST"]} if "DOCKER_HOST" in os.environ else {}),
    }
)
c.JupyterHub.services = [
    {
        "name": SERVICE_NAME,
        # Where the service listens: on the bridge, so containers reach it
        # directly; the proxy also routes /services/models/ to it.
        "url": SERVICE_BIND_URL,
        "command": [sys.executable, "-m", "mlrun_kernel.service"],
        "cwd": str(HERE),
        "environment": service_environment,
        "display": False,  # an API, not a page for the hub's Services menu
        "oauth_no_confirm": True,
        # What a browser's OAuth token may carry (never more than the user holds).
        "oauth_client_allowed_scopes": sorted(c.JupyterHub.custom_scopes),
    }
]

# Checked here: a bad value would otherwise stop every notebook server from starting.
KERNEL_IDLE_TIMEOUT = env("MLK_KERNEL_IDLE_TIMEOUT", "1800")
if not KERNEL_IDLE_TIMEOUT.isdigit():
    raise SystemExit(
        f"MLK_KERNEL_IDLE_TIMEOUT must be a number of seconds (0: never), not {KERNEL_IDLE_TIMEOUT!r}"
    )

# What the containers need to find the service (mlrun_kernel.client.Client).
c.Spawner.environment = {
    "MLK_SERVICE_URL": f"{SERVICE_BIND_URL}/services/{SERVICE_NAME}/",
    # The apps' navigation bar shows it (mlrun_kernel.widgets.nav).
    "MLK_PLATFORM_NAME": PLATFORM_NAME,
    # The server shuts down kernels nobody uses (hub/images/singleuser/jupyter_server_config.py).
    "MLK_KERNEL_IDLE_TIMEOUT": KERNEL_IDLE_TIMEOUT,
}

# The idle culler: a hub service that stops servers nobody used for MLK_IDLE_TIMEOUT
# seconds (their containers go; the home volumes stay).
IDLE_TIMEOUT = int(env("MLK_IDLE_TIMEOUT", "3600"))
if IDLE_TIMEOUT > 0:
    c.JupyterHub.services.append(
        {
            "name": "idle-culler",
            "command": [
                sys.executable,
                "-m",
                "mlrun_kernel.hub.culler",
                f"--timeout={IDLE_TIMEOUT}",
                f"--cull-every={int(env('MLK_IDLE_CULL_EVERY', '300'))}",
            ],
        }
    )
    c.JupyterHub.load_roles.append(
        {
            "name": "idle-culler",
            "description": "Stop idle notebook servers (jupyterhub-idle-culler).",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["idle-culler"],
        }
    )

# Fail early, with a reason, when the proxy binary is missing.
if not shutil.which(c.ConfigurableHTTPProxy.command[0]):
    raise SystemExit(
        "jupyterhub_config.py: configurable-http-proxy not found at "
        f"{c.ConfigurableHTTPProxy.command[0]} (run scripts/setup.sh, or set MLK_PROXY_COMMAND)"
    )

# Sanity: the public URL must be a plain http(s) URL.
if urlsplit(c.JupyterHub.bind_url).scheme not in ("http", "https"):
    raise SystemExit(f"MLK_HUB_BIND_URL must be an http(s) URL, not {c.JupyterHub.bind_url!r}")
if urlsplit(PUBLIC_URL).scheme not in ("http", "https"):
    raise SystemExit(f"MLK_PUBLIC_URL must be an http(s) URL, not {PUBLIC_URL!r}")

# Cookies over TLS: when people open an https URL (TLS often ends at a proxy in
# front of the hub, which then sees plain http), every cookie the hub, the
# users' servers and the xsrf check set gets Secure, so it never travels in clear.
if env("MLK_PUBLIC_URL"):
    c.JupyterHub.public_url = PUBLIC_URL + "/"
if urlsplit(PUBLIC_URL).scheme == "https":
    c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}
