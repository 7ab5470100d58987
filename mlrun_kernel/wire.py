"""Wire models built from the library's records, so a record's shape is declared once.

The library answers frozen dataclasses (``RunInfo``, ``DatasetInfo``, ...).
The service's pydantic models, and so its OpenAPI schema, are made from those
dataclasses' fields by :func:`wire_model`, minus the fields that stay on the
service's host (``hidden``), plus the values a record computes (``computed``,
e.g. a dataset's ``ref`` property). :func:`to_wire` fills such a model from a
record. The notebook client's ``TypedDict`` answers are generated from the
OpenAPI schema (``scripts/gen-client-types.py``), and a test keeps them current:
a field added to a record reaches the API, its schema and the client, or a test
says what to run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, get_type_hints

from pydantic import BaseModel, create_model


def wire_model(
    record: type,
    name: str,
    *,
    hidden: Iterable[str] = (),
    computed: dict[str, Any] | None = None,
    replace: dict[str, Any] | None = None,
    doc: str | None = None,
) -> type[BaseModel]:
    """A pydantic model with the dataclass ``record``'s fields and types.

    ``hidden``: fields left out; ``computed``: ``name -> type`` of values the
    record computes (properties), put first; ``doc``: the model's description
    (default: the record's own docstring); ``replace``: ``name -> type`` for
    fields whose wire type differs (a nested wire model). Every field is
    required: the service always sends all of them (``null`` where empty).
    """
    if not dataclasses.is_dataclass(record):
        raise TypeError(f"{record!r} is not a dataclass; wire models are built from the library's records")
    hints = get_type_hints(record)
    left_out = set(hidden)
    replaced = replace or {}
    unknown = (left_out | set(replaced)) - {f.name for f in dataclasses.fields(record)}
    if unknown:
        raise TypeError(f"{record.__name__} has no field(s) {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {key: (hint, ...) for key, hint in (computed or {}).items()}
    for f in dataclasses.fields(record):
        if f.name not in left_out:
            fields[f.name] = (replaced.get(f.name, hints[f.name]), ...)
    own_doc = record.__doc__ if not (record.__doc__ or "").startswith(f"{record.__name__}(") else None
    model: type[BaseModel] = create_model(name, __doc__=doc or own_doc, **fields)
    return model


def to_wire(model: type[BaseModel], record: Any, **values: Any) -> BaseModel:
    """``record`` as ``model``: each field read from the record (``values`` override)."""
    data = {key: values[key] if key in values else getattr(record, key) for key in model.model_fields}
    return model(**data)
