"""SchemaForm in Voilà, in headless Chromium: a person clicks and types, the kernel's form follows.

The pure tests (``test_schema_form.py``) set widget state directly; this one
proves the thin ipyvuetify layer works in a real page: typed text reaches the
kernel, errors come back under the field, the select, the array button, the
null toggle, and the key/value editors (``additionalProperties`` and
``patternProperties`` with ``propertyNames``): a new key found by its label
("New key in Labels"), typed, added, its value typed; a key the names' pattern
refuses shows why at its key field. The notebook mirrors ``form.value`` and
``form.valid`` into the page so the test reads what the kernel holds.
Screenshots are kept in ``data/screenshots/`` (``schema_form.png``, the whole
form at the end; ``schema_form_keys.png``, the refused key at its field).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.bench_schema_form import CHROMIUM, CHROMIUM_ARGS, _notebook, voila_server
from tests.paths import ROOT

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "data" / "screenshots"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "x-order": ["name", "mode", "age", "tags", "labels", "limits"],
    "properties": {
        "name": {"type": "string", "title": "Run name", "minLength": 2},
        "mode": {
            "title": "Mode",
            "oneOf": [{"const": "fast", "title": "Fast"}, {"const": "exact", "title": "Exact"}],
        },
        "age": {"type": ["integer", "null"], "title": "Age"},
        "tags": {
            "type": "array",
            "title": "Tags",
            "items": {"type": "string", "default": "new"},
            "maxItems": 2,
        },
        "labels": {"type": "object", "title": "Labels", "additionalProperties": {"type": "string"}},
        "limits": {
            "type": "object",
            "title": "Limits",
            "patternProperties": {"^[a-z]+$": {"type": "integer", "title": "Limit", "default": 3}},
            "propertyNames": {"pattern": "^[a-z]+$"},
            "additionalProperties": False,
        },
    },
}

CODE = f"""
import json
import ipyvuetify as v
from mlrun_kernel.widgets.schema_form import SchemaForm

form = SchemaForm(json.loads({json.dumps(SCHEMA)!r}))
mirror = v.Html(tag="pre", attributes={{"id": "mirror"}}, children=[""])

def show(*_):
    mirror.children = [json.dumps({{"value": form.value, "valid": form.valid}}, sort_keys=True)]

form.observe(show, "value")
form.observe(show, "valid")
show()
v.Container(children=[form, mirror])
"""


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="mlk-schema-form-", dir="/tmp"))
    (folder / "form.ipynb").write_text(json.dumps(_notebook(CODE)), encoding="utf-8")
    try:
        with voila_server(folder) as base, sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = chromium.new_context(viewport={"width": 1100, "height": 1400})
            page = context.new_page()
            page.goto(f"{base}/voila/render/form.ipynb")
            page.get_by_label("Run name *").wait_for(timeout=120_000)
            yield page
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "schema_form.png"), full_page=True)
            chromium.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def kernel_state(page: Any, wanted: Any) -> dict[str, Any]:
    """What the kernel's form holds, once ``wanted(state)`` is true (the page updates asynchronously)."""
    page.wait_for_function(
        "(text) => (document.getElementById('mirror')?.textContent || '').includes(text)",
        arg=wanted,
        timeout=20_000,
    )
    state: dict[str, Any] = json.loads(page.locator("#mirror").text_content())
    return state


def test_a_person_fills_the_form_in_the_browser(page: Any) -> None:
    assert kernel_state(page, '"valid": false')["value"] == {}

    name = page.get_by_label("Run name *")
    name.click()
    name.press_sequentially("a")
    page.get_by_text("must be at least 2 characters long", exact=True).wait_for()  # under the field
    page.get_by_text("Run name: must be at least 2 characters long").wait_for()  # and in the summary
    name.press_sequentially("b")
    state = kernel_state(page, '"name": "ab"')
    assert state["valid"] is True
    assert page.get_by_text("must be at least 2 characters long").count() == 0

    # Vuetify's field overlay takes the click, not the inner input: click the field as a person does.
    page.locator(".v-select").filter(has_text="Mode").locator(".v-field").first.click()
    page.get_by_role("option", name="Exact").click()
    assert kernel_state(page, '"mode": "exact"')["value"]["mode"] == "exact"

    page.get_by_label("Age").first.fill("42")
    assert kernel_state(page, '"age": 42')["value"]["age"] == 42
    page.get_by_label("No value").check()
    assert kernel_state(page, '"age": null')["value"]["age"] is None

    add = page.get_by_role("button", name="Add item")
    add.click()
    assert kernel_state(page, '"tags": ["new"]')["value"]["tags"] == ["new"]
    add.click()
    kernel_state(page, '"tags": ["new", "new"]')
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')]"
        ".some(b => b.textContent.includes('Add item') && b.disabled)"
    )  # maxItems reached: the button says so

    state = kernel_state(page, '"tags": ["new", "new"]')
    assert state["value"] == {"name": "ab", "mode": "exact", "age": None, "tags": ["new", "new"]}


def _add_key(page: Any, editor: str, key: str) -> None:
    """Type ``key`` into the editor's "New key" input, found by its label, and press its Add."""
    label = f"New key in {editor}"
    new_key = page.get_by_label(label, exact=True)
    new_key.click()
    new_key.press_sequentially(key)
    page.locator(".mlk-new-key").filter(has=page.get_by_label(label, exact=True)).get_by_role(
        "button", name="Add"
    ).click()


def test_a_person_adds_keys_in_the_key_value_editors(page: Any) -> None:
    """Runs after the test above, on the same page (the form keeps what was typed there)."""
    _add_key(page, "Labels", "team")
    assert kernel_state(page, '"labels": {"team": ""}')["value"]["labels"] == {"team": ""}
    value = page.get_by_label("team", exact=True)
    value.click()
    value.press_sequentially("ml")
    state = kernel_state(page, '"labels": {"team": "ml"}')
    assert state["valid"] is True
    assert page.get_by_label("New key in Labels", exact=True).input_value() == ""  # ready for the next

    # patternProperties: the value takes the matching pattern's schema (an integer, default 3)
    _add_key(page, "Limits", "cpu")
    assert kernel_state(page, '"limits": {"cpu": 3}')["valid"] is True
    page.get_by_label("Limit", exact=True).fill("8")
    kernel_state(page, '"limits": {"cpu": 8}')

    # a key propertyNames refuses: added as typed, the reason shown at its key field
    _add_key(page, "Limits", "Bad")
    state = kernel_state(page, '"Bad": ')
    assert state["valid"] is False and "Bad" in state["value"]["limits"]
    keys = page.get_by_label("Key", exact=True)
    bad_key = keys.nth(2)  # team, cpu, Bad
    assert bad_key.input_value() == "Bad"
    said = page.get_by_text("property name must match the pattern ^[a-z]+$", exact=True)
    said.wait_for(timeout=20_000)
    key_box, said_box = bad_key.bounding_box(), said.bounding_box()
    assert key_box is not None and said_box is not None
    assert 0 < said_box["y"] - key_box["y"] < 90 and abs(said_box["x"] - key_box["x"]) < 60  # under it
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    bad_key.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "schema_form_keys.png"), full_page=True)
