"""Read model images from any registry that speaks the Docker Registry HTTP API v2.

Written on urllib3 rather than python-dxf or oras because the platform needs only
reads (catalog, tags, manifests, config blobs) plus deletes, with the bearer
challenge flow, retries and errors that name the registry and the request; see
docs/registry.md. ``RegistryAccess`` says where a registry serves pulls, where it
takes pushes, and with which credentials.
"""

from mlrun_kernel.registry.access import RegistryAccess
from mlrun_kernel.registry.client import (
    MANIFEST_MEDIA_TYPES,
    ImageConfig,
    ManifestRef,
    RegistryClient,
    RegistryError,
)
from mlrun_kernel.registry.credentials import RegistryCredentialsError, registry_credentials

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "ImageConfig",
    "ManifestRef",
    "RegistryAccess",
    "RegistryClient",
    "RegistryCredentialsError",
    "RegistryError",
    "registry_credentials",
]
