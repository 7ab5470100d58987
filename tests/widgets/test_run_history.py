"""RunHistory against the real service: filters, sort and pages asked of the service, the
owner rule (admins: everyone's), re-run, clone-and-edit, and comparing two runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from mlrun_kernel.client import Client
from mlrun_kernel.widgets.history import RunHistory
from mlrun_kernel.widgets.launcher import RunLauncher
from mlrun_kernel.widgets.monitor import RunMonitor

pytestmark = [pytest.mark.hub, pytest.mark.registry, pytest.mark.docker]


@pytest.fixture(scope="module")
def eves_runs(client_for: Callable[[str], Client], showcase_name: str) -> list[dict[str, Any]]:
    """Four ended runs of eve's, oldest first: two outputs runs, a count, a failure."""
    eve = client_for("expert")
    started = [
        eve.start_run(showcase_name, task="outputs", parameters={"rows": 100}),
        eve.start_run(showcase_name, task="outputs", parameters={"rows": 200}),
        eve.start_run(showcase_name, task="count", parameters={"lines": 1, "label": "x"}),
        eve.start_run(showcase_name, task="fail"),
    ]
    return [dict(eve.wait_run(r["id"], timeout=300, poll=0.5)) for r in started]


def _ids(history: RunHistory) -> list[str]:
    return [str(row["id"]) for row in history.table.items]


def test_filters_sort_and_pages_are_asked_of_the_service(
    client_for: Callable[[str], Client], eves_runs: list[dict[str, Any]]
) -> None:
    history = RunHistory(client=client_for("expert"), page_size=2)
    assert history.total == 4 and len(history.table.items) == 2
    newest_first = [r["id"] for r in reversed(eves_runs)]
    assert _ids(history) == newest_first[:2]
    history.table.vue_options(
        {"page": 2, "itemsPerPage": 2, "sortBy": [{"key": "created_at", "order": "desc"}]}
    )
    assert _ids(history) == newest_first[2:]
    history.table.vue_options({"page": 1, "itemsPerPage": 2, "sortBy": [{"key": "state", "order": "asc"}]})
    assert [row["state"] for row in history.table.items] == ["Failed", "Succeeded"]
    history.state_filter.v_model = "failed"
    assert history.total == 1 and _ids(history) == [eves_runs[3]["id"]]
    history.state_filter.v_model = None
    history.task_filter.v_model = "outputs"
    assert history.total == 2
    history.task_filter.v_model = ""
    today = dt.datetime.now(dt.UTC).date()
    history.after_filter.v_model = (today + dt.timedelta(days=1)).isoformat()
    assert history.total == 0
    assert history.table.no_data_text == "No run matches these filters: clear one to see more."
    history.after_filter.v_model = ""
    history.before_filter.v_model = today.isoformat()
    assert history.total == 4
    history.before_filter.v_model = ""  # no filter left: an empty table would mean no runs at all
    assert history.table.no_data_text == "No runs yet: open a model in Models and press Run."
    assert history.notice.explained is None


def test_users_see_their_own_runs_and_admins_everyones(
    client_for: Callable[[str], Client], eves_runs: list[dict[str, Any]]
) -> None:
    mine = RunHistory(client=client_for("user"), page_size=50)
    assert {row["owner"] for row in mine.table.items} <= {"uma"}
    assert not mine.is_admin
    admin = RunHistory(client=client_for("admin"), page_size=50)
    assert admin.is_admin and admin.total >= 4 + mine.total
    admin.owner_filter.v_model = "eve"
    assert admin.total == 4 and {row["owner"] for row in admin.table.items} == {"eve"}


def test_rerun_compare_and_clone_from_the_table(
    client_for: Callable[[str], Client], eves_runs: list[dict[str, Any]], sales_dataset: dict[str, Any]
) -> None:
    eve = client_for("expert")
    history = RunHistory(client=eve, page_size=10)
    first, second = eves_runs[0]["id"], eves_runs[1]["id"]
    history.table.selected = [first, second]
    assert history.compare_button.disabled is False and history.rerun_button.disabled
    comparison = history.compare_selected()
    assert comparison.parameters == [("/rows", 100, 200)]
    assert comparison.metrics == [("loss", 0.1, 0.1), ("score", 0.9, 0.9)]

    history.table.selected = [eves_runs[2]["id"]]
    again = history.rerun_selected()
    assert again is not None and again["id"] != eves_runs[2]["id"]
    assert again["parameters"] == {"lines": 1, "interval": 0.1, "label": "x"}
    assert isinstance(history.detail.children[0], RunMonitor)
    assert history.total == 5 and _ids(history)[0] == again["id"]
    eve.wait_run(again["id"], timeout=300, poll=0.5)

    uma = client_for("user")
    run = uma.start_run(
        "sales-forecaster",
        task="forecast",
        inputs={"history": f"{sales_dataset['ref']}:{sales_dataset['version']}"},
        parameters={"horizon": {"periods": 7}, "series_name": "Cloned"},
    )
    try:
        mine = RunHistory(client=uma)
        mine.table.selected = [run["id"]]
        launcher = mine.clone_selected()
        assert isinstance(launcher, RunLauncher) and launcher.model == f"sales-forecaster@{run['digest']}"
        assert launcher.pickers["history"].value == {
            "dataset": sales_dataset["ref"],
            "version": sales_dataset["version"],
        }
        assert launcher.form.value["series_name"] == "Cloned" and launcher.form.value["horizon"] == {
            "periods": 7
        }
        assert launcher.blockers() == []
    finally:
        uma.cancel_run(run["id"])
