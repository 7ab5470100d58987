"""Read model images from any registry that speaks the Docker Registry HTTP API v2.

Written on httpx rather than python-dxf or oras because the platform needs only
reads (catalog, tags, manifests, config blobs) plus deletes, with the bearer
challenge flow, retries and errors that name the registry and the request; see
docs/registry.md.
"""

from mlrun_kernel.registry.client import (
    MANIFEST_MEDIA_TYPES,
    ImageConfig,
    ManifestRef,
    RegistryClient,
    RegistryError,
)

__all__ = ["MANIFEST_MEDIA_TYPES", "ImageConfig", "ManifestRef", "RegistryClient", "RegistryError"]
