"""Build a model image from a folder holding ``mlk.yaml`` and a ``Dockerfile``.

Two steps keep the expert's Dockerfile plain:

1. build the folder's Dockerfile (the CA bundle injected for pip);
2. a finishing layer ``FROM`` that image copies the manifest to
   ``/mlk/manifest.json`` and sets every contract label from ``mlk.yaml``
   through the engine's ``labels=`` (never hand-escaped ``LABEL`` lines).

The manifest is validated before anything is built, so a bad manifest or
parameters schema never reaches the registry.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlrun_kernel.build.images import BuildError, LogSink, build_image, push_image, split_ref
from mlrun_kernel.config import settings
from mlrun_kernel.registry.access import RegistryAccess
from mlrun_kernel.spec import (
    Manifest,
    ManifestError,
    ModelMetadata,
    SpecIssue,
    labels_for,
    manifest_to_json,
    parse_manifest,
)

BUILD_FILENAME = "mlk.yaml"
_METADATA_KEYS = (
    "title",
    "description",
    "version",
    "authors",
    "source",
    "licenses",
    "documentation",
)

_MANIFEST_KEYS = ("release_notes", "resolves")
"""Manifest fields mlk.yaml also takes at its top level."""


@dataclass(frozen=True)
class BuildFile:
    """What ``mlk.yaml`` says: the repository name, the model card, the manifest."""

    folder: Path
    image: str
    metadata: ModelMetadata
    manifest: Manifest


@dataclass(frozen=True)
class ModelBuild:
    image_id: str
    image: str  # the versioned reference, host:port/name:version
    tags: list[str]
    digest: str | None  # set once pushed
    labels: dict[str, str]


def load_build_file(folder: Path) -> BuildFile:
    """Read and validate ``folder/mlk.yaml``; raise ManifestError naming what is wrong."""
    path = folder / BUILD_FILENAME
    if not path.is_file():
        raise _problem(str(path), f"no {BUILD_FILENAME} in {folder}")
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise _problem(str(path), f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise _problem(str(path), "must be a mapping with image, title, ... and manifest")
    unknown = set(raw) - {"image", "manifest", *_MANIFEST_KEYS, *_METADATA_KEYS}
    if unknown:
        raise _problem(str(path), f"unknown keys: {', '.join(sorted(unknown))}")
    for key in ("image", "title", "description", "version", "manifest"):
        if key not in raw:
            raise _problem(f"{path}: {key}", "is required")
    manifest = raw["manifest"]
    if isinstance(manifest, dict):
        for key in _MANIFEST_KEYS:  # may sit next to `version`, where an expert looks for them
            if key in raw:
                if key in manifest:
                    raise _problem(f"{path}: {key}", "is given both at the top level and under manifest")
                manifest = {**manifest, key: raw[key]}
    metadata = ModelMetadata(**{k: str(raw[k]).strip() for k in _METADATA_KEYS if raw.get(k) is not None})
    return BuildFile(
        folder=folder,
        image=str(raw["image"]),
        metadata=metadata,
        manifest=parse_manifest(manifest),
    )


def _problem(path: str, message: str) -> ManifestError:
    return ManifestError([SpecIssue(path, message)])


def build_model(
    folder: Path | str,
    *,
    registry: str | RegistryAccess | None = None,
    push: bool = False,
    ca_bundle: Path | None = None,
    on_log: LogSink | None = None,
) -> ModelBuild:
    """Build (and optionally push) the model in ``folder``.

    Tags ``<registry>/<image>:<version>`` and ``:latest``, ``<registry>`` being the pull
    host image references name. ``registry`` is a ``host:port`` or a
    :class:`RegistryAccess`; default: the configured registry. A push goes to the
    registry's push side with its credentials (the image is tagged for the push host for
    the push only): the same storage, so the digest is the one the pull host serves.
    """
    spec = load_build_file(Path(folder))
    access, host = None, registry or settings().registry_host
    if isinstance(host, RegistryAccess):
        access, host = host, host.host
    elif push:  # the credentials are looked up only for a push
        access = RegistryAccess.for_host(host)
    repo = f"{host}/{spec.image}"
    tags = [f"{repo}:{spec.metadata.version}", f"{repo}:latest"]
    ca = ca_bundle  # None: the configured bundle (context.default_ca_bundle)

    body = build_image(spec.folder, [f"{repo}:build-{spec.metadata.version}"], ca_bundle=ca, on_log=on_log)
    labels = labels_for(spec.metadata, spec.manifest)
    with tempfile.TemporaryDirectory(prefix="mlk-finish-") as tmp:
        finish = Path(tmp)
        (finish / "Dockerfile").write_text(f"FROM {body.image_id}\nCOPY manifest.json /mlk/manifest.json\n")
        (finish / "manifest.json").write_text(manifest_to_json(spec.manifest))
        final = build_image(finish, tags, labels=labels, ca_bundle=ca, on_log=on_log)
    _untag(f"{repo}:build-{spec.metadata.version}")

    digest = None
    if push and access is not None:
        digest = _push(final.image_id, tags, access, on_log)
    return ModelBuild(image_id=final.image_id, image=tags[0], tags=tags, digest=digest, labels=labels)


def _push(image_id: str, tags: list[str], access: RegistryAccess, on_log: LogSink | None) -> str:
    """Push every tag through the push side; return the first tag's digest."""
    import docker

    auth = access.auth_config()
    if access.push_host == access.host:
        digests = [push_image(ref, auth_config=auth, on_log=on_log) for ref in tags]
        return digests[0]
    image = docker.from_env().images.get(image_id)
    push_refs = [f"{access.push_host}/{ref.split('/', 1)[1]}" for ref in tags]
    try:
        for ref in push_refs:
            image.tag(*split_ref(ref))
        digests = [push_image(ref, auth_config=auth, on_log=on_log) for ref in push_refs]
    finally:
        for ref in push_refs:
            _untag(ref)
    return digests[0]


def _untag(ref: str) -> None:
    """Drop the intermediate tag; the layers stay as the final image's parent."""
    import docker

    try:
        docker.from_env().images.remove(ref, noprune=True)
    except docker.errors.DockerException as exc:  # pragma: no cover - cleanup only
        raise BuildError(f"could not remove intermediate tag {ref}: {exc}") from exc
