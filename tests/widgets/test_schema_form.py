"""SchemaForm driven from pytest, without a browser: what a user types, what the form holds and shows.

Each test sets widget state the way a click or a keystroke does (``v_model``,
the buttons' handlers) and reads ``form.value``, ``form.valid``,
``form.errors`` and the fields' shown errors.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlrun_kernel.spec import ManifestError
from mlrun_kernel.widgets.schema_form import FieldError, SchemaForm
from mlrun_kernel.widgets.schema_form.containers import ArrayField, ChoiceField, NullableField, ObjectField
from mlrun_kernel.widgets.schema_form.leaves import (
    BooleanField,
    NullField,
    NumberField,
    SelectField,
    SliderField,
    TextField,
)

THRESHOLD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "title": "Run name",
            "description": "Shown in the history.",
            "minLength": 2,
        },
        "threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
        "verbose": {"type": "boolean", "default": False},
        "mode": {"enum": ["fast", "exact"], "default": "fast"},
        "window": {
            "type": "object",
            "properties": {"size": {"type": "integer", "default": 7}, "label": {"type": "string"}},
        },
    },
    "required": ["name"],
}


def field(form: SchemaForm, pointer: str) -> Any:
    found = form.field_at(pointer)
    assert found is not None, f"no field at {pointer!r}; fields: {sorted(form._fields)}"
    return found


# ------------------------------------------------------------------ the interface


def test_a_new_form_holds_the_defaults_and_says_what_is_missing() -> None:
    form = SchemaForm(THRESHOLD)
    assert form.value == {"threshold": 0.5, "verbose": False, "mode": "fast", "window": {"size": 7}}
    assert form.valid is False
    assert form.errors == [FieldError("/name", "is required")]
    assert field(form, "/name").error == "is required"
    assert field(form, "/name").widget.label == "Run name *"
    assert field(form, "/name").widget.hint == "Shown in the history."


def test_typing_updates_value_validity_and_the_field_errors() -> None:
    form = SchemaForm(THRESHOLD)
    seen: list[Any] = []
    form.observe(lambda change: seen.append((change["new"], form.valid)), "value")

    name = field(form, "/name")
    assert isinstance(name, TextField)
    name.type_text("a")
    assert name.error == "must be at least 2 characters long"
    name.type_text("ab")
    assert form.valid and form.errors == [] and name.error == ""
    assert form.value["name"] == "ab"
    assert seen[-1] == (form.value, True)  # observers see the new verdict with the new value

    threshold = field(form, "/threshold")
    assert isinstance(threshold, NumberField)
    threshold.type_text("1.5")
    assert form.value["threshold"] == 1.5
    assert threshold.error == "must be <= 1"
    assert not form.valid
    threshold.type_text("")
    assert "threshold" not in form.value  # a cleared optional number is absent, not null or ""

    verbose = field(form, "/verbose")
    assert isinstance(verbose, BooleanField)
    verbose.widget.v_model = True
    assert form.value["verbose"] is True

    mode = field(form, "/mode")
    assert isinstance(mode, SelectField)
    assert mode.widget.items == ["fast", "exact"]
    mode.pick("exact")
    assert form.value["mode"] == "exact"

    field(form, "/window/label").type_text("weekly")
    assert form.value["window"] == {"size": 7, "label": "weekly"}


def test_setting_value_fills_defaults_and_reads_back_unchanged() -> None:
    form = SchemaForm(THRESHOLD)
    form.value = {"name": "run", "threshold": 0.2, "extra": {"kept": [1, 2]}}
    assert form.value == {
        "name": "run",
        "threshold": 0.2,
        "extra": {"kept": [1, 2]},  # data the form has no input for is kept
        "verbose": False,
        "mode": "fast",
        "window": {"size": 7},
    }
    assert field(form, "/threshold").widget.v_model == "0.2"
    assert field(form, "/name").widget.v_model == "run"


def test_server_errors_show_at_their_fields_until_the_value_changes() -> None:
    form = SchemaForm(THRESHOLD, {"name": "ok"})
    assert form.valid
    form.set_errors(
        [FieldError("/threshold", "is above the quota of this model"), FieldError("/nope", "odd")]
    )
    assert not form.valid
    assert field(form, "/threshold").error == "is above the quota of this model"
    assert field(form, "").error == "/nope: odd"  # no field there: the nearest one above says where
    assert form.summary.children  # and the summary lists them
    field(form, "/threshold").type_text("0.3")
    assert form.valid and field(form, "/threshold").error == ""


def test_a_broken_schema_is_refused_with_where_and_why() -> None:
    with pytest.raises(ManifestError, match="schema.properties.x.type"):
        SchemaForm({"type": "object", "properties": {"x": {"type": "text"}}})


def test_submit_is_disabled_while_the_data_is_invalid() -> None:
    form = SchemaForm(THRESHOLD, submit_label="Run")
    sent: list[Any] = []
    form.on_submit(sent.append)
    assert form.submit_button.disabled
    assert form.submit() is False
    field(form, "/name").type_text("go")
    assert not form.submit_button.disabled
    assert form.submit() is True and sent == [form.value]


# ------------------------------------------------------------------ conditionals


IF_ON_KIND: dict[str, Any] = {
    "type": "object",
    "properties": {"kind": {"enum": ["file", "url"]}},
    "if": {"properties": {"kind": {"const": "url"}}},
    "then": {"properties": {"url": {"type": "string", "format": "uri"}}, "required": ["url"]},
    "else": {"properties": {"path": {"type": "string"}}},
}


def test_an_if_on_an_absent_property_matches_as_json_schema_says() -> None:
    """``properties`` holds for an absent property, so the ``if`` is true and ``then`` applies."""
    form = SchemaForm(IF_ON_KIND, {})
    assert form.field_at("/url") is not None and form.field_at("/path") is None
    assert form.errors == [FieldError("/url", "is required")]

    field(form, "/kind").pick("file")
    assert form.field_at("/url") is None and form.field_at("/path") is not None
    assert form.valid
    field(form, "/kind").pick("url")
    assert form.field_at("/url") is not None and not form.valid


def test_an_if_that_requires_its_property_does_not_match_while_it_is_absent() -> None:
    schema = {**IF_ON_KIND, "if": {"properties": {"kind": {"const": "url"}}, "required": ["kind"]}}
    form = SchemaForm(schema, {})
    assert form.field_at("/url") is None and form.field_at("/path") is not None
    assert form.valid


def test_nested_conditionals_and_dependencies_add_fields_and_required_marks() -> None:
    schema = {
        "type": "object",
        "properties": {"card": {"type": "string"}, "country": {"type": "string"}},
        "dependentRequired": {"card": ["billing"]},
        "dependentSchemas": {"card": {"properties": {"billing": {"type": "string"}}}},
        "allOf": [
            {
                "if": {"properties": {"country": {"const": "US"}}, "required": ["country"]},
                "then": {
                    "properties": {"state": {"type": "string"}},
                    "if": {"properties": {"state": {"const": "CA"}}, "required": ["state"]},
                    "then": {"properties": {"county": {"type": "string"}}},
                },
            }
        ],
    }
    form = SchemaForm(schema, {})
    assert form.field_at("/billing") is None and form.field_at("/state") is None
    field(form, "/card").type_text("4111")
    assert field(form, "/billing").widget.label == "billing *"
    assert form.errors == [FieldError("/billing", "is required when 'card' is set")]
    field(form, "/country").type_text("US")
    assert form.field_at("/state") is not None and form.field_at("/county") is None
    field(form, "/state").type_text("CA")
    assert form.field_at("/county") is not None
    field(form, "/country").type_text("FR")
    assert form.field_at("/state") is None
    assert form.value == {"card": "4111", "country": "FR", "state": "CA"}  # hidden, but not thrown away


def test_draft7_dependencies_both_forms() -> None:
    schema = {
        "type": "object",
        "properties": {
            "payment": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "dependencies": {"a": {"properties": {"b": {"type": "integer"}}}},
            },
            "contact": {
                "type": "object",
                "properties": {"b": {"type": "string"}},
                "dependencies": {"b": ["c"]},
            },
        },
    }
    form = SchemaForm(schema, {}, draft="draft7")
    assert form.field_at("/payment/b") is None
    field(form, "/payment/a").type_text("x")
    field(form, "/payment/b").type_text("3")
    field(form, "/contact/b").type_text("y")
    assert form.value == {"payment": {"a": "x", "b": 3}, "contact": {"b": "y"}}
    assert form.errors == [FieldError("/contact/c", "is required when 'b' is set")]


# ------------------------------------------------------------------ branches


SHAPES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "shape": {
            "oneOf": [
                {
                    "title": "Circle",
                    "type": "object",
                    "properties": {
                        "kind": {"const": "circle"},
                        "name": {"type": "string"},
                        "radius": {"type": "number"},
                    },
                },
                {
                    "title": "Square",
                    "type": "object",
                    "properties": {
                        "kind": {"const": "square"},
                        "name": {"type": "string"},
                        "side": {"type": "number"},
                    },
                    "required": ["side"],
                },
            ]
        }
    },
}


def test_the_branch_picker_starts_on_the_branch_the_const_discriminator_names() -> None:
    # {"kind": "square"} fails both branches once (const / required): only the discriminator tells
    form = SchemaForm(SHAPES, {"shape": {"kind": "square"}})
    shape = field(form, "/shape")
    assert isinstance(shape, ChoiceField)
    assert shape.branch == 1
    assert [item["title"] for item in shape.pickers[0].items] == ["Circle", "Square"]
    assert form.field_at("/shape/side") is not None and form.field_at("/shape/radius") is None


def test_the_branch_picker_never_switches_while_the_user_types() -> None:
    schema = {
        "type": "object",
        "properties": {
            "code": {
                "anyOf": [
                    {
                        "title": "Short",
                        "type": "object",
                        "properties": {"a": {"type": "string", "maxLength": 3}},
                    },
                    {
                        "title": "Long",
                        "type": "object",
                        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                    },
                ]
            }
        },
    }
    form = SchemaForm(schema, {"code": {"a": "ab"}})
    assert field(form, "/code").branch == 0
    typed = field(form, "/code/a")
    typed.type_text("abcd")  # now only "Long" matches; the picker stays where the user left it
    assert field(form, "/code").branch == 0
    assert form.field_at("/code/a") is typed  # the input being typed in is not replaced
    assert form.field_at("/code/b") is None
    assert form.valid  # "Long" accepts it, so anyOf holds; the form still shows the user's branch


def test_switching_branches_keeps_the_values_they_share() -> None:
    form = SchemaForm(SHAPES, {"shape": {"kind": "circle", "name": "wheel", "radius": 2}})
    field(form, "/shape").choose(1)
    assert form.value == {"shape": {"kind": "square", "name": "wheel"}}
    assert form.field_at("/shape/side") is not None
    assert form.errors == [  # the service's verdict...
        FieldError(
            "/shape",
            "must match exactly one of the options, but matches none (nearest: /shape/side is required)",
        )
    ]
    assert field(form, "/shape/side").error == "is required"  # ...shown where the picked branch needs it
    assert field(form, "/shape").error == ""
    field(form, "/shape/side").type_text("3")
    assert form.valid


def test_branches_of_other_types_start_afresh() -> None:
    schema = {
        "type": "object",
        "properties": {"limit": {"oneOf": [{"type": "integer"}, {"type": "string", "default": "none"}]}},
    }
    form = SchemaForm(schema, {"limit": 5})
    assert field(form, "/limit").branch == 0
    field(form, "/limit").choose(1)
    assert form.value == {"limit": "none"}


# ------------------------------------------------------------------ recursion, null


TREE: dict[str, Any] = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "child": {"$ref": "#/$defs/node"}},
        }
    },
    "type": "object",
    "properties": {"root": {"$ref": "#/$defs/node", "title": "Root"}},
}


def test_a_recursive_ref_is_expanded_only_when_the_user_opens_a_level() -> None:
    form = SchemaForm(TREE, {"root": {"name": "a", "child": {"name": "b", "child": {"name": "c"}}}})
    assert form.field_at("/root/name") is not None
    child = field(form, "/root/child")
    assert isinstance(child, ObjectField) and child.lazy and not child.is_open
    assert form.field_at("/root/child/name") is None
    child.open()
    assert field(form, "/root/child/name").widget.v_model == "b"
    assert not field(form, "/root/child/child").is_open
    field(form, "/root/child/name").type_text("B")
    assert form.value == {"root": {"name": "a", "child": {"name": "B", "child": {"name": "c"}}}}


def test_errors_inside_an_unopened_level_show_on_its_panel() -> None:
    schema = {**TREE, "$defs": {"node": {**TREE["$defs"]["node"], "required": ["name"]}}}
    form = SchemaForm(schema, {"root": {"name": "a", "child": {}}})
    assert field(form, "/root/child").error == "/name: is required"


def test_the_null_toggle_sets_null_not_an_empty_string() -> None:
    schema = {
        "type": "object",
        "properties": {"age": {"type": ["integer", "null"]}, "note": {"type": "null", "title": "Note"}},
    }
    form = SchemaForm(schema, {"age": 3})
    age = field(form, "/age")
    assert isinstance(age, NullableField) and not age.is_null
    age.set_null(True)
    assert form.value == {"age": None}
    assert age.inner.widget.disabled
    age.set_null(False)
    assert form.value == {}
    age.inner.type_text("4")
    assert form.value == {"age": 4}

    note = field(form, "/note")
    assert isinstance(note, NullField)
    note.widget.v_model = True
    assert form.value == {"age": 4, "note": None}
    note.widget.v_model = False
    assert form.value == {"age": 4}
    assert form.valid


# ------------------------------------------------------------------ arrays


def test_array_add_remove_reorder_follow_min_and_max_items() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string", "default": "new"},
                "minItems": 1,
                "maxItems": 3,
            }
        },
    }
    form = SchemaForm(schema, {"tags": ["a"]})
    tags = field(form, "/tags")
    assert isinstance(tags, ArrayField)
    assert tags.buttons[0]["remove"].disabled  # at minItems
    tags.add()
    assert form.value == {"tags": ["a", "new"]}
    field(form, "/tags/1").type_text("b")
    tags.add()
    assert form.value == {"tags": ["a", "b", "new"]}
    assert tags.add_button.disabled  # at maxItems
    tags.add()
    assert len(form.value["tags"]) == 3
    tags.move(2, -1)
    assert form.value == {"tags": ["a", "new", "b"]}
    assert tags.buttons[0]["up"].disabled and tags.buttons[2]["down"].disabled
    tags.remove(0)
    assert form.value == {"tags": ["new", "b"]}
    assert not tags.add_button.disabled


def test_arrays_of_objects_get_their_defaults_per_item() -> None:
    schema = {
        "$defs": {
            "holiday": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "recurring": {"type": "boolean", "default": True}},
            }
        },
        "type": "object",
        "properties": {"holidays": {"type": "array", "items": {"$ref": "#/$defs/holiday"}}},
    }
    form = SchemaForm(schema, {})
    field(form, "/holidays").add()
    assert form.value == {"holidays": [{"recurring": True}]}
    field(form, "/holidays/0/name").type_text("Easter")
    assert form.value == {"holidays": [{"recurring": True, "name": "Easter"}]}


def test_tuples_with_prefix_items_and_draft7_items_arrays() -> None:
    schema = {
        "type": "object",
        "properties": {
            "point": {
                "type": "array",
                "prefixItems": [{"type": "number"}, {"type": "number"}],
                "items": False,
            }
        },
    }
    form = SchemaForm(schema, {"point": [1]})
    point = field(form, "/point")
    assert isinstance(field(form, "/point/0"), NumberField)
    assert point.buttons[0]["remove"].disabled and point.buttons[0]["down"].disabled  # tuple slots stay put
    point.add()
    assert form.value == {"point": [1, 0]}
    assert point.add_button.disabled  # items: false closes the tuple

    draft7 = {
        "type": "object",
        "properties": {
            "row": {
                "type": "array",
                "items": [{"type": "string"}, {"type": "boolean"}],
                "additionalItems": {"type": "integer"},
            }
        },
    }
    form = SchemaForm(draft7, {"row": ["x", True, 5]}, draft="draft7")
    assert isinstance(field(form, "/row/0"), TextField)
    assert isinstance(field(form, "/row/1"), BooleanField)
    assert isinstance(field(form, "/row/2"), NumberField)
    assert not field(form, "/row").buttons[2]["remove"].disabled
    assert field(form, "/row").buttons[1]["remove"].disabled


def test_an_array_of_unique_enum_values_is_a_multi_select() -> None:
    schema = {
        "type": "object",
        "properties": {
            "days": {"type": "array", "uniqueItems": True, "items": {"enum": ["mon", "tue", "wed"]}}
        },
    }
    form = SchemaForm(schema, {"days": ["tue"]})
    days = field(form, "/days")
    assert days.kind == "multiselect" and days.widget.multiple
    assert days.widget.v_model == ["tue"]
    days.pick_all(["mon", "wed"])
    assert form.value == {"days": ["mon", "wed"]}


# ------------------------------------------------------------------ key/value editors


def test_additional_properties_are_a_key_value_editor() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "additionalProperties": {"type": "number"},
    }
    form = SchemaForm(schema, {"name": "n", "a": 1})
    root = field(form, "")
    assert [entry.key for entry in root.entries] == ["a"]
    assert root.add_entry("a") == "the key 'a' is already used"
    assert root.add_entry("b") is None
    assert form.value == {"name": "n", "a": 1, "b": 0}
    entry = root.entries[1]
    assert entry.rename("c") is None
    assert form.value == {"name": "n", "a": 1, "c": 0}
    assert root.entries[1].rename("a") == "the key 'a' is already used"
    field(form, "/c").type_text("2.5")
    assert form.value["c"] == 2.5
    field(form, "/a").type_text("x")
    assert field(form, "/a").error == "must be a number"


def test_pattern_properties_choose_the_value_schema_and_property_names_are_checked() -> None:
    schema = {
        "type": "object",
        "patternProperties": {"^n_": {"type": "integer"}, "^s_": {"type": "string"}},
        "propertyNames": {"pattern": "^[a-z_]+$"},
        "additionalProperties": False,
    }
    form = SchemaForm(schema, {"n_count": 1, "s_label": "x"})
    assert isinstance(field(form, "/n_count"), NumberField)
    assert isinstance(field(form, "/s_label"), TextField)
    root = field(form, "")
    root.add_entry("Bad")
    bad = next(entry for entry in root.entries if entry.key == "Bad")
    assert bad.key_field.error_messages == ["property name must match the pattern ^[a-z_]+$"]
    assert not form.valid


def test_a_nested_object_of_extra_keys_only_shows_its_new_key_row_before_any_key() -> None:
    schema = {
        "type": "object",
        "properties": {
            "labels": {"type": "object", "title": "Labels", "additionalProperties": {"type": "string"}},
            "limits": {"type": "object", "title": "Limits", "patternProperties": {"^[a-z]+$": {}}},
        },
    }
    form = SchemaForm(schema)
    labels, limits = field(form, "/labels"), field(form, "/limits")
    for editor, title in ((labels, "Labels"), (limits, "Limits")):
        row = editor.body.children[-1]
        assert editor.new_key in row.children and editor.add_button in row.children
        assert editor.new_key.label == f"New key in {title}"
        assert editor.add_button.attributes == {"aria-label": f"Add the key in {title}"}
        assert editor.body.children[0].children == [title]  # its header
    assert labels.add_entry("") == "type a key first" and labels.new_key.error_messages == "type a key first"
    assert labels.add_entry("team") is None and form.value == {"labels": {"team": ""}}
    [entry] = labels.entries
    shown = [row for row in labels.body.children if row is entry.value_field.widget]
    assert shown == []  # the value's input is shown once, inside its entry's row
    assert entry.value_field.widget in entry.widget.children


def test_property_names_with_an_enum_offer_the_remaining_names() -> None:
    schema = {
        "type": "object",
        "additionalProperties": {"type": "boolean"},
        "propertyNames": {"enum": ["dark", "beta"]},
    }
    form = SchemaForm(schema, {"dark": True})
    root = field(form, "")
    assert root.new_key.items == ["beta"]


# ------------------------------------------------------------------ details of fields


def test_a_select_over_values_that_are_not_strings_and_share_a_label() -> None:
    schema = {"type": "object", "properties": {"pick": {"enum": [1, "1", True, None, {"a": 1}]}}}
    form = SchemaForm(schema, {"pick": True})
    pick = field(form, "/pick")
    assert [item["title"] for item in pick.widget.items] == ["1", "1", "true", "null", '{"a": 1}']
    assert pick.widget.v_model == 2
    pick.widget.v_model = 1
    assert form.value == {"pick": "1"}
    pick.pick({"a": 1})
    assert form.value == {"pick": {"a": 1}}
    pick.widget.v_model = None  # cleared
    assert form.value == {}


def test_x_order_as_a_list_and_as_cog_integers() -> None:
    listed = {
        "type": "object",
        "x-order": ["b", "a"],
        "properties": {"a": {"type": "string"}, "c": {"type": "string"}, "b": {"type": "string"}},
    }
    assert list(field(SchemaForm(listed), "").children) == ["b", "a", "c"]
    cog = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "x-order": 2},
            "b": {"type": "string", "x-order": 0},
            "c": {"type": "string", "x-order": 1},
        },
    }
    assert list(field(SchemaForm(cog), "").children) == ["b", "c", "a"]


def test_read_only_fields_show_their_value_and_ignore_edits() -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string", "readOnly": True, "default": "r1"}, "n": {"const": 3}},
    }
    form = SchemaForm(schema)
    ident = field(form, "/id")
    assert ident.widget.readonly
    ident.type_text("changed")
    assert form.value == {"id": "r1"}
    assert field(form, "/n").widget.readonly and field(form, "/n").widget.v_model == "3"


def test_long_text_gets_a_textarea_and_a_length_counter() -> None:
    schema = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 2000}}}
    note = field(SchemaForm(schema), "/note")
    assert note.kind == "textarea" and note.widget.counter == 2000


def test_description_examples_and_deprecated_are_shown() -> None:
    schema = {
        "type": "object",
        "properties": {
            "old": {"type": "string", "deprecated": True, "examples": ["x1"], "description": "Legacy."}
        },
    }
    old = field(SchemaForm(schema), "/old")
    assert old.widget.label == "old (deprecated)"
    assert old.widget.placeholder == "x1"
    assert "Legacy." in old.widget.hint and "e.g. x1" in old.widget.hint


@pytest.mark.parametrize(
    ("fmt", "input_type", "bad", "message"),
    [
        ("date", "date", "2024-13-01", "must be a date (YYYY-MM-DD)"),
        (
            "date-time",
            "text",
            "2024-05-01 12:00",
            "must be a date and time (RFC 3339, e.g. 2024-05-01T12:00:00Z)",
        ),
        ("time", "text", "25:00:00Z", "must be a time (RFC 3339, e.g. 12:00:00Z)"),
        ("email", "email", "nobody", "must be an email address"),
        ("uri", "url", "not a uri", "must be a URI"),
        ("color", "color", "red", "must be a colour written #rrggbb (e.g. #1f77b4)"),
    ],
)
def test_formats_get_fitting_inputs_and_checks(fmt: str, input_type: str, bad: str, message: str) -> None:
    form = SchemaForm({"type": "object", "properties": {"x": {"type": "string", "format": fmt}}})
    x = field(form, "/x")
    assert x.widget.type == input_type
    x.type_text(bad)
    assert x.error == message
    good = {
        "date": "2024-02-29",
        "date-time": "2024-05-01T12:00:00Z",
        "time": "12:00:00Z",
        "email": "a@b.org",
        "uri": "https://example.org/a",
        "color": "#1f77b4",
    }[fmt]
    x.type_text(good)
    assert form.valid and x.error == ""


def test_multiple_of_and_exclusive_bounds() -> None:
    schema = {
        "type": "object",
        "properties": {
            "step": {"type": "number", "multipleOf": 0.25},
            "rate": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        },
    }
    form = SchemaForm(schema)
    step = field(form, "/step")
    assert step.widget.attributes["step"] == "0.25"
    step.type_text("0.3")
    assert step.error == "must be a multiple of 0.25"
    step.type_text("0.75")
    assert step.error == ""
    rate = field(form, "/rate")
    rate.type_text("0")
    assert rate.error == "must be > 0"
    rate.type_text("1")
    assert rate.error == "must be < 1"
    rate.type_text("0.5")
    assert form.valid


def test_a_slider_when_both_bounds_are_set_and_x_widget_asks() -> None:
    schema = {
        "type": "object",
        "properties": {
            "level": {"type": "integer", "minimum": 1, "maximum": 10, "x-widget": "slider", "default": 3},
            "no_bounds": {"type": "integer", "x-widget": "slider"},
            "not_asked": {"type": "integer", "minimum": 1, "maximum": 10},
        },
    }
    form = SchemaForm(schema)
    level = field(form, "/level")
    assert isinstance(level, SliderField)
    assert (level.widget.min, level.widget.max, level.widget.step, level.widget.v_model) == (1, 10, 1.0, 3)
    level.widget.v_model = 7.0
    assert form.value == {"level": 7} and isinstance(form.value["level"], int)
    assert isinstance(field(form, "/no_bounds"), NumberField)
    assert isinstance(field(form, "/not_asked"), NumberField)


def test_labelled_constant_options_are_a_select() -> None:
    schema = {
        "type": "object",
        "properties": {
            "method": {
                "default": "hw",
                "oneOf": [
                    {"const": "hw", "title": "Holt-Winters"},
                    {"const": "naive", "title": "Seasonal naive"},
                ],
            }
        },
    }
    form = SchemaForm(schema)
    method = field(form, "/method")
    assert isinstance(method, SelectField)
    assert method.widget.items == ["Holt-Winters", "Seasonal naive"]
    assert method.widget.v_model == "Holt-Winters"
    method.pick("naive")
    assert form.value == {"method": "naive"}


def test_all_of_is_merged() -> None:
    schema = {
        "type": "object",
        "allOf": [
            {"properties": {"a": {"type": "string", "title": "A"}}, "required": ["a"]},
            {"properties": {"a": {"maxLength": 2}, "b": {"type": "integer"}}},
        ],
    }
    form = SchemaForm(schema, {"a": "abc"})
    assert field(form, "/a").widget.label == "A *"
    assert field(form, "/a").error == "must be at most 2 characters long"
    assert isinstance(field(form, "/b"), NumberField)


# ------------------------------------------------------------------ the example models


def forecaster_schema() -> dict[str, Any]:
    import yaml

    from tests.paths import ROOT

    build = yaml.safe_load((ROOT / "examples/models/sales-forecaster/mlk.yaml").read_text(encoding="utf-8"))
    schema: dict[str, Any] = build["manifest"]["tasks"]["forecast"]["parameters"]
    return schema


def test_the_sales_forecaster_form_follows_its_x_order_branches_and_conditionals() -> None:
    schema = forecaster_schema()
    form = SchemaForm(schema)
    assert form.valid
    assert list(field(form, "").children)[:12] == schema["x-order"]
    assert form.field_at("/smoothing/alpha") is not None  # Holt-Winters (the default) has smoothing
    field(form, "/method").pick("seasonal_naive")
    assert form.field_at("/smoothing") is None  # `else: {smoothing: false}`: no field for it
    assert form.valid

    horizon = field(form, "/horizon")
    assert horizon.branch == 0 and field(form, "/horizon/periods").widget.v_model == "90"
    later = SchemaForm(schema, {"horizon": {"until": "2025-12-31"}})
    assert field(later, "/horizon").branch == 1
    horizon.choose(1)
    field(form, "/horizon/until").type_text("2025-12-31")
    assert form.value["horizon"] == {"until": "2025-12-31"} and form.valid

    field(form, "/holidays").add()
    assert form.value["holidays"] == [{"recurring": True}]
    assert sorted(e.pointer for e in form.errors) == [
        "/holidays/0/date",
        "/holidays/0/impact",
        "/holidays/0/name",
    ]


def test_a_key_value_editor_inside_a_branch_checks_its_keys() -> None:
    schema = {
        "type": "object",
        "properties": {
            "source": {
                "oneOf": [
                    {
                        "title": "Path",
                        "type": "object",
                        "properties": {"path": {"type": "string"}},
                        "required": ["path"],
                        "additionalProperties": False,
                    },
                    {
                        "title": "Headers",
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "propertyNames": {"maxLength": 3},
                        "required": ["url"],
                    },
                ]
            }
        },
    }
    form = SchemaForm(schema, {"source": {"url": "u", "toolong": "x"}})
    assert field(form, "/source").branch == 1
    inner = field(form, "/source").inner
    entry = next(e for e in inner.entries if e.key == "toolong")
    assert entry.key_field.error_messages == ["property name must be at most 3 characters long"]
