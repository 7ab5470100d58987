"""The form's fields: the base every input shares (:class:`Field`) and what it needs from its form.

A field is a thin ipyvuetify view of one pointer: it shows the value there and
reports edits to the form (:class:`FormHost`); it never keeps a copy of the
data that could drift. The inputs are in :mod:`.leaves`, the fields that hold
other fields (objects, arrays, branch pickers, null toggles) in
:mod:`.containers`; they re-plan their children when the data changes and
keep every child whose plan did not change, so the input being typed in is
never replaced under the user's fingers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from .pointers import MISSING
from .resolve import Group, Node, Part, SchemaIndex


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
