"""The notebook client's answer types, generated from the service's OpenAPI schema.

The run and dataset records are declared once, as the library's dataclasses;
the service's wire models are built from them (:mod:`mlrun_kernel.wire`), and
FastAPI turns those into the OpenAPI schema. This module turns that schema
into the ``TypedDict``\\ s of ``mlrun_kernel/client.py`` (the block between
:data:`BEGIN` and :data:`END`), so the client never restates a record by hand:
``scripts/gen-client-types.py`` rewrites the block, and
``tests/service/test_openapi_contract.py`` fails while it is stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

GENERATED: dict[str, str] = {
    "Output": "OutputFile",
    "RunEvent": "RunEventInfo",
    "Run": "RunOut",
    "RunPage": "RunPage",
    "LogLine": "LogLineOut",
    "Upload": "UploadOut",
    "DatasetVersion": "DatasetVersionOut",
    "Dataset": "DatasetOut",
}
"""client TypedDict -> the schema component it is made from, in the order they are written."""

CLIENT = Path(__file__).resolve().parents[1] / "client.py"
REGENERATE = ".venv/bin/python scripts/gen-client-types.py"
BEGIN = "# ---- answers generated from the service's OpenAPI schema (begin) ----"
END = "# ---- answers generated from the service's OpenAPI schema (end) ----"

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def openapi_schemas() -> dict[str, Any]:
    """The schema components of the run and dataset routes (as the service's OpenAPI has them)."""
    from fastapi import FastAPI

    from mlrun_kernel.service.routes import datasets, runs

    app = FastAPI()
    app.include_router(runs.router, prefix="/api")
    app.include_router(datasets.router, prefix="/api")
    return dict(app.openapi()["components"]["schemas"])


def _type(schema: dict[str, Any], names: dict[str, str]) -> str:
    """The Python type of a JSON schema (``$ref`` to a generated schema: its client name)."""
    ref = schema.get("$ref")
    if ref:
        return names.get(ref.rsplit("/", 1)[-1], "dict[str, Any]")
    if "anyOf" in schema:
        options: list[str] = []
        for option in schema["anyOf"]:
            text = _type(option, names)
            if text not in options:
                options.append(text)
        return "Any" if "Any" in options else " | ".join(options)
    kind = schema.get("type")
    if kind == "array":
        return f"list[{_type(schema.get('items', {}), names)}]"
    if kind == "object":
        values = schema.get("additionalProperties", True)
        inner = "Any" if values is True or not isinstance(values, dict) else _type(values, names)
        return f"dict[str, {inner}]"
    if isinstance(kind, str) and kind in _SCALARS:
        return _SCALARS[kind]
    return "Any"


def render(schemas: dict[str, Any]) -> str:
    """The generated block (markers included) for the schema components ``schemas``."""
    names = {schema: client for client, schema in GENERATED.items()}
    lines = [
        BEGIN,
        f"# Made by {REGENERATE} from the service's records (mlrun_kernel.wire);",
        "# do not edit by hand: tests/service/test_openapi_contract.py fails while it is stale.",
    ]
    for client, schema_name in GENERATED.items():
        if schema_name not in schemas:
            raise KeyError(f"the service's OpenAPI schema has no component {schema_name!r} (for {client})")
        schema = schemas[schema_name]
        lines += ["", "", f"class {client}(TypedDict):"]
        if schema.get("description"):
            lines.append(f'    """{schema["description"].strip()}"""')
            lines.append("")
        required = set(schema.get("required", []))
        for field, spec in schema.get("properties", {}).items():
            if field not in required:
                raise ValueError(
                    f"{schema_name}.{field} is optional; the wire models send every field "
                    "(build them with mlrun_kernel.wire.wire_model)"
                )
            lines.append(f"    {field}: {_type(spec, names)}")
    lines += ["", "", END]
    return "\n".join(lines) + "\n"


def splice(source: str, block: str) -> str:
    """``source`` (client.py) with its generated block replaced by ``block``."""
    start, end = source.find(BEGIN), source.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{CLIENT.name} has no block between {BEGIN!r} and {END!r}")
    return source[:start] + block + source[end + len(END) + 1 :]


def current_block(source: str) -> str:
    """The generated block as ``source`` has it now."""
    start, end = source.find(BEGIN), source.find(END)
    if start < 0 or end < start:
        return ""
    return source[start : end + len(END) + 1]
