"""The react-jsonschema-form playground samples, as an external corpus for our schema layer.

The corpus (48 JSON files, Apache-2.0, see its README and licence file) lives
in ``shared/conformance/jsonschema-forms`` beside this repository and is never
copied into it. Its README states, per sample, which validator applies and
whether the form data is valid as given and after defaults are filled; that
table is encoded below as ``EXPECTED`` and is the spec of this test.

Corpus rules that differ from a manifest's: a schema without ``$schema`` is
draft-07 (RJSF's AJV default), roots need not be objects, and only the formats
the README names are checked (``date``, ``date-time``, ``time``, ``email``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from jsonschema.validators import Draft7Validator, validator_for

from mlrun_kernel.spec import check_json_schema, fill_defaults, parameter_errors

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "jsonschema-forms"
FORMATS = ("date", "date-time", "time", "email")

Outcome = Literal["valid", "invalid", "n/a"]

# sample: (validator, formData as given, after defaults) -- the README's table, verbatim.
EXPECTED: dict[str, tuple[str, Outcome, Outcome]] = {
    "additionalProperties": ("Draft7", "valid", "valid"),
    "allOf": ("Draft7", "valid", "valid"),
    "alternatives": ("Draft7", "valid", "valid"),
    "anyOf": ("Draft7", "valid", "valid"),
    "arrays": ("Draft7", "valid", "valid"),
    "blank": ("Draft7", "valid", "valid"),
    "bundledSchema": ("Draft202012", "n/a", "n/a"),
    "constField": ("Draft7", "valid", "valid"),
    "custom": ("Draft7", "valid", "valid"),
    "customArray": ("Draft7", "valid", "valid"),
    "customField": ("Draft7", "valid", "valid"),
    "customFieldAnyOf": ("Draft7", "invalid", "invalid"),
    "customObject": ("Draft7", "valid", "valid"),
    "date": ("Draft7", "valid", "valid"),
    "defaults": ("Draft7", "valid", "valid"),
    "enumObjects": ("Draft7", "valid", "valid"),
    "errors": ("Draft7", "invalid", "invalid"),
    "errorSchema": ("Draft7", "invalid", "valid"),
    "examples": ("Draft7", "n/a", "n/a"),
    "fallback": ("Draft7", "valid", "valid"),
    "files": ("Draft7", "valid", "valid"),
    "historic-allofifthenelse": ("Draft7", "valid", "valid"),
    "historic-customObjectWithTabs": ("Draft7", "valid", "valid"),
    "historic-errorsLocalization": ("Draft7", "invalid", "invalid"),
    "historic-fluent-ui": ("Draft7", "valid", "valid"),
    "historic-ifthenelse": ("Draft7", "n/a", "n/a"),
    "historic-ifthenelserefs": ("Draft7", "valid", "valid"),
    "ifThenElse": ("Draft7", "invalid", "invalid"),
    "large": ("Draft7", "valid", "valid"),
    "layoutGrid": ("Draft7", "n/a", "n/a"),
    "nested": ("Draft7", "valid", "valid"),
    "null": ("Draft7", "invalid", "valid"),
    "nullable": ("Draft7", "invalid", "valid"),
    "numbers": ("Draft7", "valid", "valid"),
    "oneOf": ("Draft7", "invalid", "invalid"),
    "optionalDataControls": ("Draft7", "n/a", "n/a"),
    "options": ("Draft7", "invalid", "valid"),
    "ordering": ("Draft7", "valid", "valid"),
    "patternProperties": ("Draft7", "valid", "valid"),
    "propertyDependencies": ("Draft7", "valid", "valid"),
    "propertyNames": ("Draft7", "valid", "valid"),
    "references": ("Draft7", "invalid", "invalid"),
    "schemaDependencies": ("Draft7", "valid", "valid"),
    "simple": ("Draft7", "invalid", "valid"),
    "simple-2": ("Draft7", "valid", "valid"),
    "single": ("Draft7", "valid", "valid"),
    "validation": ("Draft7", "invalid", "invalid"),
    "widgets": ("Draft7", "valid", "valid"),
}

# What a user sees for each sample that is invalid as given: field pointers and messages.
INVALID_AS_GIVEN: dict[str, list[tuple[str, str]]] = {
    "customFieldAnyOf": [("", "must match at least one of the options (nearest: /city is required)")],
    "errorSchema": [("/firstName", "is required")],
    "errors": [
        ("/active", "must be a boolean"),
        ("/firstName", "must be at least 8 characters long"),
        ("/firstName", "must match the pattern \\d+"),
        ("/multipleChoicesList", "must have at most 2 items"),
        ("/skills/1", "must be at least 5 characters long"),
    ],
    "historic-errorsLocalization": [
        ("/active", "must be a boolean"),
        ("/firstName", "must be at least 8 characters long"),
        ("/firstName", "must match the pattern \\d+"),
        ("/multipleChoicesList", "must have at most 2 items"),
        ("/multipleChoicesList/2", 'must be one of: "foo", "bar", "fuzz"'),
    ],
    # an `if` over an absent property is true, so both `then` branches apply
    "ifThenElse": [("/animal", "is required"), ("/food", "is required"), ("/water", "is required")],
    "null": [("/firstName", "is required")],
    "nullable": [("/firstName", "is required")],
    "oneOf": [
        (
            "",
            "must match exactly one of the options, but matches none (nearest: /lorem is required)",
        )
    ],
    "options": [("/firstName", "is required")],
    # the two `oneOf` branches have identical shapes, so the contact matches both
    "references": [("/contact", "must match exactly one of the options, but matches more than one")],
    "simple": [("/firstName", "is required")],
    "validation": [("/firstName", "is required")],
}


def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(
            f"jsonschema-forms corpus not found at {CORPUS} "
            "(it lives in shared/conformance/ beside the repository)"
        )
    return CORPUS


def sample(name: str) -> dict[str, Any]:
    path = corpus_dir() / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def outcome(schema: Any, data: Any) -> Outcome:
    issues = parameter_errors(schema, data, default_draft="draft7", formats=FORMATS)
    return "invalid" if issues else "valid"


def test_corpus_has_exactly_the_48_samples_of_its_readme() -> None:
    files = sorted(corpus_dir().glob("*.json"))
    assert len(files) == 48
    assert {path.stem for path in files} == set(EXPECTED)


def test_readme_summary_counts() -> None:
    """31 valid, 12 invalid, 5 without form data; 5 samples pass only after defaults.

    (The README's prose says six pass only after defaults; its own table lists
    five: errorSchema, null, nullable, options, simple. The table is the spec.)
    """
    given = [row[1] for row in EXPECTED.values()]
    assert (given.count("valid"), given.count("invalid"), given.count("n/a")) == (31, 12, 5)
    flipped = {name for name, row in EXPECTED.items() if row[1:] == ("invalid", "valid")}
    assert flipped == {"errorSchema", "null", "nullable", "options", "simple"}
    assert set(INVALID_AS_GIVEN) == {name for name, row in EXPECTED.items() if row[1] == "invalid"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample(name: str) -> None:
    data = sample(name)
    schema = data["schema"]
    validator, as_given, after_defaults = EXPECTED[name]

    check_json_schema(schema, default_draft="draft7")
    assert validator_for(schema, default=Draft7Validator).__name__ == f"{validator}Validator"

    if as_given == "n/a":
        assert "formData" not in data
        return
    form_data = data["formData"]
    before = copy.deepcopy(form_data)

    assert outcome(schema, form_data) == as_given
    assert outcome(schema, fill_defaults(schema, form_data)) == after_defaults
    assert form_data == before  # fill_defaults works on a copy


@pytest.mark.parametrize("name", sorted(INVALID_AS_GIVEN))
def test_invalid_sample_errors_point_at_their_fields(name: str) -> None:
    data = sample(name)
    issues = parameter_errors(data["schema"], data["formData"], default_draft="draft7", formats=FORMATS)
    assert [(issue.path, issue.message) for issue in issues] == INVALID_AS_GIVEN[name]
