"""Pure decisions a form makes from a :class:`~.resolve.Node` and a value; no widgets.

Which input a value gets (:func:`field_kind`), in which order an object's
fields come (:func:`ordered_properties`), which keys go to the key/value
editor (:func:`extra_keys`), what the array buttons allow
(:func:`array_controls`), what a new array item or a switched branch holds
(:func:`new_value`, :func:`switch_branch`). Tests call these with plain data.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .pointers import MISSING
from .resolve import Group, Node, Part, SchemaIndex, constant_choices

LONG_TEXT = 200
"""Strings allowed longer than this (``maxLength``) get a textarea."""

FORMAT_INPUTS = {"date": "date", "email": "email", "uri": "url", "color": "color"}
"""HTML input types for the formats whose browser input keeps the JSON value exactly.

``date-time`` and ``time`` stay text inputs: the browser's pickers drop the
seconds and the offset that RFC 3339 requires."""


def _type_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return None


def value_type(node: Node, value: Any) -> str | None:
    """The JSON type the field edits: the declared one the value has, else the first declared."""
    declared = [t for t in node.types or [] if t != "null"]
    actual = _type_of(value)
    if declared:
        if actual in declared:
            return actual
        if actual == "integer" and "number" in declared:
            return "number"
        return declared[0]
    if node.properties or node.pattern_properties:
        return "object"
    if any(k in node.keywords for k in ("minLength", "maxLength", "pattern", "format")):
        return "string"
    if any(k in node.keywords for k in ("minimum", "maximum", "exclusiveMinimum", "multipleOf")):
        return "number"
    if node.subs("items") or node.subs("prefixItems"):
        return "array"
    return None if actual == "null" else actual


def field_kind(node: Node, value: Any, index: SchemaIndex) -> str:
    """One of: const, select, multiselect, null, nullable, object, array, boolean, number,
    slider, string, textarea, json."""
    types = node.types
    if types == ["null"]:
        return "null"
    if types and "null" in types and len(types) > 1:
        return "nullable"
    if "const" in node.keywords and not node.properties:
        return "const"
    if constant_choices(node, index) is not None:
        return "select"
    kind = value_type(node, value)
    if kind == "array":
        item = index.node(node.pointer + "/0", node.subs("items"), MISSING) if node.subs("items") else None
        if (
            item is not None
            and node.get("uniqueItems") is True
            and not isinstance(node.get("items"), list)
            and constant_choices(item, index) is not None
        ):
            return "multiselect"
        return "array"
    if kind == "object":
        return "object"
    if kind == "boolean":
        return "boolean"
    if kind in ("number", "integer"):
        if node.get("x-widget") == "slider" and bounds(node)[0] is not None and bounds(node)[1] is not None:
            return "slider"
        return "number"
    if kind == "string":
        longest = node.get("maxLength")
        if node.get("x-widget") == "textarea" or (isinstance(longest, int) and longest > LONG_TEXT):
            return "textarea"
        return "string"
    return "json"


def without_null(node: Node) -> Node:
    """The same node with ``null`` taken out of its types: what a nullable field edits when set."""
    clone = copy.copy(node)
    clone.types = [t for t in node.types or [] if t != "null"]
    return clone


def bounds(node: Node) -> tuple[float | None, float | None]:
    """The lowest and highest value allowed, exclusive bounds moved in by one step."""
    step = step_of(node)
    low = node.get("minimum")
    high = node.get("maximum")
    xlow, xhigh = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if _is_number(xlow):
        low = xlow + step if low is None else max(low, xlow + step)
    if _is_number(xhigh):
        high = xhigh - step if high is None else min(high, xhigh - step)
    return (low if _is_number(low) else None, high if _is_number(high) else None)


def step_of(node: Node) -> float:
    multiple = node.get("multipleOf")
    if _is_number(multiple) and multiple > 0:
        return float(multiple)
    return 1.0 if "integer" in (node.types or []) else 0.01


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def ordered_properties(node: Node, value: Any = MISSING) -> list[str]:
    """The object's fields in the order the user sees them.

    ``x-order`` decides: a list of names (those first, in that order), or, as
    in Cog, an integer on each property; declared order breaks ties and places
    the rest (a branch's own properties come after the always-present ones).
    """
    names = [name for name in node.properties if not forbidden(node, name)]
    order = node.get("x-order")
    rank: dict[str, tuple[int, int]] = {}
    if isinstance(order, list):
        for position, name in enumerate(order):
            if name in node.properties:
                rank.setdefault(name, (0, position))
    for position, name in enumerate(names):
        if name in rank:
            continue
        own = next(
            (s.get("x-order") for s, _ in _property_parts(node, name) if isinstance(s.get("x-order"), int)),
            None,
        )
        rank[name] = (1, own) if isinstance(own, int) and not isinstance(own, bool) else (2, position)
    return sorted(names, key=lambda name: (rank[name], names.index(name)))


def forbidden(node: Node, name: str) -> bool:
    """A property whose schema is ``false`` here (``else: {properties: {x: false}}``) gets no field."""
    return any(schema is False for schema, _ in node.properties.get(name, []))


def _property_parts(node: Node, name: str) -> list[Part]:
    return [(s, r) for s, r in node.properties.get(name, []) if isinstance(s, Mapping)]


def accepts_extra_keys(node: Node) -> bool:
    """Whether the object gets a key/value editor (``additionalProperties`` or ``patternProperties``)."""
    if node.pattern_properties:
        return True
    return any(
        sub is not False and isinstance(sub, Mapping | bool) for sub, _ in node.subs("additionalProperties")
    )


def extra_keys(node: Node, value: Any) -> list[str]:
    """The keys of ``value`` that the key/value editor shows: not declared properties."""
    if not isinstance(value, Mapping) or not accepts_extra_keys(node):
        return []
    return [key for key in value if key not in node.properties]


def extra_value_parts(node: Node, key: str) -> list[Part]:
    """The schemas a key/value entry's value must meet: matching patterns, else ``additionalProperties``."""
    parts = [
        part for pattern, subs in node.pattern_properties.items() if _search(pattern, key) for part in subs
    ]
    if parts:
        return parts
    rest = [(s, r) for s, r in node.subs("additionalProperties") if isinstance(s, Mapping)]
    return rest or [({}, None)]


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def key_choices(node: Node) -> list[str] | None:
    """When ``propertyNames`` lists the allowed names (``enum``), the key editor is a select."""
    for sub, _ in node.subs("propertyNames"):
        if isinstance(sub, Mapping) and isinstance(sub.get("enum"), list):
            return [name for name in sub["enum"] if isinstance(name, str)]
    return None


@dataclass(frozen=True)
class ArrayControls:
    """What the array's buttons allow now; ``minItems``/``maxItems`` and tuples decide."""

    can_add: bool
    can_remove: tuple[bool, ...]
    can_up: tuple[bool, ...]
    can_down: tuple[bool, ...]


def tuple_length(node: Node) -> int:
    prefix = node.get("prefixItems")
    for sub, _ in node.subs("prefixItems"):
        prefix = sub
    if not isinstance(prefix, list):
        items = [s for s, _ in node.subs("items") if isinstance(s, list)]
        prefix = items[0] if items else []
    return len(prefix)


def _closed(node: Node) -> bool:
    """No items beyond the tuple: ``items: false`` (2020-12) or ``additionalItems: false`` (draft-07)."""
    return any(s is False for keyword in ("items", "additionalItems") for s, _ in node.subs(keyword))


def array_controls(node: Node, length: int, read_only: bool = False) -> ArrayControls:
    low = node.get("minItems", 0)
    high = node.get("maxItems")
    fixed = tuple_length(node)
    if _closed(node):
        high = fixed if high is None else min(high, fixed)
    can_add = not read_only and (high is None or length < high)
    removable = not read_only and length > (low if isinstance(low, int) else 0)
    remove = tuple(removable and i >= fixed for i in range(length))
    up = tuple(not read_only and i > fixed for i in range(length))
    down = tuple(not read_only and fixed <= i < length - 1 for i in range(length))
    return ArrayControls(can_add, remove, up, down)


def item_parts(node: Node, position: int) -> list[Part]:
    """The schemas for item ``position``: its tuple slot, else ``items``/``additionalItems``."""
    parts: list[Part] = []
    for schema, resolver in node.parts:
        prefix = schema.get("prefixItems")
        rest = schema.get("items")
        if prefix is None and isinstance(rest, list):
            prefix, rest = rest, schema.get("additionalItems")
        chosen = prefix[position] if isinstance(prefix, list) and position < len(prefix) else rest
        if isinstance(chosen, Mapping):
            parts.append((chosen, resolver))
    return parts


def new_value(node: Node, index: SchemaIndex) -> Any:
    """What a new array item (or a newly shown required value) starts as.

    Its ``default``, its ``const``, its first allowed value; else an empty
    value of its type (an object gets its members' defaults).
    """
    if "default" in node.keywords:
        return copy.deepcopy(node.keywords["default"])
    if "const" in node.keywords:
        return copy.deepcopy(node.keywords["const"])
    choices = constant_choices(node, index)
    if choices:
        return copy.deepcopy(choices[0][1])
    kind = value_type(node, MISSING)
    if kind == "object":
        return object_defaults(node, index)
    if kind == "array":
        return []
    if kind == "string":
        return ""
    if kind == "boolean":
        return False
    if kind in ("number", "integer"):
        low, high = bounds(node)
        start = low if low is not None else (0 if high is None or high >= 0 else high)
        return int(start) if kind == "integer" and float(start).is_integer() else start
    return None


def object_defaults(node: Node, index: SchemaIndex) -> dict[str, Any]:
    """An object holding its properties' own defaults (one level: the form then runs
    ``fill_defaults`` over the new subtree for the rest)."""
    out: dict[str, Any] = {}
    for name, parts in node.properties.items():
        child = index.node(node.pointer + "/" + name, parts, MISSING)
        if "default" in child.keywords:
            out[name] = copy.deepcopy(child.keywords["default"])
        elif name in node.required and "const" in child.keywords:
            out[name] = copy.deepcopy(child.keywords["const"])
    return out


def switch_branch(index: SchemaIndex, group: Group, old: int, new: int, value: Any) -> Any:
    """The value after the user picks branch ``new`` instead of ``old``.

    Values both branches declare are kept; what only the old branch declared
    goes; the new branch's discriminator and defaults are filled in. A value the
    new branch cannot hold at all (another type) starts afresh.
    """
    old_names = _declared(index, group.options[old])
    new_node = index.node(group.pointer, [group.options[new]], MISSING)
    if isinstance(value, Mapping) and value_type(new_node, MISSING) in ("object", None):
        kept = {
            k: copy.deepcopy(v) for k, v in value.items() if k in new_node.properties or k not in old_names
        }
        for name, pinned in discriminators_of(index, group.options[new]).items():
            kept[name] = copy.deepcopy(pinned)
        for name, item in object_defaults(new_node, index).items():
            kept.setdefault(name, item)
        return kept
    if value is not MISSING and index.is_valid(group.options[new], value):
        return value
    return new_value(new_node, index)


def _declared(index: SchemaIndex, option: Part) -> set[str]:
    names: set[str] = set()
    for schema, _ in index.flatten([option]):
        names.update((schema.get("properties") or {}).keys())
    return names


def discriminators_of(index: SchemaIndex, option: Part) -> dict[str, Any]:
    from .resolve import discriminators

    return discriminators(index, option)
