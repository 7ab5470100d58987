"""The model catalog: the registry's model images mirrored into the store.

- ``sync``: registry -> store (deep and quick syncs, push notifications).
- ``queries``: model cards, versions and the catalog's freshness, from the store.
"""

from mlrun_kernel.catalog.queries import (
    CatalogStatus,
    ModelSummary,
    VersionInfo,
    catalog_status,
    get_model,
    list_models,
    resolve_version,
)
from mlrun_kernel.catalog.sync import SyncReport, apply_registry_events, sync_catalog

__all__ = [
    "CatalogStatus",
    "ModelSummary",
    "SyncReport",
    "VersionInfo",
    "apply_registry_events",
    "catalog_status",
    "get_model",
    "list_models",
    "resolve_version",
    "sync_catalog",
]
