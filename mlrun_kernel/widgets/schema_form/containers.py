"""Fields holding other fields: objects (and their key/value editor), arrays, branch pickers, null toggles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ipyvuetify as v

from . import kinds, pointers
from .fields import Context, Field, FormHost, plan_key
from .pointers import MISSING
from .resolve import Group, Node, Part


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
        # An object with no declared property and no key yet (``additionalProperties`` only)
        # changes nothing on its first fill, yet needs its header and its "New key" row.
        if changed or entries_changed or not self.rows:
            # declared fields, then the entries (each holds its own value field's widget)
            rows: list[Any] = [child.widget for key, child in children.items() if not key.startswith("\0")]
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

    def new_key_label(self) -> str:
        """The new-key input's label: one per editor on a page ("New key in Labels"), so a person
        (and a screen reader, and a browser test) finds the right one by its label."""
        title = self.label.removesuffix(" *")
        return f"New key in {title}" if title else "New key"

    def _new_key_row(self) -> Any:
        choices = kinds.key_choices(self.node)
        data_keys = {e.key for e in self.entries}
        label = self.new_key_label()
        if choices is not None:
            self.new_key = v.Select(
                label=label,
                items=[
                    name for name in choices if name not in data_keys and name not in self.node.properties
                ],
                v_model=None,
                density="compact",
                variant="outlined",
                hide_details="auto",  # room for "already used" and the like, only when said
                style_="max-width: 18rem",
            )
        else:
            self.new_key = v.TextField(
                label=label,
                v_model="",
                density="compact",
                variant="outlined",
                hide_details="auto",
                style_="max-width: 18rem",
            )
        add = v.Btn(
            children=["Add"],
            variant="tonal",
            size="small",
            class_="ml-2 mt-1",
            attributes={"aria-label": label.replace("New key", "Add the key", 1)},
        )
        add.on_event("click", lambda *_: self.add_entry(self.new_key.v_model or ""))
        self.add_button = add
        return v.Html(tag="div", class_="mlk-new-key d-flex align-start mb-2", children=[self.new_key, add])

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
