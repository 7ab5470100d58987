"""SchemaForm against the react-jsonschema-form playground corpus (``shared/conformance/jsonschema-forms``).

Every schema builds a form; for every sample with form data, the form holds
that data read back unchanged with the schema's defaults filled (the README's
"after defaults", by ``fill_defaults``), and its verdict equals jsonschema's.
The corpus location, its table and its format rules come from
``test_jsonschema_forms.py``; these tests skip, saying why, where it is absent.
"""

from __future__ import annotations

import copy
import json

import pytest

from mlrun_kernel.spec import fill_defaults, parameter_errors
from mlrun_kernel.widgets.schema_form import SchemaForm
from tests.conformance.test_jsonschema_forms import EXPECTED, FORMATS, corpus_dir, outcome, sample

WITH_DATA = sorted(name for name, row in EXPECTED.items() if row[1] != "n/a")


def form_for(name: str, **kwargs: object) -> SchemaForm:
    data = sample(name)
    return SchemaForm(
        data["schema"], copy.deepcopy(data.get("formData")), draft="draft7", formats=FORMATS, **kwargs
    )


def test_the_corpus_is_where_the_conformance_suite_looks() -> None:
    assert len(list(corpus_dir().glob("*.json"))) == 48


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_schema_builds_a_form(name: str) -> None:
    schema = sample(name)["schema"]
    form = SchemaForm(schema, draft="draft7", formats=FORMATS)
    assert form.field_at("") is not None
    json.dumps(form.value)  # always JSON


@pytest.mark.parametrize("name", WITH_DATA)
def test_form_data_reads_back_unchanged_with_defaults_filled(name: str) -> None:
    data = sample(name)
    schema, form_data = data["schema"], data["formData"]
    expected = fill_defaults(schema, form_data)

    form = form_for(name)
    assert form.value == expected
    assert json.loads(json.dumps(form.value)) == expected

    later = SchemaForm(schema, draft="draft7", formats=FORMATS)
    later.value = copy.deepcopy(form_data)
    assert later.value == expected


@pytest.mark.parametrize("name", WITH_DATA)
def test_the_form_verdict_equals_jsonschemas(name: str) -> None:
    data = sample(name)
    schema = data["schema"]
    filled = fill_defaults(schema, data["formData"])
    form = form_for(name)
    assert ("valid" if form.valid else "invalid") == outcome(schema, filled) == EXPECTED[name][2]
    issues = parameter_errors(schema, filled, default_draft="draft7", formats=FORMATS)
    assert [(e.pointer, e.message) for e in form.errors] == [(i.path, i.message) for i in issues]


@pytest.mark.parametrize("name", [n for n in WITH_DATA if EXPECTED[n][2] == "invalid"])
def test_every_error_of_an_invalid_sample_is_shown_on_a_field(name: str) -> None:
    form = form_for(name)
    assert form.errors
    for error in form.errors:
        at = error.pointer
        while form.field_at(at) is None:  # an error without its own field goes to the nearest one above
            at = at.rsplit("/", 1)[0]
        field = form.field_at(at)
        assert field is not None
        if at == error.pointer and not error.message.startswith("must match"):
            assert error.message in field.error
        else:  # said on that field, or (a failed oneOf/anyOf) as the picked branch's problems below it
            below = [f.error for f in form.root.fields() if f.pointer.startswith(at) and f.error]
            assert below, f"{error} is shown nowhere"
    assert len(form.summary.children) == len(form.errors)


@pytest.mark.parametrize("name", ["simple", "nullable", "errorSchema", "options", "null"])
def test_samples_valid_only_after_defaults_are_valid_in_the_form(name: str) -> None:
    data = sample(name)
    assert outcome(data["schema"], data["formData"]) == "invalid"
    assert form_for(name).valid
