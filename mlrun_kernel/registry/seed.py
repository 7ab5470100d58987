"""Push small synthetic images straight through the v2 API, without an engine.

Tests and benchmarks use it to fill a real registry with hundreds of tagged
images in seconds (a layer blob is shared; each image has its own config blob,
so its labels are its own).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping

import httpx

from mlrun_kernel.registry.access import RegistryAccess
from mlrun_kernel.registry.client import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST

_CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
_LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _empty_layer() -> tuple[bytes, bytes]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w"):
        pass
    return gzip.compress(raw.getvalue(), mtime=0), raw.getvalue()


class RegistrySeeder:
    """Uploads blobs and manifests to ``registry_url``, with basic ``auth`` if given (the push
    side of the project's registry needs it: ``RegistrySeeder.to(access)``)."""

    def __init__(
        self,
        registry_url: str,
        client: httpx.Client | None = None,
        *,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.url = registry_url.rstrip("/")
        self.http = client or httpx.Client(timeout=30, auth=auth)
        self._layer, self._diff = _empty_layer()
        self._uploaded: set[tuple[str, str]] = set()

    @classmethod
    def to(cls, access: RegistryAccess) -> RegistrySeeder:
        """A seeder pushing to ``access``'s push side with its credentials."""
        return cls(access.push_url, auth=access.credentials)

    def blob(self, repository: str, data: bytes) -> str:
        digest = _digest(data)
        if (repository, digest) in self._uploaded:
            return digest
        # Two-step monolithic upload: open a session, then PUT all bytes with the digest.
        start = self.http.post(f"{self.url}/v2/{repository}/blobs/uploads/")
        start.raise_for_status()
        location = httpx.URL(self.url).join(start.headers["location"])
        r = self.http.put(
            location.copy_merge_params({"digest": digest}),
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        r.raise_for_status()
        self._uploaded.add((repository, digest))
        return digest

    def image(
        self,
        repository: str,
        tag: str,
        labels: Mapping[str, str],
        *,
        architecture: str = "amd64",
        media_type: str = DOCKER_MANIFEST,
    ) -> str:
        """Push an image whose config carries ``labels``; return the manifest digest."""
        config = json.dumps(
            {
                "architecture": architecture,
                "os": "linux",
                "config": {"Labels": dict(labels)},
                "rootfs": {"type": "layers", "diff_ids": [_digest(self._diff)]},
            },
            sort_keys=True,
        ).encode()
        config_digest = self.blob(repository, config)
        layer_digest = self.blob(repository, self._layer)
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": _CONFIG_TYPE
                if media_type == DOCKER_MANIFEST
                else "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": config_digest,
            },
            "layers": [
                {
                    "mediaType": _LAYER_TYPE
                    if media_type == DOCKER_MANIFEST
                    else "application/vnd.oci.image.layer.v1.tar+gzip",
                    "size": len(self._layer),
                    "digest": layer_digest,
                }
            ],
        }
        return self.manifest(repository, tag, manifest, media_type)

    def manifest(self, repository: str, reference: str, body: Mapping[str, object], media_type: str) -> str:
        data = json.dumps(body).encode()
        r = self.http.put(
            f"{self.url}/v2/{repository}/manifests/{reference}",
            content=data,
            headers={"Content-Type": media_type},
        )
        r.raise_for_status()
        return r.headers.get("docker-content-digest") or _digest(data)

    def index(self, repository: str, tag: str, platforms: Mapping[str, Mapping[str, str]]) -> str:
        """Push an OCI index with one image per architecture (``{"amd64": labels, ...}``)."""
        entries = []
        for arch, labels in platforms.items():
            digest = self.image(
                repository, f"{tag}-{arch}", labels, architecture=arch, media_type=OCI_MANIFEST
            )
            size = len(
                self.http.get(
                    f"{self.url}/v2/{repository}/manifests/{digest}",
                    headers={"Accept": OCI_MANIFEST},
                ).content
            )
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": size,
                    "platform": {"os": "linux", "architecture": arch},
                }
            )
        return self.manifest(
            repository,
            tag,
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries},
            OCI_INDEX,
        )

    def __enter__(self) -> RegistrySeeder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()
