"""The manifest: what a model image can do, as typed values.

:func:`parse_manifest` turns the JSON of the ``io.mlkernel.manifest`` label
into a :class:`Manifest`, or raises :class:`~mlrun_kernel.spec.errors.ManifestError`
listing *every* problem with its dotted path. It checks in two passes:

1. structure, against ``manifest.schema.json`` (shipped beside this module,
   draft 2020-12; the same file other tools can use);
2. what a schema cannot say: each task's parameters schema is a valid JSON
   Schema for an object, output paths stay inside ``/mlk/outputs/``, metric
   ranges are ordered, memory is at least Docker's minimum, and each example
   names a real task, passes its parameters schema and gives its inputs.

:func:`manifest_to_json` writes the compact JSON back; the two round-trip.
The dataclasses are frozen; their dict fields (parameters schemas, example
parameters, ``extensions``) are to be read, not changed.
"""

from __future__ import annotations

import copy
import difflib
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from .errors import ManifestError, SpecIssue
from .parameters import (
    EMPTY_PARAMETERS_SCHEMA,
    MAX_NESTING,
    _in_property_names,
    _jsonschema,
    _locate,
    _not_json,
    _parameter_message,
    _reject_constant,
    _unexpected_properties,
    check_parameters_schema,
    fill_defaults,
    parameter_errors,
)

__all__ = [
    "Example",
    "InputSpec",
    "MANIFEST_SCHEMA",
    "Manifest",
    "MetricSpec",
    "OutputSpec",
    "Resources",
    "Task",
    "manifest_schema",
    "manifest_to_data",
    "manifest_to_json",
    "parse_manifest",
]

MANIFEST_SCHEMA = "manifest.schema.json"
"""File name of the manifest's JSON Schema inside this package."""

MIN_MEMORY_BYTES = 6 * 1024 * 1024
"""Docker refuses memory limits under 6 MiB."""

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([kmg]?)b?$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Goal = Literal["maximize", "minimize"]


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class InputSpec:
    """A dataset a task reads, mounted read-only at ``/mlk/inputs/<name>/``."""

    name: str
    description: str = ""
    media_types: tuple[str, ...] = ()
    """Accepted media types; empty accepts any."""
    required: bool = True
    multiple: bool = False
    """Several files (a folder) rather than one."""


@dataclass(frozen=True)
class OutputSpec:
    """A file (or, with a trailing ``/``, a folder) the task writes under ``/mlk/outputs/``."""

    name: str
    path: str
    media_type: str = "application/octet-stream"
    description: str = ""


@dataclass(frozen=True)
class MetricSpec:
    """A number the task reports in ``/mlk/outputs/_metrics.json``."""

    name: str
    goal: Goal
    range: tuple[float, float] | None = None
    description: str = ""


@dataclass(frozen=True)
class Resources:
    """Requests and ceilings; the operator may lower them, never raise them past its limits."""

    memory: str = "1g"
    cpus: float = 1.0
    gpus: int = 0
    timeout_seconds: int = 3600
    network: bool = False

    @property
    def memory_bytes(self) -> int:
        """``memory`` in bytes (binary units: ``1k`` is 1024)."""
        return _memory_bytes(self.memory)


@dataclass(frozen=True)
class Task:
    """One thing the model does (``predict``, ``train``, ``evaluate``...)."""

    name: str
    description: str
    command: tuple[str, ...] | None = None
    """The container command; ``None`` runs the entrypoint with the task name."""
    parameters: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(EMPTY_PARAMETERS_SCHEMA))
    """The JSON Schema of the task's parameters object."""
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    outputs: dict[str, OutputSpec] = field(default_factory=dict)
    metrics: dict[str, MetricSpec] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)
    """``x-`` keys, kept as given for tools that read them."""


@dataclass(frozen=True)
class Example:
    """A run a user can try without data of their own."""

    task: str
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    """Input name -> absolute path inside the image (a tuple for ``multiple`` inputs)."""
    title: str = ""


@dataclass(frozen=True)
class Manifest:
    """The parsed ``io.mlkernel.manifest`` label."""

    tasks: dict[str, Task]
    resources: Resources = field(default_factory=Resources)
    keywords: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    release_notes: dict[str, str] = field(default_factory=dict)
    """Semantic version -> what changed in it (Markdown), for the model card."""
    resolves: str | None = None
    """The fine-tune request this version answers, if any."""
    extensions: dict[str, Any] = field(default_factory=dict)
    """Top-level ``x-`` keys, kept as given."""


# --------------------------------------------------------------------------- schema


@cache
def manifest_schema() -> dict[str, Any]:
    """The manifest's JSON Schema, as shipped in the package (do not modify)."""
    text = resources.files(__package__).joinpath(MANIFEST_SCHEMA).read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


@cache
def _structure_validator() -> Draft202012Validator:
    validator: Draft202012Validator = _jsonschema().Draft202012Validator(manifest_schema())
    return validator  # jsonschema imported when first needed, the one way: see parameters._jsonschema


# --------------------------------------------------------------------------- parse


def parse_manifest(data: Mapping[str, Any] | str) -> Manifest:
    """Validate a manifest (a dict, or its JSON text) and return it typed.

    Raises :class:`ManifestError` listing every problem, each with a dotted
    path such as ``tasks.predict.parameters``.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data, parse_constant=_reject_constant)
        except RecursionError:
            issue = SpecIssue("", f"the manifest is nested deeper than {MAX_NESTING} levels")
            raise ManifestError([issue]) from None
        except ValueError as error:  # json.JSONDecodeError, or NaN/Infinity
            issue = SpecIssue("", f"the manifest is not valid JSON: {error}")
            raise ManifestError([issue]) from None
    if not isinstance(data, Mapping):
        raise ManifestError([SpecIssue("", "the manifest must be a JSON object")])
    problem = _not_json(data)
    if problem is not None:
        raise ManifestError([SpecIssue(_join(*problem[0]), problem[1])])
    issues = _structure_issues(data) + _semantic_issues(data)
    if issues:
        raise ManifestError(_sorted(issues))
    return _build(data)


def _sorted(issues: list[SpecIssue]) -> list[SpecIssue]:
    """Deduplicated; top-level keys in document order, then by path (parents first)."""
    order = {"tasks": 0, "resources": 1, "keywords": 2, "examples": 3, "release_notes": 4, "resolves": 5}

    def key(issue: SpecIssue) -> tuple[int, tuple[tuple[int, int, str], ...]]:
        tokens = issue.path.split(".")
        parts = tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in tokens)
        return order.get(tokens[0], 6), parts

    return sorted(dict.fromkeys(issues), key=key)


def _join(*parts: object) -> str:
    return ".".join(str(part) for part in parts)


def _structure_issues(data: Mapping[str, Any]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    errors = sorted(_structure_validator().iter_errors(data), key=lambda e: list(map(str, e.path)))
    for error in errors:
        issues.extend(_structure_issue(error))
    return issues


_NAME_KINDS = {
    "tasks": "task",
    "inputs": "input",
    "outputs": "output",
    "metrics": "metric",
    "release_notes": "release note version",
}


def _structure_issue(error: ValidationError) -> list[SpecIssue]:
    at = list(error.absolute_path)
    if _in_property_names(error):
        kind = _NAME_KINDS.get(str(at[-1]) if at else "", "name")
        noun = kind if kind.endswith("version") else f"{kind} name"
        return [SpecIssue(_join(*at, error.instance), f"{noun} {_message(error)}")]
    if error.validator == "additionalProperties" and error.validator_value is False:
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        known = list(schema.get("properties", {}))
        custom_ok = "^x-" in schema.get("patternProperties", {})
        issues = []
        for name in _unexpected_properties(schema, error.instance):
            hint = _suggest(str(name), known)
            if hint:
                message = f"unknown field; did you mean {hint!r}?"
            elif custom_ok:
                message = "unknown field (custom fields must start with 'x-')"
            else:
                message = f"unknown field (known: {', '.join(known)})"
            issues.append(SpecIssue(_join(*at, name), message))
        return issues
    return [SpecIssue(_join(*where), message) for where, message in _locate(error, _message)]


def _message(error: ValidationError) -> str:
    """The schema's own ``x-message`` for the keyword, else the generic one."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    custom = schema.get("x-message", {})
    if isinstance(custom, Mapping) and error.validator in custom:
        return str(custom[error.validator])
    return _parameter_message(error)


def _suggest(name: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _semantic_issues(data: Mapping[str, Any]) -> list[SpecIssue]:
    """What the structure schema cannot check; tolerant of a broken structure."""
    issues: list[SpecIssue] = []
    tasks = data.get("tasks")
    tasks = tasks if isinstance(tasks, Mapping) else {}
    usable_schemas: dict[str, Any] = {}
    for name, task in tasks.items():
        if not isinstance(task, Mapping):
            continue
        base = _join("tasks", name)
        schema = task.get("parameters", EMPTY_PARAMETERS_SCHEMA)
        if isinstance(schema, Mapping):
            try:
                check_parameters_schema(schema, path=_join(base, "parameters"))
            except ManifestError as error:
                issues.extend(error.errors)
            else:
                usable_schemas[name] = schema
        issues.extend(_output_issues(base, task.get("outputs")))
        issues.extend(_metric_issues(base, task.get("metrics")))
    issues.extend(_resource_issues(data.get("resources")))
    examples = data.get("examples")
    if isinstance(examples, list):
        for index, example in enumerate(examples):
            if isinstance(example, Mapping):
                issues.extend(_example_issues(index, example, tasks, usable_schemas))
    return issues


def _output_issues(base: str, outputs: Any) -> list[SpecIssue]:
    if not isinstance(outputs, Mapping):
        return []
    issues: list[SpecIssue] = []
    seen: dict[str, str] = {}
    for name, output in outputs.items():
        path = output.get("path") if isinstance(output, Mapping) else None
        if not isinstance(path, str) or not path:
            continue
        where = _join(base, "outputs", name, "path")
        problem = _output_path_problem(path)
        if problem:
            issues.append(SpecIssue(where, problem))
            continue
        key = path.rstrip("/")
        if key in seen:
            issues.append(SpecIssue(where, f"same path as output {seen[key]!r}"))
        seen.setdefault(key, name)
    return issues


def _output_path_problem(path: str) -> str | None:
    """Why an output path could escape or confuse ``/mlk/outputs/``, or None."""
    if _CONTROL.search(path):
        return "must not contain control characters"
    if "\\" in path:
        return "must use '/' as the separator, not '\\'"
    if path.startswith("/"):
        return "must be relative to /mlk/outputs/, not absolute"
    if ".." in path.split("/"):
        return "must not contain '..'"
    stem = path[:-1] if path.endswith("/") else path
    if not stem or posixpath.normpath(stem) != stem or stem == ".":
        return "must be a plain relative path such as 'predictions.csv' or 'plots/'"
    return None


def _metric_issues(base: str, metrics: Any) -> list[SpecIssue]:
    if not isinstance(metrics, Mapping):
        return []
    issues = []
    for name, metric in metrics.items():
        bounds = metric.get("range") if isinstance(metric, Mapping) else None
        if (
            isinstance(bounds, list)
            and len(bounds) == 2
            and all(_is_number(b) for b in bounds)
            and not bounds[0] < bounds[1]
        ):
            issues.append(
                SpecIssue(
                    _join(base, "metrics", name, "range"),
                    f"low ({bounds[0]}) must be less than high ({bounds[1]})",
                )
            )
    return issues


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _resource_issues(resources_: Any) -> list[SpecIssue]:
    if not isinstance(resources_, Mapping):
        return []
    memory = resources_.get("memory")
    if isinstance(memory, str) and _MEMORY.match(memory) and _memory_bytes(memory) < MIN_MEMORY_BYTES:
        return [SpecIssue("resources.memory", "must be at least 6m (Docker refuses less)")]
    return []


def _memory_bytes(memory: str) -> int:
    match = _MEMORY.match(memory.strip())
    if not match:
        raise ValueError(f"not a memory size: {memory!r}")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.lower()])


def _example_issues(
    index: int,
    example: Mapping[str, Any],
    tasks: Mapping[str, Any],
    schemas: Mapping[str, Any],
) -> list[SpecIssue]:
    base = _join("examples", index)
    name = example.get("task")
    if not isinstance(name, str):
        return []
    if not tasks:  # no tasks to check against: that problem is reported already
        return []
    if name not in tasks:
        known = ", ".join(tasks)
        return [SpecIssue(_join(base, "task"), f"unknown task {name!r} (tasks: {known})")]
    task = tasks[name]
    if not isinstance(task, Mapping):
        return []
    issues: list[SpecIssue] = []
    parameters = example.get("parameters", {})
    if name in schemas and isinstance(parameters, Mapping):
        schema = schemas[name]
        for issue in parameter_errors(schema, fill_defaults(schema, dict(parameters))):
            tokens = [t.replace("~1", "/").replace("~0", "~") for t in issue.path.split("/")[1:]]
            issues.append(SpecIssue(_join(base, "parameters", *tokens), issue.message))
    declared = task.get("inputs", {})
    given = example.get("inputs", {})
    if not isinstance(declared, Mapping) or not isinstance(given, Mapping):
        return issues
    for key, value in given.items():
        where = _join(base, "inputs", key)
        spec = declared.get(key)
        if not isinstance(spec, Mapping):
            names = ", ".join(declared) or "it has none"
            issues.append(SpecIssue(where, f"not an input of task {name!r} (inputs: {names})"))
            continue
        if isinstance(value, list) and not spec.get("multiple", False):
            issues.append(SpecIssue(where, "takes one file: give one path, not a list"))
            continue
        paths = value if isinstance(value, list) else [value]
        if any(isinstance(p, str) and p and not p.startswith("/") for p in paths):
            issues.append(
                SpecIssue(
                    where,
                    "must be an absolute path inside the image, such as '/mlk/examples/data.csv'",
                )
            )
    for key, spec in declared.items():
        if isinstance(spec, Mapping) and spec.get("required", True) and key not in given:
            message = f"is required: task {name!r} needs this input"
            issues.append(SpecIssue(_join(base, "inputs", key), message))
    return issues


# --------------------------------------------------------------------------- build and dump


def _extensions(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: copy.deepcopy(value) for key, value in data.items() if key.startswith("x-")}


def _build(data: Mapping[str, Any]) -> Manifest:
    """Typed values from data that has passed both checks."""
    tasks = {name: _build_task(name, task) for name, task in data["tasks"].items()}
    res = data.get("resources", {})
    resources_ = Resources(
        memory=res.get("memory", Resources.memory),
        cpus=float(res.get("cpus", Resources.cpus)),
        gpus=int(res.get("gpus", Resources.gpus)),
        timeout_seconds=int(res.get("timeout_seconds", Resources.timeout_seconds)),
        network=bool(res.get("network", Resources.network)),
    )
    examples = tuple(
        Example(
            task=example["task"],
            parameters=copy.deepcopy(example.get("parameters", {})),
            inputs={
                key: tuple(value) if isinstance(value, list) else value
                for key, value in example.get("inputs", {}).items()
            },
            title=example.get("title", ""),
        )
        for example in data.get("examples", [])
    )
    return Manifest(
        tasks=tasks,
        resources=resources_,
        keywords=tuple(data.get("keywords", [])),
        examples=examples,
        release_notes=dict(data.get("release_notes", {})),
        resolves=data.get("resolves"),
        extensions=_extensions(data),
    )


def _build_task(name: str, task: Mapping[str, Any]) -> Task:
    command = task.get("command")
    return Task(
        name=name,
        description=task["description"],
        command=tuple(command) if command is not None else None,
        parameters=copy.deepcopy(task.get("parameters", EMPTY_PARAMETERS_SCHEMA)),
        inputs={
            key: InputSpec(
                name=key,
                description=spec.get("description", ""),
                media_types=tuple(spec.get("media_types", [])),
                required=spec.get("required", True),
                multiple=spec.get("multiple", False),
            )
            for key, spec in task.get("inputs", {}).items()
        },
        outputs={
            key: OutputSpec(
                name=key,
                path=spec["path"],
                media_type=spec.get("media_type", OutputSpec.media_type),
                description=spec.get("description", ""),
            )
            for key, spec in task.get("outputs", {}).items()
        },
        metrics={
            key: MetricSpec(
                name=key,
                goal=spec["goal"],
                range=(float(spec["range"][0]), float(spec["range"][1])) if "range" in spec else None,
                description=spec.get("description", ""),
            )
            for key, spec in task.get("metrics", {}).items()
        },
        extensions=_extensions(task),
    )


def manifest_to_data(manifest: Manifest) -> dict[str, Any]:
    """The manifest as plain JSON data (a new object); fields at their default are left out,
    except ``resources``, which is always written in full."""
    data: dict[str, Any] = {
        "tasks": {name: _task_data(task) for name, task in manifest.tasks.items()},
        "resources": {
            "memory": manifest.resources.memory,
            "cpus": manifest.resources.cpus,
            "gpus": manifest.resources.gpus,
            "timeout_seconds": manifest.resources.timeout_seconds,
            "network": manifest.resources.network,
        },
    }
    if manifest.keywords:
        data["keywords"] = list(manifest.keywords)
    if manifest.examples:
        data["examples"] = [_example_data(example) for example in manifest.examples]
    if manifest.release_notes:
        data["release_notes"] = dict(manifest.release_notes)
    if manifest.resolves is not None:
        data["resolves"] = manifest.resolves
    data.update(manifest.extensions)
    return copy.deepcopy(data)  # callers may store or change it; the manifest stays as is


def _task_data(task: Task) -> dict[str, Any]:
    data: dict[str, Any] = {"description": task.description}
    if task.command is not None:
        data["command"] = list(task.command)
    data["parameters"] = task.parameters
    if task.inputs:
        data["inputs"] = {name: _input_data(spec) for name, spec in task.inputs.items()}
    if task.outputs:
        data["outputs"] = {name: _output_data(spec) for name, spec in task.outputs.items()}
    if task.metrics:
        data["metrics"] = {name: _metric_data(spec) for name, spec in task.metrics.items()}
    data.update(task.extensions)
    return data


def _input_data(spec: InputSpec) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if spec.description:
        data["description"] = spec.description
    if spec.media_types:
        data["media_types"] = list(spec.media_types)
    if not spec.required:
        data["required"] = False
    if spec.multiple:
        data["multiple"] = True
    return data


def _output_data(spec: OutputSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"path": spec.path}
    if spec.media_type != OutputSpec.media_type:
        data["media_type"] = spec.media_type
    if spec.description:
        data["description"] = spec.description
    return data


def _metric_data(spec: MetricSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"goal": spec.goal}
    if spec.range is not None:
        data["range"] = list(spec.range)
    if spec.description:
        data["description"] = spec.description
    return data


def _example_data(example: Example) -> dict[str, Any]:
    data: dict[str, Any] = {"task": example.task}
    if example.title:
        data["title"] = example.title
    if example.parameters:
        data["parameters"] = example.parameters
    if example.inputs:
        data["inputs"] = {
            key: list(value) if isinstance(value, tuple) else value for key, value in example.inputs.items()
        }
    return data


def manifest_to_json(manifest: Manifest) -> str:
    """Compact JSON for the label (UTF-8, no spaces); :func:`parse_manifest` reads it back equal."""
    data = manifest_to_data(manifest)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
