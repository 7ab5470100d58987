"""``SchemaForm``: a JSON Schema rendered as an ipyvuetify form, built in Python.

The form holds one JSON document, the truth. Fields (``fields.py``) are views
of one pointer each; an edit writes that pointer, then the form re-plans the
fields (conditionals and branches may add or remove some), validates with the
service's own function (``validation.py``) and publishes ``value``. Data the
form has no input for is kept as it is, so ``form.value = data`` reads back as
``data`` with the schema's defaults filled (``mlrun_kernel.spec.fill_defaults``,
the service's function).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import ipyvuetify as v
import traitlets

from mlrun_kernel.spec import Draft, check_json_schema, fill_defaults

from . import kinds, pointers
from .containers import ArrayField, ChoiceField, MapEntry, NullableField, ObjectField
from .fields import Context, Field, plan_key
from .leaves import (
    BooleanField,
    ConstField,
    JsonField,
    MultiSelectField,
    NullField,
    NumberField,
    SelectField,
    SliderField,
    TextareaField,
    TextField,
)
from .pointers import MISSING
from .resolve import Group, Node, Part, SchemaIndex, initial_branch
from .validation import FieldError, FormValidator, branch_errors, placed

_DRAFTS: dict[str | None, Draft] = {
    None: "draft2020-12",
    "draft2020-12": "draft2020-12",
    "2020-12": "draft2020-12",
    "draft7": "draft7",
    "draft-07": "draft7",
}


KINDS: dict[str, type[Field]] = {
    "string": TextField,
    "textarea": TextareaField,
    "number": NumberField,
    "slider": SliderField,
    "boolean": BooleanField,
    "select": SelectField,
    "multiselect": MultiSelectField,
    "const": ConstField,
    "null": NullField,
    "json": JsonField,
    "object": ObjectField,
    "array": ArrayField,
    "nullable": NullableField,
}
"""Which field class shows each kind that :func:`~.kinds.field_kind` decides."""


class SchemaForm(v.Container):
    """A form for ``schema`` (draft 2020-12 or draft-07), starting from ``value``.

    ``value`` is the data (JSON, defaults filled; ``observe(handler, "value")``
    works), ``valid`` and ``errors`` (a list of :class:`FieldError`) say whether
    and why not. ``draft`` is the dialect of a schema without ``$schema``
    (default 2020-12, as for a manifest); ``formats`` limits which ``format``
    values are checked (default: all the validator knows, as the service does).
    """

    value = traitlets.Any(None, allow_none=True)
    valid = traitlets.Bool(False)
    errors: traitlets.List[FieldError] = traitlets.List()

    def __init__(
        self,
        schema: dict[str, Any] | bool,
        value: Any = None,
        *,
        draft: str | None = None,
        formats: Iterable[str] | None = None,
        submit_label: str | None = None,
        **kwargs: Any,
    ) -> None:
        if draft not in _DRAFTS:
            raise ValueError(f"draft must be one of 'draft2020-12' or 'draft7', not {draft!r}")
        self.draft: Draft = _DRAFTS[draft]
        check_json_schema(schema, path="schema", default_draft=self.draft)
        super().__init__(class_="mlk-schema-form pa-0", fluid=True, **kwargs)
        self.schema = schema
        self.formats = None if formats is None else tuple(formats)
        self.index = SchemaIndex(schema, self.draft)
        self.validator = FormValidator(schema, draft=self.draft, formats=self.formats)
        self._branches: dict[tuple[str, int], int] = {}
        self._server: list[FieldError] = []
        self._shown: dict[str, list[str]] = {}
        self._fields: dict[str, Field] = {}
        self._entries: dict[str, MapEntry] = {}
        self._internal = False
        self._submit_handlers: list[Callable[[Any], None]] = []
        self._data = self._initial(value)
        self.root: Field = self.build("", [self.index.root_part], self._data, Context())
        self.summary = v.Alert(type="error", variant="tonal", density="compact", children=[], class_="mt-2")
        self.summary.style_ = "display: none"
        self.submit_button: Any = None
        tail: list[Any] = [self.summary]
        if submit_label:
            self.submit_button = v.Btn(children=[submit_label], color="primary", class_="mt-2")
            self.submit_button.on_event("click", lambda *_: self.submit())
            tail.append(self.submit_button)
        self.children = [self.root.widget, *tail]
        self._index_fields()
        self._publish()

    # ------------------------------------------------------------ public

    def field_at(self, pointer: str) -> Field | None:
        """The field shown for ``pointer`` (``""`` is the root), or None when none is built."""
        return self._fields.get(pointer)

    def set_errors(self, errors: Iterable[FieldError]) -> None:
        """Show errors from elsewhere (the service's 422) at their fields, until the value changes."""
        self._server = [FieldError(e.pointer, e.message) for e in errors]
        self._validate()

    def on_submit(self, handler: Callable[[Any], None]) -> None:
        """Call ``handler(value)`` when the submit button is pressed on valid data."""
        self._submit_handlers.append(handler)

    def submit(self) -> bool:
        if not self.valid:
            return False
        for handler in self._submit_handlers:
            handler(copy.deepcopy(self.value))
        return True

    # ------------------------------------------------------------ value in and out

    def _initial(self, value: Any) -> Any:
        if value is None:
            root = self.index.node("", [self.index.root_part], MISSING, self._choose)
            if kinds.value_type(root, MISSING) == "object":
                value = {}
            elif "default" in root.keywords:
                value = copy.deepcopy(root.keywords["default"])
            else:
                return MISSING
        return fill_defaults(self.schema, value)

    @traitlets.validate("value")
    def _fill_value(self, proposal: Any) -> Any:
        if self._internal:
            return proposal["value"]
        start = self._initial(proposal["value"])
        return None if start is MISSING else copy.deepcopy(start)

    @traitlets.observe("value")
    def _value_set(self, change: Any) -> None:
        if self._internal:
            return
        self._data = copy.deepcopy(change["new"])
        self._branches.clear()
        self._server = []
        self._changed(publish=False)

    def _publish(self) -> None:
        """Validate, then publish ``value``: a ``value`` observer reads an up-to-date ``valid``."""
        self._validate()
        self._internal = True
        try:
            self.value = None if self._data is MISSING else copy.deepcopy(self._data)
        finally:
            self._internal = False

    # ------------------------------------------------------------ planning (FormHost)

    def _choose(self, group: Group, value: Any) -> int:
        key = (group.pointer, group.key)
        chosen = self._branches.get(key)
        if chosen is None or chosen >= len(group.options):
            chosen = initial_branch(self.index, group, value)
            self._branches[key] = chosen
        return chosen

    def plan(self, pointer: str, parts: list[Part], value: Any) -> tuple[Node, str]:
        node = self.index.node(pointer, parts, value, self._choose)
        return node, ("choice" if node.groups else self.inner_kind(node, value))

    def inner_kind(self, node: Node, value: Any) -> str:
        return kinds.field_kind(node, value, self.index)

    def build(self, pointer: str, parts: list[Part], value: Any, context: Context) -> Field:
        node, kind = self.plan(pointer, parts, value)
        if kind == "choice":
            return ChoiceField(self, node, value, context)
        return KINDS[kind](self, node, value, context)

    def build_inner(self, node: Node, value: Any, context: Context) -> Field:
        return KINDS[self.inner_kind(node, value)](self, node, value, context)

    # ------------------------------------------------------------ edits (FormHost)

    def edit(self, pointer: str, value: Any) -> None:
        self._data = pointers.put(self._data, pointer, value)
        self._server = []
        self._changed()

    def choose(self, group: Group, option: int) -> None:
        old = group.selected
        self._branches[(group.pointer, group.key)] = option
        current = pointers.get(self._data, group.pointer)
        switched = kinds.switch_branch(self.index, group, old, option, current)
        self._forget_branches_below(group.pointer, keep=group)
        self._data = pointers.put(self._data, group.pointer, switched)
        self._fill_below(group.pointer)
        self._server = []
        self._changed()

    def array_op(self, pointer: str, op: str, position: int) -> None:
        current = pointers.get(self._data, pointer)
        items = list(current) if isinstance(current, list) else []
        field = self._fields.get(pointer)
        node = field.node if field is not None else self.index.node(pointer, [], items, self._choose)
        if op == "add":
            item_pointer = pointers.join(pointer, len(items))
            item = self.index.node(item_pointer, kinds.item_parts(node, len(items)), MISSING, self._choose)
            items.append(kinds.new_value(item, self.index))
        elif op == "remove":
            del items[position]
        elif op in ("up", "down"):
            other = position - 1 if op == "up" else position + 1
            items[position], items[other] = items[other], items[position]
        else:
            raise ValueError(f"unknown array operation {op!r}: use add, remove, up or down")
        self._forget_branches_below(pointer, strict=True)
        self._data = pointers.put(self._data, pointer, items)
        if op == "add":
            self._fill_below(pointers.join(pointer, len(items) - 1))
        self._server = []
        self._changed()

    def add_key(self, pointer: str, key: str) -> str | None:
        current = pointers.get(self._data, pointer)
        data = current if isinstance(current, dict) else {}
        if not key:
            return "type a key first"
        if key in data:
            return f"the key {key!r} is already used"
        field = self._fields.get(pointer)
        node = field.node if field is not None else self.index.node(pointer, [], data, self._choose)
        entry_node = self.index.node(pointers.join(pointer, key), kinds.extra_value_parts(node, key), MISSING)
        self.edit(pointers.join(pointer, key), kinds.new_value(entry_node, self.index))
        return None

    def rename_key(self, pointer: str, old: str, new: str) -> str | None:
        current = pointers.get(self._data, pointer)
        if not isinstance(current, dict) or old not in current:
            return None
        if not new:
            return "a key must not be empty"
        if new in current:
            return f"the key {new!r} is already used"
        renamed = {(new if key == old else key): item for key, item in current.items()}
        self._forget_branches_below(pointers.join(pointer, old))
        self._data = pointers.put(self._data, pointer, renamed)
        self._server = []
        self._changed()
        return None

    def opened(self, field: Field) -> None:
        self._changed(publish=False)

    # ------------------------------------------------------------ internals

    def _forget_branches_below(self, pointer: str, keep: Group | None = None, strict: bool = False) -> None:
        """Branch choices under ``pointer`` are re-derived from the data after a structural change."""
        kept = (keep.pointer, keep.key) if keep is not None else None
        for key in list(self._branches):
            if key != kept and (key[0].startswith(pointer + "/") or (not strict and key[0] == pointer)):
                del self._branches[key]

    def _fill_below(self, pointer: str) -> None:
        """Defaults for a new subtree (an added item, a switched branch), by the service's rule."""
        filled = fill_defaults(self.schema, self._data)
        part = pointers.get(filled, pointer)
        if part is not MISSING:
            self._data = pointers.put(self._data, pointer, part)

    def _changed(self, publish: bool = True) -> None:
        node, kind = self.plan("", [self.index.root_part], self._data)
        if self.root.plan_key == plan_key(kind, node, False):
            self.root.refresh(node, self._data)
        else:
            self.root = self.build("", [self.index.root_part], self._data, Context())
            self.children = [self.root.widget, *self.children[1:]]
        self._index_fields()
        if publish:
            self._publish()
        else:
            self._validate()

    def _index_fields(self) -> None:
        self._fields = {}
        self._entries = {}
        for field in self.root.fields():
            self._fields.setdefault(field.pointer, field)
            shown = getattr(field, "inner", field)  # a branch picker's or null toggle's object
            if isinstance(shown, ObjectField):
                for entry in shown.entries:
                    self._entries[entry.value_field.pointer] = entry

    def _validate(self) -> None:
        local = self.validator.errors(self._data)
        everything = local + [e for e in self._server if e not in local]
        self.errors = everything
        self.valid = not everything
        key_errors: dict[str, list[str]] = {}
        value_errors = []
        for error in self._with_branch_detail(everything):
            if error.pointer in self._entries and error.message.startswith("property name"):
                key_errors.setdefault(error.pointer, []).append(error.message)
            else:
                value_errors.append(error)
        shown = placed(value_errors, set(self._fields))
        for pointer in set(self._shown) | set(shown):
            messages = shown.get(pointer, [])
            field = self._fields.get(pointer)
            if field is not None and (
                self._shown.get(pointer) != messages or field.error != " · ".join(messages)
            ):
                field.show_errors(messages)
        self._shown = shown
        for pointer, entry in self._entries.items():
            entry.show_key_error(key_errors.get(pointer, []))
        self._paint_summary(everything)

    def _with_branch_detail(self, errors: list[FieldError]) -> list[FieldError]:
        """A failed ``oneOf``/``anyOf`` is shown as the picked branch's own problems, at their fields."""
        out: list[FieldError] = []
        for error in errors:
            field = self._fields.get(error.pointer)
            if (
                isinstance(field, ChoiceField)
                and error.message.startswith("must match")
                and field.node.groups
            ):
                value = pointers.get(self._data, error.pointer)
                detail = [
                    e
                    for group in field.node.groups
                    for e in branch_errors(self.index, group.options[group.selected], value, error.pointer)
                ]
                if detail:
                    out.extend(e for e in detail if e not in out)
                    continue
            out.append(error)
        return out

    def _paint_summary(self, errors: list[FieldError]) -> None:
        if not errors:
            self.summary.style_ = "display: none"
            self.summary.children = []
        else:
            lines = [
                v.Html(tag="div", children=[f"{self._where(e.pointer)}: {e.message}"]) for e in errors[:50]
            ]
            if len(errors) > 50:
                lines.append(v.Html(tag="div", children=[f"… and {len(errors) - 50} more"]))
            self.summary.children = lines
            self.summary.style_ = ""
        if self.submit_button is not None:
            self.submit_button.disabled = not self.valid

    def _where(self, pointer: str) -> str:
        field = self._fields.get(pointer)
        if field is not None and field.label.strip(" *"):
            return field.label.rstrip(" *")
        return pointer or "the form"
