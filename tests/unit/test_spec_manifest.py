"""The manifest: what an expert writes, what the platform reads, what it refuses and why."""

from __future__ import annotations

import copy
import datetime
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mlrun_kernel.spec import (
    DRAFT_7,
    EMPTY_PARAMETERS_SCHEMA,
    MAX_NESTING,
    Example,
    InputSpec,
    Manifest,
    ManifestError,
    MetricSpec,
    OutputSpec,
    Resources,
    SpecIssue,
    Task,
    manifest_schema,
    manifest_to_json,
    parse_manifest,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "model-spec.md"

THRESHOLD = {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5}


def spec_example() -> str:
    """The manifest example of the normative doc, verbatim."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"## The manifest\n\n```json\n(.*?)```", text, re.S)
    assert match, "docs/model-spec.md lost its manifest example"
    return match.group(1)


def good() -> dict[str, Any]:
    """A small valid manifest that the bad cases below break one thing at a time."""
    return {
        "tasks": {
            "predict": {
                "description": "Label each row.",
                "command": ["python", "-m", "model", "predict"],
                "parameters": {"type": "object", "properties": {"threshold": dict(THRESHOLD)}},
                "inputs": {"data": {"media_types": ["text/csv"]}},
                "outputs": {"predictions": {"path": "predictions.csv", "media_type": "text/csv"}},
                "metrics": {"accuracy": {"goal": "maximize", "range": [0, 1]}},
            }
        },
        "examples": [{"task": "predict", "inputs": {"data": "/mlk/examples/iris.csv"}}],
    }


def issues_of(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data)
    return [(issue.path, issue.message) for issue in caught.value.errors]


# --------------------------------------------------------------------------- good manifests


def test_model_spec_example_parses_verbatim() -> None:
    manifest = parse_manifest(spec_example())

    assert list(manifest.tasks) == ["predict", "evaluate"]
    predict = manifest.tasks["predict"]
    assert predict.name == "predict"
    assert predict.command == ("python", "-m", "model", "predict")
    assert predict.parameters["properties"]["threshold"]["default"] == 0.5
    assert predict.inputs == {
        "data": InputSpec(
            name="data", description="rows to classify", media_types=("text/csv",), required=True
        )
    }
    assert predict.outputs["predictions"] == OutputSpec(
        name="predictions", path="predictions.csv", media_type="text/csv"
    )
    assert predict.metrics == {}
    evaluate = manifest.tasks["evaluate"]
    assert evaluate.inputs["data"].description == ""
    assert evaluate.metrics["accuracy"] == MetricSpec(name="accuracy", goal="maximize", range=(0.0, 1.0))
    assert manifest.resources == Resources(memory="1g", cpus=1.0, gpus=0, timeout_seconds=1800, network=False)
    assert manifest.resources.memory_bytes == 1024**3
    assert manifest.keywords == ("classification", "tabular")
    assert manifest.examples == (
        Example(
            task="predict",
            parameters={"threshold": 0.7},
            inputs={"data": "/mlk/examples/iris.csv"},
        ),
    )


def test_minimal_manifest_gets_every_documented_default() -> None:
    manifest = parse_manifest({"tasks": {"predict": {"description": "Predict."}}})

    task = manifest.tasks["predict"]
    assert task == Task(name="predict", description="Predict.")
    assert task.command is None
    assert task.parameters == {"type": "object", "properties": {}} == EMPTY_PARAMETERS_SCHEMA
    assert task.inputs == task.outputs == task.metrics == task.extensions == {}
    assert manifest.resources == Resources()
    assert (Resources().memory, Resources().cpus, Resources().gpus) == ("1g", 1.0, 0)
    assert (Resources().timeout_seconds, Resources().network) == (3600, False)
    assert manifest.keywords == () and manifest.examples == () and manifest.extensions == {}


def test_input_output_metric_defaults() -> None:
    data = good()
    task = data["tasks"]["predict"]
    task["inputs"] = {"data": {}}
    task["outputs"] = {"plots": {"path": "plots/"}}
    task["metrics"] = {"loss": {"goal": "minimize"}}
    data["examples"] = []

    parsed = parse_manifest(data).tasks["predict"]

    assert parsed.inputs["data"] == InputSpec(
        name="data", description="", media_types=(), required=True, multiple=False
    )
    assert parsed.outputs["plots"] == OutputSpec(
        name="plots", path="plots/", media_type="application/octet-stream"
    )
    assert parsed.metrics["loss"] == MetricSpec(name="loss", goal="minimize", range=None)


@pytest.mark.parametrize(
    ("memory", "size"),
    [
        ("512m", 512 * 1024**2),
        ("1g", 1024**3),
        ("1G", 1024**3),
        ("2GB", 2 * 1024**3),
        ("1.5g", int(1.5 * 1024**3)),
        ("6m", 6 * 1024**2),
        ("8192k", 8 * 1024**2),
        ("10485760", 10 * 1024**2),
        ("10485760b", 10 * 1024**2),
    ],
)
def test_memory_sizes_in_binary_units(memory: str, size: int) -> None:
    data = good()
    data["resources"] = {"memory": memory}
    assert parse_manifest(data).resources.memory_bytes == size


def test_json_text_and_dict_parse_the_same() -> None:
    assert parse_manifest(json.dumps(good())) == parse_manifest(good())


def test_draft7_parameters_schema_is_accepted() -> None:
    data = good()
    data["tasks"]["predict"]["parameters"] = {
        "$schema": DRAFT_7,
        "type": "object",
        "definitions": {"share": {"type": "number", "minimum": 0, "maximum": 1}},
        "properties": {
            "threshold": {"$ref": "#/definitions/share"},
            "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
        },
    }
    assert parse_manifest(data).tasks["predict"].parameters["$schema"] == DRAFT_7


def test_x_keys_are_kept_at_top_level_and_in_tasks() -> None:
    data = good()
    data["x-team"] = {"owner": "ml"}
    data["tasks"]["predict"]["x-gpu-kind"] = "a100"

    manifest = parse_manifest(data)

    assert manifest.extensions == {"x-team": {"owner": "ml"}}
    assert manifest.tasks["predict"].extensions == {"x-gpu-kind": "a100"}
    assert parse_manifest(manifest_to_json(manifest)) == manifest


def test_x_order_as_list_or_per_property_integer() -> None:
    data = good()
    data["tasks"]["predict"]["parameters"] = {
        "type": "object",
        "x-order": ["b", "a"],
        "properties": {
            "a": {"type": "string", "x-order": 1},
            "b": {"type": "object", "x-order": 0, "properties": {"c": {"x-order": 0}}},
        },
    }
    parse_manifest(data)


def test_parsed_manifest_does_not_share_state_with_the_input() -> None:
    data = good()
    data["examples"][0]["parameters"] = {"threshold": 0.7}
    manifest = parse_manifest(data)

    data["tasks"]["predict"]["parameters"]["properties"]["threshold"]["default"] = 0.9
    data["examples"][0]["parameters"]["threshold"] = 0.1

    assert manifest.tasks["predict"].parameters["properties"]["threshold"]["default"] == 0.5
    assert manifest.examples[0].parameters == {"threshold": 0.7}


def test_default_parameters_schema_is_not_shared_between_tasks() -> None:
    one, two = Task(name="a", description="a"), Task(name="b", description="b")
    one.parameters["properties"]["x"] = {}
    assert two.parameters == {"type": "object", "properties": {}}
    assert EMPTY_PARAMETERS_SCHEMA == {"type": "object", "properties": {}}


# --------------------------------------------------------------------------- round trip


def test_manifest_to_json_is_compact_and_round_trips() -> None:
    manifest = parse_manifest(spec_example())
    text = manifest_to_json(manifest)

    assert ", " not in text and ": " not in text and "\n" not in text
    assert parse_manifest(text) == manifest
    assert manifest_to_json(parse_manifest(text)) == text


def test_round_trip_keeps_every_field_and_unicode() -> None:
    data = good()
    task = data["tasks"]["predict"]
    task["inputs"] = {
        "data": {"description": "Zeilen à classer", "media_types": ["text/csv"]},
        "extra": {"required": False, "multiple": True, "media_types": ["image/*"]},
    }
    task["outputs"]["report"] = {
        "path": "out/report.html",
        "media_type": "text/html",
        "description": "Bericht",
    }
    task["metrics"]["loss"] = {"goal": "minimize", "description": "log loss"}
    data["resources"] = {
        "memory": "512m",
        "cpus": 2,
        "gpus": 1,
        "timeout_seconds": 60,
        "network": True,
    }
    data["keywords"] = ["ü", "tabular"]
    data["examples"] = [
        {
            "task": "predict",
            "title": "Iris",
            "parameters": {"threshold": 0.2},
            "inputs": {"data": "/mlk/examples/iris.csv", "extra": ["/mlk/a.png", "/mlk/b.png"]},
        }
    ]
    manifest = parse_manifest(data)
    text = manifest_to_json(manifest)

    assert "à" in text  # UTF-8, not \\u escapes: the 64 KiB limit counts bytes
    assert parse_manifest(text) == manifest
    assert manifest.resources.cpus == 2.0
    assert manifest.examples[0].inputs["extra"] == ("/mlk/a.png", "/mlk/b.png")


def test_hand_built_manifest_round_trips() -> None:
    manifest = Manifest(
        tasks={
            "predict": Task(
                name="predict",
                description="Predict.",
                inputs={"data": InputSpec(name="data", media_types=("text/csv",))},
                outputs={"out": OutputSpec(name="out", path="out.csv", media_type="text/csv")},
            )
        },
        examples=(Example(task="predict", inputs={"data": "/mlk/examples/a.csv"}),),
    )
    assert parse_manifest(manifest_to_json(manifest)) == manifest


# --------------------------------------------------------------------------- bad manifests

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """A mutation that sets ``a.b.0.c`` in the good manifest (creating nothing else)."""

    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return apply


def _delete(path: str) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return apply


def _rename_task(new: str) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        data["tasks"][new] = data["tasks"].pop("predict")
        data["examples"] = []

    return apply


P = "tasks.predict"
PARAMS = f"{P}.parameters"
NAME_RULE = "must start with a lowercase letter and use only a-z, 0-9, '_' and '-' (at most 63 characters)"
TYPES = "array, boolean, integer, null, number, object, string"

BAD_CASES: list[tuple[str, Mutation, list[tuple[str, str]]]] = [
    ("no-tasks", _delete("tasks"), [("tasks", "is required")]),
    ("empty-tasks", _set("tasks", {}), [("tasks", "must declare at least one task")]),
    ("tasks-not-object", _set("tasks", []), [("tasks", "must be an object")]),
    ("task-name-uppercase", _rename_task("Predict"), [("tasks.Predict", f"task name {NAME_RULE}")]),
    (
        "task-name-too-long",
        _rename_task("p" * 64),
        [(f"tasks.{'p' * 64}", f"task name {NAME_RULE}")],
    ),
    ("task-name-digit-first", _rename_task("1st"), [("tasks.1st", f"task name {NAME_RULE}")]),
    ("task-not-object", _set(P, "predict things"), [(P, "must be an object")]),
    ("no-description", _delete(f"{P}.description"), [(f"{P}.description", "is required")]),
    (
        "empty-description",
        _set(f"{P}.description", ""),
        [(f"{P}.description", "must not be empty")],
    ),
    (
        "task-typo",
        _set(f"{P}.comand", ["x"]),
        [(f"{P}.comand", "unknown field; did you mean 'command'?")],
    ),
    (
        "task-unknown-field",
        _set(f"{P}.gpu", True),
        [(f"{P}.gpu", "unknown field (custom fields must start with 'x-')")],
    ),
    (
        "command-string",
        _set(f"{P}.command", "python -m model"),
        [(f"{P}.command", "must be an array")],
    ),
    ("command-empty", _set(f"{P}.command", []), [(f"{P}.command", "must not be empty")]),
    ("command-number", _set(f"{P}.command", [1]), [(f"{P}.command.0", "must be a string")]),
    ("command-blank-arg", _set(f"{P}.command", [""]), [(f"{P}.command.0", "must not be empty")]),
    ("parameters-array", _set(PARAMS, []), [(PARAMS, "must be an object")]),
    (
        "parameters-root-array",
        _set(PARAMS, {"type": "array"}),
        [(PARAMS, "'type' must be 'object'")],
    ),
    (
        "parameters-root-untyped",
        _set(PARAMS, {"properties": {}}),
        [(PARAMS, "'type' must be 'object'")],
    ),
    (
        "parameters-bad-type",
        _set(f"{PARAMS}.properties.threshold.type", "numbr"),
        [
            (
                f"{PARAMS}.properties.threshold.type",
                f'"numbr" is not a JSON Schema type (use one of: {TYPES})',
            )
        ],
    ),
    (
        "parameters-bad-minimum",
        _set(f"{PARAMS}.properties.threshold.minimum", "0"),
        [(f"{PARAMS}.properties.threshold.minimum", 'must be a number, not "0"')],
    ),
    (
        "parameters-bad-regex",
        _set(f"{PARAMS}.properties.name", {"type": "string", "pattern": "(unclosed"}),
        [(f"{PARAMS}.properties.name.pattern", '"(unclosed" is not a valid regular expression')],
    ),
    (
        "parameters-properties-list",
        _set(f"{PARAMS}.properties", []),
        [(f"{PARAMS}.properties", "must be an object, not []")],
    ),
    (
        "parameters-dangling-ref",
        _set(f"{PARAMS}.properties.threshold", {"$ref": "#/$defs/share"}),
        [
            (
                f"{PARAMS}.properties.threshold.$ref",
                "cannot resolve '#/$defs/share': a $ref must point inside the schema (e.g. '#/$defs/name')",
            )
        ],
    ),
    (
        "parameters-remote-ref",
        _set(f"{PARAMS}.properties.threshold", {"$ref": "https://example.com/share.json"}),
        [
            (
                f"{PARAMS}.properties.threshold.$ref",
                "cannot resolve 'https://example.com/share.json': a $ref must point inside the "
                "schema (e.g. '#/$defs/name')",
            )
        ],
    ),
    (
        "parameters-draft4",
        _set(f"{PARAMS}.$schema", "http://json-schema.org/draft-04/schema#"),
        [
            (
                f"{PARAMS}.$schema",
                "unsupported JSON Schema dialect 'http://json-schema.org/draft-04/schema#'; use "
                "'https://json-schema.org/draft/2020-12/schema' (the default) or "
                "'http://json-schema.org/draft-07/schema#'",
            )
        ],
    ),
    (
        "parameters-draft7-tuple-without-schema",
        _set(f"{PARAMS}.properties.pair", {"type": "array", "items": [{"type": "string"}]}),
        [
            (
                f"{PARAMS}.properties.pair.items",
                'must be an object or a boolean, not [{"type": "string"}]',
            )
        ],
    ),
    (
        "x-order-not-int-or-list",
        _set(f"{PARAMS}.properties.threshold.x-order", "first"),
        [
            (
                f"{PARAMS}.properties.threshold.x-order",
                "must be a list of property names, or an integer on each property (as in Cog)",
            )
        ],
    ),
    (
        "x-order-unknown-name",
        _set(f"{PARAMS}.x-order", ["threshold", "treshold"]),
        [(f"{PARAMS}.x-order", "names 'treshold', which is not a property")],
    ),
    (
        "x-order-duplicate",
        _set(f"{PARAMS}.x-order", ["threshold", "threshold"]),
        [(f"{PARAMS}.x-order", "names 'threshold' more than once")],
    ),
    (
        "input-name",
        _set(f"{P}.inputs", {"Data": {}}),
        [
            ("tasks.predict.inputs.Data", f"input name {NAME_RULE}"),
            ("examples.0.inputs.Data", "is required: task 'predict' needs this input"),
            ("examples.0.inputs.data", "not an input of task 'predict' (inputs: Data)"),
        ],
    ),
    (
        "input-media-types-string",
        _set(f"{P}.inputs.data.media_types", "text/csv"),
        [(f"{P}.inputs.data.media_types", "must be an array")],
    ),
    (
        "input-media-type-bad",
        _set(f"{P}.inputs.data.media_types", ["csv"]),
        [
            (
                f"{P}.inputs.data.media_types.0",
                "must be a media type such as 'text/csv' or 'image/*'",
            )
        ],
    ),
    (
        "input-media-types-duplicate",
        _set(f"{P}.inputs.data.media_types", ["text/csv", "text/csv"]),
        [(f"{P}.inputs.data.media_types", "must not contain duplicate items")],
    ),
    (
        "input-required-string",
        _set(f"{P}.inputs.data.required", "yes"),
        [(f"{P}.inputs.data.required", "must be a boolean")],
    ),
    (
        "input-typo",
        _set(f"{P}.inputs.data.media_type", "text/csv"),
        [(f"{P}.inputs.data.media_type", "unknown field; did you mean 'media_types'?")],
    ),
    (
        "input-x-key",
        _set(f"{P}.inputs.data.x-note", "n"),
        [
            (
                f"{P}.inputs.data.x-note",
                "unknown field (known: description, media_types, required, multiple)",
            )
        ],
    ),
    (
        "output-no-path",
        _delete(f"{P}.outputs.predictions.path"),
        [(f"{P}.outputs.predictions.path", "is required")],
    ),
    (
        "output-empty-path",
        _set(f"{P}.outputs.predictions.path", ""),
        [(f"{P}.outputs.predictions.path", "must not be empty")],
    ),
    (
        "output-absolute",
        _set(f"{P}.outputs.predictions.path", "/tmp/predictions.csv"),
        [(f"{P}.outputs.predictions.path", "must be relative to /mlk/outputs/, not absolute")],
    ),
    (
        "output-parent",
        _set(f"{P}.outputs.predictions.path", "../predictions.csv"),
        [(f"{P}.outputs.predictions.path", "must not contain '..'")],
    ),
    (
        "output-parent-inside",
        _set(f"{P}.outputs.predictions.path", "a/../../etc/passwd"),
        [(f"{P}.outputs.predictions.path", "must not contain '..'")],
    ),
    (
        "output-backslash",
        _set(f"{P}.outputs.predictions.path", "out\\predictions.csv"),
        [(f"{P}.outputs.predictions.path", "must use '/' as the separator, not '\\'")],
    ),
    (
        "output-dot",
        _set(f"{P}.outputs.predictions.path", "./predictions.csv"),
        [
            (
                f"{P}.outputs.predictions.path",
                "must be a plain relative path such as 'predictions.csv' or 'plots/'",
            )
        ],
    ),
    (
        "output-double-slash",
        _set(f"{P}.outputs.predictions.path", "out//predictions.csv"),
        [
            (
                f"{P}.outputs.predictions.path",
                "must be a plain relative path such as 'predictions.csv' or 'plots/'",
            )
        ],
    ),
    (
        "output-control-char",
        _set(f"{P}.outputs.predictions.path", "pred\nictions.csv"),
        [(f"{P}.outputs.predictions.path", "must not contain control characters")],
    ),
    (
        "output-same-path",
        _set(f"{P}.outputs.copy", {"path": "predictions.csv"}),
        [(f"{P}.outputs.copy.path", "same path as output 'predictions'")],
    ),
    (
        "output-media-type",
        _set(f"{P}.outputs.predictions.media_type", "csv"),
        [
            (
                f"{P}.outputs.predictions.media_type",
                "must be a media type such as 'text/csv' or 'image/*'",
            )
        ],
    ),
    (
        "metric-goal",
        _set(f"{P}.metrics.accuracy.goal", "max"),
        [(f"{P}.metrics.accuracy.goal", 'must be one of: "maximize", "minimize"')],
    ),
    (
        "metric-no-goal",
        _delete(f"{P}.metrics.accuracy.goal"),
        [(f"{P}.metrics.accuracy.goal", "is required")],
    ),
    (
        "metric-range-one",
        _set(f"{P}.metrics.accuracy.range", [0]),
        [(f"{P}.metrics.accuracy.range", "must be two numbers [low, high]")],
    ),
    (
        "metric-range-three",
        _set(f"{P}.metrics.accuracy.range", [0, 1, 2]),
        [(f"{P}.metrics.accuracy.range", "must be two numbers [low, high]")],
    ),
    (
        "metric-range-text",
        _set(f"{P}.metrics.accuracy.range", ["0", 1]),
        [(f"{P}.metrics.accuracy.range.0", "must be a number")],
    ),
    (
        "metric-range-reversed",
        _set(f"{P}.metrics.accuracy.range", [1, 0]),
        [(f"{P}.metrics.accuracy.range", "low (1) must be less than high (0)")],
    ),
    (
        "metric-range-empty",
        _set(f"{P}.metrics.accuracy.range", [1, 1]),
        [(f"{P}.metrics.accuracy.range", "low (1) must be less than high (1)")],
    ),
    (
        "memory-format",
        _set("resources", {"memory": "1 GB"}),
        [("resources.memory", "must be a size such as '512m' or '1g' (units b, k, m, g)")],
    ),
    (
        "memory-too-small",
        _set("resources", {"memory": "1m"}),
        [("resources.memory", "must be at least 6m (Docker refuses less)")],
    ),
    ("cpus-zero", _set("resources", {"cpus": 0}), [("resources.cpus", "must be > 0")]),
    ("cpus-text", _set("resources", {"cpus": "1"}), [("resources.cpus", "must be a number")]),
    ("gpus-negative", _set("resources", {"gpus": -1}), [("resources.gpus", "must be >= 0")]),
    ("gpus-fraction", _set("resources", {"gpus": 0.5}), [("resources.gpus", "must be an integer")]),
    (
        "timeout-zero",
        _set("resources", {"timeout_seconds": 0}),
        [("resources.timeout_seconds", "must be > 0")],
    ),
    (
        "network-string",
        _set("resources", {"network": "no"}),
        [("resources.network", "must be a boolean")],
    ),
    (
        "resources-unknown",
        _set("resources", {"disk": "1g"}),
        [("resources.disk", "unknown field (known: memory, cpus, gpus, timeout_seconds, network)")],
    ),
    (
        "keywords-duplicate",
        _set("keywords", ["a", "a"]),
        [("keywords", "must not contain duplicate items")],
    ),
    ("keywords-empty-word", _set("keywords", [""]), [("keywords.0", "must not be empty")]),
    (
        "top-level-typo",
        _set("exmaples", []),
        [("exmaples", "unknown field; did you mean 'examples'?")],
    ),
    (
        "top-level-unknown",
        _set("owner", "me"),
        [("owner", "unknown field (custom fields must start with 'x-')")],
    ),
    ("example-no-task", _delete("examples.0.task"), [("examples.0.task", "is required")]),
    (
        "example-unknown-task",
        _set("examples.0.task", "train"),
        [("examples.0.task", "unknown task 'train' (tasks: predict)")],
    ),
    (
        "example-bad-parameter",
        _set("examples.0.parameters", {"threshold": 2}),
        [("examples.0.parameters.threshold", "must be <= 1")],
    ),
    (
        "example-parameters-list",
        _set("examples.0.parameters", [0.5]),
        [("examples.0.parameters", "must be an object")],
    ),
    (
        "example-unknown-input",
        _set("examples.0.inputs.labels", "/mlk/examples/labels.csv"),
        [("examples.0.inputs.labels", "not an input of task 'predict' (inputs: data)")],
    ),
    (
        "example-missing-required-input",
        _set("examples.0.inputs", {}),
        [("examples.0.inputs.data", "is required: task 'predict' needs this input")],
    ),
    (
        "example-relative-input",
        _set("examples.0.inputs.data", "examples/iris.csv"),
        [
            (
                "examples.0.inputs.data",
                "must be an absolute path inside the image, such as '/mlk/examples/data.csv'",
            )
        ],
    ),
    (
        "example-list-for-single-input",
        _set("examples.0.inputs.data", ["/mlk/a.csv", "/mlk/b.csv"]),
        [("examples.0.inputs.data", "takes one file: give one path, not a list")],
    ),
    (
        "example-input-number",
        _set("examples.0.inputs.data", 3),
        [("examples.0.inputs.data", "must be a string or an array")],
    ),
    (
        "example-typo",
        _set("examples.0.parametres", {}),
        [("examples.0.parametres", "unknown field; did you mean 'parameters'?")],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(mutate, expected, id=name) for name, mutate, expected in BAD_CASES],
)
def test_bad_manifest_names_the_path_and_the_problem(
    mutate: Mutation, expected: list[tuple[str, str]]
) -> None:
    data = good()
    mutate(data)

    assert issues_of(data) == expected


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(mutate, expected, id=name) for name, mutate, expected in BAD_CASES],
)
def test_error_text_is_one_line_per_issue(mutate: Mutation, expected: list[tuple[str, str]]) -> None:
    data = good()
    mutate(data)
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data)
    assert str(caught.value) == "\n".join(f"{path}: {message}" for path, message in expected)


def test_every_problem_is_reported_at_once_in_document_order() -> None:
    data = good()
    data["tasks"]["predict"]["parameters"] = {"type": "array"}
    data["tasks"]["predict"]["outputs"]["predictions"]["path"] = "/abs.csv"
    data["tasks"]["Bad"] = {"descripton": "typo"}
    data["resources"] = {"cpus": -1}
    data["exmaples"] = []
    data["examples"][0]["task"] = "nope"

    assert issues_of(data) == [
        ("tasks.Bad", f"task name {NAME_RULE}"),
        ("tasks.Bad.description", "is required"),
        ("tasks.Bad.descripton", "unknown field; did you mean 'description'?"),
        (
            "tasks.predict.outputs.predictions.path",
            "must be relative to /mlk/outputs/, not absolute",
        ),
        ("tasks.predict.parameters", "'type' must be 'object'"),
        ("resources.cpus", "must be > 0"),
        ("examples.0.task", "unknown task 'nope' (tasks: predict, Bad)"),
        ("exmaples", "unknown field; did you mean 'examples'?"),
    ]


def test_example_parameters_get_defaults_before_validation() -> None:
    data = good()
    data["tasks"]["predict"]["parameters"] = {
        "type": "object",
        "required": ["threshold"],
        "properties": {"threshold": dict(THRESHOLD)},
    }
    data["examples"][0]["parameters"] = {}
    assert parse_manifest(data).examples[0].parameters == {}


def test_examples_of_a_broken_task_schema_are_not_double_reported() -> None:
    data = good()
    data["tasks"]["predict"]["parameters"] = {"type": "array"}
    data["examples"][0]["parameters"] = {"threshold": 5}
    assert issues_of(data) == [("tasks.predict.parameters", "'type' must be 'object'")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("[1, 2]", [("", "the manifest must be a JSON object")]),
        ("null", [("", "the manifest must be a JSON object")]),
        (
            '{"tasks": ',
            [("", "the manifest is not valid JSON: Expecting value: line 1 column 11 (char 10)")],
        ),
    ],
)
def test_manifest_text_that_is_not_an_object(data: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(data) == expected


def test_root_issue_prints_without_a_path() -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest("[]")
    assert str(caught.value) == "the manifest must be a JSON object"
    assert caught.value.errors == [SpecIssue("", "the manifest must be a JSON object")]


# --------------------------------------------------------------------------- the shipped schema


def test_shipped_schema_is_a_valid_2020_12_schema() -> None:
    schema = manifest_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_shipped_schema_accepts_the_good_manifests() -> None:
    validator = Draft202012Validator(manifest_schema())
    for data in (json.loads(spec_example()), good(), {"tasks": {"t": {"description": "d"}}}):
        assert list(validator.iter_errors(data)) == []


SEMANTIC_ONLY = {
    "parameters-root-array",
    "parameters-root-untyped",
    "parameters-bad-type",
    "parameters-bad-minimum",
    "parameters-bad-regex",
    "parameters-properties-list",
    "parameters-dangling-ref",
    "parameters-remote-ref",
    "parameters-draft4",
    "parameters-draft7-tuple-without-schema",
    "x-order-not-int-or-list",
    "x-order-unknown-name",
    "x-order-duplicate",
    "output-absolute",
    "output-parent",
    "output-parent-inside",
    "output-backslash",
    "output-dot",
    "output-double-slash",
    "output-control-char",
    "output-same-path",
    "metric-range-reversed",
    "metric-range-empty",
    "memory-too-small",
    "example-unknown-task",
    "example-bad-parameter",
    "example-unknown-input",
    "example-missing-required-input",
    "example-relative-input",
    "example-list-for-single-input",
}


@pytest.mark.parametrize(
    "mutate",
    [pytest.param(m, id=name) for name, m, _ in BAD_CASES if name not in SEMANTIC_ONLY],
)
def test_shipped_schema_refuses_the_structural_bad_cases(mutate: Mutation) -> None:
    """Tools that only have manifest.schema.json refuse what the structure pass refuses."""
    data = good()
    mutate(data)
    assert list(Draft202012Validator(manifest_schema()).iter_errors(copy.deepcopy(data)))


# --------------------------------------------------------------------------- hostile input


def test_deeply_nested_manifest_is_refused_not_crashed() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(40):
        schema = {"type": "object", "properties": {"a": schema}}
    data = {"tasks": {"p": {"description": "d", "parameters": schema}}}

    with pytest.raises(ManifestError) as caught:
        parse_manifest(data)

    (issue,) = caught.value.errors
    assert issue.path.startswith("tasks.p.parameters.properties.a.properties.a")
    assert len(issue.path.split(".")) == MAX_NESTING
    assert issue.message == "is nested deeper than 64 levels"


def test_manifest_text_nested_past_the_parser_is_refused() -> None:
    assert issues_of("[" * 30000 + "]" * 30000) == [("", "the manifest is nested deeper than 64 levels")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"tasks": {"yes": {"description": "d"}, True: {"description": "d"}}},
            ("tasks.True", "has the key True, but JSON keys are strings"),
        ),
        (
            {"tasks": {"p": {"description": datetime.date(2024, 5, 1)}}},
            ("tasks.p.description", "is a date, which is not JSON data"),
        ),
        (
            {"tasks": {"p": {"description": "d"}}, "resources": {"cpus": float("inf")}},
            ("resources.cpus", "is inf, which JSON cannot hold"),
        ),
        ('{"tasks": NaN}', ("", "the manifest is not valid JSON: NaN is not valid JSON")),
    ],
)
def test_data_that_is_not_json_is_refused_by_name(data: Any, expected: tuple[str, str]) -> None:
    """YAML build files turn ``yes:`` into True and dates into dates; say so, don't crash."""
    assert issues_of(data) == [expected]
