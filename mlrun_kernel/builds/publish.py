"""``mlk push IMAGE``: publish a tested model image, guarded.

Refused, with what to do, unless ``force`` (which is recorded with what it overrode):

- ``untested`` / ``failed-test``: the image id has no passing ``mlk test``;
- ``other-digest``: the version tag already exists in the registry with another image.

Always refused: an image whose manifest has no release note for its version.
The push sends ``:<version>``, and ``:latest`` only when the version is the
highest semantic version of the repository (a fix to an old line does not
move ``latest``). Credentials: ``MLK_REGISTRY_USERNAME``/``MLK_REGISTRY_PASSWORD``
(or the project's kept password file); without them the engine uses the
usual Docker config (``~/.docker/config.json``, credential helpers).
The registry's push notification brings the version into the catalog.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from mlrun_kernel.build.images import push_image, split_ref
from mlrun_kernel.builds.contract import local_image
from mlrun_kernel.builds.records import last_test, record_push
from mlrun_kernel.registry.access import RegistryAccess
from mlrun_kernel.registry.client import RegistryError
from mlrun_kernel.spec import highest, semver_key
from mlrun_kernel.store import Store

LogSink = Callable[[str], None]


class PublishRefused(RuntimeError):
    """The push would publish something it must not; the message says what to do."""

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons


@dataclass(frozen=True)
class Published:
    name: str
    version: str
    image_id: str
    digest: str
    references: list[str]
    moved_latest: bool
    forced: list[str] = field(default_factory=list)


def _registry_digest_of(access: RegistryAccess, name: str, tag: str) -> str | None:
    """The config digest (image id) behind ``name:tag`` in the registry, None when absent."""
    with access.reader() as registry:
        try:
            if tag not in registry.tags(name):
                return None
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise
        return registry.manifest(name, tag).config_digest


def _versions(access: RegistryAccess, name: str) -> list[str]:
    with access.reader() as registry:
        try:
            return registry.tags(name)
        except RegistryError as exc:
            if exc.status == 404:
                return []
            raise


def publish(
    reference: str,
    *,
    store: Store,
    who: str,
    force: bool = False,
    access: RegistryAccess | None = None,
    on_log: LogSink | None = None,
) -> Published:
    """Push the local image ``reference`` as ``<registry>/<name>:<version>`` (see the module docstring)."""
    import docker

    access = access or RegistryAccess.from_settings()
    found = local_image(reference)
    image_id, model, name, reference = found.image_id, found.model, found.name, found.reference
    version = model.metadata.version
    if version not in model.manifest.release_notes:
        raise PublishRefused(
            f"{reference} has no release note for version {version}: add "
            f"`release_notes: {{'{version}': what changed}}` to mlk.yaml and build again",
            ["no-release-note"],
        )
    forced: list[str] = []
    problems: list[str] = []
    tested = last_test(store, image_id)
    if tested is None:
        problems.append(f"image {image_id[:19]} has not been tested: run `mlk test {reference}` first")
        forced.append("untested")
    elif not tested.passed:
        problems.append(
            f"image {image_id[:19]} failed `mlk test` ({tested.tested_at:%Y-%m-%d %H:%M}): fix it"
        )
        forced.append("failed-test")
    existing = _registry_digest_of(access, name, version)
    if existing is not None and existing != image_id:
        problems.append(
            f"{name}:{version} already exists in the registry as another image ({existing[:19]}): "
            "raise `version` in mlk.yaml (with its release note) and build again"
        )
        forced.append("other-digest")
    if problems and not force:
        raise PublishRefused(
            "nothing was pushed:\n  " + "\n  ".join(problems) + "\n(--force pushes anyway, and is recorded)",
            forced,
        )
    tags = [t for t in _versions(access, name) if t != "latest"]
    top = highest([*tags, version])
    moved_latest = top is not None and semver_key(version) >= semver_key(top)
    push_tags = [version, "latest"] if moved_latest else [version]
    image = docker.from_env().images.get(image_id)
    digest = ""
    references = []
    for tag in push_tags:
        target = f"{access.push_host}/{name}:{tag}"
        ours = target not in (image.tags or [])
        image.tag(*split_ref(target))
        try:
            pushed = push_image(target, auth_config=access.auth_config(), on_log=on_log)
        finally:
            if ours:  # a tag made for this push only
                with contextlib.suppress(docker.errors.DockerException):
                    docker.from_env().images.remove(target, noprune=True)
        digest = digest or pushed
        references.append(f"{access.host}/{name}:{tag}")
    record_push(
        store,
        image=name,
        version=version,
        image_id=image_id,
        digest=digest,
        moved_latest=moved_latest,
        forced=forced if force else [],
        who=who,
    )
    return Published(name, version, image_id, digest, references, moved_latest, forced if force else [])
