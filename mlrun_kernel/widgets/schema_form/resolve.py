"""What applies at one place of the data: ``$ref``, ``allOf``, conditionals and branches merged.

A field never looks at raw schema text. It asks :meth:`SchemaIndex.node` for
the :class:`Node` at its place, given the value there: the schemas reached
through ``$ref`` and ``allOf``, the ``then``/``else`` an ``if`` selects (judged
by ``jsonschema`` itself, so an ``if`` over an absent property matches unless
its ``required`` says otherwise, exactly as validation will), the
``dependentSchemas``/``dependencies`` whose key is present, and the branch the
user picked for each ``oneOf``/``anyOf``. ``$ref`` is resolved through a
``referencing`` registry built from the schema alone, never the network.
Nothing here builds a widget, so tests call it with plain values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import referencing.jsonschema
from referencing import Registry
from referencing.exceptions import Unresolvable

from mlrun_kernel.spec import DRAFT_7, DRAFT_2020_12, Draft

from .pointers import MISSING

Part = tuple[Any, Any]
"""A (sub)schema and the ``referencing`` resolver for the ``$ref``s inside it."""

_MAX_DEPTH = 64

_STRUCTURE = frozenset(
    {
        "$ref",
        "$defs",
        "definitions",
        "allOf",
        "anyOf",
        "oneOf",
        "if",
        "then",
        "else",
        "properties",
        "patternProperties",
        "additionalProperties",
        "required",
        "dependentSchemas",
        "dependentRequired",
        "dependencies",
        "type",
        "items",
        "prefixItems",
        "additionalItems",
        "not",
    }
)


@dataclass
class Group:
    """One ``oneOf``/``anyOf`` whose options are schemas (not labelled constants): a branch picker."""

    pointer: str
    keyword: str
    options: list[Part]
    key: int  # identity of the option list in the schema, stable while the schema lives
    selected: int = 0

    def titles(self, index: SchemaIndex) -> list[str]:
        names = []
        for i, option in enumerate(self.options):
            title = next(
                (s.get("title") for s, _ in index.flatten([option]) if isinstance(s.get("title"), str)),
                None,
            )
            names.append(title or f"Option {i + 1}")
        return names


@dataclass
class Node:
    """Everything that applies to the value at ``pointer``, merged."""

    pointer: str
    parts: list[Part]
    keywords: dict[str, Any] = field(default_factory=dict)
    types: list[str] | None = None
    properties: dict[str, list[Part]] = field(default_factory=dict)
    pattern_properties: dict[str, list[Part]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    groups: list[Group] = field(default_factory=list)
    choice_keys: tuple[int, ...] = ()

    def get(self, keyword: str, default: Any = None) -> Any:
        return self.keywords.get(keyword, default)

    def subs(self, keyword: str) -> list[Part]:
        """Every part's ``keyword`` subschema (``items``, ``additionalProperties``...), with its resolver."""
        return [(s[keyword], r) for s, r in self.parts if keyword in s]

    @property
    def signature(self) -> tuple[int, ...]:
        """Which schemas make this node: a field is rebuilt only when this changes."""
        return tuple(id(s) for s, _ in self.parts)


Chooser = Callable[[Group, Any], int]


class SchemaIndex:
    """The root schema, its dialect and its ``$ref`` resolution, built once per form."""

    def __init__(self, root: Any, draft: Draft | None = None) -> None:
        import jsonschema

        self.root = root
        default = jsonschema.Draft7Validator if draft == "draft7" else jsonschema.Draft202012Validator
        self.cls = (
            jsonschema.validators.validator_for(root, default=default)
            if isinstance(root, Mapping)
            else default
        )
        dialect = DRAFT_7 if self.cls is jsonschema.Draft7Validator else DRAFT_2020_12
        self.specification = referencing.jsonschema.specification_with(dialect)
        resource = self.specification.create_resource(root)
        self.registry: Registry[Any] = Registry().with_resource(resource.id() or "", resource).crawl()
        self.root_part: Part = (root, self.registry.resolver(base_uri=resource.id() or ""))
        self._validator = self.cls(root, registry=self.registry)

    # ------------------------------------------------------------------ basics

    def flatten(self, parts: Iterable[Part]) -> list[Part]:
        """The schemas that all apply to one value: each part, its ``$ref`` targets, its ``allOf``."""
        out: list[Part] = []
        seen: set[int] = set()

        def visit(schema: Any, resolver: Any, level: int) -> None:
            if not isinstance(schema, Mapping) or id(schema) in seen or level > _MAX_DEPTH:
                return
            seen.add(id(schema))
            if isinstance(schema.get("$id"), str) and level:
                with contextlib.suppress(Exception):
                    resolver = resolver.in_subresource(self.specification.create_resource(schema))
            out.append((schema, resolver))
            ref = schema.get("$ref")
            if isinstance(ref, str):
                try:
                    resolved = resolver.lookup(ref)
                except Unresolvable:
                    pass
                else:
                    visit(resolved.contents, resolved.resolver, level + 1)
            for member in schema.get("allOf") or ():
                visit(member, resolver, level + 1)

        for schema, resolver in parts:
            visit(schema, resolver, 0)
        return out

    def is_valid(self, part: Part, value: Any) -> bool:
        """Whether ``value`` passes ``part`` (``MISSING`` is judged as the empty object)."""
        return not self.errors(part, value)

    def errors(self, part: Part, value: Any) -> list[Any]:
        schema, _ = part
        if isinstance(schema, bool):
            return [] if schema else ["false"]
        if not isinstance(schema, Mapping):
            return []
        data = {} if value is MISSING else value
        try:
            return list(self._validator.evolve(schema=schema).iter_errors(data))
        except Unresolvable:
            return []

    # ------------------------------------------------------------------ the node

    def node(self, pointer: str, parts: list[Part], value: Any, choose: Chooser | None = None) -> Node:
        """Merge ``parts`` for ``value``, applying conditionals and the chosen branches."""
        node = Node(pointer=pointer, parts=[])
        seen: set[int] = set()
        pending = list(parts)
        groups: dict[int, Group] = {}
        rounds = 0
        while pending and rounds < _MAX_DEPTH:
            rounds += 1
            flat = [p for p in self.flatten(pending) if id(p[0]) not in seen]
            pending = []
            for schema, resolver in flat:
                seen.add(id(schema))
                node.parts.append((schema, resolver))
                pending.extend(self._conditionals(schema, resolver, value))
                for keyword in ("oneOf", "anyOf"):
                    options = schema.get(keyword)
                    if (
                        not isinstance(options, list)
                        or not options
                        or _constant_options(options, resolver, self)
                    ):
                        continue
                    group = Group(pointer, keyword, [(o, resolver) for o in options], id(options))
                    group.selected = choose(group, value) if choose else initial_branch(self, group, value)
                    groups[group.key] = group
                    pending.append(group.options[group.selected])
        node.groups = list(groups.values())
        node.choice_keys = tuple(groups)
        self._merge(node, value)
        return node

    def _conditionals(self, schema: Mapping[str, Any], resolver: Any, value: Any) -> list[Part]:
        found: list[Part] = []
        if "if" in schema:
            branch = "then" if self.is_valid((schema["if"], resolver), value) else "else"
            if isinstance(schema.get(branch), Mapping):
                found.append((schema[branch], resolver))
        present = value if isinstance(value, Mapping) else {}
        for keyword in ("dependentSchemas", "dependencies"):
            deps = schema.get(keyword)
            if isinstance(deps, Mapping):
                for name, sub in deps.items():
                    if name in present and isinstance(sub, Mapping):
                        found.append((sub, resolver))
        return found

    def _merge(self, node: Node, value: Any) -> None:
        present = value if isinstance(value, Mapping) else {}
        for schema, resolver in node.parts:
            for key, item in schema.items():
                if key not in _STRUCTURE and key not in node.keywords:
                    node.keywords[key] = item
            kind = schema.get("type")
            if kind is not None:
                kinds = [kind] if isinstance(kind, str) else [k for k in kind if isinstance(k, str)]
                node.types = kinds if node.types is None else [k for k in node.types if k in kinds] or kinds
            for name, sub in (schema.get("properties") or {}).items():
                node.properties.setdefault(name, []).append((sub, resolver))
            for pattern, sub in (schema.get("patternProperties") or {}).items():
                node.pattern_properties.setdefault(pattern, []).append((sub, resolver))
            required = schema.get("required")
            if isinstance(required, list):
                node.required.update(r for r in required if isinstance(r, str))
            for keyword in ("dependentRequired", "dependencies"):
                deps = schema.get(keyword)
                if isinstance(deps, Mapping):
                    for trigger, needed in deps.items():
                        if trigger in present and isinstance(needed, list):
                            node.required.update(n for n in needed if isinstance(n, str))


def _constant_options(options: list[Any], resolver: Any, index: SchemaIndex) -> bool:
    """``oneOf``/``anyOf`` of ``const`` (or one-value ``enum``) options: a labelled select, not branches."""
    for option in options:
        flat = index.flatten([(option, resolver)])
        if not any(
            "const" in s or (isinstance(s.get("enum"), list) and len(s["enum"]) == 1) for s, _ in flat
        ):
            return False
    return True


def constant_choices(node: Node, index: SchemaIndex) -> list[tuple[str, Any]] | None:
    """The (label, value) pairs of an ``enum`` or of labelled constant options, or None."""
    for schema, resolver in node.parts:
        for keyword in ("oneOf", "anyOf"):
            options = schema.get(keyword)
            if isinstance(options, list) and options and _constant_options(options, resolver, index):
                pairs = []
                for option in options:
                    flat = index.flatten([(option, resolver)])
                    value = next(
                        (
                            s["const"] if "const" in s else s["enum"][0]
                            for s, _ in flat
                            if "const" in s or "enum" in s
                        )
                    )
                    title = next((s["title"] for s, _ in flat if isinstance(s.get("title"), str)), None)
                    pairs.append((title or _label(value), value))
                return pairs
    enum = node.get("enum")
    if isinstance(enum, list):
        return [(_label(item), item) for item in enum]
    return None


def _label(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def discriminators(index: SchemaIndex, option: Part) -> dict[str, Any]:
    """Properties an option pins to one value (``const``, one-value ``enum``): its discriminator."""
    found: dict[str, Any] = {}
    for schema, resolver in index.flatten([option]):
        for name, sub in (schema.get("properties") or {}).items():
            for s, _ in index.flatten([(sub, resolver)]):
                if "const" in s:
                    found.setdefault(name, s["const"])
                elif isinstance(s.get("enum"), list) and len(s["enum"]) == 1:
                    found.setdefault(name, s["enum"][0])
    return found


def initial_branch(index: SchemaIndex, group: Group, value: Any) -> int:
    """The branch a picker starts on: the one the existing data matches.

    A ``const`` discriminator decides first (the data's value names its branch);
    then the first branch the data validates against; then the branch with the
    fewest problems. With no data, the first branch.
    """
    if value is MISSING:
        return 0
    candidates = list(range(len(group.options)))
    if isinstance(value, Mapping):
        named, open_ = [], []
        for i in candidates:
            pins = discriminators(index, group.options[i])
            shared = [name for name in pins if name in value]
            if not shared:
                open_.append(i)
            elif all(value[name] == pins[name] for name in shared):
                named.append(i)
        candidates = named or open_ or candidates
    for i in candidates:
        if index.is_valid(group.options[i], value):
            return i
    return min(candidates, key=lambda i: len(index.errors(group.options[i], value)))
