"""Build and push images through docker-py, with errors that say what failed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError

from mlrun_kernel.build.context import context_tar

log = logging.getLogger(__name__)

LogSink = Callable[[str], None]


class BuildError(RuntimeError):
    """An image build or push failed; the message carries the engine's last words."""


@dataclass(frozen=True)
class BuiltImage:
    image_id: str
    tags: list[str]
    log: list[str] = field(default_factory=list)


def split_ref(ref: str) -> tuple[str, str]:
    """``host:5000/repo:tag`` -> (``host:5000/repo``, ``tag``); no tag means ``latest``."""
    if ":" in ref.rsplit("/", 1)[-1]:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, "latest"


def _client() -> docker.DockerClient:
    return docker.from_env(timeout=600)


def _consume(
    events: Iterable[dict[str, Any]], what: str, sink: LogSink | None
) -> tuple[list[str], dict[str, Any]]:
    """Drain a docker-py JSON stream; raise BuildError on an error event.

    A push (or a base image's pull) reports each layer's progress many times a
    second ("Pushing" with a byte count): a layer's line is kept only when its
    state changes, named by the layer ("3f2a9c1b: Pushed"), so a push reads as
    a few lines per layer, not hundreds of bare "Pushing".
    """
    lines: list[str] = []
    aux: dict[str, Any] = {}
    layers: dict[str, str] = {}  # layer id -> its last state
    for event in events:
        if "error" in event:
            detail = event.get("errorDetail", {}).get("message") or event["error"]
            tail = "\n".join(lines[-15:])
            raise BuildError(f"{what} failed: {detail.strip()}\n--- last output ---\n{tail}")
        text = event.get("stream") or event.get("status")
        layer = event.get("id")
        if layer and text and "stream" not in event:
            if layers.get(str(layer)) == text:
                continue
            layers[str(layer)] = str(text)
            text = f"{layer}: {text}"
        if text:
            for line in str(text).splitlines():
                if line.strip():
                    lines.append(line)
                    if sink:
                        sink(line)
        if isinstance(event.get("aux"), dict):
            aux.update(event["aux"])
    return lines, aux


def build_image(
    context: Path,
    tags: list[str],
    *,
    dockerfile: str = "Dockerfile",
    labels: Mapping[str, str] | None = None,
    buildargs: Mapping[str, str] | None = None,
    ca_bundle: Path | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    on_log: LogSink | None = None,
) -> BuiltImage:
    """Build ``context`` with its Dockerfile and tag the result with every name in ``tags``."""
    if not tags:
        raise ValueError("build_image needs at least one tag")
    client = _client()
    with context_tar(context, dockerfile=dockerfile, ca_bundle=ca_bundle, extra_files=extra_files) as tar:
        try:
            events = client.api.build(
                fileobj=tar,
                custom_context=True,
                dockerfile=dockerfile,
                tag=tags[0],
                labels=dict(labels or {}),
                buildargs=dict(buildargs or {}),
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
            )
            lines, aux = _consume(events, f"building {tags[0]} from {context}", on_log)
        except APIError as exc:
            raise BuildError(f"building {tags[0]} from {context} failed: {exc.explanation or exc}") from exc
    image_id = aux.get("ID") or client.images.get(tags[0]).id
    image = client.images.get(image_id)
    for ref in tags[1:]:
        image.tag(*split_ref(ref))
    return BuiltImage(image_id=image_id, tags=list(tags), log=lines)


class PushRefused(BuildError):
    """The registry refused a push for want of valid credentials."""


# What the engine says when a registry's auth refuses a push (docker 20-26).
_REFUSALS = ("no basic auth credentials", "unauthorized", "authentication required", "denied")


def push_image(
    ref: str, *, auth_config: Mapping[str, str] | None = None, on_log: LogSink | None = None
) -> str:
    """Push ``ref`` (``host:port/repo:tag``) and return the manifest digest the registry stored.

    ``auth_config`` (``{"username": ..., "password": ...}``) goes to the engine for this push
    only; nothing is written to a Docker config file.
    """
    repo, tag = split_ref(ref)
    client = _client()
    what = f"pushing {ref}"
    try:
        events = client.api.push(
            repo, tag=tag, stream=True, decode=True, auth_config=dict(auth_config) if auth_config else None
        )
        _, aux = _consume(events, what, on_log)
    except BuildError as exc:
        raise _refused(exc, ref, auth_config) from exc
    except APIError as exc:
        raise _refused(BuildError(f"{what} failed: {exc.explanation or exc}"), ref, auth_config) from exc
    digest = aux.get("Digest")
    if not digest:
        raise BuildError(f"{what}: the registry returned no digest")
    return str(digest)


def _refused(error: BuildError, ref: str, auth_config: Mapping[str, str] | None) -> BuildError:
    """A refusal for want of credentials, said so with what to do; other errors as they are."""
    first_line = str(error).splitlines()[0]
    host = ref.split("/", 1)[0]
    if "HTTP 405" in first_line:  # the project's pull side: read-only
        return PushRefused(
            f"{first_line}\nThe registry at {host} serves pulls only: push to its push side "
            "(MLK_REGISTRY_PUSH_URL; the project's registry takes pushes on 127.0.0.1:5001)."
        )
    if not any(word in first_line.lower() for word in _REFUSALS):
        return error
    who = f"user {auth_config['username']!r} was refused" if auth_config else "no credentials were given"
    return PushRefused(
        f"{first_line}\nThe registry at {host} takes pushes only with valid credentials ({who}): set "
        "MLK_REGISTRY_USERNAME and MLK_REGISTRY_PASSWORD, or MLK_REGISTRY_PASSWORD_FILE (the project's "
        "registry keeps its password in <data folder>/registry-password, made by scripts/registry.sh)."
    )
