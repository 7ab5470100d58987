"""Labels: how a model image carries its contract.

The platform reads everything it shows about a model from the image config's
labels, through the registry's v2 API, without pulling the image.
:func:`parse_labels` is the read side (labels -> :class:`ModelImage`);
:func:`labels_for` is the build side (metadata and manifest -> labels), its
exact inverse. Both refuse the same things, so an image the build accepts is
an image the catalog can read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache

from .errors import LabelError, SpecIssue
from .manifest import Manifest, manifest_to_json, parse_manifest
from .parameters import _reject_constant

__all__ = [
    "LABEL_MANIFEST",
    "LABEL_SPEC_VERSION",
    "MAX_MANIFEST_BYTES",
    "METADATA_LABELS",
    "SPEC_VERSION",
    "ModelImage",
    "ModelMetadata",
    "is_model_image",
    "labels_for",
    "parse_labels",
]

SPEC_VERSION = "1"
"""The contract version this package reads and writes."""

LABEL_SPEC_VERSION = "io.mlkernel.spec-version"
"""Marks an image as a model; its value is the contract version."""

LABEL_MANIFEST = "io.mlkernel.manifest"
"""The manifest, compact JSON."""

MAX_MANIFEST_BYTES = 64 * 1024
"""The manifest label's limit, counted in UTF-8 bytes."""

_OCI = "org.opencontainers.image."

METADATA_LABELS: dict[str, str] = {
    "title": _OCI + "title",
    "description": _OCI + "description",
    "version": _OCI + "version",
    "authors": _OCI + "authors",
    "source": _OCI + "source",
    "licenses": _OCI + "licenses",
    "documentation": _OCI + "documentation",
    "created": _OCI + "created",
    "revision": _OCI + "revision",
}
""":class:`ModelMetadata` field -> OCI annotation label."""

_REQUIRED = ("title", "description", "version")

_SEMVER = re.compile(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


@dataclass(frozen=True)
class ModelMetadata:
    """What the model card shows, from the standard OCI labels."""

    title: str
    description: str
    """One paragraph; Markdown allowed."""
    version: str
    """Semantic version of the model (``1.2.0``, ``2.0.0-rc.1``)."""
    authors: str | None = None
    source: str | None = None
    licenses: str | None = None
    documentation: str | None = None
    created: str | None = None
    revision: str | None = None


@dataclass(frozen=True)
class ModelImage:
    """Everything the labels of a model image say."""

    metadata: ModelMetadata
    manifest: Manifest
    spec_version: str = SPEC_VERSION


def is_model_image(labels: Mapping[str, str] | None) -> bool:
    """Whether an image says it is a model (it may still break the contract)."""
    return labels is not None and LABEL_SPEC_VERSION in labels


def parse_labels(labels: Mapping[str, str]) -> ModelImage:
    """Read a model image from its labels.

    Raises :class:`LabelError` when the labels themselves are wrong (listing
    every such problem), and :class:`~mlrun_kernel.spec.errors.ManifestError`
    when the manifest label is JSON that breaks the contract.
    """
    version = labels.get(LABEL_SPEC_VERSION)
    if version is None:
        raise LabelError(
            f"not a model image: label {LABEL_SPEC_VERSION} is missing", label=LABEL_SPEC_VERSION
        )
    if version != SPEC_VERSION:
        raise LabelError(
            f"label {LABEL_SPEC_VERSION} is {version!r}: this platform reads model images of "
            f"spec version {SPEC_VERSION!r} only",
            label=LABEL_SPEC_VERSION,
        )
    issues: list[SpecIssue] = []
    raw = labels.get(LABEL_MANIFEST)
    if raw is None:
        issues.append(SpecIssue(LABEL_MANIFEST, "is missing"))
    elif not isinstance(raw, str):
        issues.append(SpecIssue(LABEL_MANIFEST, "must be a string"))
    else:
        problem = _size_problem(raw)
        if problem:
            issues.append(SpecIssue(LABEL_MANIFEST, problem))
        else:
            try:
                json.loads(raw, parse_constant=_reject_constant)  # label-level check first
            except ValueError as error:  # json.JSONDecodeError, or NaN/Infinity
                issues.append(SpecIssue(LABEL_MANIFEST, f"is not valid JSON: {error}"))
            except RecursionError:
                issues.append(SpecIssue(LABEL_MANIFEST, "is nested too deeply to read"))
    values = {name: labels.get(label) for name, label in METADATA_LABELS.items()}
    issues.extend(_metadata_issues(values))
    if issues:
        raise LabelError(issues)
    metadata = ModelMetadata(**values)  # type: ignore[arg-type]
    assert isinstance(raw, str)  # no issues means the label is a string
    manifest = _manifest_from_label(raw)
    return ModelImage(metadata=metadata, manifest=manifest, spec_version=version)


@lru_cache(maxsize=1024)
def _manifest_from_label(raw: str) -> Manifest:
    """Parse a manifest label once per distinct text.

    Many versions of a model carry the same manifest, and a catalog sync parses
    every new version; validation is the costly part. Manifests are frozen
    dataclasses: callers must not mutate the schemas inside them.
    """
    return parse_manifest(raw)


def labels_for(metadata: ModelMetadata, manifest: Manifest) -> dict[str, str]:
    """The labels to build a model image with (``docker build --label``, docker-py ``labels=``).

    Refuses what :func:`parse_labels` would refuse: bad metadata or an
    oversized manifest (:class:`LabelError`), a manifest that does not
    validate (:class:`~mlrun_kernel.spec.errors.ManifestError`).
    """
    values = {item.name: getattr(metadata, item.name) for item in fields(metadata)}
    issues = _metadata_issues(values)
    text = manifest_to_json(manifest)
    problem = _size_problem(text)
    if problem:
        issues.insert(0, SpecIssue(LABEL_MANIFEST, problem))
    if issues:
        raise LabelError(issues)
    parse_manifest(text)  # the build refuses what the catalog would refuse
    labels = {LABEL_SPEC_VERSION: SPEC_VERSION, LABEL_MANIFEST: text}
    for name, label in METADATA_LABELS.items():
        if values[name] is not None:
            labels[label] = values[name]
    return labels


def _size_problem(text: str) -> str | None:
    size = len(text.encode("utf-8"))
    if size > MAX_MANIFEST_BYTES:
        return (
            f"is {size} bytes, over the limit of {MAX_MANIFEST_BYTES} bytes (64 KiB); "
            "shorten descriptions, or link long documentation from "
            "org.opencontainers.image.documentation"
        )
    return None


def _metadata_issues(values: Mapping[str, object]) -> list[SpecIssue]:
    issues = []
    for name, label in METADATA_LABELS.items():
        value = values.get(name)
        if value is None:
            if name in _REQUIRED:
                issues.append(SpecIssue(label, "is missing"))
        elif not isinstance(value, str):
            issues.append(SpecIssue(label, "must be a string"))
        elif name in _REQUIRED and not value.strip():
            issues.append(SpecIssue(label, "is empty"))
        elif name == "version" and not _SEMVER.match(value):
            leading_v = value[:1] in ("v", "V") and _SEMVER.match(value[1:])
            hint = " (drop the leading 'v')" if leading_v else ""
            issues.append(
                SpecIssue(
                    label,
                    f"is {value!r}, which is not a semantic version (MAJOR.MINOR.PATCH such as 1.2.0){hint}",
                )
            )
    return issues
