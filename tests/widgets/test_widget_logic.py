"""The widgets' decisions as plain functions: no service, no browser.

What to show for an error, which models a search finds, how a stream event moves a
run monitor, what a table page holds, how two runs compare, what a history query
asks the service for. The widgets against the real service are in the other files.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import ipyvuetify as v
import pytest

from mlrun_kernel.client import InvalidRequest, NotFound, PermissionDenied, ServiceError, ServiceUnavailable
from mlrun_kernel.runs.tables import PageRequest, TableError, table_page
from mlrun_kernel.widgets.common import ErrorMessage, Notice, explain, safe_call
from mlrun_kernel.widgets.gallery import facets, filter_models
from mlrun_kernel.widgets.history import HistoryQuery, clone_arguments, compare_runs
from mlrun_kernel.widgets.launcher import missing_inputs, run_inputs, sort_refusal
from mlrun_kernel.widgets.model_card import card_facts, manifest_for, model_name
from mlrun_kernel.widgets.monitor import RunWatch, format_elapsed
from mlrun_kernel.widgets.results import classify_output, failure_words, json_tree_items, metrics_rows

# ---- one way to fail ----------------------------------------------------------------------


def test_a_service_that_cannot_be_reached_is_said_in_plain_words() -> None:
    down = ServiceUnavailable("cannot reach the model service at http://x/: refused", url="http://x/")
    said = explain(down, "start the run")
    assert said.title == "The model service cannot be reached, so it could not start the run"
    assert "nothing you entered is lost" in said.text
    assert "refused" in said.details


def test_permission_not_found_and_quota_refusals_say_what_to_do() -> None:
    denied = PermissionDenied("...", url="u", status=403, detail="uma may not POST api/runs")
    assert explain(denied, "start the run").title == "You are not allowed to start the run"
    gone = NotFound("...", url="u", status=404, detail="no run 'x'")
    assert "deleted" in explain(gone, "load the run").text
    busy = ServiceError("...", url="u", status=429, detail="you have 5 runs active")
    said = explain(busy, "start the run")
    assert said.title == "Could not start the run now" and "Wait for one of your runs" in said.text


def test_an_unexpected_error_becomes_a_message_with_details_and_never_a_traceback() -> None:
    notice = Notice()

    def broken() -> None:
        raise KeyError("columns")

    assert safe_call(broken, notice, "show the results") is None
    assert notice.explained is not None
    assert notice.explained.title == "Something went wrong while trying to show the results"
    assert notice.explained.details == "KeyError: 'columns'"
    message = notice.children[0]
    assert isinstance(message, ErrorMessage)
    text = repr(message.get_state())
    assert "Traceback" not in text and 'File "' not in text
    panels = message.children[1]
    assert panels.children[0].children[0].children == ["details"]


# ---- gallery and model card ------------------------------------------------------------------

MODELS = [
    {
        "name": "sales-forecaster",
        "title": "Sales forecaster",
        "description": "Forecasts sales",
        "tasks": [{"name": "forecast"}, {"name": "evaluate"}],
        "keywords": ["forecasting", "sales"],
    },
    {
        "name": "iris-classifier",
        "title": "Iris classifier",
        "description": "Classifies flowers",
        "tasks": [{"name": "predict"}, {"name": "evaluate"}, {"name": "train"}],
        "keywords": ["classification"],
    },
]


def test_gallery_search_matches_every_word_and_filters_by_task_and_keyword() -> None:
    assert [m["name"] for m in filter_models(MODELS, "flowers iris")] == ["iris-classifier"]
    assert [m["name"] for m in filter_models(MODELS, "", task="evaluate")] == [
        "sales-forecaster",
        "iris-classifier",
    ]
    assert [m["name"] for m in filter_models(MODELS, "", task="train")] == ["iris-classifier"]
    assert [m["name"] for m in filter_models(MODELS, "forecast", keyword="classification")] == []
    assert facets(MODELS) == (
        ["evaluate", "forecast", "predict", "train"],
        ["classification", "forecasting", "sales"],
    )


def test_model_card_facts_list_versions_newest_first_and_each_tasks_inputs_outputs_metrics() -> None:
    manifest = {
        "tasks": {
            "evaluate": {
                "inputs": {"history": {"media_types": ["text/csv"], "required": True}},
                "outputs": {"plot": {"path": "evaluation.png", "media_type": "image/png"}},
                "metrics": {"mape": {"goal": "minimize"}},
            }
        },
        "resources": {"memory": "512m", "timeout_seconds": 600},
        "examples": [{"task": "evaluate", "title": "Baseline", "parameters": {"method": "seasonal_naive"}}],
    }
    detail = {
        "name": "sales-forecaster",
        "manifest": manifest,
        "versions": [
            {
                "version": "1.0.0",
                "first_seen": "2026-01-01T00:00:00",
                "tags": ["1.0.0"],
                "digest": "sha256:a",
            },
            {
                "version": "1.1.0",
                "first_seen": "2026-02-01T00:00:00",
                "tags": ["1.1.0", "latest"],
                "digest": "sha256:b",
                "manifest": {"tasks": {}},
            },
        ],
        "problems": [],
    }
    facts = card_facts(detail)
    assert [v["version"] for v in facts["versions"]] == ["1.1.0", "1.0.0"]
    assert facts["versions"][0]["date"] == "2026-02-01"
    (task,) = facts["tasks"]
    assert task["inputs"][0]["media_types"] == ["text/csv"]
    assert task["outputs"][0]["path"] == "evaluation.png"
    assert task["metrics"] == [{"name": "mape", "goal": "minimize", "description": ""}]
    assert task["examples"][0]["parameters"] == {"method": "seasonal_naive"}
    assert facts["resources"]["timeout_seconds"] == 600
    assert manifest_for(detail, "sha256:b") == {"tasks": {}}
    assert manifest_for(detail, "sha256:zzz") == manifest
    assert (
        model_name("team/x:1.0") == "team/x"
        and model_name("127.0.0.1:5000/x@sha256:ab") == "127.0.0.1:5000/x"
    )


# ---- launcher ------------------------------------------------------------------------------


def test_a_422_goes_to_fields_an_input_problem_to_its_picker_and_the_rest_to_the_notice() -> None:
    bad = InvalidRequest("...", url="u", status=422, detail="parameters are invalid")
    bad.errors = [{"path": "/horizon/periods", "message": "0 is less than the minimum of 1"}]
    assert sort_refusal(bad, ["history"]).fields == [("/horizon/periods", "0 is less than the minimum of 1")]
    wrong = InvalidRequest(
        "...",
        url="u",
        status=422,
        detail="input 'history': dataset uma/x:1 is text/plain, but the task accepts text/csv",
    )
    assert sort_refusal(wrong, ["history"]).inputs == {
        "history": "dataset uma/x:1 is text/plain, but the task accepts text/csv"
    }
    down = ServiceUnavailable("gone", url="u")
    assert sort_refusal(down, ["history"]).general is down
    assert run_inputs({"history": {"dataset": "uma/sales", "version": 3}, "extra": None}) == {
        "history": "uma/sales:3"
    }
    assert missing_inputs(
        {"history": {"required": True}, "extra": {"required": False}}, {"history": None}
    ) == ["history"]


# ---- monitor ---------------------------------------------------------------------------------


def _log(seq: int, text: str, stream: str = "stdout") -> dict[str, object]:
    return {"seq": seq, "at": "2026-01-01T00:00:00", "stream": stream, "text": text}


def test_a_run_watch_follows_states_and_progress_lines_and_drops_repeated_lines() -> None:
    watch = RunWatch("r1", tail=3)
    watch.take_run({"state": "queued", "queue_position": 2, "created_at": "2026-01-01T00:00:00+00:00"})
    assert (watch.state, watch.queue_position) == ("queued", 2)
    watch.apply("state", {"state": "running", "reason": None})
    assert watch.queue_position is None
    assert watch.apply("log", _log(1, "reading")) != []
    watch.apply("log", _log(2, "mlk:progress 0.42 fitting"))
    assert (watch.progress, watch.progress_message) == (0.42, "fitting")
    watch.apply("log", _log(3, "mlk:progress 0.9 from stderr", "stderr"))
    assert watch.progress == 0.42  # only stdout moves the bar, as on the service
    assert watch.apply("log", _log(2, "mlk:progress 0.42 fitting")) == []  # a resumed stream repeating
    watch.apply("log", _log(4, "four"))
    assert [line["seq"] for line in watch.lines] == [2, 3, 4]  # the last N
    watch.apply(
        "end",
        {
            "state": "succeeded",
            "finished_at": "2026-01-01T00:01:05+00:00",
            "started_at": "2026-01-01T00:00:00+00:00",
        },
    )
    assert watch.ended and format_elapsed(watch.elapsed()) == "1:05"


# ---- results ---------------------------------------------------------------------------------


def test_outputs_are_shown_by_type_and_too_big_ones_become_downloads() -> None:
    assert [classify_output(p, 10) for p in ("a.csv", "b.PNG", "c.html", "d.json", "e.txt", "f.joblib")] == [
        "table",
        "image",
        "html",
        "json",
        "text",
        "download",
    ]
    assert classify_output("huge.png", 50 * 1024 * 1024) == "download"
    assert classify_output("huge.csv", 50 * 1024**3) == "table"  # paged, so any size


def test_metrics_carry_their_goal_and_a_result_is_a_tree() -> None:
    rows = metrics_rows({"mape": 4.2, "extra": 1}, {"mape": {"goal": "minimize", "description": "error"}})
    assert rows[0] == {"name": "mape", "value": 4.2, "goal": "lower is better ↓", "description": "error"}
    assert rows[1]["goal"] == "—"
    tree = json_tree_items({"a": {"b": [1, 2]}, "ok": True})
    assert tree["title"] == "result {2}"
    assert tree["children"][0]["children"][0]["title"] == "b [2]"
    assert tree["children"][0]["children"][0]["children"][1] == {"id": "/a/b/1", "title": "1: 2"}


def _headings(widget: Any) -> list[str]:
    """The section titles (``h3``) inside a widget tree, as the page shows them."""
    found: list[str] = []
    if getattr(widget, "tag", None) == "h3":
        found.append("".join(str(c) for c in widget.children))
    for child in getattr(widget, "children", None) or []:
        if not isinstance(child, str):
            found += _headings(child)
    return found


def test_an_empty_result_shows_no_result_heading_but_a_zero_result_does() -> None:
    from mlrun_kernel.client import Client
    from mlrun_kernel.widgets.results import ResultsView

    view = ResultsView("x", client=Client("http://127.0.0.1:9/services/models/", "t", timeout=2))
    ended = {"state": "succeeded", "metrics": None, "outputs": []}
    for empty in ({}, [], "", None):
        assert "Result" not in _headings(v.Html(children=view._sections({**ended, "result": empty}))), empty
    for answer in ({"score": 1}, [1], 0, False):
        assert "Result" in _headings(v.Html(children=view._sections({**ended, "result": answer}))), answer


def test_a_failed_run_says_why_in_plain_words() -> None:
    words = failure_words(
        {"state": "timed_out", "reason": "exceeded 600 s", "resources": {"timeout_seconds": 600}}
    )
    assert words.startswith("The run took longer than its time limit of 600 s and was stopped.")
    words = failure_words({"state": "failed", "exit_code": 1, "failure_text": "no column 'sales'"})
    assert "exit code 1" in words and "The model said: no column 'sales'" in words


# ---- table pages -----------------------------------------------------------------------------


def _csv(tmp_path: Path, rows: list[list[str]]) -> Path:
    path = tmp_path / "t.csv"
    out = io.StringIO()
    csv.writer(out).writerows([["id", "value", "word"], *rows])
    path.write_text(out.getvalue())
    return path


def test_a_table_page_sorts_numbers_as_numbers_with_blanks_last_both_ways(tmp_path: Path) -> None:
    path = _csv(tmp_path, [["1", "10", "b"], ["2", "9", "a"], ["3", "", "c"], ["4", "100", "a"]])
    up = table_page(path, "text/csv", PageRequest(limit=10, sort="value"))
    assert [r[1] for r in up["rows"]] == ["9", "10", "100", ""]
    down = table_page(path, "text/csv", PageRequest(limit=10, sort="value", descending=True))
    assert [r[1] for r in down["rows"]] == ["100", "10", "9", ""]
    page2 = table_page(path, "text/csv", PageRequest(offset=2, limit=2))
    assert [r[0] for r in page2["rows"]] == ["3", "4"] and page2["total"] == 4
    assert [c["type"] for c in up["columns"]] == ["int", "int", "string"]
    with pytest.raises(TableError, match="no column 'nope'"):
        table_page(path, "text/csv", PageRequest(sort="nope"))
    with pytest.raises(TableError, match="not a CSV"):
        table_page(path, "image/png", PageRequest())


def test_a_parquet_page_is_cut_from_record_batches(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"n": list(range(5000)), "s": [f"r{i}" for i in range(5000)]}), path)
    page = table_page(
        path, "application/vnd.apache.parquet", PageRequest(offset=10, limit=3, sort="n", descending=True)
    )
    assert page["rows"] == [[4989, "r4989"], [4988, "r4988"], [4987, "r4987"]] and page["total"] == 5000


# ---- history ---------------------------------------------------------------------------------


def test_a_history_query_is_one_paged_list_runs_call() -> None:
    query = HistoryQuery(
        model="sales",
        name="  weekly ",
        state="failed",
        created_after="2026-01-01",
        created_before="2026-01-31",
        sort="state",
        descending=False,
        page=3,
        page_size=10,
    )
    assert query.arguments() == {
        "model": "sales",
        "task": None,
        "state": "failed",
        "owner": None,
        "name": "weekly",
        "created_after": "2026-01-01T00:00:00+00:00",
        "created_before": "2026-01-31T23:59:59.999999+00:00",
        "sort": "state",
        "limit": 10,
        "offset": 20,
    }
    with pytest.raises(ValueError, match="cannot be sorted by 'id'"):
        HistoryQuery(sort="id").arguments()


def test_two_runs_compare_by_parameter_pointer_and_metrics_side_by_side() -> None:
    a = {
        "id": "a",
        "model": "m",
        "digest": "d1",
        "task": "evaluate",
        "parameters": {"method": "holt_winters", "horizon": {"periods": 90}, "same": 1},
        "metrics": {"mape": 4.0},
        "inputs": {"history": {"kind": "dataset", "ref": "uma/s", "version": 1}},
    }
    b = {
        **a,
        "id": "b",
        "digest": "d2",
        "parameters": {"method": "seasonal_naive", "horizon": {"periods": 30}, "same": 1, "new": True},
        "metrics": {"mape": 6.5, "rmse": 3},
    }
    c = compare_runs(a, b)
    assert c.parameters == [
        ("/horizon/periods", 90, 30),
        ("/method", "holt_winters", "seasonal_naive"),
        ("/new", "—", True),
    ]
    assert c.metrics == [("mape", 4.0, 6.5), ("rmse", "—", 3)]
    assert c.notes == ["model version: d1 / d2"]
    assert clone_arguments(a) == {
        "model": "m@d1",
        "task": "evaluate",
        "inputs": {"history": {"dataset": "uma/s", "version": 1}},
        "parameters": a["parameters"],
        "name": "",
    }
    assert clone_arguments({**a, "name": "weekly check"})["name"] == "weekly check"


def test_every_widget_wears_the_one_theme_and_fails_the_one_way_when_the_service_is_away() -> None:
    from mlrun_kernel.client import Client
    from mlrun_kernel.widgets import ModelCard, ResultsView, RunHistory, RunLauncher, RunMonitor
    from mlrun_kernel.widgets.common import THEME
    from mlrun_kernel.widgets.datasets import DatasetPicker
    from mlrun_kernel.widgets.upload import DatasetUpload

    away = Client("http://127.0.0.1:9/services/models/", "t", timeout=2)
    for make in (ResultsView, RunMonitor, ModelCard):
        v.theme.themes.light.primary = "#000000"
        widget = make("x", client=away)
        assert v.theme.themes.light.primary == THEME["primary"]
        assert widget.notice.explained.title.startswith("The model service cannot be reached")
    for make_alone in (lambda: DatasetPicker(client=away), lambda: DatasetUpload(away)):
        v.theme.themes.light.primary = "#000000"  # Vuetify's purple, as on a page with only this widget
        make_alone()
        assert v.theme.themes.light.primary == THEME["primary"]
    for widget in (RunHistory(client=away), RunLauncher("x", "t", client=away)):
        assert widget.notice.explained.title.startswith("The model service cannot be reached")
        assert "Traceback" not in repr(widget.get_state())
