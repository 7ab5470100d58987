"""Tasks as plain Python functions, and the JSON Schema of their parameters.

A task is a function decorated with :func:`task`. Its parameters are declared
one of three ways, and ``mlk build`` writes the JSON Schema (draft 2020-12)
they imply into the manifest, as Cog does from ``predict()``'s signature:

- typed keyword arguments, constrained with :class:`Param`::

      @task
      def predict(threshold: float = Param(0.5, minimum=0, maximum=1)) -> None: ...

- one argument annotated with a pydantic model (anything with
  ``model_json_schema``/``model_validate``; pydantic itself is the image's
  dependency, not this module's)::

      @task
      def train(params: TrainParams) -> None: ...

- one argument ``params: dict``: the raw parameters; no schema is generated,
  so ``mlk.yaml`` must carry it.

:func:`main` runs the task named on the command line (or ``$MLK_TASK``) and
maps the outcome to the contract's exit codes: 0, 64 with ``_failure.txt`` for
:class:`~.contract.InputRejected` (and parameters of the wrong shape), 1 with a
reason for anything else. Standard library only.
"""

from __future__ import annotations

import inspect
import os
import sys
import traceback
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .contract import EXIT_FAILED, EXIT_REJECTED, InputRejected, load_params, outputs_dir, write_failure

_MISSING: Any = object()


class SchemaError(TypeError):
    """A task's parameters cannot be written as a JSON Schema; says which and why."""


@dataclass(frozen=True)
class Param:
    """A parameter's default and constraints, as the default value of a typed argument."""

    default: Any = _MISSING
    title: str | None = None
    description: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[Any, ...] | None = None

    def keywords(self) -> dict[str, Any]:
        names = {
            "title": "title",
            "description": "description",
            "minimum": "minimum",
            "maximum": "maximum",
            "exclusive_minimum": "exclusiveMinimum",
            "exclusive_maximum": "exclusiveMaximum",
            "min_length": "minLength",
            "max_length": "maxLength",
            "pattern": "pattern",
        }
        out = {key: getattr(self, attr) for attr, key in names.items() if getattr(self, attr) is not None}
        if self.choices is not None:
            out["enum"] = list(self.choices)
        return out


@dataclass(frozen=True)
class Task:
    """A registered task: its name, function and how its parameters are passed."""

    name: str
    function: Callable[..., Any]
    description: str

    def schema(self) -> dict[str, Any] | None:
        """The parameters' JSON Schema, or None for ``params: dict`` (hand-written only).

        Raises :class:`SchemaError` naming the task and parameter that cannot be described.
        """
        try:
            return _schema(self.function)
        except SchemaError as exc:
            raise SchemaError(f"task {self.name!r}: {exc}") from None

    def call(self, params: Mapping[str, Any]) -> Any:
        """Run the function with ``params``; wrong shapes raise :class:`InputRejected`."""
        return _call(self.function, dict(params))


_TASKS: dict[str, Task] = {}


def task(function: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Register ``function`` as a task (``@task`` or ``@task(name="evaluate")``)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        task_name = name or fn.__name__
        doc = inspect.getdoc(fn) or ""
        _TASKS[task_name] = Task(task_name, fn, doc.split("\n\n")[0].strip())
        return fn

    return register(function) if function is not None else register


def registered() -> dict[str, Task]:
    """The tasks registered so far, by name."""
    return dict(_TASKS)


# --------------------------------------------------------------------------- schema


def _arguments(fn: Callable[..., Any]) -> tuple[list[inspect.Parameter], dict[str, Any]]:
    signature = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # noqa: BLE001 - an unresolvable annotation is the author's to fix
        raise SchemaError(f"cannot read the type hints of {fn.__name__}(): {exc}") from None
    params = [p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return params, hints


def _model_class(annotation: Any) -> Any | None:
    """A pydantic-style model class (``model_json_schema`` + ``model_validate``), else None."""
    if isinstance(annotation, type) and hasattr(annotation, "model_json_schema"):
        return annotation if hasattr(annotation, "model_validate") else None
    return None


def _is_raw(params: list[inspect.Parameter], hints: Mapping[str, Any]) -> bool:
    if len(params) != 1:
        return False
    hint = hints.get(params[0].name)
    return hint is dict or typing.get_origin(hint) in (dict, Mapping) or hint is Any


def _schema(fn: Callable[..., Any]) -> dict[str, Any] | None:
    params, hints = _arguments(fn)
    model = _model_class(hints.get(params[0].name)) if len(params) == 1 else None
    if model is not None:
        try:
            generated = dict(model.model_json_schema())
        except Exception as exc:  # noqa: BLE001 - pydantic's own reason is the useful part
            raise SchemaError(
                f"parameters model {model.__name__} cannot produce a JSON Schema: {exc}"
            ) from None
        generated.setdefault("type", "object")
        return generated
    if _is_raw(params, hints):
        return None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in params:
        if param.name not in hints:
            raise SchemaError(
                f"parameter {param.name!r} has no type hint; give one (int, float, bool, str, "
                "a Literal, a list of these) or take `params: dict` and write the schema in mlk.yaml"
            )
        spec = param.default if isinstance(param.default, Param) else Param(param.default)
        default = spec.default
        if default is _MISSING or default is inspect.Parameter.empty:
            default = _MISSING
        prop = _type_schema(hints[param.name], param.name)
        prop.update(spec.keywords())
        if default is not _MISSING:
            prop["default"] = default
        else:
            required.append(param.name)
        properties[param.name] = prop
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    if len(properties) > 1:
        schema["x-order"] = list(properties)
    return schema


_SIMPLE = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _type_schema(hint: Any, where: str) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        schema = _type_schema(args[0], where)
        for extra in args[1:]:
            if isinstance(extra, Param):
                schema.update(extra.keywords())
        return schema
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, tuple) and args and (origin is list or (len(args) == 2 and args[1] is Ellipsis)):
        return {"type": "array", "items": _type_schema(args[0], f"{where}[]")}
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            inner = _type_schema(rest[0], where)
            if "type" in inner and isinstance(inner["type"], str):
                return {**inner, "type": [inner["type"], "null"]}
            return {"anyOf": [inner, {"type": "null"}]}
    raise SchemaError(
        f"parameter {where!r}: cannot make a JSON Schema from type {hint!r}; use int, float, bool, "
        "str, a Literal, an Optional or a list of these, or a pydantic model"
    )


# --------------------------------------------------------------------------- call


def _call(fn: Callable[..., Any], params: dict[str, Any]) -> Any:
    args, hints = _arguments(fn)
    model = _model_class(hints.get(args[0].name)) if len(args) == 1 else None
    if model is not None:
        try:
            value = model.model_validate(params)
        except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, without importing it
            raise InputRejected(f"parameters do not fit {model.__name__}: {exc}") from None
        return fn(value)
    if _is_raw(args, hints):
        return fn(params)
    names = {a.name for a in args}
    unknown = sorted(set(params) - names)
    if unknown:
        raise InputRejected(f"unknown parameters: {', '.join(unknown)} (this task takes {', '.join(names)})")
    kwargs: dict[str, Any] = {}
    for arg in args:
        spec = arg.default if isinstance(arg.default, Param) else Param(arg.default)
        if arg.name in params:
            value = params[arg.name]
        elif spec.default is not _MISSING and spec.default is not inspect.Parameter.empty:
            value = spec.default
        else:
            raise InputRejected(f"parameter {arg.name} is required")
        kwargs[arg.name] = _checked(value, hints.get(arg.name, Any), arg.name)
    return fn(**kwargs)


def _checked(value: Any, hint: Any, name: str) -> Any:
    """The value, if it fits the hint's basic type (ints accepted as floats)."""
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in _SIMPLE and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        raise InputRejected(f"parameter {name} must be {_SIMPLE[hint]}, got {value!r}")
    return value


# --------------------------------------------------------------------------- main


def run_task(tasks: Mapping[str, Callable[[dict[str, Any]], Any] | Task], argv: list[str]) -> int:
    """Run ``argv[0]`` (or ``$MLK_TASK``) from ``tasks`` and return the contract's exit code."""
    name = argv[0] if argv else os.environ.get("MLK_TASK", "")
    if name not in tasks:
        known = ", ".join(sorted(tasks)) or "none (decorate functions with @task)"
        print(f"unknown task {name!r}; this model knows: {known}", file=sys.stderr)
        return 2
    chosen = tasks[name]
    try:
        outputs_dir().mkdir(parents=True, exist_ok=True)
        params = load_params()
        if isinstance(chosen, Task):
            chosen.call(params)
        else:
            chosen(params)
    except InputRejected as exc:
        write_failure(str(exc))
        print(f"rejected: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except Exception as exc:  # noqa: BLE001 - every other failure is reported, not hidden
        traceback.print_exc()
        write_failure(f"{name} failed: {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the registered task named by ``argv`` (default: ``sys.argv[1:]``)."""
    return run_task(registered(), list(sys.argv[1:] if argv is None else argv))
