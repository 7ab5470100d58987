"""The notebook client's answer types agree with the service's OpenAPI schema.

The run and dataset answers are generated from that schema (``GENERATED``,
``scripts/gen-client-types.py``): the block in ``client.py`` must be what the
generator makes of the schema today, so a field added to ``RunInfo`` (or a
dataset record) without regenerating the client fails here.

Every ``TypedDict`` in ``mlrun_kernel.client`` names the schema it mirrors in
``MIRRORS``; each of its fields must exist there with a compatible JSON type,
and a field is required in one exactly when it is required in the other. So the
wire contract cannot drift silently: a field renamed, retyped or dropped on
either side fails here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from mlrun_kernel import client
from mlrun_kernel.runs.record import HIDDEN, RunInfo
from mlrun_kernel.service import create_app
from mlrun_kernel.service.client_types import CLIENT, GENERATED, REGENERATE, current_block, render
from mlrun_kernel.wire import wire_model
from tests.service.helpers import service_config

# client TypedDict -> the schema component of the answer it types (hand-written, then generated)
MIRRORS = {
    "Task": "TaskSummary",
    "Model": "ModelOut",
    "ModelDetail": "ModelDetail",
    "SignedUrl": "SignedUrlOut",
    **GENERATED,
}

JSON_TYPES = {str: {"string"}, int: {"integer"}, float: {"number", "integer"}, bool: {"boolean"}}


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = Path(tmp_path_factory.mktemp("openapi"))
    app = create_app(service_config(data, "http://127.0.0.1:9/hub/api", "http://127.0.0.1:9"))
    return dict(app.openapi()["components"]["schemas"])


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return _resolve(schemas[ref.rsplit("/", 1)[-1]], schemas) if ref else schema


def _alternatives(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, schemas)
    if "anyOf" in schema:
        return [alt for option in schema["anyOf"] for alt in _alternatives(option, schemas)]
    return [schema]


def mismatch(hint: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str) -> list[str]:
    """Why a value typed ``hint`` could not be what ``schema`` describes (empty: compatible)."""
    if hint is Any:
        return []
    options = _alternatives(schema, schemas)
    if not any(o.get("type") for o in options):
        return []  # the schema allows anything
    types_ = {o.get("type") for o in options}
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        members = get_args(hint)
        problems = []
        for member in members:
            problems += mismatch(member, schema, schemas, where)
        if type(None) not in members and "null" in types_:
            problems.append(f"{where}: the service may send null, the client type does not allow it")
        return problems
    if hint is type(None):
        return [] if "null" in types_ else [f"{where}: the client allows null, the service never sends it"]
    if is_typeddict(hint):
        objects = [o for o in options if o.get("type") == "object"]
        if not objects:
            return [f"{where}: the client expects an object, the service sends {sorted(map(str, types_))}"]
        return compare(hint, objects[0], schemas, where) if "properties" in objects[0] else []
    if origin is list:
        arrays = [o for o in options if o.get("type") == "array"]
        if not arrays:
            return [f"{where}: the client expects a list, the service sends {sorted(map(str, types_))}"]
        (item,) = get_args(hint) or (Any,)
        return mismatch(item, arrays[0].get("items", {}), schemas, f"{where}[]")
    if origin is dict or hint is dict:
        return [] if "object" in types_ else [f"{where}: the client expects an object, not {types_}"]
    expected = JSON_TYPES.get(hint)
    if expected is None:
        return [f"{where}: no JSON type known for {hint!r}"]
    if not expected & types_:
        return [f"{where}: the client says {hint.__name__}, the service sends {sorted(map(str, types_))}"]
    return []


def compare(typed: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str) -> list[str]:
    hints = get_type_hints(typed)
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    problems = []
    for name, hint in hints.items():
        field = f"{where}.{name}"
        if name not in properties:
            problems.append(f"{field}: not in the service's schema {schema.get('title')}")
            continue
        if (name in typed.__required_keys__) != (name in required):
            side = "client" if name in typed.__required_keys__ else "service"
            problems.append(f"{field}: required by the {side} only")
        problems += mismatch(hint, properties[name], schemas, field)
    for name in sorted(required - set(hints)):
        problems.append(f"{where}.{name}: the service always sends it, the client type lacks it")
    return problems


def test_every_client_answer_type_names_the_schema_it_mirrors() -> None:
    declared = {name for name, value in vars(client).items() if is_typeddict(value)}
    assert declared == set(MIRRORS), "add the new TypedDict to MIRRORS (or drop the stale entry)"


@pytest.mark.parametrize("typed_name", sorted(MIRRORS))
def test_a_client_answer_type_agrees_with_the_openapi_schema(
    typed_name: str, schemas: dict[str, Any]
) -> None:
    schema = schemas[MIRRORS[typed_name]]
    assert compare(getattr(client, typed_name), schema, schemas, typed_name) == []


def test_the_check_catches_a_drifted_client_type(schemas: dict[str, Any]) -> None:
    class Drifted(typing.TypedDict):
        id: int  # the service sends a string
        owner: str | None  # never null on the wire
        colour: str  # no such field

    problems = compare(Drifted, schemas["RunOut"], schemas, "Drifted")
    assert any("Drifted.id: the client says int" in p for p in problems)
    assert any("Drifted.owner: the client allows null" in p for p in problems)
    assert any("Drifted.colour: not in the service's schema" in p for p in problems)
    assert any("Drifted.state: the service always sends it" in p for p in problems)


def test_the_generated_client_types_are_what_the_schema_makes_today(schemas: dict[str, Any]) -> None:
    assert current_block(CLIENT.read_text()) == render(schemas), f"stale: run {REGENERATE}"


def test_a_field_added_to_the_run_record_fails_until_the_client_is_regenerated(
    schemas: dict[str, Any],
) -> None:
    @dataclasses.dataclass(frozen=True)
    class GrownRunInfo(RunInfo):
        colour: str = "blue"

    grown = wire_model(GrownRunInfo, "RunOut", hidden=HIDDEN)
    schema = grown.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    changed = schemas | {"RunOut": schema}
    assert "    colour: str\n" in render(changed)
    assert current_block(CLIENT.read_text()) != render(changed)
    problems = compare(client.Run, schema, changed, "Run")
    assert problems == ["Run.colour: the service always sends it, the client type lacks it"]
