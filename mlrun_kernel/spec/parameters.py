"""Parameters: JSON Schemas that describe a task's run parameters.

Three jobs, all pure functions:

- *Is the schema itself sound?* :func:`check_json_schema` runs the metaschema
  of the schema's dialect (``$schema``: draft 2020-12 by default, draft-07
  accepted) and checks that every ``$ref`` resolves inside the schema.
  :func:`check_parameters_schema` adds what a manifest needs on top: the root
  is an object schema. Both raise :class:`~mlrun_kernel.spec.errors.ManifestError`.
- *Fill defaults* the way a form would (:func:`fill_defaults`), so a run that
  leaves a field out gets the value the model expert chose.
- *Validate* a run's parameters (:func:`parameter_errors` lists the problems,
  :func:`validate_parameters` fills defaults, validates and raises
  :class:`~mlrun_kernel.spec.errors.ParameterError`). Each problem carries a
  JSON pointer to the field it belongs to, so a form can show it in place.

Schemas are never fetched over the network: a ``$ref`` must point inside the
schema (``#/$defs/...``, ``#/definitions/...``, or an embedded ``$id``).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import referencing.jsonschema
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

if TYPE_CHECKING:
    from jsonschema import FormatChecker
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

from .errors import ManifestError, ParameterError, SpecIssue

__all__ = [
    "MAX_NESTING",
    "DRAFT_2020_12",
    "DRAFT_7",
    "Draft",
    "EMPTY_PARAMETERS_SCHEMA",
    "check_json_schema",
    "check_parameters_schema",
    "fill_defaults",
    "load_validator",
    "parameter_errors",
    "validate_parameters",
]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_7 = "http://json-schema.org/draft-07/schema#"

Draft = Literal["draft2020-12", "draft7"]
"""The dialect assumed when a schema has no ``$schema`` keyword."""

EMPTY_PARAMETERS_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
"""A task without ``parameters`` takes none: this is the schema it gets."""

_DRAFTS: tuple[Draft, ...] = ("draft2020-12", "draft7")


@cache
def _jsonschema() -> Any:
    """The jsonschema package, imported on first use.

    Importing it costs 0.8 s where rfc3987-syntax is installed (JupyterLab pulls it
    in): it builds 38 grammars for two rare formats (``iri``, ``iri-reference``).
    Every ``mlk`` command imports this module, and most never validate anything;
    ``mlk run`` does, so jsonschema is imported without rfc3987-syntax and those
    two checks are registered to load it the first time a schema asks for them
    (:func:`_lazy_iri_checks`): the same checks, paid for only when used.
    """
    blocked = "rfc3987_syntax" not in sys.modules and importlib.util.find_spec("rfc3987_syntax") is not None
    if blocked:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import fails: jsonschema skips it
    try:
        import jsonschema
        import jsonschema.exceptions
        import jsonschema.validators
    finally:
        if blocked:
            del sys.modules["rfc3987_syntax"]
    if blocked:
        _lazy_iri_checks(jsonschema)
    return jsonschema


def _lazy_iri_checks(js: Any) -> None:
    """Register jsonschema's own ``iri``/``iri-reference`` checks, importing rfc3987-syntax when run."""

    def syntax(rule: str) -> Any:
        def check(instance: object) -> bool:
            if not isinstance(instance, str):
                return True
            from rfc3987_syntax import is_valid_syntax

            return bool(is_valid_syntax(rule, instance))

        return check

    dialects = (js.Draft7Validator, js.Draft201909Validator, js.Draft202012Validator)
    for checker in {id(d.FORMAT_CHECKER): d.FORMAT_CHECKER for d in dialects}.values():
        for name, rule in (("iri", "iri"), ("iri-reference", "iri_reference")):
            if name not in checker.checkers:
                checker.checks(name, raises=ValueError)(syntax(rule))


def load_validator() -> None:
    """Import the JSON Schema validator now rather than at the first validation.

    Long-running processes (the model service) call this at start, so no request
    pays the import; a one-shot command that never validates never pays it.
    """
    _jsonschema()


def _validators() -> dict[str, type[Validator]]:
    js = _jsonschema()
    return {"draft2020-12": js.Draft202012Validator, "draft7": js.Draft7Validator}


def _by_uri() -> dict[str, type[Validator]]:
    js = _jsonschema()
    return {DRAFT_2020_12: js.Draft202012Validator, DRAFT_7.rstrip("#"): js.Draft7Validator}


def _dialect_uri(cls: type[Validator]) -> str:
    return DRAFT_7 if cls is _jsonschema().Draft7Validator else DRAFT_2020_12


_MAX_DEPTH = 64
"""How deep :func:`fill_defaults` follows data and ``$ref``/``allOf`` chains."""

MAX_NESTING = 64
"""Deepest JSON nesting accepted in a schema, a manifest or parameters.

Why: labels come from any registry, and a few kilobytes of ``[[[[...`` would
otherwise exhaust Python's recursion limit inside the validator."""

_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")

_FORMAT_HINTS = {
    "date": "a date (YYYY-MM-DD)",
    "date-time": "a date and time (RFC 3339, e.g. 2024-05-01T12:00:00Z)",
    "time": "a time (RFC 3339, e.g. 12:00:00Z)",
    "email": "an email address",
    "idn-email": "an email address",
    "uri": "a URI",
    "uri-reference": "a URI reference",
    "ipv4": "an IPv4 address",
    "ipv6": "an IPv6 address",
    "hostname": "a host name",
    "uuid": "a UUID",
    "regex": "a regular expression",
    "duration": "an ISO 8601 duration (e.g. P3DT4H)",
}

_SCHEMA_KEYWORDS_WITH_NAMED_CHILDREN = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)


# --------------------------------------------------------------------------- dialects


def _normalized_uri(uri: str) -> str:
    return uri[:-1] if uri.endswith("#") else uri


def _validator_class(schema: Any, default_draft: Draft, path: str) -> type[Validator]:
    """The validator for ``schema``'s dialect; other dialects are refused."""
    if default_draft not in _DRAFTS:
        raise ValueError(f"default_draft must be one of {sorted(_DRAFTS)}, not {default_draft!r}")
    if not isinstance(schema, Mapping) or "$schema" not in schema:
        return _validators()[default_draft]
    dialect = schema["$schema"]
    by_uri = _by_uri()
    if isinstance(dialect, str) and _normalized_uri(dialect) in by_uri:
        return by_uri[_normalized_uri(dialect)]
    raise ManifestError(
        [
            SpecIssue(
                _join(path, "$schema"),
                f"unsupported JSON Schema dialect {dialect!r}; "
                f"use {DRAFT_2020_12!r} (the default) or {DRAFT_7!r}",
            )
        ]
    )


def _specification(cls: type[Validator]) -> referencing.jsonschema.Specification[Any]:
    return referencing.jsonschema.specification_with(_dialect_uri(cls))


def _registry_for(schema: Any, cls: type[Validator]) -> tuple[Registry[Any], Resource[Any]]:
    """A registry that knows the schema (and its embedded ``$id``s), never the network."""
    resource = _specification(cls).create_resource(schema)
    registry: Registry[Any] = Registry().with_resource(resource.id() or "", resource)
    return SPECIFICATIONS.combine(registry).crawl(), resource


# --------------------------------------------------------------------------- paths


def _join(base: str, *parts: object) -> str:
    tokens = [base] if base else []
    tokens.extend(str(part) for part in parts)
    return ".".join(tokens)


def _pointer(parts: Iterable[object]) -> str:
    """RFC 6901: ``["a", 0, "b/c"]`` -> ``"/a/0/b~1c"``; the root is ``""``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _pointer_sort_key(pointer: str) -> tuple[tuple[int, int, str], ...]:
    """Order pointers as a form reads them: by segment, numbers numerically."""
    key = []
    for segment in pointer.split("/")[1:]:
        if segment.isdigit():
            key.append((0, int(segment), ""))
        else:
            key.append((1, 0, segment))
    return tuple(key)


def _reject_constant(name: str) -> Any:
    """``json.loads`` hook: ``NaN`` and ``Infinity`` are Python's extension, not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def _not_json(data: Any, limit: int = MAX_NESTING) -> tuple[list[object], str] | None:
    """Where ``data`` stops being plain JSON, and why; None when it is JSON all through.

    Checked before any validator runs: a dict from YAML or Python may hold
    non-string keys, dates or NaN, which the validator would trip over, and a
    deep enough nesting exhausts the recursion limit. Iterative on purpose.
    """
    stack: list[tuple[Any, list[object]]] = [(data, [])]
    while stack:
        node, at = stack.pop()
        if isinstance(node, Mapping | list):
            if len(at) >= limit:
                return at, f"is nested deeper than {limit} levels"
            if isinstance(node, Mapping):
                for key, value in node.items():
                    if not isinstance(key, str):
                        return [*at, key], f"has the key {key!r}, but JSON keys are strings"
                    stack.append((value, [*at, key]))
            else:
                stack.extend((value, [*at, index]) for index, value in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            return at, f"is {node}, which JSON cannot hold"
        elif node is not None and not isinstance(node, str | int | float | bool):
            return at, f"is a {type(node).__name__}, which is not JSON data"
    return None


# --------------------------------------------------------------------------- schema checks


def check_json_schema(
    schema: Any, *, path: str = "parameters", default_draft: Draft = "draft2020-12"
) -> None:
    """Refuse a schema that its dialect's metaschema rejects or whose ``$ref``s dangle.

    This is the metaschema check alone (``validator_for(schema).check_schema``,
    but listing every problem): the root may be any schema. ``path`` prefixes
    each issue's dotted path, so a build log points into the manifest.
    """
    cls = _validator_class(schema, default_draft, path)
    problem = _not_json(schema)
    if problem is not None:
        raise ManifestError([SpecIssue(_join(path, *problem[0]), problem[1])])
    meta_cls = _jsonschema().validators.validator_for(cls.META_SCHEMA, default=cls)
    meta = meta_cls(cls.META_SCHEMA, format_checker=meta_cls.FORMAT_CHECKER)
    located = [pair for error in meta.iter_errors(schema) for pair in _locate(error, _schema_message)]
    located.sort(key=lambda pair: _pointer_sort_key(_pointer(pair[0])))
    issues = [SpecIssue(_join(path, *at), message) for at, message in located]
    if not issues:
        issues.extend(_dangling_refs(schema, cls, path))
    if issues:
        raise ManifestError(_dedupe(issues))


def check_parameters_schema(schema: Any, *, path: str = "parameters") -> None:
    """Refuse a schema a task cannot use for its parameters.

    On top of :func:`check_json_schema`: the root must be an object schema
    (``"type": "object"``), because parameters reach the model as one JSON
    object in ``/mlk/params.json``; and ``x-order``, the form's field order,
    must be usable: a list of the object's property names, or an integer on
    each property as in Cog.
    """
    issues: list[SpecIssue] = []
    if not isinstance(schema, Mapping):
        raise ManifestError([SpecIssue(path, 'must be a JSON Schema object with "type": "object"')])
    try:
        check_json_schema(schema, path=path)
    except ManifestError as error:
        issues.extend(error.errors)
    if schema.get("type") != "object":
        issues.append(SpecIssue(path, "'type' must be 'object'"))
    issues.extend(_x_order_issues(schema, path, 0))
    if issues:
        raise ManifestError(issues)


def _x_order_issues(schema: Mapping[str, Any], path: str, depth: int) -> Iterator[SpecIssue]:
    """``x-order`` is a list of property names on an object, or (Cog's way) an integer on each
    property; either way the form must be able to use it."""
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    if "x-order" in schema:
        order = schema["x-order"]
        where = _join(path, "x-order")
        if isinstance(order, list):
            if not all(isinstance(name, str) for name in order):
                yield SpecIssue(where, "must list property names (strings)")
            else:
                for name in dict.fromkeys(n for n in order if order.count(n) > 1):
                    yield SpecIssue(where, f"names {name!r} more than once")
                for name in order:
                    if name not in properties:
                        yield SpecIssue(where, f"names {name!r}, which is not a property")
        elif isinstance(order, bool) or not isinstance(order, int):
            yield SpecIssue(
                where,
                "must be a list of property names, or an integer on each property (as in Cog)",
            )
    if depth > _MAX_DEPTH:
        return
    for name, sub in properties.items():
        if isinstance(sub, Mapping):
            yield from _x_order_issues(sub, _join(path, "properties", name), depth + 1)


def _dangling_refs(schema: Any, cls: type[Validator], path: str) -> list[SpecIssue]:
    """Every ``$ref`` that does not resolve inside the schema itself."""
    if not isinstance(schema, Mapping):
        return []
    locations: dict[int, tuple[object, ...]] = {}

    def index(node: Any, at: tuple[object, ...]) -> None:
        if isinstance(node, Mapping):
            locations.setdefault(id(node), at)
            for key, value in node.items():
                index(value, (*at, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                index(value, (*at, i))

    index(schema, ())
    registry, root = _registry_for(schema, cls)
    issues: list[SpecIssue] = []

    def walk(resource: Resource[Any], resolver: Any, depth: int) -> None:
        contents = resource.contents
        if depth > _MAX_DEPTH or not isinstance(contents, Mapping):
            return
        ref = contents.get("$ref")
        if isinstance(ref, str):
            try:
                resolver.lookup(ref)
            except Unresolvable:
                where = _join(path, *locations.get(id(contents), ()), "$ref")
                issues.append(
                    SpecIssue(
                        where,
                        f"cannot resolve {ref!r}: a $ref must point inside the schema (e.g. '#/$defs/name')",
                    )
                )
        for sub in resource.subresources():
            walk(sub, resolver.in_subresource(sub), depth + 1)

    walk(root, registry.resolver(base_uri=root.id() or ""), 0)
    return issues


# --------------------------------------------------------------------------- defaults


_MISSING = object()


def fill_defaults(schema: Any, data: Any) -> Any:
    """Return a copy of ``data`` with the schema's ``default`` values filled in.

    Why: a form shows defaults pre-filled, and a run started from code must get
    the same values. The rule, close to react-jsonschema-form's:

    - a missing object property with a ``default`` gets a copy of it (and that
      copy is itself filled, so a default ``{}`` gains its members' defaults);
    - a missing property without a ``default`` whose schema is an object is
      created only when it would receive at least one default *and* would then
      hold all of its own ``required`` properties: a default never turns an
      absent optional object into an incomplete one;
    - present values are filled recursively, objects and existing array items
      (``items``, ``prefixItems``, draft-07 tuple ``items``/``additionalItems``)
      alike;
    - arrays the user gave are never lengthened; an array that comes from a
      ``default`` and is shorter than ``minItems`` is padded with the items'
      defaults (RJSF does the same), so the author's default stays valid;
    - local ``$ref`` (``#/$defs/...``, ``#/definitions/...``, embedded ``$id``)
      and ``allOf`` are followed and merged; the property's own ``default``
      wins over one reached through ``$ref``, and earlier ``allOf`` members win
      over later ones;
    - ``oneOf``/``anyOf``/``if``/``then``/``else`` are not used: which branch
      applies is the user's choice, not the schema's;
    - recursive schemas stop at the first repeat while creating objects, and
      any chain stops at a fixed depth.

    Neither ``schema`` nor ``data`` is modified.
    """
    result = copy.deepcopy(data)
    if not isinstance(schema, Mapping):
        return result
    try:
        cls = _validator_class(schema, "draft2020-12", "")
    except ManifestError:
        cls = _jsonschema().Draft202012Validator
    try:
        registry, root = _registry_for(schema, cls)
    except Exception:  # a schema too broken to index still gets its direct defaults
        registry, root = Registry(), _specification(cls).create_resource({})
    resolver = registry.resolver(base_uri=root.id() or "")
    return _fill([(schema, resolver)], result, (), 0, False)


_Part = tuple[Mapping[str, Any], Any]
"""A schema (dict) and the resolver for the ``$ref``s inside it."""


def _flatten(parts: Iterable[_Part], depth: int) -> list[_Part]:
    """The schemas that all apply to one value: each part, its $ref targets, its allOf."""
    out: list[_Part] = []
    seen: set[int] = set()

    def visit(schema: Any, resolver: Any, level: int) -> None:
        if not isinstance(schema, Mapping) or id(schema) in seen or level > _MAX_DEPTH:
            return
        seen.add(id(schema))
        if isinstance(schema.get("$id"), str) and resolver is not None:
            # an odd $id only costs us ref resolution below it
            with contextlib.suppress(Exception):
                resolver = resolver.in_subresource(
                    Resource.from_contents(schema, default_specification=referencing.jsonschema.DRAFT202012)
                )
        out.append((schema, resolver))
        ref = schema.get("$ref")
        if isinstance(ref, str) and resolver is not None:
            try:
                resolved = resolver.lookup(ref)
            except Unresolvable:
                pass
            else:
                visit(resolved.contents, resolved.resolver, level + 1)
        all_of = schema.get("allOf")
        if isinstance(all_of, list):
            for member in all_of:
                visit(member, resolver, level + 1)

    for schema, resolver in parts:
        visit(schema, resolver, depth)
    return out


def _fill(parts: list[_Part], data: Any, stack: tuple[int, ...], depth: int, from_default: bool) -> Any:
    """Fill ``data`` in place (it is already a private copy) and return it.

    ``from_default`` says ``data`` came from the schema (a ``default`` or an
    object created for defaults), not from the user: only such arrays are
    padded up to ``minItems``.
    """
    if depth > _MAX_DEPTH:
        return data
    flat = _flatten(parts, depth)
    if isinstance(data, dict):
        here = (*stack, *(id(schema) for schema, _ in flat))
        properties: dict[str, list[_Part]] = {}
        for schema, resolver in flat:
            declared = schema.get("properties")
            if isinstance(declared, Mapping):
                for name, sub in declared.items():
                    properties.setdefault(name, []).append((sub, resolver))
        for name, subs in properties.items():
            if name in data:
                data[name] = _fill(subs, data[name], here, depth + 1, from_default)
                continue
            value = _default_value(subs, here, depth + 1)
            if value is not _MISSING:
                data[name] = value
    elif isinstance(data, list):
        for index, item in enumerate(data):
            item_parts = [p for schema, r in flat if (p := _item_schema(schema, r, index))]
            if item_parts:
                data[index] = _fill(item_parts, item, stack, depth + 1, from_default)
        if from_default:
            _pad_to_min_items(flat, data, stack, depth)
    return data


def _default_value(subs: list[_Part], stack: tuple[int, ...], depth: int) -> Any:
    """What a missing value becomes: its default (filled), a created object, or _MISSING."""
    flat = _flatten(subs, depth)
    default = next((schema["default"] for schema, _ in flat if "default" in schema), _MISSING)
    if default is not _MISSING:
        return _fill(subs, copy.deepcopy(default), stack, depth, True)
    if _is_object_schema(flat) and not any(id(schema) in stack for schema, _ in flat):
        created = _fill(subs, {}, stack, depth, True)
        if created and _has_required(flat, created):
            return created
    return _MISSING


def _pad_to_min_items(flat: list[_Part], data: list[Any], stack: tuple[int, ...], depth: int) -> None:
    """A default array shorter than ``minItems`` grows with its items' defaults, as in RJSF."""
    wanted = max((s["minItems"] for s, _ in flat if isinstance(s.get("minItems"), int)), default=0)
    while len(data) < min(wanted, 1000):
        item_parts = [p for schema, r in flat if (p := _item_schema(schema, r, len(data)))]
        value = _default_value(item_parts, stack, depth + 1) if item_parts else _MISSING
        if value is _MISSING:
            return
        data.append(value)


def _item_schema(schema: Mapping[str, Any], resolver: Any, index: int) -> _Part | None:
    prefix: Any = schema.get("prefixItems")
    rest: Any = schema.get("items")
    if prefix is None and isinstance(rest, list):  # draft-07 tuple form
        prefix, rest = rest, schema.get("additionalItems")
    chosen = prefix[index] if isinstance(prefix, list) and index < len(prefix) else rest
    return (chosen, resolver) if isinstance(chosen, Mapping) else None


def _is_object_schema(flat: list[_Part]) -> bool:
    for schema, _ in flat:
        kind = schema.get("type")
        if kind == "object" or (isinstance(kind, list) and "object" in kind):
            return True
        if isinstance(schema.get("properties"), Mapping):
            return True
    return False


def _has_required(flat: list[_Part], data: Mapping[str, Any]) -> bool:
    for schema, _ in flat:
        required = schema.get("required")
        if isinstance(required, list) and any(name not in data for name in required):
            return False
    return True


# --------------------------------------------------------------------------- validation


def parameter_errors(
    schema: Any,
    params: Any,
    *,
    default_draft: Draft = "draft2020-12",
    formats: Iterable[str] | None = None,
) -> list[SpecIssue]:
    """Every problem with ``params`` as given (no defaults filled), sorted by field.

    Each :class:`SpecIssue` has a JSON pointer path (``"/window/size"``, root
    ``""``) and a short message meant to sit next to the field. ``formats``
    limits which ``format`` values are checked (default: every format
    ``jsonschema`` can check here). Raises
    :class:`~mlrun_kernel.spec.errors.ManifestError` only when the *schema* is
    broken.
    """
    check_json_schema(schema, path="parameters", default_draft=default_draft)
    cls = _validator_class(schema, default_draft, "parameters")
    problem = _not_json(params)
    if problem is not None:
        return [SpecIssue(_pointer(problem[0]), problem[1])]
    registry, _ = _registry_for(_false_as_not(schema, 0), cls)
    validator = cls(_false_as_not(schema, 0), registry=registry, format_checker=_format_checker(cls, formats))
    issues: list[SpecIssue] = []
    try:
        for error in validator.iter_errors(params):
            for at, message in _locate(error, _parameter_message):
                issues.append(SpecIssue(_pointer(at), message))
    except Unresolvable as error:  # check_json_schema should have caught it
        raise ManifestError([SpecIssue("parameters", f"cannot resolve $ref: {error}")]) from None
    issues = _dedupe(issues)
    issues.sort(key=lambda issue: _pointer_sort_key(issue.path))
    return issues


_NAMED_SUBSCHEMAS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_LISTED_SUBSCHEMAS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_SINGLE_SUBSCHEMAS = ("not", "if", "then", "else", "contains", "propertyNames")
_OPEN_SUBSCHEMAS = (
    "items",
    "additionalProperties",
    "additionalItems",
    "unevaluatedItems",
    "unevaluatedProperties",
    "dependencies",
)
_NOT_ANYTHING: dict[str, Any] = {"not": {}}


def _false_as_not(schema: Any, depth: int) -> Any:
    """A copy with ``false`` subschemas spelled ``{"not": {}}``, which means the same.

    Why: jsonschema reports an error from a ``false`` subschema without the path
    to the value (``properties: {x: false}`` would point at the root, not
    ``/x``). Keyword-level ``false`` (``additionalProperties``, ``items``...)
    keeps its own, correct, error and is left alone.
    """
    if schema is False and depth:
        return dict(_NOT_ANYTHING)
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return schema
    result = dict(schema)
    for key in _NAMED_SUBSCHEMAS:
        if isinstance(schema.get(key), Mapping):
            result[key] = {k: _false_as_not(v, depth + 1) for k, v in schema[key].items()}
    for key in _LISTED_SUBSCHEMAS:
        if isinstance(schema.get(key), list):
            result[key] = [_false_as_not(v, depth + 1) for v in schema[key]]
    for key in _SINGLE_SUBSCHEMAS:
        if key in schema:
            result[key] = _false_as_not(schema[key], depth + 1)
    for key in _OPEN_SUBSCHEMAS:
        value = schema.get(key)
        if isinstance(value, Mapping):
            if key == "dependencies":
                result[key] = {
                    k: _false_as_not(v, depth + 1) if not isinstance(v, list) else v for k, v in value.items()
                }
            else:
                result[key] = _false_as_not(value, depth + 1)
    return result


def _format_checker(cls: type[Validator], formats: Iterable[str] | None) -> FormatChecker:
    """The dialect's own format checks (``FormatChecker()`` would check ``time`` the
    draft-03 way), limited to ``formats`` when given."""
    dialect = cls.FORMAT_CHECKER
    wanted = dialect.checkers.keys() if formats is None else set(formats)
    checker = _jsonschema().FormatChecker(formats=())
    checker.checkers = {name: dialect.checkers[name] for name in wanted if name in dialect.checkers}
    return checker


def validate_parameters(
    schema: Any,
    params: Mapping[str, Any] | None,
    *,
    default_draft: Draft = "draft2020-12",
    formats: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Fill defaults, then validate: the dict a run hands to the model.

    ``None`` means "no parameters given" and is treated as ``{}``. Raises
    :class:`~mlrun_kernel.spec.errors.ParameterError` listing every problem.
    """
    problem = _not_json(params)
    if problem is not None:
        raise ParameterError([SpecIssue(_pointer(problem[0]), problem[1])])
    filled = fill_defaults(schema, {} if params is None else params)
    issues = parameter_errors(schema, filled, default_draft=default_draft, formats=formats)
    if issues:
        raise ParameterError(issues)
    if not isinstance(filled, dict):  # only reachable when the schema accepts non-objects
        raise ParameterError([SpecIssue("", "must be an object")])
    return filled


# --------------------------------------------------------------------------- messages


def _dedupe(issues: Iterable[SpecIssue]) -> list[SpecIssue]:
    return list(dict.fromkeys(issues))


def _in_property_names(error: ValidationError) -> bool:
    """Whether the error is about a property *name* (``propertyNames``), not a value."""
    tokens = list(error.relative_schema_path)
    for i, token in enumerate(tokens):
        before = tokens[i - 1] if i else None
        if token == "propertyNames" and before not in _SCHEMA_KEYWORDS_WITH_NAMED_CHILDREN:
            return True
    return False


_Located = tuple[list[object], str]
"""Where a problem is (path tokens) and what it is."""


def _locate(error: ValidationError, message: Callable[[ValidationError], str]) -> list[_Located]:
    """Map one jsonschema error to (path tokens, message) pairs.

    ``required`` and ``dependentRequired`` point at the missing property;
    ``additionalProperties: false`` yields one pair per unexpected property;
    ``propertyNames`` points at the offending property.
    """
    at: list[object] = list(error.absolute_path)
    keyword = error.validator
    instance = error.instance
    if keyword == "required" and isinstance(instance, Mapping):
        name = _quoted_name(error.message, error.validator_value)
        if name is not None:
            return [([*at, name], "is required")]
    if keyword in ("dependentRequired", "dependencies") and isinstance(instance, Mapping):
        for trigger, needed in (error.validator_value or {}).items():
            if trigger in instance and isinstance(needed, list):
                for name in needed:
                    if name not in instance and error.message.startswith(repr(name)):
                        return [([*at, name], f"is required when {trigger!r} is set")]
    if keyword == "additionalProperties" and error.validator_value is False:
        extras = _unexpected_properties(error.schema, instance)
        if extras:
            return [([*at, name], "is not an allowed property") for name in extras]
    if _in_property_names(error):
        return [([*at, instance], f"property name {message(error)}")]
    return [(at, message(error))]


def _quoted_name(message: str, names: Any) -> str | None:
    if isinstance(names, list):
        for name in names:
            if isinstance(name, str) and message.startswith(repr(name)):
                return name
    return None


def _unexpected_properties(schema: Any, instance: Any) -> list[str]:
    if not isinstance(schema, Mapping) or not isinstance(instance, Mapping):
        return []
    declared = schema.get("properties") or {}
    patterns = list((schema.get("patternProperties") or {}).keys())
    extras = []
    for name in instance:
        if name in declared:
            continue
        if isinstance(name, str) and any(_search(pattern, name) for pattern in patterns):
            continue
        extras.append(name)
    return extras


def _search(pattern: Any, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except (re.error, TypeError):
        return False


def _kind(types: Any) -> str:
    names = types if isinstance(types, list) else [types]
    words = {
        "object": "an object",
        "array": "an array",
        "integer": "an integer",
        "string": "a string",
        "number": "a number",
        "boolean": "a boolean",
        "null": "null",
    }
    return " or ".join(words.get(str(name), repr(name)) for name in names)


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _parameter_message(error: ValidationError) -> str:
    """A short message for a form field: what the value must be."""
    keyword = error.validator
    value = error.validator_value
    if keyword == "type":
        return f"must be {_kind(value)}"
    if keyword == "enum" and isinstance(value, list):
        if len(value) <= 10:
            return "must be one of: " + ", ".join(_literal(v) for v in value)
        return "must be one of the allowed values"
    if keyword == "const":
        return f"must be {_literal(value)}"
    comparisons = {
        "minimum": ">=",
        "maximum": "<=",
        "exclusiveMinimum": ">",
        "exclusiveMaximum": "<",
    }
    if keyword in comparisons:
        return f"must be {comparisons[str(keyword)]} {_literal(value)}"
    if keyword == "multipleOf":
        return f"must be a multiple of {_literal(value)}"
    if keyword == "minLength":
        return "must not be empty" if value == 1 else f"must be at least {value} characters long"
    if keyword == "maxLength":
        return f"must be at most {value} characters long"
    if keyword == "pattern":
        return f"must match the pattern {value}"
    if keyword == "format":
        return f"must be {_FORMAT_HINTS.get(str(value), f'a valid {value}')}"
    if keyword == "minItems":
        return "must not be empty" if value == 1 else f"must have at least {value} items"
    if keyword == "maxItems":
        return f"must have at most {value} items"
    if keyword == "uniqueItems":
        return "must not contain duplicate items"
    if keyword in ("contains", "minContains"):
        return "must contain a matching item"
    if keyword == "minProperties":
        return f"must have at least {value} properties"
    if keyword == "maxProperties":
        return f"must have at most {value} properties"
    if keyword == "not":
        return "is not allowed" if value == {} else "must not match the excluded schema"
    if keyword in ("items", "additionalItems") and value is False:
        prefix = error.schema.get("prefixItems", error.schema.get("items", []))
        count = len(prefix) if isinstance(prefix, list) else 0
        return f"must have at most {count} items"
    if keyword in ("oneOf", "anyOf"):
        if keyword == "oneOf" and not error.context:
            return "must match exactly one of the options, but matches more than one"
        head = (
            "must match exactly one of the options, but matches none"
            if keyword == "oneOf"
            else "must match at least one of the options"
        )
        nearest = _nearest_option_error(error)
        if nearest is not None:
            where, detail = _locate(nearest, _parameter_message)[0]
            return f"{head} (nearest: {_pointer(where) or '(root)'} {detail})"
        return head
    if keyword is None or error.schema is False:
        return "is not allowed"
    return str(error.message)


def _nearest_option_error(error: ValidationError) -> ValidationError | None:
    """The most telling problem of the option the value was most likely meant for.

    The likely option is the one whose ``const``/``enum``/``type`` the value
    fails least (those say "wrong option", like a discriminator), then the one
    with the fewest problems; the first such option wins ties.
    """
    options: dict[object, list[ValidationError]] = {}
    for sub in error.context or ():
        key = sub.relative_schema_path[0] if sub.relative_schema_path else None
        options.setdefault(key, []).append(sub)
    if not options:
        return None

    def rank(problems: list[ValidationError]) -> tuple[int, int]:
        mismatches = sum(p.validator in ("const", "enum", "type") for p in problems)
        return mismatches, len(problems)

    likely = min(options.values(), key=rank)
    return _jsonschema().exceptions.best_match(likely)


def _schema_message(error: ValidationError) -> str:
    """A message for a broken schema: it names the bad value, for the expert who wrote it."""
    at = list(error.absolute_path)
    if error.validator == "anyOf" and at and at[-1] == "type" and not _named_child(at):
        return f"{_literal(error.instance)} is not a JSON Schema type (use one of: {', '.join(_JSON_TYPES)})"
    if error.validator == "format" and error.validator_value == "regex":
        return f"{_literal(error.instance)} is not a valid regular expression"
    if error.validator == "type":
        return f"must be {_kind(error.validator_value)}, not {_literal(error.instance)}"
    message = _parameter_message(error)
    if error.validator in ("enum", "const", "minimum", "exclusiveMinimum", "pattern"):
        return f"{message}, not {_literal(error.instance)}"
    return message


def _named_child(at: list[Any]) -> bool:
    """Whether the last token names a property (``properties.type``), not a keyword."""
    return len(at) >= 2 and at[-2] in _SCHEMA_KEYWORDS_WITH_NAMED_CHILDREN
