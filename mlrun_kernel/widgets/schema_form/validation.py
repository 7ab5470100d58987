"""The form's verdict: the service's own validation, as errors at JSON pointers.

Validation is :func:`mlrun_kernel.spec.parameter_errors`, the function the
service runs before a run starts, so the form and the service never disagree
on what is valid or on the words they use. The form adds one check the
validator does not make (``format: color``, a ``#rrggbb`` colour: the browser's
colour input only produces that). Errors are placed on the field at their
pointer, or on the nearest field above it that is on screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlrun_kernel.spec import Draft, parameter_errors

from . import pointers


@dataclass(frozen=True)
class FieldError:
    """One problem, at a JSON pointer (``"/threshold"``, ``"/items/0/name"``; the whole form is ``""``)."""

    pointer: str
    message: str


_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def form_errors(
    schema: Any, value: Any, *, draft: Draft, formats: Iterable[str] | None = None
) -> list[FieldError]:
    """Every problem with ``value`` (as the service sees it), plus colour checks, sorted by field."""
    if value is pointers.MISSING:
        value = None
    issues = [
        FieldError(issue.path, issue.message)
        for issue in parameter_errors(schema, value, default_draft=draft, formats=formats)
    ]
    checked = set(formats) if formats is not None else None
    if checked is None or "color" in checked:
        issues.extend(_color_errors(schema, value))
    return issues


def _color_errors(schema: Any, value: Any) -> Iterator[FieldError]:
    """``format: color`` on plain properties (the common case: a colour parameter)."""
    yield from _walk_colors(schema, value, "", 0)


def _walk_colors(schema: Any, value: Any, at: str, depth: int) -> Iterator[FieldError]:
    if not isinstance(schema, Mapping) or depth > 32:
        return
    if schema.get("format") == "color" and isinstance(value, str) and not _COLOR.match(value):
        yield FieldError(at, "must be a colour written #rrggbb (e.g. #1f77b4)")
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and isinstance(value, Mapping):
        for name, sub in properties.items():
            if name in value:
                yield from _walk_colors(sub, value[name], pointers.join(at, name), depth + 1)
    items = schema.get("items")
    if isinstance(items, Mapping) and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_colors(items, item, pointers.join(at, i), depth + 1)


def by_pointer(errors: Iterable[FieldError]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for error in errors:
        grouped.setdefault(error.pointer, []).append(error.message)
    return grouped


def placed(errors: Iterable[FieldError], shown: set[str]) -> dict[str, list[str]]:
    """Messages per field on screen: an error whose field is not shown (an unopened level,
    a key the form has no input for) goes to the nearest shown field above it, saying where."""
    out: dict[str, list[str]] = {}
    for error in errors:
        target = error.pointer
        while target not in shown and target:
            target = target.rsplit("/", 1)[0]
        message = error.message
        if target != error.pointer:
            message = f"{error.pointer[len(target) :]}: {message}"
        out.setdefault(target, []).append(message)
    return out


def branch_errors(index: Any, option: Any, value: Any, at: str) -> list[FieldError]:
    """The problems of ``value`` against the one branch the user picked, at their fields.

    Why: the validator reports a failed ``oneOf`` once, at the branch picker
    ("must match exactly one of the options..."); the user needs to see which
    field of the branch they are filling is wrong. Same messages as the service.
    """
    from mlrun_kernel.spec.parameters import _locate, _parameter_message

    found = []
    for error in index.errors(option, value):
        for path, message in _locate(error, _parameter_message):
            found.append(FieldError(at + "".join("/" + pointers.escape(p) for p in path), message))
    return found
