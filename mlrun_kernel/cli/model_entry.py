"""The catalog entry of the one model an embedded ``mlk run`` starts, made current cheaply.

``mlk run`` used to sync the whole catalog from the registry before it queued
a run (every repository, every tag: the bulk of its start-up). A run needs one
entry: :func:`refresh_model_entry` asks the registry for the digest the
model's tag names now (one HEAD request) and keeps the stored entry when it
matches; only a missing or stale entry (a new model, a moved or deleted tag, an
unknown digest) costs a sync, of that one repository. A registry that does not
answer leaves the stored entry, with a warning, as ``mlk models list`` does.
"""

from __future__ import annotations

import sys

from mlrun_kernel.catalog import resolve_version, sync_catalog
from mlrun_kernel.config import settings
from mlrun_kernel.registry import RegistryClient
from mlrun_kernel.registry.client import RegistryError
from mlrun_kernel.runs.executor import split_model_ref
from mlrun_kernel.store import Store


def refresh_model_entry(store: Store, model: str) -> bool:
    """Make ``store``'s entry for ``model`` (``name``, ``name:tag``, ``name@sha256:..``) current.

    Returns whether the repository was synced (False: the stored entry was current,
    or the registry did not answer)."""
    name, ref = split_model_ref(model)
    cfg = settings()
    stored = resolve_version(store, name, ref)
    with RegistryClient(
        cfg.registry_url, username=cfg.registry_username, password=cfg.registry_password
    ) as registry:
        if stored is not None:
            try:
                if ref.startswith("sha256:") or registry.manifest_digest(name, ref) == stored.digest:
                    return False  # a digest never moves; a tag that names the stored digest is current
            except RegistryError as exc:
                if exc.status != 404:  # 404: the tag is gone, which the sync below records
                    _warn(exc)
                    return False
        report = sync_catalog(store, registry, repositories=[name])
    if report.error:
        _warn(report.error)
        return False
    return True


def _warn(error: object) -> None:
    print(f"warning: using the stored catalog entry (the registry did not answer): {error}", file=sys.stderr)
