"""Who may call what: every route of the service and the scope it needs, in one table.

The scopes are JupyterHub *custom scopes*, declared here once:
``jupyterhub_config.py`` builds ``c.JupyterHub.custom_scopes`` from ``ALL``,
``IMPLIES`` and ``DESCRIPTIONS`` (through ``mlrun_kernel.hub.groups``), and its
roles grant them to the groups:

=========================  ==================================================  ==========================
scope                      lets the caller                                     granted to
=========================  ==================================================  ==========================
``custom:models:read``     browse models; see own, group-shared and public     model-users, -experts,
                           datasets; see own runs and their results            -admins
``custom:models:run``      upload, share and delete own datasets; start,       model-users, -experts,
                           cancel, re-run and delete own runs                  -admins
``custom:models:publish``  see models whose labels are broken (problems);      model-experts, -admins
                           publish model images
``custom:models:admin``    see and act on everyone's datasets and runs; read   model-admins
                           the audit log and metrics; force a catalog sync
=========================  ==================================================  ==========================

A stronger scope implies the weaker ones (``IMPLIES``), here and in the hub's
definitions (``subscopes``), so a token holding ``admin`` may do everything.

``ROUTE_SCOPES`` maps ``(METHOD, path below the service prefix)`` to the scope a
route needs, or to one of the markers ``PUBLIC`` (no token), ``SIGNED`` (a
signed URL instead of a token), ``REGISTRY`` (the registry's shared secret) and
``AUTHENTICATED`` (any caller allowed to use the service). The app checks every
request against it (``authorize`` in ``deps.py``) and refuses routes it does not
list; the allow/deny matrix test reads the same table.
"""

from __future__ import annotations

READ = "custom:models:read"
RUN = "custom:models:run"
PUBLISH = "custom:models:publish"
ADMIN = "custom:models:admin"
ALL = (READ, RUN, PUBLISH, ADMIN)

PUBLIC = "public"
SIGNED = "signed"
REGISTRY = "registry"
AUTHENTICATED = "authenticated"
MARKERS = (PUBLIC, SIGNED, REGISTRY, AUTHENTICATED)

IMPLIES: dict[str, frozenset[str]] = {
    READ: frozenset({READ}),
    RUN: frozenset({RUN, READ}),
    PUBLISH: frozenset({PUBLISH, READ}),
    ADMIN: frozenset({ADMIN, PUBLISH, RUN, READ}),
}

DESCRIPTIONS = {
    READ: "Browse models; see your own, your groups' and public datasets, and your own runs.",
    RUN: "Upload and share datasets; start, cancel, re-run and delete your runs.",
    PUBLISH: "See models with broken labels (problems) and publish model images.",
    ADMIN: "See and act on everyone's datasets and runs; read the audit log and metrics.",
}

ROUTE_SCOPES: dict[tuple[str, str], str] = {
    # the service itself
    ("GET", "api/health"): PUBLIC,
    ("GET", "openapi.json"): PUBLIC,
    ("GET", "docs"): PUBLIC,
    ("GET", "oauth_callback"): PUBLIC,
    ("GET", "login"): PUBLIC,
    ("GET", "api/me"): AUTHENTICATED,
    ("GET", "metrics"): ADMIN,
    # models
    ("GET", "api/models"): READ,
    ("GET", "api/models/{name:path}"): READ,
    ("GET", "api/catalog"): READ,
    ("POST", "api/catalog/sync"): ADMIN,
    ("POST", "api/registry/events"): REGISTRY,
    # datasets: uploads
    ("POST", "api/uploads"): RUN,
    ("GET", "api/uploads"): READ,
    ("GET", "api/uploads/{upload_id}"): READ,
    ("PATCH", "api/uploads/{upload_id}"): RUN,
    ("DELETE", "api/uploads/{upload_id}"): RUN,
    ("POST", "api/uploads/{upload_id}/signed-url"): RUN,
    ("POST", "api/uploads/{upload_id}/complete"): RUN,
    ("PATCH", "api/signed/uploads/{upload_id}"): SIGNED,
    # datasets
    ("GET", "api/datasets"): READ,
    ("GET", "api/datasets/{owner}/{name}"): READ,
    ("GET", "api/datasets/{owner}/{name}/preview"): READ,
    ("GET", "api/datasets/{owner}/{name}/files"): READ,
    ("GET", "api/datasets/{owner}/{name}/download"): READ,
    ("POST", "api/datasets/{owner}/{name}/download-url"): READ,
    ("GET", "api/signed/datasets/{owner}/{name}/download"): SIGNED,
    ("PUT", "api/datasets/{owner}/{name}/sharing"): RUN,
    ("DELETE", "api/datasets/{owner}/{name}"): RUN,
    # runs
    ("POST", "api/runs"): RUN,
    ("GET", "api/runs"): READ,
    ("GET", "api/runs/{run_id}"): READ,
    ("GET", "api/runs/{run_id}/queue"): READ,
    ("GET", "api/runs/{run_id}/logs"): READ,
    ("GET", "api/runs/{run_id}/logs/stream"): READ,
    ("GET", "api/runs/{run_id}/outputs"): READ,
    ("GET", "api/runs/{run_id}/outputs/{path:path}"): READ,
    ("GET", "api/runs/{run_id}/preview/{path:path}"): READ,
    ("GET", "api/runs/{run_id}/table/{path:path}"): READ,
    ("POST", "api/runs/{run_id}/output-url"): READ,
    ("GET", "api/signed/runs/{run_id}/output"): SIGNED,
    ("POST", "api/runs/{run_id}/cancel"): RUN,
    ("POST", "api/runs/{run_id}/rerun"): RUN,
    ("DELETE", "api/runs/{run_id}"): RUN,
    # builds (issue 11): experts publish model images through the service
    ("POST", "api/builds"): PUBLISH,
    ("GET", "api/builds"): PUBLISH,
    ("GET", "api/builds/{build_id}"): PUBLISH,
    ("POST", "api/builds/{build_id}/cancel"): PUBLISH,
    ("GET", "api/builds/{build_id}/log"): PUBLISH,
    ("GET", "api/builds/{build_id}/log/stream"): PUBLISH,
    # admin
    ("GET", "api/admin/audit"): ADMIN,
    # evaluations (issue 13): admins manage; experts read the history and their groups'
    # requests and answer them; model users see flags only (the gallery's badge)
    ("GET", "api/metrics"): PUBLISH,
    ("GET", "api/evaluations/setups"): ADMIN,
    ("GET", "api/evaluations/setup"): ADMIN,
    ("PUT", "api/evaluations/setup"): ADMIN,
    ("DELETE", "api/evaluations/setup"): ADMIN,
    ("POST", "api/evaluations"): ADMIN,
    ("GET", "api/evaluations"): ADMIN,
    ("GET", "api/evaluations/overview"): ADMIN,
    ("GET", "api/evaluations/{evaluation_id}"): ADMIN,
    ("GET", "api/evaluations/rules"): ADMIN,
    ("POST", "api/evaluations/rules"): ADMIN,
    ("DELETE", "api/evaluations/rules/{rule_id}"): ADMIN,
    ("GET", "api/evaluations/flags"): READ,
    ("GET", "api/evaluations/webhooks"): ADMIN,
    ("POST", "api/evaluations/webhooks"): ADMIN,
    ("DELETE", "api/evaluations/webhooks/{webhook_id}"): ADMIN,
    ("GET", "api/evaluations/deliveries"): ADMIN,
    ("POST", "api/requests"): ADMIN,
    ("GET", "api/requests"): PUBLISH,
    ("GET", "api/requests/{request_id}"): PUBLISH,
    ("POST", "api/requests/{request_id}/ack"): PUBLISH,
    ("POST", "api/requests/{request_id}/close"): PUBLISH,
}


FILTERABLE = frozenset({READ, RUN})
"""Scopes that may carry a ``!user=``/``!group=`` filter.

``read`` and ``run`` act on the caller's own datasets and runs (and on what a
group shares), so a filter naming the caller or one of the caller's groups
grants them. ``publish`` and ``admin`` are not about one user's things: a
filtered one (``custom:models:admin!group=x``, "admin over group x") would need
rights per owner that the service does not model, so it grants nothing rather
than the unfiltered right.
"""


def grants(scope: str, *, name: str, groups: frozenset[str] | set[str]) -> frozenset[str]:
    """The custom scopes one hub scope grants its holder ``name`` (member of ``groups``).

    An unfiltered scope grants itself and what it implies. A filtered one
    (``scope!kind=value``) grants the same only for a filterable scope whose
    filter names the caller (``!user=<name>``) or one of the caller's groups
    (``!group=<group>``); every other filter grants nothing.
    """
    base, _, filter_ = scope.partition("!")
    implied = IMPLIES.get(base, frozenset())
    if not filter_:
        return implied
    kind, _, value = filter_.partition("=")
    if base not in FILTERABLE:
        return frozenset()
    if (kind == "user" and value == name) or (kind == "group" and value in groups):
        return implied
    return frozenset()


def expand(
    scopes: frozenset[str] | set[str], *, name: str = "", groups: frozenset[str] | set[str] = frozenset()
) -> frozenset[str]:
    """The custom scopes a set of hub scopes grants the caller ``name``, with what each implies."""
    granted: set[str] = set()
    for scope in scopes:
        granted |= grants(scope, name=name, groups=groups)
    return frozenset(granted)


def rule_for(method: str, path: str) -> str | None:
    """The scope or marker for a route (``path`` below the prefix, as declared), else None."""
    if method == "HEAD":
        method = "GET"
    return ROUTE_SCOPES.get((method, path))
