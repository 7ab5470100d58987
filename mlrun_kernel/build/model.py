"""Build a model image from a folder holding ``mlk.yaml`` and a ``Dockerfile``.

Three steps keep the expert's Dockerfile plain:

1. build the folder's Dockerfile (the context carries the CA bundle for pip
   and the author runtime under ``mlk-runtime/``);
2. when the image carries the runtime, ask it for its ``@task`` parameter
   schemas and fill them into the manifest (a hand-written schema wins; a
   mismatch is a build error: :mod:`mlrun_kernel.build.runtime`);
3. a finishing layer ``FROM`` that image copies the runtime to
   ``/opt/mlk-runtime`` and the manifest to ``/mlk/manifest.json``, and sets
   every contract label and the OCI labels (version, revision from git,
   created, source, authors, licenses) through the engine's ``labels=``
   (never hand-escaped ``LABEL`` lines).

``mlk.yaml`` and the labels are validated before anything is built, so a bad
manifest or parameters schema never reaches the engine, let alone the registry.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mlrun_kernel.build.images import BuildError, LogSink, build_image, push_image, split_ref
from mlrun_kernel.build.runtime import (
    RUNTIME_DIR,
    RUNTIME_PATH,
    image_schemas,
    merge_schemas,
    runtime_files,
    task_modules,
    uses_runtime,
)
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
    data: dict[str, Any] = field(default_factory=dict)
    """The manifest as written (before generated schemas are filled in)."""

    @property
    def path(self) -> Path:
        return self.folder / BUILD_FILENAME


@dataclass(frozen=True)
class ModelBuild:
    image_id: str
    image: str  # the versioned reference, host:port/name:version
    tags: list[str]
    digest: str | None  # set once pushed
    labels: dict[str, str]
    name: str = ""
    """The repository name from mlk.yaml."""
    version: str = ""
    manifest: Manifest | None = None
    """The manifest baked in, generated parameter schemas included."""
    revision: str | None = None
    duration_seconds: float = 0.0


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
    image = str(raw["image"])
    if not _REPOSITORY.match(image):
        raise _problem(
            f"{path}: image",
            f"{image!r} is not a repository name: lowercase letters, digits and . _ - / "
            "such as 'iris-classifier'",
        )
    return BuildFile(
        folder=folder,
        image=image,
        metadata=metadata,
        manifest=parse_in(path, manifest),
        data=dict(manifest) if isinstance(manifest, dict) else {},
    )


_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def parse_in(path: Path, data: Any) -> Manifest:
    """:func:`parse_manifest`, with every problem's path prefixed by the file and ``manifest.``."""
    try:
        return parse_manifest(data)
    except ManifestError as exc:
        issues = [
            SpecIssue(f"{path}: manifest.{i.path}" if i.path else f"{path}: manifest", i.message)
            for i in exc.errors
        ]
        raise ManifestError(issues) from None


def release_note_problem(spec: BuildFile) -> ManifestError | None:
    """A publish needs the release note of the version it publishes."""
    version = spec.metadata.version
    if version in spec.manifest.release_notes:
        return None
    return _problem(
        f"{spec.path}: release_notes",
        f"has no note for version {version}: add `release_notes: {{'{version}': what changed}}` "
        "next to `version` (the model card shows it)",
    )


def git_facts(folder: Path) -> dict[str, str]:
    """``revision`` (HEAD's commit) and ``source`` (the origin remote) when ``folder`` is a git checkout."""
    facts: dict[str, str] = {}
    for key, args in (("revision", ["rev-parse", "HEAD"]), ("source", ["remote", "get-url", "origin"])):
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return facts
        if done.returncode == 0 and done.stdout.strip():
            facts[key] = done.stdout.strip()
    return facts


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
    started = time.monotonic()
    spec = load_build_file(Path(folder))
    git = git_facts(spec.folder)
    metadata = replace(
        spec.metadata,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        revision=spec.metadata.revision or git.get("revision"),
        source=spec.metadata.source or git.get("source"),
    )
    labels_for(metadata, spec.manifest)  # refuse bad metadata before the engine sees anything
    access, host = None, registry or settings().registry_host
    if isinstance(host, RegistryAccess):
        access, host = host, host.host
    elif push:  # the credentials are looked up only for a push
        access = RegistryAccess.for_host(host)
    repo = f"{host}/{spec.image}"
    tags = [f"{repo}:{spec.metadata.version}", f"{repo}:latest"]
    ca = ca_bundle  # None: the configured bundle (context.default_ca_bundle)

    runtime = runtime_files()
    body_tag = f"{repo}:build-{spec.metadata.version}"
    body = build_image(spec.folder, [body_tag], ca_bundle=ca, extra_files=runtime, on_log=on_log)
    try:
        manifest = _with_generated_schemas(spec, body.image_id, on_log)
        labels = labels_for(metadata, manifest)
        with tempfile.TemporaryDirectory(prefix="mlk-finish-") as tmp:
            finish = Path(tmp)
            (finish / "Dockerfile").write_text(
                f"FROM {body.image_id}\n"
                f"COPY {RUNTIME_DIR}/ {RUNTIME_PATH}/\n"
                f"ENV PYTHONPATH={RUNTIME_PATH}${{PYTHONPATH:+:$PYTHONPATH}}\n"
                "COPY manifest.json /mlk/manifest.json\n"
            )
            (finish / "manifest.json").write_text(manifest_to_json(manifest))
            final = build_image(finish, tags, labels=labels, ca_bundle=ca, extra_files=runtime, on_log=on_log)
    finally:
        _untag(body_tag)

    digest = None
    if push and access is not None:
        digest = _push(final.image_id, tags, access, on_log)
    return ModelBuild(
        image_id=final.image_id,
        image=tags[0],
        tags=tags,
        digest=digest,
        labels=labels,
        name=spec.image,
        version=spec.metadata.version,
        manifest=manifest,
        revision=metadata.revision,
        duration_seconds=round(time.monotonic() - started, 3),
    )


def _with_generated_schemas(spec: BuildFile, image_id: str, on_log: LogSink | None) -> Manifest:
    """The manifest with the ``@task`` schemas the image reports (when it carries the runtime)."""
    modules = task_modules(spec.data)
    if not modules or not uses_runtime(image_id):
        return spec.manifest
    if on_log:
        on_log(f"reading the parameter schemas of the @task functions in {', '.join(modules)}")
    answer = image_schemas(image_id, modules)
    data = merge_schemas(spec.data, answer, str(spec.path))
    return parse_in(spec.path, data)


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
