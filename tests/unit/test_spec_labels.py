"""Labels: the build writes them, the catalog reads them back, and both refuse the same things."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlrun_kernel.spec import (
    LABEL_MANIFEST,
    LABEL_SPEC_VERSION,
    MAX_MANIFEST_BYTES,
    SPEC_VERSION,
    LabelError,
    Manifest,
    ManifestError,
    ModelImage,
    ModelMetadata,
    OutputSpec,
    SpecError,
    Task,
    is_model_image,
    labels_for,
    manifest_to_json,
    parse_labels,
    parse_manifest,
)

TITLE = "org.opencontainers.image.title"
DESCRIPTION = "org.opencontainers.image.description"
VERSION = "org.opencontainers.image.version"

MANIFEST = parse_manifest(
    {
        "tasks": {
            "predict": {
                "description": "Label each row.",
                "parameters": {
                    "type": "object",
                    "properties": {"threshold": {"type": "number", "default": 0.5}},
                },
                "inputs": {"data": {"media_types": ["text/csv"]}},
            }
        },
        "keywords": ["tabular"],
    }
)
METADATA = ModelMetadata(title="Iris", description="Classifies *iris* flowers.", version="1.0.0")


def labels(**changes: str | None) -> dict[str, str]:
    """Valid labels, with some replaced (``None`` removes one)."""
    result = labels_for(METADATA, MANIFEST)
    for key, value in changes.items():
        label = {
            "title": TITLE,
            "description": DESCRIPTION,
            "version": VERSION,
            "manifest": LABEL_MANIFEST,
            "spec": LABEL_SPEC_VERSION,
        }[key]
        if value is None:
            result.pop(label, None)
        else:
            result[label] = value
    return result


def label_error(values: dict[str, Any]) -> LabelError:
    with pytest.raises(LabelError) as caught:
        parse_labels(values)
    return caught.value


def padded_manifest(size: int, filler: str = "x") -> str:
    """Compact manifest JSON of exactly ``size`` UTF-8 bytes (padding in an ``x-`` field)."""
    base = json.loads(manifest_to_json(MANIFEST))
    base["x-pad"] = ""
    empty = len(json.dumps(base, separators=(",", ":"), ensure_ascii=False).encode())
    missing = size - empty
    width = len(filler.encode())
    base["x-pad"] = filler * (missing // width) + "x" * (missing % width)
    text = json.dumps(base, separators=(",", ":"), ensure_ascii=False)
    assert len(text.encode()) == size
    return text


# --------------------------------------------------------------------------- constants


def test_public_constants() -> None:
    assert SPEC_VERSION == "1"
    assert LABEL_SPEC_VERSION == "io.mlkernel.spec-version"
    assert LABEL_MANIFEST == "io.mlkernel.manifest"
    assert MAX_MANIFEST_BYTES == 65536


# --------------------------------------------------------------------------- round trip


def test_labels_for_then_parse_labels_gives_the_same_model_image() -> None:
    full = ModelMetadata(
        title="Iris classifier",
        description="Classifies iris flowers; *Markdown* allowed.",
        version="2.1.0-rc.1+build.5",
        authors="Jane Doe <jane@example.org>",
        source="https://example.org/iris",
        licenses="Apache-2.0",
        documentation="https://example.org/iris/docs",
        created="2024-05-01T12:00:00Z",
        revision="0123abc",
    )
    written = labels_for(full, MANIFEST)

    assert parse_labels(written) == ModelImage(metadata=full, manifest=MANIFEST, spec_version="1")


def test_labels_for_writes_exactly_the_contract_labels() -> None:
    written = labels_for(METADATA, MANIFEST)

    assert written == {
        LABEL_SPEC_VERSION: "1",
        LABEL_MANIFEST: manifest_to_json(MANIFEST),
        TITLE: "Iris",
        DESCRIPTION: "Classifies *iris* flowers.",
        VERSION: "1.0.0",
    }
    assert " " not in written[LABEL_MANIFEST].replace("Label each row.", "")


def test_other_labels_on_the_image_are_ignored() -> None:
    values = labels()
    values["maintainer"] = "someone"
    values["org.opencontainers.image.vendor"] = "ACME"
    assert parse_labels(values).metadata == METADATA


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (None, False),
        ({}, False),
        ({"maintainer": "x"}, False),
        ({LABEL_SPEC_VERSION: "1"}, True),
        ({LABEL_SPEC_VERSION: "2"}, True),  # a model, of a version we may not read
    ],
)
def test_is_model_image(values: dict[str, str] | None, expected: bool) -> None:
    assert is_model_image(values) is expected


# --------------------------------------------------------------------------- refusals


def test_image_without_spec_version_is_not_a_model() -> None:
    error = label_error({"maintainer": "x"})
    assert str(error) == "not a model image: label io.mlkernel.spec-version is missing"
    assert error.errors[0].path == LABEL_SPEC_VERSION
    assert isinstance(error, SpecError)


@pytest.mark.parametrize("version", ["2", "1.0", "", " 1"])
def test_unsupported_spec_version(version: str) -> None:
    error = label_error(labels(spec=version))
    assert str(error) == (
        f"label io.mlkernel.spec-version is {version!r}: this platform reads model images of "
        "spec version '1' only"
    )


def test_missing_manifest_label() -> None:
    assert str(label_error(labels(manifest=None))) == "label io.mlkernel.manifest is missing"


def test_manifest_label_that_is_not_json_gives_the_position() -> None:
    error = label_error(labels(manifest='{"tasks" {}}'))
    assert str(error) == (
        "label io.mlkernel.manifest is not valid JSON: Expecting ':' delimiter: line 1 column 10 (char 9)"
    )
    assert error.errors[0].path == LABEL_MANIFEST


def test_manifest_label_nested_past_the_parser_is_refused() -> None:
    error = label_error(labels(manifest="[" * 30000 + "]" * 30000))
    assert str(error) == "label io.mlkernel.manifest is nested too deeply to read"


def test_manifest_label_exactly_at_the_limit_is_read() -> None:
    text = padded_manifest(MAX_MANIFEST_BYTES)
    image = parse_labels(labels(manifest=text))
    assert len(image.manifest.extensions["x-pad"]) > 60000


def test_manifest_label_one_byte_over_the_limit_is_refused() -> None:
    error = label_error(labels(manifest=padded_manifest(MAX_MANIFEST_BYTES + 1)))
    assert str(error) == (
        "label io.mlkernel.manifest is 65537 bytes, over the limit of 65536 bytes (64 KiB); "
        "shorten descriptions, or link long documentation from "
        "org.opencontainers.image.documentation"
    )


def test_the_limit_counts_utf8_bytes_not_characters() -> None:
    text = padded_manifest(MAX_MANIFEST_BYTES + 1, filler="é")  # two bytes each
    assert len(text) < MAX_MANIFEST_BYTES
    with pytest.raises(LabelError, match="65537 bytes, over the limit of 65536 bytes"):
        parse_labels(labels(manifest=text))
    assert parse_labels(labels(manifest=padded_manifest(MAX_MANIFEST_BYTES, filler="é")))


@pytest.mark.parametrize(
    ("missing", "label"),
    [("title", TITLE), ("description", DESCRIPTION), ("version", VERSION)],
)
def test_missing_model_card_label_is_named(missing: str, label: str) -> None:
    error = label_error(labels(**{missing: None}))
    assert str(error) == f"label {label} is missing"
    assert [issue.path for issue in error.errors] == [label]


def test_every_label_problem_is_listed() -> None:
    error = label_error(labels(manifest="{", title=None, description="  ", version="v1.2.0"))
    assert str(error).splitlines() == [
        "label io.mlkernel.manifest is not valid JSON: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "label org.opencontainers.image.title is missing",
        "label org.opencontainers.image.description is empty",
        "label org.opencontainers.image.version is 'v1.2.0', which is not a semantic version "
        "(MAJOR.MINOR.PATCH such as 1.2.0) (drop the leading 'v')",
    ]


@pytest.mark.parametrize(
    "version",
    [
        "0.0.0",
        "1.2.3",
        "10.20.30",
        "1.0.0-alpha",
        "1.0.0-rc.1",
        "1.0.0-0.3.7",
        "1.0.0+20240501",
        "1.0.0-beta+exp.sha.5114f85",
        "2.0.0-x-y.7z.92",
    ],
)
def test_semantic_versions_are_accepted(version: str) -> None:
    assert parse_labels(labels(version=version)).metadata.version == version


@pytest.mark.parametrize(
    "version",
    ["1", "1.0", "1.0.0.0", "01.0.0", "1.02.0", "1.0.0-", "1.0.0-01", "1.0.0+", "latest", "1.0.0 "],
)
def test_other_versions_are_refused(version: str) -> None:
    error = label_error(labels(version=version))
    assert str(error) == (
        f"label org.opencontainers.image.version is {version!r}, which is not a semantic "
        "version (MAJOR.MINOR.PATCH such as 1.2.0)"
    )


def test_invalid_manifest_in_labels_raises_manifest_error() -> None:
    with pytest.raises(ManifestError) as caught:
        parse_labels(labels(manifest='{"tasks":{}}'))
    assert str(caught.value) == "tasks: must declare at least one task"


# --------------------------------------------------------------------------- the build side


def test_build_refuses_bad_metadata_like_the_catalog() -> None:
    bad = ModelMetadata(title="", description="d", version="1.0")
    with pytest.raises(LabelError) as caught:
        labels_for(bad, MANIFEST)
    assert str(caught.value).splitlines() == [
        "label org.opencontainers.image.title is empty",
        "label org.opencontainers.image.version is '1.0', which is not a semantic version "
        "(MAJOR.MINOR.PATCH such as 1.2.0)",
    ]


def test_build_refuses_an_oversized_manifest() -> None:
    big = Manifest(tasks=MANIFEST.tasks, extensions={"x-pad": "é" * 40000})
    with pytest.raises(LabelError, match=r"is 8\d{4} bytes, over the limit of 65536 bytes"):
        labels_for(METADATA, big)


def test_build_refuses_a_hand_built_manifest_that_does_not_validate() -> None:
    bad = Manifest(
        tasks={
            "predict": Task(
                name="predict",
                description="d",
                outputs={"out": OutputSpec(name="out", path="../escape.csv")},
            )
        }
    )
    with pytest.raises(ManifestError) as caught:
        labels_for(METADATA, bad)
    assert str(caught.value) == "tasks.predict.outputs.out.path: must not contain '..'"
