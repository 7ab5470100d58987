"""Building a SchemaForm against creating the same number of plain ipywidgets Text, in one run.

Two forms: the RJSF corpus sample ``large`` (from ``shared/conformance``,
skipped with a note when absent) and a generated 300-field schema that mixes
what parameter schemas hold (strings with patterns and formats, bounded
numbers, integers, booleans, enums, labelled ``oneOf`` constants, titles,
descriptions, defaults). The baseline creates one ``ipywidgets.Text`` per
input field the form shows, with a description and a value. Each side is
built several times and the median is compared.

    .venv/bin/python bench/bench_schema_form.py

Target: SchemaForm <= 3x the plain widgets.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ipywidgets  # noqa: E402

from mlrun_kernel.spec import load_validator  # noqa: E402
from mlrun_kernel.widgets.schema_form import SchemaForm  # noqa: E402
from mlrun_kernel.widgets.schema_form.fields import Container  # noqa: E402

CORPUS = ROOT.parent / "shared" / "conformance" / "jsonschema-forms"
REPEATS = 7
TARGET = 3.0


def generated_schema(fields: int = 300) -> dict[str, Any]:
    """A flat-ish parameters schema of ``fields`` inputs, in groups of 30, of every common kind."""
    makers: list[Callable[[int], dict[str, Any]]] = [
        lambda i: {"type": "string", "title": f"Name {i}", "description": "A label.", "maxLength": 80},
        lambda i: {"type": "number", "title": f"Rate {i}", "minimum": 0, "maximum": 1, "default": 0.5},
        lambda i: {"type": "integer", "title": f"Count {i}", "minimum": 1, "default": 3},
        lambda i: {"type": "boolean", "title": f"Flag {i}", "default": i % 2 == 0},
        lambda i: {"enum": ["low", "medium", "high"], "title": f"Level {i}", "default": "medium"},
        lambda i: {"type": "string", "format": "date", "title": f"Day {i}"},
        lambda i: {"type": "string", "pattern": "^[a-z]+$", "title": f"Code {i}", "default": "abc"},
        lambda i: {
            "title": f"Method {i}",
            "default": "a",
            "oneOf": [{"const": "a", "title": "Alpha"}, {"const": "b", "title": "Beta"}],
        },
        lambda i: {"type": "string", "format": "email", "title": f"Email {i}"},
        lambda i: {"type": "number", "title": f"Weight {i}", "multipleOf": 0.5},
    ]
    groups: dict[str, Any] = {}
    per_group = 30
    for g in range(fields // per_group):
        properties = {f"f{g}_{i}": makers[i % len(makers)](g * per_group + i) for i in range(per_group)}
        groups[f"group{g}"] = {"type": "object", "title": f"Group {g}", "properties": properties}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": groups}


def inputs_of(form: SchemaForm) -> int:
    return sum(not isinstance(field, Container) for field in form.root.fields())


def median_seconds(build: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        build()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plain_texts(count: int) -> list[Any]:
    return [ipywidgets.Text(value="x", description=f"Field {i}") for i in range(count)]


def compare(label: str, schema: Any, value: Any, draft: str | None) -> float:
    form = SchemaForm(schema, value, draft=draft)  # warm: imports, first widget classes
    count = inputs_of(form)
    plain_texts(count)
    form_s = median_seconds(lambda: SchemaForm(schema, value, draft=draft))
    text_s = median_seconds(lambda: plain_texts(count))
    ratio = form_s / text_s
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    print(
        f"{label:<28} {count:>4} inputs  SchemaForm {form_s * 1000:8.1f} ms   "
        f"{count} x Text {text_s * 1000:8.1f} ms   ratio {ratio:5.2f}x (target <= {TARGET}x) {verdict}"
    )
    return ratio


def main() -> int:
    load_validator()
    ratios = []
    large = CORPUS / "large.json"
    if large.is_file():
        data = json.loads(large.read_text(encoding="utf-8"))
        ratios.append(compare("corpus sample 'large'", data["schema"], data.get("formData"), "draft7"))
    else:
        print(f"corpus sample 'large' skipped: {large} not found (shared/conformance beside the repository)")
    ratios.append(compare("generated 300-field schema", generated_schema(300), None, None))
    return 0 if all(r <= TARGET for r in ratios) else 1


if __name__ == "__main__":
    raise SystemExit(main())
