"""Parameters: schemas experts write, defaults a form fills, errors a user sees next to a field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlrun_kernel.spec import (
    DRAFT_7,
    DRAFT_2020_12,
    ManifestError,
    ParameterError,
    SpecIssue,
    check_json_schema,
    check_parameters_schema,
    fill_defaults,
    parameter_errors,
    validate_parameters,
)


def errors(schema: dict[str, Any], params: Any, **options: Any) -> list[tuple[str, str]]:
    return [(issue.path, issue.message) for issue in parameter_errors(schema, params, **options)]


def obj(properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **more}


# --------------------------------------------------------------------------- schema checks


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string"},
        {"type": "array", "items": {"type": "integer"}},
        True,
        {},
        {"$schema": DRAFT_7, "type": "number"},
        {"$schema": DRAFT_7.rstrip("#"), "type": "number"},
        {"$schema": DRAFT_2020_12, "prefixItems": [{"type": "string"}]},
    ],
)
def test_check_json_schema_accepts_any_root(schema: Any) -> None:
    check_json_schema(schema)


def test_check_json_schema_lists_every_problem() -> None:
    schema = obj(
        {
            "a": {"type": "strng"},
            "b": {"minimum": "zero"},
            "c": {"type": "string", "pattern": "[unclosed"},
            "d": {"enum": "red"},
        }
    )
    with pytest.raises(ManifestError) as caught:
        check_json_schema(schema, path="tasks.t.parameters")
    assert caught.value.errors == [
        SpecIssue(
            "tasks.t.parameters.properties.a.type",
            '"strng" is not a JSON Schema type '
            "(use one of: array, boolean, integer, null, number, object, string)",
        ),
        SpecIssue("tasks.t.parameters.properties.b.minimum", 'must be a number, not "zero"'),
        SpecIssue(
            "tasks.t.parameters.properties.c.pattern",
            '"[unclosed" is not a valid regular expression',
        ),
        SpecIssue("tasks.t.parameters.properties.d.enum", 'must be an array, not "red"'),
    ]


def test_a_property_called_type_is_not_mistaken_for_the_keyword() -> None:
    with pytest.raises(ManifestError) as caught:
        check_json_schema(obj({"type": 3}))
    assert str(caught.value) == "parameters.properties.type: must be an object or a boolean, not 3"


def test_dangling_and_remote_refs_are_refused() -> None:
    schema = obj(
        {
            "a": {"$ref": "#/$defs/missing"},
            "b": {"items": {"$ref": "other.json"}},
            "c": {"$ref": "#/$defs/ok"},
        },
        **{"$defs": {"ok": {"type": "string"}}},
    )
    with pytest.raises(ManifestError) as caught:
        check_json_schema(schema)
    assert [issue.path for issue in caught.value.errors] == [
        "parameters.properties.a.$ref",
        "parameters.properties.b.items.$ref",
    ]
    assert caught.value.errors[0].message == (
        "cannot resolve '#/$defs/missing': a $ref must point inside the schema (e.g. '#/$defs/name')"
    )


def test_bundled_refs_with_their_own_id_resolve() -> None:
    schema = {
        "$id": "https://example.org/schemas/bundle",
        "type": "object",
        "$defs": {
            "https://example.org/schemas/integer": {
                "$id": "https://example.org/schemas/integer",
                "type": "integer",
            },
            "count": {"allOf": [{"$ref": "/schemas/integer"}, {"minimum": 0}]},
        },
        "properties": {"n": {"$ref": "#/$defs/count"}},
    }
    check_parameters_schema(schema)
    assert errors(schema, {"n": -1}) == [("/n", "must be >= 0")]
    assert errors(schema, {"n": "1"}) == [("/n", "must be an integer")]


def test_unsupported_dialect_is_refused() -> None:
    with pytest.raises(ManifestError) as caught:
        check_json_schema({"$schema": "https://json-schema.org/draft/2019-09/schema"})
    assert str(caught.value) == (
        "parameters.$schema: unsupported JSON Schema dialect "
        "'https://json-schema.org/draft/2019-09/schema'; use "
        "'https://json-schema.org/draft/2020-12/schema' (the default) or "
        "'http://json-schema.org/draft-07/schema#'"
    )


def test_the_dialect_decides_what_is_valid() -> None:
    tuple_items = obj({"pair": {"type": "array", "items": [{"type": "string"}]}})
    check_json_schema({**tuple_items, "$schema": DRAFT_7})
    check_json_schema(tuple_items, default_draft="draft7")
    with pytest.raises(ManifestError, match="parameters.properties.pair.items: must be an object"):
        check_json_schema(tuple_items)


def test_unknown_default_draft_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="default_draft must be one of"):
        check_json_schema({}, default_draft="draft4")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "string"}, "tasks.p.parameters: 'type' must be 'object'"),
        ({"type": ["object", "null"]}, "tasks.p.parameters: 'type' must be 'object'"),
        ({}, "tasks.p.parameters: 'type' must be 'object'"),
        (True, 'tasks.p.parameters: must be a JSON Schema object with "type": "object"'),
    ],
)
def test_parameters_root_must_be_an_object_schema(schema: Any, message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        check_parameters_schema(schema, path="tasks.p.parameters")
    assert str(caught.value) == message


def test_parameters_schema_reports_metaschema_and_root_problems_together() -> None:
    with pytest.raises(ManifestError) as caught:
        check_parameters_schema({"type": "array", "minItems": -1})
    assert str(caught.value).splitlines() == [
        "parameters.minItems: must be >= 0, not -1",
        "parameters: 'type' must be 'object'",
    ]


# --------------------------------------------------------------------------- defaults


def test_missing_properties_get_their_defaults() -> None:
    schema = obj({"threshold": {"type": "number", "default": 0.5}, "name": {"type": "string"}})
    assert fill_defaults(schema, {}) == {"threshold": 0.5}
    assert fill_defaults(schema, {"threshold": 0.9}) == {"threshold": 0.9}


def test_given_falsy_values_are_kept() -> None:
    schema = obj({"a": {"default": 1}, "b": {"default": "x"}, "c": {"default": [1]}})
    given = {"a": 0, "b": "", "c": None}
    assert fill_defaults(schema, given) == given


def test_fill_defaults_never_mutates_its_inputs() -> None:
    schema = obj({"opts": {"type": "object", "default": {"k": [1]}, "properties": {"j": {"default": 2}}}})
    data: dict[str, Any] = {"rows": [{"a": 1}]}
    schema_before, data_before = copy.deepcopy(schema), copy.deepcopy(data)

    filled = fill_defaults(schema, data)
    filled["opts"]["k"].append(2)
    again = fill_defaults(schema, data)

    assert schema == schema_before and data == data_before
    assert again["opts"] == {"k": [1], "j": 2}  # the default was copied, and then filled


def test_nested_object_is_created_only_when_it_gets_a_default() -> None:
    schema = obj(
        {
            "window": obj({"size": {"type": "integer", "default": 7}, "step": {"type": "integer"}}),
            "plain": obj({"x": {"type": "string"}}),
            "deep": obj({"inner": obj({"z": {"default": "zz"}})}),
        }
    )
    assert fill_defaults(schema, {}) == {"window": {"size": 7}, "deep": {"inner": {"z": "zz"}}}
    assert fill_defaults(schema, {"window": {"step": 2}}) == {
        "window": {"step": 2, "size": 7},
        "deep": {"inner": {"z": "zz"}},
    }


def test_nested_object_is_not_created_incomplete() -> None:
    schema = obj(
        {
            "auth": obj(
                {"method": {"default": "token"}, "token": {"type": "string"}},
                required=["token"],
            )
        }
    )
    assert fill_defaults(schema, {}) == {}
    assert fill_defaults(schema, {"auth": {"token": "t"}}) == {"auth": {"token": "t", "method": "token"}}


def test_defaults_through_refs() -> None:
    schema = {
        "type": "object",
        "$defs": {"share": {"type": "number", "default": 0.25}},
        "definitions": {"address": obj({"country": {"type": "string", "default": "CH"}})},
        "properties": {
            "share": {"$ref": "#/$defs/share"},
            "own": {"$ref": "#/$defs/share", "default": 0.75},
            "home": {"$ref": "#/definitions/address"},
            "work": {"$ref": "#/definitions/address"},
        },
    }
    assert fill_defaults(schema, {"work": {"country": "FR"}}) == {
        "share": 0.25,
        "own": 0.75,
        "home": {"country": "CH"},
        "work": {"country": "FR"},
    }


def test_defaults_through_all_of_are_merged() -> None:
    schema = {
        "type": "object",
        "allOf": [
            obj({"a": {"default": 1}, "b": {"default": "first"}}),
            obj({"b": {"default": "second"}, "c": {"default": [1, 2]}}),
            {"$ref": "#/$defs/more"},
        ],
        "$defs": {"more": obj({"d": {"default": True}})},
    }
    assert fill_defaults(schema, {}) == {"a": 1, "b": "first", "c": [1, 2], "d": True}


def test_defaults_inside_existing_array_items() -> None:
    schema = obj(
        {
            "layers": {
                "type": "array",
                "items": obj({"units": {"default": 32}, "act": {"default": "relu"}}),
            },
            "pair": {
                "type": "array",
                "prefixItems": [obj({"x": {"default": 1}}), obj({"y": {"default": 2}})],
                "items": obj({"z": {"default": 3}}),
            },
        }
    )
    data = {"layers": [{}, {"units": 8}], "pair": [{}, {}, {}, {}]}
    assert fill_defaults(schema, data) == {
        "layers": [{"units": 32, "act": "relu"}, {"units": 8, "act": "relu"}],
        "pair": [{"x": 1}, {"y": 2}, {"z": 3}, {"z": 3}],
    }
    assert fill_defaults(schema, {}) == {}  # arrays are not invented


def test_draft7_tuple_items_and_additional_items() -> None:
    schema = obj(
        {
            "t": {
                "type": "array",
                "items": [obj({"a": {"default": "A"}})],
                "additionalItems": obj({"b": {"default": "B"}}),
            }
        },
        **{"$schema": DRAFT_7},
    )
    assert fill_defaults(schema, {"t": [{}, {}]}) == {"t": [{"a": "A"}, {"b": "B"}]}


def test_default_array_is_padded_to_min_items_but_user_arrays_are_not() -> None:
    schema = obj(
        {
            "fish": {
                "type": "array",
                "minItems": 4,
                "default": ["carp", "trout"],
                "items": {"type": "string", "default": "unidentified"},
            }
        }
    )
    assert fill_defaults(schema, {}) == {"fish": ["carp", "trout", "unidentified", "unidentified"]}
    assert fill_defaults(schema, {"fish": ["pike"]}) == {"fish": ["pike"]}


def test_branches_are_not_used_for_defaults() -> None:
    schema = obj(
        {"kind": {"type": "string"}},
        oneOf=[obj({"a": {"default": 1}}), obj({"b": {"default": 2}})],
        anyOf=[obj({"c": {"default": 3}})],
        **{"if": obj({"kind": {"const": "x"}}), "then": obj({"d": {"default": 4}})},
    )
    assert fill_defaults(schema, {"kind": "x"}) == {"kind": "x"}


def test_recursive_schemas_terminate() -> None:
    tree = {
        "$defs": {
            "node": obj(
                {
                    "label": {"type": "string", "default": "leaf"},
                    "left": {"$ref": "#/$defs/node"},
                    "right": {"$ref": "#/$defs/node"},
                }
            )
        },
        "$ref": "#/$defs/node",
    }
    assert fill_defaults(tree, {}) == {"label": "leaf"}
    assert fill_defaults(tree, {"left": {"right": {}}}) == {
        "label": "leaf",
        "left": {"label": "leaf", "right": {"label": "leaf"}},
    }
    loop = {
        "$ref": "#",
        "allOf": [{"$ref": "#"}, {"$ref": "#"}],
        "properties": {"x": {"$ref": "#"}},
    }
    assert fill_defaults(loop, {"x": {"x": {}}}) == {"x": {"x": {}}}


def test_non_object_data_and_schemas_pass_through() -> None:
    assert fill_defaults(True, {"a": 1}) == {"a": 1}
    assert fill_defaults(obj({"a": {"default": 1}}), "text") == "text"
    assert fill_defaults(obj({"a": {"default": 1}}), None) is None


# --------------------------------------------------------------------------- validation


def test_validate_parameters_fills_defaults_and_returns_a_new_dict() -> None:
    schema = obj({"threshold": {"type": "number", "default": 0.5}})
    given = {"extra": 1}
    assert validate_parameters(schema, given) == {"extra": 1, "threshold": 0.5}
    assert given == {"extra": 1}
    assert validate_parameters(schema, None) == {"threshold": 0.5}


def test_required_points_at_the_missing_property() -> None:
    schema = obj(
        {"name": {"type": "string"}, "window": obj({"size": {}}, required=["size"])},
        required=["name", "window"],
    )
    assert errors(schema, {"window": {}}) == [
        ("/name", "is required"),
        ("/window/size", "is required"),
    ]


def test_all_errors_are_listed_sorted_by_field() -> None:
    schema = obj(
        {
            "z": {"type": "integer", "maximum": 3},
            "a": {"type": "string", "minLength": 2},
            "rows": {"type": "array", "items": obj({"n": {"type": "number"}})},
        },
        additionalProperties=False,
    )
    params = {"z": 5, "a": "x", "rows": [{"n": 1}] * 10 + [{"n": "2"}], "b": 1}
    params["rows"][2] = {"n": "bad"}
    assert errors(schema, params) == [
        ("/a", "must be at least 2 characters long"),
        ("/b", "is not an allowed property"),
        ("/rows/2/n", "must be a number"),
        ("/rows/10/n", "must be a number"),
        ("/z", "must be <= 3"),
    ]


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ({"type": "string", "format": "email"}, "not-an-email", "must be an email address"),
        ({"type": "string", "format": "date"}, "2024-13-01", "must be a date (YYYY-MM-DD)"),
        ({"type": "string", "format": "date"}, "01/05/2024", "must be a date (YYYY-MM-DD)"),
        (
            {"type": "string", "format": "date-time"},
            "2024-05-01 25:00",
            "must be a date and time (RFC 3339, e.g. 2024-05-01T12:00:00Z)",
        ),
        ({"type": "string", "format": "time"}, "noon", "must be a time (RFC 3339, e.g. 12:00:00Z)"),
        ({"type": "string", "format": "ipv4"}, "300.1.1.1", "must be an IPv4 address"),
        ({"type": ["integer", "null"]}, "3", "must be an integer or null"),
        ({"enum": ["a", "b"]}, "c", 'must be one of: "a", "b"'),
        ({"enum": list(range(20))}, 99, "must be one of the allowed values"),
        ({"const": "fixed"}, "x", 'must be "fixed"'),
        ({"exclusiveMinimum": 0}, 0, "must be > 0"),
        ({"exclusiveMaximum": 1}, 1, "must be < 1"),
        ({"minimum": 1}, 0, "must be >= 1"),
        ({"multipleOf": 5}, 7, "must be a multiple of 5"),
        ({"minLength": 1}, "", "must not be empty"),
        ({"maxLength": 2}, "abc", "must be at most 2 characters long"),
        ({"pattern": "^[a-z]+$"}, "A1", "must match the pattern ^[a-z]+$"),
        ({"minItems": 2}, [1], "must have at least 2 items"),
        ({"maxItems": 1}, [1, 2], "must have at most 1 items"),
        ({"uniqueItems": True}, [1, 1], "must not contain duplicate items"),
        ({"contains": {"type": "string"}}, [1], "must contain a matching item"),
        ({"minProperties": 1}, {}, "must have at least 1 properties"),
        ({"not": {"type": "string"}}, "s", "must not match the excluded schema"),
        (False, 1, "is not allowed"),
    ],
)
def test_field_messages(prop: Any, value: Any, message: str) -> None:
    assert errors(obj({"f": prop}), {"f": value}) == [("/f", message)]


def test_valid_formats_pass() -> None:
    schema = obj(
        {
            "mail": {"format": "email"},
            "day": {"format": "date"},
            "at": {"format": "date-time"},
            "clock": {"format": "time"},
        }
    )
    params = {
        "mail": "a@b.org",
        "day": "2024-02-29",
        "at": "2024-05-01T12:00:00Z",
        "clock": "12:00:00Z",
    }
    assert errors(schema, params) == []


def test_formats_can_be_limited() -> None:
    schema = obj({"mail": {"format": "email"}, "day": {"format": "date"}})
    params = {"mail": "nope", "day": "nope"}
    assert errors(schema, params, formats=("date",)) == [("/day", "must be a date (YYYY-MM-DD)")]
    assert errors(schema, params, formats=()) == []


def test_one_of_errors_point_at_the_value() -> None:
    schema = obj(
        {
            "model": {
                "oneOf": [
                    obj(
                        {"kind": {"const": "forest"}, "trees": {"type": "integer"}},
                        required=["kind", "trees"],
                    ),
                    obj({"kind": {"const": "linear"}}, required=["kind"]),
                ]
            },
            "both": {"oneOf": [{"type": "number"}, {"type": "integer"}]},
        }
    )
    assert errors(schema, {"model": {"kind": "forest"}, "both": 3}) == [
        ("/both", "must match exactly one of the options, but matches more than one"),
        (
            "/model",
            "must match exactly one of the options, but matches none (nearest: /model/trees is required)",
        ),
    ]


def test_any_of_error_gives_the_nearest_problem() -> None:
    schema = obj({"n": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]}})
    assert errors(schema, {"n": "long"}) == [
        (
            "/n",
            "must match at least one of the options (nearest: /n must be at most 2 characters long)",
        )
    ]


def test_if_then_else_errors_point_into_the_branch() -> None:
    schema = obj(
        {"animal": {"enum": ["cat", "fish"]}, "food": {"type": "string"}, "water": {}},
        required=["animal"],
        allOf=[
            {
                "if": obj({"animal": {"const": "cat"}}),
                "then": obj({"food": {"enum": ["meat", "grass"]}}, required=["food"]),
                "else": obj({"water": {"enum": ["fresh", "salt"]}}, required=["water"]),
            }
        ],
    )
    assert errors(schema, {"animal": "cat"}) == [("/food", "is required")]
    assert errors(schema, {"animal": "cat", "food": "fish"}) == [("/food", 'must be one of: "meat", "grass"')]
    assert errors(schema, {"animal": "fish", "water": "tap"}) == [
        ("/water", 'must be one of: "fresh", "salt"')
    ]


def test_dependencies_and_property_names() -> None:
    schema = {
        "type": "object",
        "dependentRequired": {"card": ["billing"]},
        "propertyNames": {"pattern": "^[a-z]+$"},
    }
    assert errors(schema, {"card": 1, "Bad": 2}) == [
        ("/Bad", "property name must match the pattern ^[a-z]+$"),
        ("/billing", "is required when 'card' is set"),
    ]
    draft7 = {"$schema": DRAFT_7, "type": "object", "dependencies": {"card": ["billing"]}}
    assert errors(draft7, {"card": 1}) == [("/billing", "is required when 'card' is set")]


def test_pointers_escape_slashes_and_tildes() -> None:
    schema = obj({"a/b": {"type": "string"}, "c~d": {"type": "string"}})
    assert errors(schema, {"a/b": 1, "c~d": 2}) == [
        ("/a~1b", "must be a string"),
        ("/c~0d", "must be a string"),
    ]


def test_parameter_errors_does_not_fill_defaults() -> None:
    schema = obj({"name": {"type": "string", "default": "x"}}, required=["name"])
    assert errors(schema, {}) == [("/name", "is required")]
    assert validate_parameters(schema, {}) == {"name": "x"}


def test_parameter_error_lists_every_issue() -> None:
    schema = obj(
        {"threshold": {"type": "number", "maximum": 1}, "name": {"type": "string"}},
        required=["name"],
    )
    with pytest.raises(ParameterError) as caught:
        validate_parameters(schema, {"threshold": 2})
    assert str(caught.value) == "/name: is required\n/threshold: must be <= 1"
    assert caught.value.errors == [
        SpecIssue("/name", "is required"),
        SpecIssue("/threshold", "must be <= 1"),
    ]


def test_root_problems_use_the_empty_pointer() -> None:
    with pytest.raises(ParameterError) as caught:
        validate_parameters(obj({}), [1, 2])  # type: ignore[arg-type]
    assert caught.value.errors == [SpecIssue("", "must be an object")]
    assert str(caught.value) == "(root): must be an object"


def test_default_draft_picks_the_validator() -> None:
    schema = obj({"pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}})
    assert errors(schema, {"pair": ["a", "b"]}, default_draft="draft7") == [("/pair/1", "must be an integer")]
    with pytest.raises(ManifestError):
        parameter_errors(schema, {"pair": ["a", "b"]})  # not a 2020-12 schema


def test_schema_dialect_wins_over_the_default_draft() -> None:
    schema = obj({"n": {"exclusiveMinimum": 0}}, **{"$schema": DRAFT_2020_12})
    assert errors(schema, {"n": 0}, default_draft="draft7") == [("/n", "must be > 0")]


def test_broken_schema_raises_manifest_error_not_parameter_error() -> None:
    with pytest.raises(ManifestError, match="cannot resolve '#/\\$defs/gone'"):
        validate_parameters(obj({"a": {"$ref": "#/$defs/gone"}}), {"a": 1})


def test_deeply_nested_parameters_are_refused_not_crashed() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(500):
        node["a"] = {}
        node = node["a"]
    (issue,) = parameter_errors({"type": "object"}, deep)
    assert issue == SpecIssue("/a" * 64, "is nested deeper than 64 levels")
    with pytest.raises(ParameterError, match="is nested deeper than 64 levels"):
        validate_parameters({"type": "object"}, deep)
