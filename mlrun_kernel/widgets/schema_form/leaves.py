"""The inputs: one class per kind of value (text, number, slider, switch, select, constant, null, JSON)."""

from __future__ import annotations

import json
from typing import Any

import ipyvuetify as v

from . import kinds
from .fields import Field, _text
from .pointers import MISSING
from .resolve import constant_choices


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
