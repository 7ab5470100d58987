"""Every `mlk` command imports the whole CLI: nothing on that path may do slow work at import.

jsonschema is imported when something is first validated, not before: where
rfc3987-syntax is installed (JupyterLab's dependencies pull it in), importing
jsonschema compiles a grammar for 0.8 s, which doubled the time of every command
(2.1 s -> 1.0 s). Our own dependency list also leaves rfc3987-syntax out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import json, sys\n{code}\nprint(json.dumps(list(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_the_cli_imports_no_json_schema_validator_until_it_validates():
    loaded = modules_after("import mlrun_kernel.cli")
    assert "mlrun_kernel.spec" in loaded  # the CLI does reach the spec module
    assert "jsonschema" not in loaded
    assert "rfc3987_syntax" not in loaded


def test_validating_loads_the_validator_on_first_use():
    loaded = modules_after(
        "from mlrun_kernel.spec import validate_parameters\n"
        "assert validate_parameters({'type': 'object', 'properties': {'n': {'default': 1}}}, {}) == {'n': 1}"
    )
    assert "jsonschema" in loaded


def test_validating_builds_the_iri_grammar_only_when_a_schema_asks_for_an_iri():
    """``mlk run`` validates parameters: that must not cost rfc3987-syntax's 0.8 s grammar build,
    yet an ``iri`` format is still checked as jsonschema checks it (issue 9, start-up cost)."""
    import importlib.util

    import pytest

    if importlib.util.find_spec("rfc3987_syntax") is None:
        pytest.skip("rfc3987-syntax is not installed here, so there is no grammar to defer")
    plain = modules_after(
        "from mlrun_kernel.spec import validate_parameters\n"
        "validate_parameters({'type': 'object', 'properties': {'n': {'default': 1}}}, {})"
    )
    assert "jsonschema" in plain and "rfc3987_syntax" not in plain
    iri = modules_after(
        "from mlrun_kernel.spec import ParameterError, validate_parameters\n"
        "schema = {'type': 'object', 'properties': {'u': {'type': 'string', 'format': 'iri'}}}\n"
        "assert validate_parameters(schema, {'u': 'http://example.org/\u00e4'})\n"
        "try:\n"
        "    validate_parameters(schema, {'u': 'not an iri'})\n"
        "    raise SystemExit('an invalid iri was accepted')\n"
        "except ParameterError:\n"
        "    pass"
    )
    assert "rfc3987_syntax" in iri


def test_an_app_kernel_loads_only_the_widgets_it_shows_and_never_the_executor():
    """Every Voilà app imports the widgets at start: the executor and SQLAlchemy cost a second there."""
    gallery = modules_after("from mlrun_kernel.widgets import ModelGallery")
    assert "mlrun_kernel.widgets.gallery" in gallery
    assert "mlrun_kernel.widgets.evaluation" not in gallery
    assert "mlrun_kernel.widgets.schema_form" not in gallery
    launcher = modules_after("from mlrun_kernel.widgets import RunLauncher, DatasetPicker")
    assert "mlrun_kernel.widgets.datasets" in launcher
    assert not {"mlrun_kernel.runs.executor", "sqlalchemy"} & launcher


def test_every_widget_name_the_package_lists_resolves():
    import mlrun_kernel.widgets as widgets

    for name in widgets.__all__:
        assert getattr(widgets, name) is not None, name
