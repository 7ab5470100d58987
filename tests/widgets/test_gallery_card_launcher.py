"""A model user's way in, against the real service with the example models: the gallery's
search and filters, a model's card, and the launcher (422s at their fields, other refusals
in plain words, nothing typed lost), up to a sales forecast's table and plot."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mlrun_kernel.client import Client, InvalidRequest
from mlrun_kernel.widgets.gallery import ModelGallery
from mlrun_kernel.widgets.launcher import RunLauncher
from mlrun_kernel.widgets.model_card import ModelCard
from mlrun_kernel.widgets.results import PagedTable
from tests.service.helpers import TokenHub, wait_for
from tests.widgets.conftest import BROKEN

pytestmark = [pytest.mark.hub, pytest.mark.registry, pytest.mark.docker]

SALES = "sales-forecaster"


def _names(gallery: ModelGallery) -> list[str]:
    return [str(m["name"]) for m in gallery.shown]


def test_the_gallery_searches_filters_and_opens_a_card_on_click(uma: Client) -> None:
    gallery = ModelGallery(client=uma)
    assert {SALES, "iris-classifier"} <= set(_names(gallery))
    gallery.search.v_model = "holt-winters forecast"
    assert _names(gallery) == [SALES]
    gallery.search.v_model = ""
    gallery.task_filter.v_model = "train"
    assert "iris-classifier" in _names(gallery) and SALES not in _names(gallery)
    gallery.task_filter.v_model = None
    gallery.keyword_filter.v_model = "time series"
    assert _names(gallery) == [SALES]
    card = gallery._grid.children[0].children[0]
    card.fire_event("click", {})
    assert isinstance(gallery.detail, ModelCard) and gallery.detail.model == SALES
    assert gallery.children == [gallery._detail_area]
    gallery.close_detail()
    assert gallery.detail is None and gallery._list in gallery.children


def test_a_broken_image_says_what_is_wrong_to_experts_only(client_for: Callable[[str], Client]) -> None:
    eve, uma = client_for("expert"), client_for("user")
    assert BROKEN in [m["name"] for m in ModelGallery(client=eve).models]
    assert BROKEN not in [m["name"] for m in ModelGallery(client=uma).models]
    card = ModelCard(BROKEN, client=eve)
    assert card.facts is not None and card.facts["problems"]
    assert "manifest" in " ".join(card.facts["problems"])
    assert ModelCard(BROKEN, client=uma).notice.explained is not None  # not there for a model user


def test_the_model_card_shows_the_manifest_and_its_examples_fill_the_form(
    uma: Client, sales_dataset: dict[str, Any]
) -> None:
    card = ModelCard(SALES, client=uma)
    facts = card.facts
    assert facts is not None
    tasks = {t["name"]: t for t in facts["tasks"]}
    assert set(tasks) == {"forecast", "evaluate"}
    assert tasks["forecast"]["inputs"][0] == {
        "name": "history",
        "media_types": ["text/csv"],
        "required": True,
        "description": tasks["forecast"]["inputs"][0]["description"],
    }
    assert [o["path"] for o in tasks["forecast"]["outputs"]] == ["forecast.csv", "forecast.png"]
    assert {(m["name"], m["goal"]) for m in tasks["evaluate"]["metrics"]} == {
        ("mape", "minimize"),
        ("rmse", "minimize"),
    }
    assert facts["resources"]["timeout_seconds"] == 600
    assert facts["versions"][0]["version"] == "1.0.0" and facts["versions"][0]["date"]
    assert "<strong>Holt-Winters</strong>" in card.body.children[2].rendered  # Markdown, rendered

    card.run_buttons["forecast"].fire_event("click", {})
    launcher = card.launcher
    assert isinstance(launcher, RunLauncher) and launcher.task == "forecast"
    assert list(launcher.pickers) == ["history"] and launcher.pickers["history"].media_types == ["text/csv"]
    launcher.pickers["history"].value = {"dataset": sales_dataset["ref"], "version": sales_dataset["version"]}
    weekly = next(
        b for task, ex, b in card.example_buttons if ex.get("title", "").startswith("Weekly totals")
    )
    weekly.fire_event("click", {})
    assert card.launcher is launcher  # the same launcher, filled in place
    assert launcher.form.value["method"] == "linear_seasonal" and launcher.form.value["frequency"] == "weekly"
    assert launcher.form.value["horizon"] == {"until": "2025-12-31"}
    assert launcher.pickers["history"].value["dataset"] == sales_dataset["ref"]  # the input stays
    assert launcher.blockers() == [] and launcher.run_button.disabled is False


def test_a_422_puts_each_error_on_its_field_and_keeps_what_was_typed(
    uma: Client, sales_dataset: dict[str, Any]
) -> None:
    launcher = RunLauncher(SALES, "forecast", client=uma)
    picked = {"dataset": sales_dataset["ref"], "version": sales_dataset["version"]}
    launcher.pickers["history"].value = picked
    typed = {**launcher.form.value, "series_name": "Shop A"}
    launcher.form.value = typed
    # What the service answers for parameters out of bounds (a real 422 with JSON pointers).
    with pytest.raises(InvalidRequest) as refused:
        uma.start_run(
            SALES,
            task="forecast",
            inputs={"history": f"{picked['dataset']}:{picked['version']}"},
            parameters={**typed, "output": {"decimals": 9}, "interval_level": 10},
        )
    assert refused.value.status == 422
    refusal = launcher.show_refusal(refused.value)
    assert {p for p, _ in refusal.fields} == {"/output/decimals", "/interval_level"}
    said = dict(refusal.fields)
    assert said["/output/decimals"] in launcher.form.field_at("/output/decimals").error
    assert said["/interval_level"] in launcher.form.field_at("/interval_level").error
    assert launcher.form.field_at("/series_name").error == ""
    assert launcher.run_button.disabled  # until the user changes something
    assert launcher.form.value["series_name"] == "Shop A" and launcher.pickers["history"].value == picked


def test_a_refused_input_shows_at_its_picker(uma: Client, sales_csv: Any) -> None:
    copy = uma.upload_dataset(sales_csv, f"gone-{uuid.uuid4().hex[:6]}")
    launcher = RunLauncher(SALES, "forecast", client=uma)
    picked = {"dataset": copy["ref"], "version": copy["version"]}
    launcher.pickers["history"].value = picked
    assert launcher.blockers() == []
    uma.delete_dataset(copy["ref"])  # deleted elsewhere after it was picked
    assert launcher.submit() is None
    (said,) = launcher.input_errors["history"].children
    assert copy["ref"] in said or "no dataset" in said, said
    assert launcher.notice.explained is None
    assert launcher.pickers["history"].value == picked


def test_other_refusals_are_said_in_plain_words_and_nothing_typed_is_lost(
    widget_service: Any, token_hub: TokenHub, uma: Client, sales_dataset: dict[str, Any]
) -> None:
    picked = {"dataset": sales_dataset["ref"], "version": sales_dataset["version"]}
    read_only = token_hub.token("uma", scopes=["access:services!service=models", "custom:models:read"])
    with Client(widget_service.url, read_only) as reader:
        launcher = RunLauncher(SALES, "forecast", client=reader)
        launcher.pickers["history"].value = picked
        launcher.form.value = {**launcher.form.value, "series_name": "Kept"}
        assert launcher.submit() is None
        said = launcher.notice.explained
        assert said is not None and said.title == "You are not allowed to start the run"
        assert launcher.form.value["series_name"] == "Kept" and launcher.pickers["history"].value == picked

    launcher = RunLauncher(SALES, "forecast", client=uma)
    launcher.pickers["history"].value = picked
    launcher.form.value = {**launcher.form.value, "series_name": "Still here"}
    launcher.client = Client("http://127.0.0.1:9/services/models/", "t", timeout=2)  # the service went away
    assert launcher.submit() is None
    said = launcher.notice.explained
    assert (
        said is not None
        and said.title == "The model service cannot be reached, so it could not start the run"
    )
    assert "Traceback" not in said.text + said.details
    assert launcher.form.value["series_name"] == "Still here" and launcher.pickers["history"].value == picked
    assert launcher.run_button.disabled is False  # try again when it is back


def test_a_model_user_forecasts_sales_and_sees_the_table_and_the_plot(
    uma: Client, sales_dataset: dict[str, Any]
) -> None:
    launcher = RunLauncher(SALES, "forecast", client=uma, label="my forecast")
    launcher.pickers["history"].value = {"dataset": sales_dataset["ref"], "version": sales_dataset["version"]}
    launcher.form.value = {**launcher.form.value, "horizon": {"periods": 30}}
    run = launcher.submit()
    assert run is not None and launcher.monitor is not None
    assert launcher.monitor.children[0].children == [f"my forecast (run {run['id']})"]
    wait_for(lambda: launcher.results is not None, timeout=300, interval=0.2)
    results = launcher.results
    assert results.run["state"] == "succeeded", results.run
    table = results.outputs["forecast.csv"]
    assert isinstance(table, PagedTable) and table.total == 30
    assert [h["key"] for h in table.headers] == ["date", "forecast", "lower", "upper"]
    assert results.outputs["forecast.png"].attributes["src"].startswith("data:image/png;base64,")
    assert launcher.monitor.watch.progress == 1.0
