"""The model catalog: what model images the registry holds, with their manifests and problems."""

from mlrun_kernel.catalog.listing import CatalogEntry, list_registry_models

__all__ = ["CatalogEntry", "list_registry_models"]
