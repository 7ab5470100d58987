"""JSON pointers (RFC 6901) over plain JSON data: the form's one way to address a field.

The form keeps one JSON document as the truth; every field reads and writes its
own place in it through these helpers, so data the form cannot show (extra
keys, values of the wrong type) survives untouched.
"""

from __future__ import annotations

from typing import Any


class _Missing:
    """An absent value: not ``None``, which is JSON ``null``. Copies are the same object."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: Any) -> _Missing:
        return self


MISSING: Any = _Missing()


def escape(token: object) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join(pointer: str, token: object) -> str:
    """``join("/a", "b/c")`` -> ``"/a/b~1c"``."""
    return f"{pointer}/{escape(token)}"


def tokens(pointer: str) -> list[str]:
    """``"/a/b~1c"`` -> ``["a", "b/c"]``; the root ``""`` -> ``[]``."""
    if not pointer:
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON pointer: it must be '' or start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _step(node: Any, token: str) -> Any:
    if isinstance(node, dict):
        return node.get(token, MISSING)
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    return MISSING


def get(data: Any, pointer: str) -> Any:
    """The value at ``pointer``, or :data:`MISSING`."""
    node = data
    for token in tokens(pointer):
        node = _step(node, token)
        if node is MISSING:
            return MISSING
    return node


def put(data: Any, pointer: str, value: Any) -> Any:
    """Set ``value`` at ``pointer`` (in place where possible) and return the document.

    Missing parent objects are created; a parent of the wrong type is replaced by
    an object, since the user typed into a field that needs one. ``MISSING``
    removes the key (or, in a list, is ignored).
    """
    parts = tokens(pointer)
    if not parts:
        return value
    if not isinstance(data, dict | list):
        data = {}
    node = data
    for token in parts[:-1]:
        child = _step(node, token)
        if not isinstance(child, dict | list):
            if value is MISSING:
                return data
            child = {}
            _assign(node, token, child)
        node = child
    last = parts[-1]
    if value is MISSING:
        if isinstance(node, dict):
            node.pop(last, None)
        return data
    _assign(node, last, value)
    return data


def _assign(node: Any, token: str, value: Any) -> None:
    if isinstance(node, dict):
        node[token] = value
    elif isinstance(node, list) and token.isdigit():
        index = int(token)
        if index < len(node):
            node[index] = value
        elif index == len(node):
            node.append(value)


def is_within(pointer: str, ancestor: str) -> bool:
    """Whether ``pointer`` is ``ancestor`` or below it."""
    return pointer == ancestor or pointer.startswith(ancestor + "/")
