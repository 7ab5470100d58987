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
    MLK_SHARED_PASSWORD [generated once]
        the password every user logs in with; kept in $MLK_DATA_DIR/hub/shared-password
    MLK_ADMIN_USERS [admin]
        comma-separated admin user names; "none" for no admin
    MLK_ADMIN_PASSWORD [generated once]
        the admins' password, at least 32 characters; kept in $MLK_DATA_DIR/hub/admin-password
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
    MLK_DEFAULT_URL [/voila/render/apps/models.ipynb]
        where users land after login
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

import fcntl
import os
import secrets
import shutil
import socket
import struct
import sys
from pathlib import Path
from urllib.parse import urlsplit

c = get_config()  # noqa: F821 -- provided by traitlets when JupyterHub loads this file

HERE = Path(__file__).resolve().parent


def env(name, default=""):
    """An MLK_* option: the environment's value if set and not empty, else ``default``."""
    value = os.environ.get(name, "").strip()
    return value or default


def kept_secret(path, nbytes):
    """A random secret made once and kept in ``path`` (0600), so restarts keep it."""
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


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
# Who can log in: one shared password for now (dummy auth), admins apart
# ---------------------------------------------------------------------------

c.JupyterHub.authenticator_class = "shared-password"
# No password given: one is made once and kept, so `scripts/hub.sh start` can
# print it and a restart does not change it.
c.SharedPasswordAuthenticator.user_password = env("MLK_SHARED_PASSWORD") or kept_secret(
    HUB_DIR / "shared-password", 12
)
# Any user name may log in with the shared password (allowed users come with
# real authentication).
c.Authenticator.allow_all = True
# One admin out of the box, so whoever ran `make up` can open the admin panel:
# user "admin" with a password made once and kept in $MLK_DATA_DIR/hub/admin-password
# (SharedPasswordAuthenticator wants at least 32 characters). MLK_ADMIN_USERS names
# others; set it to "none" for no admin at all.
admin_users = [] if env("MLK_ADMIN_USERS") == "none" else (env_list("MLK_ADMIN_USERS") or ["admin"])
if admin_users:
    c.Authenticator.admin_users = set(admin_users)
    admin_password = env("MLK_ADMIN_PASSWORD") or kept_secret(HUB_DIR / "admin-password", 32)
    if len(admin_password) < 32:
        raise SystemExit("MLK_ADMIN_PASSWORD must be at least 32 characters (JupyterHub's rule for admins)")
    c.SharedPasswordAuthenticator.admin_password = admin_password

# ---------------------------------------------------------------------------
# Groups and what their servers' tokens may do
# ---------------------------------------------------------------------------

SERVICE_NAME = "models"
SERVICE_ACCESS = f"access:services!service={SERVICE_NAME}"
GROUPS = {
    "model-users": "MLK_MODEL_USERS",  # browse and run models in Voila apps
    "model-experts": "MLK_MODEL_EXPERTS",  # build, test and publish model images
    "model-admins": "MLK_MODEL_ADMINS",  # evaluate models, ask for fine-tuning
}
# load_groups only adds: removing a member is done in the admin panel or API.
c.JupyterHub.load_groups = {group: {"users": env_list(variable)} for group, variable in GROUPS.items()}

# What the model service lets each group do: JupyterHub custom scopes, checked by
# the service on every request (mlrun_kernel/service/scopes.py has the route table).
# A stronger scope includes the weaker ones (subscopes).
SCOPE_READ, SCOPE_RUN = "custom:models:read", "custom:models:run"
SCOPE_PUBLISH, SCOPE_ADMIN = "custom:models:publish", "custom:models:admin"
c.JupyterHub.custom_scopes = {
    SCOPE_READ: {
        "description": "Browse models; see own, group-shared and public datasets, and own runs.",
    },
    SCOPE_RUN: {
        "description": "Upload and share datasets; start, cancel, re-run and delete own runs.",
        "subscopes": [SCOPE_READ],
    },
    SCOPE_PUBLISH: {
        "description": "See models with broken labels and publish model images.",
        "subscopes": [SCOPE_READ],
    },
    SCOPE_ADMIN: {
        "description": "See and act on everyone's datasets and runs; read the audit log and metrics.",
        "subscopes": [SCOPE_RUN, SCOPE_PUBLISH],
    },
}
GROUP_SCOPES = {
    "model-users": [SERVICE_ACCESS, SCOPE_READ, SCOPE_RUN],
    "model-experts": [SERVICE_ACCESS, SCOPE_READ, SCOPE_RUN, SCOPE_PUBLISH],
    "model-admins": [SERVICE_ACCESS, SCOPE_ADMIN],
}
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
# The hub's admins administer the model service too.
if admin_users:
    c.JupyterHub.load_roles.append(
        {
            "name": "model-service-admin",
            "description": "Hub admins administer the model service.",
            "scopes": GROUP_SCOPES["model-admins"],
            "users": sorted(admin_users),
        }
    )
# While logins are open to any name, everyone may use the service as a model user.
if OPEN_ACCESS:
    c.JupyterHub.extra_user_scopes = set(GROUP_SCOPES["model-users"])


def server_token_scopes(spawner):
    """Scopes of JUPYTERHUB_API_TOKEN in a user's container, by the user's groups.

    The default server scopes plus the model service's, as the user's groups
    grant them: the default server token cannot reach services. JupyterHub
    keeps only the scopes the user holds, so asking for more is never a leak.
    """
    scopes = {"users:activity!user", "access:servers!server"}
    groups = {group.name for group in spawner.user.groups}
    for group in groups & set(GROUP_SCOPES):
        scopes.update(GROUP_SCOPES[group])
    if OPEN_ACCESS:
        scopes.update(GROUP_SCOPES["model-users"])
    if spawner.user.admin:
        scopes.update(GROUP_SCOPES["model-admins"])
    return sorted(scopes)


c.Spawner.server_token_scopes = server_token_scopes

# ---------------------------------------------------------------------------
# Single-user servers: one Docker container per user, never with the Docker socket
# ---------------------------------------------------------------------------

c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = env("MLK_SINGLEUSER_IMAGE", "mlrun-kernel/singleuser:latest")
# The image is built here (scripts/build-singleuser.py), not pulled: with
# "never" a missing image fails the spawn at once with a clear message.
c.DockerSpawner.pull_policy = env("MLK_SINGLEUSER_PULL_POLICY", "never")
c.DockerSpawner.prefix = env("MLK_SINGLEUSER_PREFIX", "mlk")
# Containers are disposable: a stopped server's container is removed. (User
# files do not persist yet; volumes come with the experts' notebooks.)
c.DockerSpawner.remove = True
# Labels let operators and tests find the containers of one deployment.
c.DockerSpawner.extra_create_kwargs = {
    "labels": {
        "io.mlkernel.component": "singleuser",
        "io.mlkernel.deployment": env("MLK_DEPLOYMENT", "default"),
    }
}
c.DockerSpawner.mem_limit = env("MLK_SINGLEUSER_MEM_LIMIT", "2G")
if env("MLK_SINGLEUSER_CPU_LIMIT"):
    c.DockerSpawner.cpu_limit = float(env("MLK_SINGLEUSER_CPU_LIMIT"))
# Users land in the model gallery (a Voila app baked into the image at
# /home/jovyan/apps), not in JupyterLab; /user/<name>/lab is still there.
c.Spawner.default_url = env("MLK_DEFAULT_URL", "/voila/render/apps/models.ipynb")
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
HUB_SECRETS = {"MLK_SHARED_PASSWORD", "MLK_ADMIN_PASSWORD"}
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

# What the containers need to find the service (mlrun_kernel.client.Client).
c.Spawner.environment = {
    "MLK_SERVICE_URL": f"{SERVICE_BIND_URL}/services/{SERVICE_NAME}/",
}

# Fail early, with a reason, when the proxy binary is missing.
if not shutil.which(c.ConfigurableHTTPProxy.command[0]):
    raise SystemExit(
        "jupyterhub_config.py: configurable-http-proxy not found at "
        f"{c.ConfigurableHTTPProxy.command[0]} (run scripts/setup.sh, or set MLK_PROXY_COMMAND)"
    )

# Sanity: the public URL must be a plain http(s) URL.
if urlsplit(c.JupyterHub.bind_url).scheme not in ("http", "https"):
    raise SystemExit(f"MLK_HUB_BIND_URL must be an http(s) URL, not {c.JupyterHub.bind_url!r}")
