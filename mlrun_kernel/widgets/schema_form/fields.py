"""The form's fields: one class per kind of input, each a thin ipyvuetify view of one pointer.

A field shows the value at its pointer and reports edits to the form
(:class:`FormHost`); it never keeps a copy of the data that could drift. The
containers (:class:`ObjectField`, :class:`ArrayField`, :class:`ChoiceField`,
:class:`NullableField`) re-plan their children when the data changes and keep
every child whose plan did not change, so the input being typed in is never
replaced under the user's fingers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import ipyvuetify as v

from . import kinds, pointers
from .pointers import MISSING
from .resolve import Group, Node, Part, SchemaIndex, constant_choices


class FormHost(Protocol):
    """What a field needs from its form."""

    index: SchemaIndex

    def plan(self, pointer: str, parts: list[Part], value: Any) -> tuple[Node, str]: ...

    def build(self, pointer: str, parts: list[Part], value: Any, context: Context) -> Field: ...

    def build_inner(self, node: Node, value: Any, context: Context) -> Field: ...

    def inner_kind(self, node: Node, value: Any) -> str: ...

    def edit(self, pointer: str, value: Any) -> None: ...

    def choose(self, group: Group, option: int) -> None: ...

    def array_op(self, pointer: str, op: str, position: int) -> None: ...

    def add_key(self, pointer: str, key: str) -> str | None: ...

    def rename_key(self, pointer: str, old: str, new: str) -> str | None: ...

    def opened(self, field: Field) -> None: ...


class Context:
    """How a field sits in its parent: its name, whether it is required or removable."""

    __slots__ = ("ancestors", "in_object", "name", "read_only", "required")

    def __init__(
        self,
        name: str | None = None,
        *,
        required: bool = False,
        in_object: bool = False,
        ancestors: frozenset[int] = frozenset(),
        read_only: bool = False,
    ) -> None:
        self.name = name
        self.required = required
        self.in_object = in_object
        self.ancestors = ancestors
        self.read_only = read_only


class Field:
    """One pointer's input. ``error`` is what the field shows now."""

    kind = "field"

    def __init__(self, form: FormHost, node: Node, value: Any, context: Context) -> None:
        self.form = form
        self.node = node
        self.pointer = node.pointer
        self.context = context
        self.error = ""
        self._quiet = False
        self.read_only = context.read_only or node.get("readOnly") is True
        self.widget: Any = self.build(value)

    # ---------------------------------------------------------------- text

    @property
    def label(self) -> str:
        title = self.node.get("title")
        text = title if isinstance(title, str) and title else (self.context.name or "")
        if self.context.required:
            text += " *"
        if self.node.get("deprecated") is True:
            text += " (deprecated)"
        return text

    @property
    def hint(self) -> str:
        parts = []
        description = self.node.get("description")
        if isinstance(description, str):
            parts.append(description)
        examples = self.node.get("examples")
        if isinstance(examples, list) and examples:
            parts.append("e.g. " + ", ".join(_text(e) for e in examples[:3]))
        if self.node.get("deprecated") is True:
            parts.append("Deprecated: avoid this field.")
        return " ".join(parts)

    @property
    def plan_key(self) -> tuple[Any, ...]:
        return plan_key(self.kind, self.node, self.context.required)

    # ---------------------------------------------------------------- life

    def build(self, value: Any) -> Any:
        raise NotImplementedError

    def refresh(self, node: Node, value: Any) -> None:
        """The data changed (here or elsewhere): show ``value``, with the plan unchanged."""
        self.node = node
        with self.quiet():
            self.show_value(value)

    def show_value(self, value: Any) -> None:
        """Put ``value`` in the widget without reporting it back as an edit."""

    def fields(self) -> Iterator[Field]:
        """This field and every field below it that is built."""
        yield self

    def show_errors(self, messages: list[str]) -> None:
        self.error = " · ".join(messages)
        self.paint_error()

    def paint_error(self) -> None:
        if hasattr(self.widget, "error_messages"):
            self.widget.error_messages = self.error or []

    def lost(self, value: Any) -> Any:
        """What a cleared input stands for: absent in an object, else ``value``."""
        return MISSING if self.context.in_object else value

    @contextmanager
    def quiet(self) -> Iterator[None]:
        previous, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = previous

    def report(self, value: Any) -> None:
        if not self._quiet and not self.read_only:
            self.form.edit(self.pointer, value)


def plan_key(kind: str, node: Node, required: bool) -> tuple[Any, ...]:
    """What must stay the same for a built field to be kept: its kind and the schemas behind it.

    A branch picker is kept while its options are (its chosen branch may change)."""
    return (kind, node.choice_keys if kind == "choice" else node.signature, required)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


# ==================================================================== leaves


class TextField(Field):
    """Strings: a text input, fitted to the format (date, email, uri, color), or a textarea."""

    kind = "string"
    multiline = False

    def build(self, value: Any) -> Any:
        fmt = self.node.get("format")
        props: dict[str, Any] = {
            "label": self.label,
            "hint": self.hint,
            "persistent_hint": bool(self.hint),
            "readonly": self.read_only,
            "v_model": self.to_text(value),
            "density": "comfortable",
            "variant": "outlined",
            "hide_details": "auto",  # no empty message row under inputs that have nothing to say
            "class_": "mb-3",
        }
        longest = self.node.get("maxLength")
        if isinstance(longest, int) and not isinstance(longest, bool) and self.kind in ("string", "textarea"):
            props["counter"] = longest
        placeholder = self.placeholder()
        if placeholder:
            props["placeholder"] = placeholder
            props["persistent_placeholder"] = True
        widget: Any
        if self.multiline:
            widget = v.Textarea(auto_grow=True, rows=3, **props)
        else:
            widget = v.TextField(type=self.input_type(fmt), **props)
        widget.observe(self._on_model, "v_model")
        return widget

    def input_type(self, fmt: Any) -> str:
        return kinds.FORMAT_INPUTS.get(fmt, "text") if isinstance(fmt, str) else "text"

    def placeholder(self) -> str:
        examples = self.node.get("examples")
        if isinstance(examples, list) and examples:
            return _text(examples[0])
        fmt = self.node.get("format")
        return (
            {"date-time": "2024-05-01T12:00:00Z", "time": "12:00:00Z"}.get(fmt, "")
            if isinstance(fmt, str)
            else ""
        )

    def to_text(self, value: Any) -> str:
        if value is MISSING or value is None:
            return ""
        return value if isinstance(value, str) else _text(value)

    def parse(self, text: Any) -> Any:
        if text is None or text == "":
            return self.lost("")
        return str(text)

    def show_value(self, value: Any) -> None:
        text = self.to_text(value)
        if self.parse(self.widget.v_model) != value or self.widget.v_model is None:
            self.widget.v_model = text

    def _on_model(self, change: dict[str, Any]) -> None:
        self.report(self.parse(change["new"]))

    def type_text(self, text: str) -> None:
        """What typing does (tests and the key/value editor use it)."""
        self.widget.v_model = text


class TextareaField(TextField):
    kind = "textarea"
    multiline = True


class NumberField(TextField):
    """Numbers and integers: a number input with the bounds and ``multipleOf`` as its step."""

    kind = "number"

    def build(self, value: Any) -> Any:
        widget = super().build(value)
        low, high = kinds.bounds(self.node)
        attributes = {
            "step": _text(kinds.step_of(self.node)) if "multipleOf" in self.node.keywords else "any"
        }
        if low is not None:
            attributes["min"] = _text(low)
        if high is not None:
            attributes["max"] = _text(high)
        widget.attributes = attributes
        return widget

    def input_type(self, fmt: Any) -> str:
        return "number"

    def parse(self, text: Any) -> Any:
        if isinstance(text, int | float) and not isinstance(text, bool):
            return text
        if text is None or str(text).strip() == "":
            return self.lost(None)
        raw = str(text).strip()
        try:
            number = float(raw)
        except ValueError:
            return raw  # kept as typed, so the user sees "must be a number"
        if number.is_integer() and not any(c in raw for c in ".eE"):
            return int(raw)
        return number


class SliderField(Field):
    """A slider, when both bounds are set and ``x-widget: slider`` asks for one."""

    kind = "slider"

    def build(self, value: Any) -> Any:
        low, high = kinds.bounds(self.node)
        widget = v.Slider(
            label=self.label,
            hint=self.hint,
            persistent_hint=bool(self.hint),
            min=low,
            max=high,
            step=kinds.step_of(self.node),
            thumb_label="always",
            readonly=self.read_only,
            v_model=value if isinstance(value, int | float) else low,
            class_="mb-2",
        )
        widget.observe(lambda change: self.report(self.parse(change["new"])), "v_model")
        return widget

    def parse(self, number: Any) -> Any:
        if isinstance(number, float) and number.is_integer() and "integer" in (self.node.types or []):
            return int(number)
        return number

    def show_value(self, value: Any) -> None:
        if isinstance(value, int | float) and self.widget.v_model != value:
            self.widget.v_model = value


class BooleanField(Field):
    """Booleans: a switch."""

    kind = "boolean"

    def build(self, value: Any) -> Any:
        widget = v.Switch(
            label=self.label,
            hint=self.hint,
            persistent_hint=bool(self.hint),
            v_model=value is True,
            readonly=self.read_only,
            color="primary",
            density="comfortable",
            hide_details="auto",
            inset=True,
        )
        widget.observe(lambda change: self.report(bool(change["new"])), "v_model")
        return widget

    def show_value(self, value: Any) -> None:
        if self.widget.v_model != (value is True):
            self.widget.v_model = value is True


class SelectField(Field):
    """``enum`` and labelled ``oneOf``/``anyOf`` of ``const``: a select over the allowed values."""

    kind = "select"
    multiple = False

    def choices(self) -> list[tuple[str, Any]]:
        return constant_choices(self.node, self.form.index) or []

    def build(self, value: Any) -> Any:
        self.options = self.choices()
        titles = [title for title, _ in self.options]
        # Unique titles travel as plain strings (a tenth of the state of {title, value} items);
        # otherwise the item's position is its value.
        self.by_title = len(set(titles)) == len(titles)
        widget = v.Select(
            label=self.label,
            hint=self.hint,
            persistent_hint=bool(self.hint),
            items=titles if self.by_title else [{"title": t, "value": i} for i, t in enumerate(titles)],
            v_model=self.model_of(self.position(value)),
            readonly=self.read_only,
            clearable=not self.context.required and not self.read_only,
            multiple=self.multiple,
            chips=self.multiple,
            density="comfortable",
            variant="outlined",
            hide_details="auto",
            class_="mb-3",
        )
        widget.observe(self._on_model, "v_model")
        return widget

    def position(self, value: Any) -> Any:
        for i, (_, allowed) in enumerate(self.options):
            if _same(allowed, value):
                return i
        return None

    def model_of(self, position: Any) -> Any:
        """The widget's ``v_model`` for an option position (its title, or the position)."""
        if isinstance(position, list):
            return [self.model_of(p) for p in position]
        if position is None or not self.by_title:
            return position
        return self.options[position][0]

    def position_of(self, model: Any) -> int | None:
        if self.by_title:
            return next((i for i, (title, _) in enumerate(self.options) if title == model), None)
        return model if isinstance(model, int) and 0 <= model < len(self.options) else None

    def _on_model(self, change: dict[str, Any]) -> None:
        chosen = self.position_of(change["new"])
        if chosen is None:
            self.report(self.lost(None))
        else:
            self.report(self.options[chosen][1])

    def pick(self, allowed: Any) -> None:
        """Choose the option whose value is ``allowed`` (what a click does)."""
        self.widget.v_model = self.model_of(self.position(allowed))

    def show_value(self, value: Any) -> None:
        model = self.model_of(self.position(value))
        if self.widget.v_model != model:
            self.widget.v_model = model


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``True != 1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


class MultiSelectField(SelectField):
    """An array of ``enum`` values with ``uniqueItems``: a multi-select."""

    kind = "multiselect"
    multiple = True

    def choices(self) -> list[tuple[str, Any]]:
        item = self.form.index.node(self.pointer + "/0", self.node.subs("items"), MISSING)
        return constant_choices(item, self.form.index) or []

    def position(self, value: Any) -> Any:
        if not isinstance(value, list):
            return []
        found = []
        for item in value:
            at = SelectField.position(self, item)
            if at is not None:
                found.append(at)
        return found

    def _on_model(self, change: dict[str, Any]) -> None:
        chosen = change["new"] or []
        self.report(
            [self.options[i][1] for i in sorted(chosen) if isinstance(i, int) and i < len(self.options)]
        )

    def pick_all(self, values: list[Any]) -> None:
        self.widget.v_model = [SelectField.position(self, item) for item in values]


class ConstField(Field):
    """``const``: the one allowed value, shown read-only."""

    kind = "const"

    def build(self, value: Any) -> Any:
        self.read_only = True
        return v.TextField(
            label=self.label,
            hint=self.hint,
            persistent_hint=bool(self.hint),
            v_model=_text(self.node.get("const")),
            readonly=True,
            density="comfortable",
            variant="plain",
            hide_details="auto",
        )


class NullField(Field):
    """``type: "null"``: a "no value" toggle; on means ``null``, off means absent."""

    kind = "null"

    def build(self, value: Any) -> Any:
        widget = v.Checkbox(
            label=f"{self.label}: no value (null)" if self.label else "No value (null)",
            hint=self.hint,
            persistent_hint=bool(self.hint),
            v_model=value is None,
            readonly=self.read_only,
            density="comfortable",
            hide_details="auto",
        )
        widget.observe(lambda change: self.report(None if change["new"] else self.lost(None)), "v_model")
        return widget

    def show_value(self, value: Any) -> None:
        if self.widget.v_model != (value is None):
            self.widget.v_model = value is None


class JsonField(TextField):
    """A value the schema gives no type for: edited as JSON text."""

    kind = "json"
    multiline = True

    def to_text(self, value: Any) -> str:
        return "" if value is MISSING else json.dumps(value, ensure_ascii=False)

    def parse(self, text: Any) -> Any:
        if text is None or str(text).strip() == "":
            return self.lost(None)
        try:
            return json.loads(str(text))
        except ValueError:
            return str(text)


# ==================================================================== containers


class Container(Field):
    """A field that holds other fields, re-planned when the data changes."""

    def __init__(self, form: FormHost, node: Node, value: Any, context: Context) -> None:
        self.children: dict[str, Field] = {}
        super().__init__(form, node, value, context)

    def fields(self) -> Iterator[Field]:
        yield self
        for child in self.children.values():
            yield from child.fields()

    def child_context(self, name: str | None, **kwargs: Any) -> Context:
        return Context(
            name,
            ancestors=self.context.ancestors | frozenset(self.node.signature),
            read_only=self.read_only,
            **kwargs,
        )

    def place(
        self, key: str, pointer: str, parts: list[Part], value: Any, context: Context
    ) -> tuple[Field, bool]:
        """The child for ``key``: the existing one when its plan is unchanged, else a new one."""
        node, kind = self.form.plan(pointer, parts, value)
        existing = self.children.get(key)
        if existing is not None and existing.plan_key == plan_key(kind, node, context.required):
            existing.context = context
            existing.refresh(node, value)
            return existing, False
        return self.form.build(pointer, parts, value, context), True


class ObjectField(Container):
    """Nested objects: their fields in ``x-order``, then a key/value editor for extra keys.

    A level whose schema repeats one above it (a recursive ``$ref``) is a
    closed panel whose fields are built only when the user opens it.
    """

    kind = "object"

    def build(self, value: Any) -> Any:
        self.lazy = bool(frozenset(self.node.signature) & self.context.ancestors)
        self.is_open = not self.lazy
        self.entries: list[MapEntry] = []
        self.new_key: Any = None
        self.message: Any = None
        self.rows: list[Any] = []
        self.header: list[Any] = []
        if self.label and self.pointer and not self.lazy:
            self.header.append(v.Html(tag="div", class_="text-subtitle-1 mt-2", children=[self.label]))
        if self.hint:
            self.header.append(
                v.Html(tag="div", class_="text-caption text-medium-emphasis mb-2", children=[self.hint])
            )
        nested = bool(self.pointer) and not self.lazy
        self.body = v.Html(
            tag="div",
            class_="mlk-object pl-3 mb-2" if nested else "mlk-object",
            style_="border-left: 2px solid rgba(0,0,0,.12)" if nested else "",
            children=[],
        )
        if self.lazy:
            self.panel = v.ExpansionPanels(
                v_model=None,
                class_="mb-2",
                children=[
                    v.ExpansionPanel(
                        children=[
                            v.ExpansionPanelTitle(children=[self.label or "Details"]),
                            v.ExpansionPanelText(children=[self.body]),
                        ]
                    )
                ],
            )
            self.panel.observe(self._on_panel, "v_model")
            self._lay_out()
            return self.panel
        self.fill(value)
        return self.body

    def _lay_out(self) -> None:
        self.body.children = [*self.header, *([self.message] if self.message else []), *self.rows]

    def _on_panel(self, change: dict[str, Any]) -> None:
        if change["new"] is not None and change["new"] != [] and not self.is_open:
            self.open()

    def open(self) -> None:
        """Build this level's fields (what opening the panel does)."""
        if self.is_open:
            return
        self.is_open = True
        self.form.opened(self)

    def fill(self, value: Any) -> None:
        data = value if isinstance(value, dict) else {}
        children: dict[str, Field] = {}
        changed = False
        for name in kinds.ordered_properties(self.node, data):
            child, new = self.place(
                name,
                pointers.join(self.pointer, name),
                self.node.properties[name],
                data.get(name, MISSING),
                self.child_context(name, required=name in self.node.required, in_object=True),
            )
            children[name] = child
            changed = changed or new
        changed = changed or list(children) != [k for k in self.children if not k.startswith("\0")]
        entries_changed = self._fill_entries(data, children)
        self.children = children
        if changed or entries_changed:
            rows: list[Any] = [child.widget for child in children.values()]
            rows.extend(entry.widget for entry in self.entries)
            if kinds.accepts_extra_keys(self.node) and not self.read_only:
                rows.append(self._new_key_row())
            self.rows = rows
            self._lay_out()

    def _fill_entries(self, data: dict[str, Any], children: dict[str, Field]) -> bool:
        keys = kinds.extra_keys(self.node, data)
        old = {entry.key: entry for entry in self.entries}
        entries = []
        changed = [e.key for e in self.entries] != keys
        for key in keys:
            pointer = pointers.join(self.pointer, key)
            parts = kinds.extra_value_parts(self.node, key)
            entry = old.get(key)
            context = self.child_context(key, in_object=True)
            if entry is not None:
                node, kind = self.form.plan(pointer, parts, data[key])
                if entry.value_field.plan_key == plan_key(kind, node, False):
                    entry.value_field.refresh(node, data[key])
                    entries.append(entry)
                    continue
            entries.append(MapEntry(self, key, self.form.build(pointer, parts, data[key], context)))
            changed = True
        self.entries = entries
        for entry in entries:
            children["\0" + entry.key] = entry.value_field
        return changed

    def _new_key_row(self) -> Any:
        choices = kinds.key_choices(self.node)
        data_keys = {e.key for e in self.entries}
        if choices is not None:
            self.new_key = v.Select(
                label="New key",
                items=[
                    name for name in choices if name not in data_keys and name not in self.node.properties
                ],
                v_model=None,
                density="compact",
                variant="outlined",
                hide_details=True,
                style_="max-width: 18rem",
            )
        else:
            self.new_key = v.TextField(
                label="New key",
                v_model="",
                density="compact",
                variant="outlined",
                hide_details=True,
                style_="max-width: 18rem",
            )
        add = v.Btn(children=["Add"], variant="tonal", size="small", class_="ml-2")
        add.on_event("click", lambda *_: self.add_entry(self.new_key.v_model or ""))
        return v.Html(tag="div", class_="d-flex align-center mb-2", children=[self.new_key, add])

    def add_entry(self, key: str) -> str | None:
        """Add the key ``key`` (the "Add" button); returns the problem when it cannot be added."""
        problem = self.form.add_key(self.pointer, key)
        if problem and self.new_key is not None:
            self.new_key.error_messages = problem
        return problem

    def refresh(self, node: Node, value: Any) -> None:
        self.node = node
        if self.is_open:
            self.fill(value)

    def paint_error(self) -> None:
        if self.message is None and self.error:
            self.message = v.Html(tag="div", class_="text-error text-caption", children=[])
            self._lay_out()
        if self.message is not None:
            self.message.children = [self.error] if self.error else []


class MapEntry:
    """One key/value pair of an ``additionalProperties``/``patternProperties`` object."""

    def __init__(self, owner: ObjectField, key: str, value_field: Field) -> None:
        self.owner = owner
        self.key = key
        self.value_field = value_field
        self.key_field = v.TextField(
            label="Key",
            v_model=key,
            density="compact",
            variant="outlined",
            style_="max-width: 14rem",
            class_="mr-2",
            readonly=owner.read_only,
        )
        self.key_field.on_event("change", lambda *_: self.rename(self.key_field.v_model or ""))
        self.key_field.on_event("blur", lambda *_: self.rename(self.key_field.v_model or ""))
        remove = v.Btn(children=["Remove"], variant="text", size="small", disabled=owner.read_only)
        remove.on_event("click", lambda *_: owner.form.edit(value_field.pointer, MISSING))
        self.remove_button = remove
        self.widget = v.Html(
            tag="div", class_="d-flex align-start", children=[self.key_field, value_field.widget, remove]
        )

    def rename(self, new: str) -> str | None:
        """Give the entry the key ``new``; returns the problem when the key cannot be used."""
        if new == self.key:
            self.key_field.error_messages = []
            return None
        problem = self.owner.form.rename_key(self.owner.pointer, self.key, new)
        self.key_field.error_messages = problem or []
        return problem

    def show_key_error(self, messages: list[str]) -> None:
        self.key_field.error_messages = messages


class ArrayField(Container):
    """Arrays and tuples: one row per item with move and remove buttons, and an add button.

    The buttons follow :func:`~.kinds.array_controls`: ``minItems`` disables
    remove, ``maxItems`` (and a closed tuple) disables add, tuple slots stay put.
    """

    kind = "array"

    def build(self, value: Any) -> Any:
        self.rows: list[Any] = []
        self.buttons: list[dict[str, Any]] = []
        self.list_box = v.Html(tag="div", children=[])
        self.add_button = v.Btn(children=["Add item"], variant="tonal", size="small", class_="mb-2")
        self.add_button.on_event("click", lambda *_: self.add())
        self.message = v.Html(tag="div", class_="text-error text-caption", children=[])
        header = (
            [v.Html(tag="div", class_="text-subtitle-1 mt-2", children=[self.label])] if self.label else []
        )
        if self.hint:
            header.append(v.Html(tag="div", class_="text-caption text-medium-emphasis", children=[self.hint]))
        self.fill(value)
        return v.Html(
            tag="div",
            class_="mlk-array mb-2",
            children=[*header, self.message, self.list_box, self.add_button],
        )

    def fill(self, value: Any) -> None:
        items = value if isinstance(value, list) else []
        children: dict[str, Field] = {}
        changed = len(items) != len(self.children)
        for position, item in enumerate(items):
            child, new = self.place(
                str(position),
                pointers.join(self.pointer, position),
                kinds.item_parts(self.node, position),
                item,
                self.child_context(None),
            )
            children[str(position)] = child
            changed = changed or new
        self.children = children
        controls = kinds.array_controls(self.node, len(items), self.read_only)
        self.add_button.disabled = not controls.can_add
        if changed:
            self.rows = []
            self.buttons = []
            for position, child in enumerate(children.values()):
                buttons = {
                    "up": _small("↑", lambda *_, p=position: self.move(p, -1), "Move up"),
                    "down": _small("↓", lambda *_, p=position: self.move(p, 1), "Move down"),
                    "remove": _small("✕", lambda *_, p=position: self.remove(p), "Remove"),
                }
                self.buttons.append(buttons)
                self.rows.append(
                    v.Html(
                        tag="div",
                        class_="d-flex align-start",
                        children=[
                            v.Html(tag="div", class_="flex-grow-1", children=[child.widget]),
                            *buttons.values(),
                        ],
                    )
                )
            self.list_box.children = self.rows
        for position, buttons in enumerate(self.buttons):
            buttons["up"].disabled = not controls.can_up[position]
            buttons["down"].disabled = not controls.can_down[position]
            buttons["remove"].disabled = not controls.can_remove[position]

    def refresh(self, node: Node, value: Any) -> None:
        self.node = node
        self.fill(value)

    def add(self) -> None:
        if not self.add_button.disabled:
            self.form.array_op(self.pointer, "add", len(self.children))

    def remove(self, position: int) -> None:
        if not self.buttons[position]["remove"].disabled:
            self.form.array_op(self.pointer, "remove", position)

    def move(self, position: int, step: int) -> None:
        if not self.buttons[position]["up" if step < 0 else "down"].disabled:
            self.form.array_op(self.pointer, "up" if step < 0 else "down", position)

    def paint_error(self) -> None:
        self.message.children = [self.error] if self.error else []


def _small(text: str, handler: Any, title: str) -> Any:
    button = v.Btn(children=[text], variant="text", size="small", min_width=0, attributes={"title": title})
    button.on_event("click", handler)
    return button


class ChoiceField(Container):
    """``oneOf``/``anyOf`` of schemas: a branch picker above the chosen branch's field.

    The picker starts on the branch the data matches (see
    :func:`~.resolve.initial_branch`) and changes only when the user picks
    another; typing never moves it.
    """

    kind = "choice"

    def build(self, value: Any) -> Any:
        self.pickers: list[Any] = []
        for group in self.node.groups:
            picker = v.Select(
                label=f"{self.label} — option" if self.label else "Option",
                items=[{"title": t, "value": i} for i, t in enumerate(group.titles(self.form.index))],
                v_model=group.selected,
                readonly=self.read_only,
                density="comfortable",
                variant="outlined",
                hide_details=True,
                class_="mb-2",
            )
            picker.observe(lambda change, g=group: self._on_pick(g, change["new"]), "v_model")
            self.pickers.append(picker)
        self.inner = self.form.build_inner(self.node, value, self.context)
        self.children = {"": self.inner}
        self.box = v.Html(tag="div", class_="mlk-choice", children=[*self.pickers, self.inner.widget])
        return self.box

    @property
    def branch(self) -> int:
        return self.node.groups[0].selected if self.node.groups else 0

    def choose(self, option: int, group: int = 0) -> None:
        """Pick branch ``option`` (what the picker does)."""
        self.pickers[group].v_model = option

    def _on_pick(self, group: Group, option: Any) -> None:
        if not self._quiet and isinstance(option, int) and option != group.selected:
            self.form.choose(group, option)

    def refresh(self, node: Node, value: Any) -> None:
        self.node = node
        with self.quiet():
            for picker, group in zip(self.pickers, node.groups, strict=False):
                picker.v_model = group.selected
        kind = self.form.inner_kind(node, value)
        if self.inner.plan_key == plan_key(kind, node, self.context.required):
            self.inner.refresh(node, value)
        else:
            self.inner = self.form.build_inner(node, value, self.context)
            self.children = {"": self.inner}
            self.box.children = [*self.pickers, self.inner.widget]

    def fields(self) -> Iterator[Field]:
        yield self
        for child in self.inner.fields():
            if child is not self.inner:
                yield child

    def show_errors(self, messages: list[str]) -> None:
        self.error = " · ".join(messages)
        self.inner.show_errors(messages)


class NullableField(Container):
    """``type: [T, "null"]``: the value's input with a clear "no value" toggle beside it."""

    kind = "nullable"

    def build(self, value: Any) -> Any:
        self.toggle = v.Checkbox(
            label="No value",
            v_model=value is None,
            density="compact",
            hide_details=True,
            readonly=self.read_only,
            class_="mt-0",
        )
        self.toggle.observe(self._on_toggle, "v_model")
        self.inner = self._inner(value)
        self.box = v.Html(tag="div", class_="d-flex align-start", children=[self._grow(), self.toggle])
        return self.box

    def _inner(self, value: Any) -> Field:
        inner = self.form.build_inner(
            kinds.without_null(self.node), MISSING if value is None else value, self.context
        )
        self.children = {"": inner}
        if hasattr(inner.widget, "disabled"):
            inner.widget.disabled = value is None
        return inner

    def _grow(self) -> Any:
        return v.Html(tag="div", class_="flex-grow-1", children=[self.inner.widget])

    @property
    def is_null(self) -> bool:
        return bool(self.toggle.v_model)

    def set_null(self, on: bool) -> None:
        """Tick or untick "No value" (what a click does)."""
        self.toggle.v_model = on

    def _on_toggle(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if change["new"]:
            self.form.edit(self.pointer, None)
        else:
            inner = kinds.without_null(self.node)
            self.form.edit(self.pointer, self.lost(kinds.new_value(inner, self.form.index)))

    def refresh(self, node: Node, value: Any) -> None:
        self.node = node
        with self.quiet():
            self.toggle.v_model = value is None
        inner_node = kinds.without_null(node)
        kind = self.form.inner_kind(inner_node, value)
        shown = MISSING if value is None else value
        if self.inner.plan_key == plan_key(kind, inner_node, self.context.required):
            self.inner.refresh(inner_node, shown)
            if hasattr(self.inner.widget, "disabled"):
                self.inner.widget.disabled = value is None
        else:
            self.inner = self._inner(value)
            self.box.children = [self._grow(), self.toggle]

    def fields(self) -> Iterator[Field]:
        yield self
        for child in self.inner.fields():
            if child is not self.inner:
                yield child

    def show_errors(self, messages: list[str]) -> None:
        self.error = " · ".join(messages)
        self.inner.show_errors(messages)


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
