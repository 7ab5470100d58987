"""The form's pure decisions, called with plain schemas and values: no widget is built here."""

from __future__ import annotations

from typing import Any

from mlrun_kernel.widgets.schema_form import pointers
from mlrun_kernel.widgets.schema_form.kinds import (
    array_controls,
    field_kind,
    new_value,
    ordered_properties,
    switch_branch,
)
from mlrun_kernel.widgets.schema_form.pointers import MISSING
from mlrun_kernel.widgets.schema_form.resolve import SchemaIndex
from mlrun_kernel.widgets.schema_form.validation import FieldError, placed


def root_node(schema: Any, value: Any = MISSING, draft: Any = None) -> tuple[SchemaIndex, Any]:
    index = SchemaIndex(schema, draft)
    return index, index.node("", [index.root_part], value)


def test_pointers_escape_and_address_plain_data() -> None:
    assert pointers.join("/a", "b/c~d") == "/a/b~1c~0d"
    assert pointers.tokens("/a/b~1c~0d") == ["a", "b/c~d"]
    data: Any = {"a": [{"x": 1}]}
    assert pointers.get(data, "/a/0/x") == 1
    assert pointers.get(data, "/a/1/x") is MISSING
    pointers.put(data, "/b/c", 2)
    pointers.put(data, "/a/0/x", MISSING)
    assert data == {"a": [{}], "b": {"c": 2}}


def test_an_if_over_an_absent_property_is_true_unless_required_says_so() -> None:
    schema = {
        "type": "object",
        "if": {"properties": {"kind": {"const": "url"}}},
        "then": {"properties": {"url": {"type": "string"}}},
        "else": {"properties": {"path": {"type": "string"}}},
    }
    _, node = root_node(schema, {})
    assert set(node.properties) == {"url"}
    _, node = root_node({**schema, "if": {**schema["if"], "required": ["kind"]}}, {})
    assert set(node.properties) == {"path"}


def test_the_first_branch_is_not_taken_when_the_discriminator_names_another() -> None:
    schema = {
        "oneOf": [
            {"properties": {"kind": {"const": "a"}}},
            {"properties": {"kind": {"enum": ["b"]}, "extra": {"type": "string"}}, "required": ["extra"]},
        ]
    }
    _, node = root_node(schema, {"kind": "b"})
    assert node.groups[0].selected == 1
    _, node = root_node(schema, {})
    assert node.groups[0].selected == 0


def test_switching_branches_keeps_shared_values_and_drops_the_old_branchs_own() -> None:
    schema = {
        "oneOf": [
            {"properties": {"kind": {"const": "a"}, "name": {}, "only_a": {}}},
            {"properties": {"kind": {"const": "b"}, "name": {}, "only_b": {"default": 1}}},
        ]
    }
    index, node = root_node(schema, {"kind": "a", "name": "n", "only_a": 1, "unknown": 2})
    switched = switch_branch(
        index, node.groups[0], 0, 1, {"kind": "a", "name": "n", "only_a": 1, "unknown": 2}
    )
    assert switched == {"kind": "b", "name": "n", "unknown": 2, "only_b": 1}


def test_array_buttons_follow_min_max_and_tuples() -> None:
    _, node = root_node({"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}})
    controls = array_controls(node, 1)
    assert controls.can_add and controls.can_remove == (False,)
    assert not array_controls(node, 2).can_add
    _, node = root_node({"type": "array", "prefixItems": [{}, {}], "items": {"type": "integer"}})
    controls = array_controls(node, 4)
    assert controls.can_remove == (False, False, True, True)
    assert controls.can_up == (False, False, False, True)
    assert controls.can_down == (False, False, True, False)
    _, node = root_node({"type": "array", "items": [{}, {}], "additionalItems": False}, draft="draft7")
    assert not array_controls(node, 2).can_add


def test_x_order_puts_listed_names_first_then_the_rest_in_declared_order() -> None:
    _, node = root_node({"x-order": ["c"], "properties": {"a": {}, "b": {"x-order": 0}, "c": {}}})
    assert ordered_properties(node) == ["c", "b", "a"]


def test_which_input_a_value_gets() -> None:
    cases: list[tuple[Any, Any, str]] = [
        ({"type": "string"}, MISSING, "string"),
        ({"type": "string", "maxLength": 5000}, MISSING, "textarea"),
        ({"type": "integer", "minimum": 0, "maximum": 9, "x-widget": "slider"}, MISSING, "slider"),
        ({"type": "integer", "x-widget": "slider"}, MISSING, "number"),
        ({"enum": [1, 2]}, MISSING, "select"),
        ({"oneOf": [{"const": 1, "title": "one"}]}, MISSING, "select"),
        ({"type": "array", "uniqueItems": True, "items": {"enum": ["a"]}}, MISSING, "multiselect"),
        ({"type": ["string", "null"]}, None, "nullable"),
        ({"type": "null"}, None, "null"),
        ({"const": 3}, MISSING, "const"),
        ({}, 1234, "number"),
        ({}, MISSING, "json"),
    ]
    for schema, value, kind in cases:
        index, node = root_node(schema, value)
        assert field_kind(node, value, index) == kind, schema


def test_a_new_item_starts_from_its_default_const_first_option_or_empty_value() -> None:
    for schema, expected in [
        ({"type": "string", "default": "x"}, "x"),
        ({"const": 4}, 4),
        ({"enum": ["b", "a"]}, "b"),
        ({"type": "integer", "minimum": 3}, 3),
        ({"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5}, 0.5),
        ({"type": "object", "properties": {"a": {"default": 1}}}, {"a": 1}),
        ({"type": "boolean"}, False),
    ]:
        index, node = root_node(schema)
        assert new_value(node, index) == expected, schema


def test_an_error_without_a_field_goes_to_the_nearest_field_above_saying_where() -> None:
    errors = [FieldError("/a/b/c", "is required"), FieldError("/a", "must be an object")]
    assert placed(errors, {"", "/a"}) == {"/a": ["/b/c: is required", "must be an object"]}
