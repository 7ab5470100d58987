"""A run's name, end to end against the real service: typed in the RunLauncher, stored with
the run (migration 0008), answered in the run record and the history, found by a piece of it,
shown in RunHistory's Name column and RunMonitor's title; a name the service cannot store is a
422 with the pointer ``/name`` and nothing is stored."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from mlrun_kernel.client import Client, InvalidRequest
from mlrun_kernel.widgets.history import HEADERS, RunHistory
from mlrun_kernel.widgets.launcher import RunLauncher
from mlrun_kernel.widgets.monitor import RunMonitor

pytestmark = [pytest.mark.hub, pytest.mark.registry, pytest.mark.docker]

QUICK = {"lines": 1, "interval": 0, "label": "x"}


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def _total(client: Client) -> int:
    return int(client.list_runs(limit=1)["total"])


def test_the_service_stores_a_name_returns_it_and_finds_runs_by_a_piece_of_it(
    uma: Client, showcase_name: str
) -> None:
    tag = _tag()
    named = uma.start_run(showcase_name, task="count", parameters=QUICK, name=f"  Weekly check {tag} ✓ ")
    percent = uma.start_run(showcase_name, task="count", parameters=QUICK, name=f"100% sure {tag}")
    unnamed = uma.start_run(showcase_name, task="count", parameters=QUICK, name="   ")
    try:
        assert named["name"] == f"Weekly check {tag} ✓"  # stripped
        assert unnamed["name"] is None  # empty: unnamed
        assert uma.get_run(named["id"])["name"] == f"Weekly check {tag} ✓"
        page = uma.list_runs(name=f"WEEKLY CHECK {tag}")
        assert [r["id"] for r in page["runs"]] == [named["id"]] and page["runs"][0]["name"] == named["name"]
        assert [r["id"] for r in uma.list_runs(name=tag)["runs"]] == [percent["id"], named["id"]]
        # % and _ are the text typed, not wildcards
        assert [r["id"] for r in uma.list_runs(name=f"% sure {tag}")["runs"]] == [percent["id"]]
        assert uma.list_runs(name=f"W_ekly {tag}")["total"] == 0
        by_name = uma.list_runs(name=tag, sort="name")["runs"]
        assert [r["name"] for r in by_name] == sorted(r["name"] for r in by_name)
        again = uma.rerun(named["id"])
        assert again["name"] == named["name"]  # a re-run is the same run again, name included
        uma.wait_run(again["id"], timeout=300, poll=0.5)
    finally:
        for run in (named, percent, unnamed):
            uma.wait_run(run["id"], timeout=300, poll=0.5)


@pytest.mark.parametrize(
    ("name", "said"),
    [("x" * 201, "is 201 characters long; at most 200"), ("two\nlines", "control character (U+000A)")],
)
def test_a_name_the_service_cannot_store_is_a_422_at_name_and_nothing_is_stored(
    widget_service: Any, tokens: dict[str, str], uma: Client, showcase_name: str, name: str, said: str
) -> None:
    before = _total(uma)
    response = httpx.post(
        f"{widget_service.url}api/runs",
        headers={"Authorization": f"token {tokens['user']}"},
        json={"model": showcase_name, "task": "count", "parameters": QUICK, "name": name},
        timeout=60,
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert [e["path"] for e in body["errors"]] == ["/name"] and said in body["errors"][0]["message"]
    assert body["detail"].startswith("the run name ")
    assert _total(uma) == before


def test_the_launcher_sends_the_name_typed_and_history_and_monitor_show_it(
    uma: Client, showcase_name: str
) -> None:
    started: list[dict[str, Any]] = []
    launcher = RunLauncher(showcase_name, "count", client=uma, on_started=started.append)
    launcher.form.value = QUICK
    name = f"Shop A weekly {_tag()}"
    launcher.name_field.v_model = name
    run = launcher.submit()
    assert run is not None and started == [run] and run["name"] == name
    uma.wait_run(run["id"], timeout=300, poll=0.5)

    history = RunHistory(client=uma)
    assert {"title": "Name", "key": "name", "sortable": True} in HEADERS
    history.name_filter.v_model = name.split()[-1]
    assert history.total == 1 and [(r["id"], r["name"]) for r in history.table.items] == [(run["id"], name)]

    monitor = RunMonitor(run["id"], client=uma, follow=False)
    assert monitor.children[0].children == [f"{name} (run {run['id']})"]
    unnamed = started_unnamed(uma, showcase_name)
    assert RunMonitor(unnamed, client=uma, follow=False).children[0].children == [f"Run {unnamed}"]


def started_unnamed(client: Client, model: str) -> str:
    run = client.start_run(model, task="count", parameters=QUICK)
    client.wait_run(run["id"], timeout=300, poll=0.5)
    return str(run["id"])


def test_the_launcher_refuses_a_bad_name_at_its_field_and_keeps_what_was_typed(
    uma: Client, showcase_name: str
) -> None:
    launcher = RunLauncher(showcase_name, "count", client=uma, on_started=lambda run: None)
    launcher.form.value = QUICK
    before = _total(uma)
    launcher.name_field.v_model = "tab\there"
    assert launcher.blockers() == ["fix the run name"] and launcher.run_button.disabled
    assert launcher.name_field.error_messages == [
        "The run name holds a control character (U+0009); use one line of plain text"
    ]
    assert launcher.submit() is None and _total(uma) == before

    # The service's own refusal (a name it is sent anyway) lands at the same field, not in the form.
    with pytest.raises(InvalidRequest) as refused:
        uma.start_run(showcase_name, task="count", parameters=QUICK, name="y" * 300)
    refusal = launcher.show_refusal(refused.value)
    assert refusal.name is not None and not refusal.fields and refusal.general is None
    assert launcher.name_field.error_messages == [f"The run name {refusal.name}"]
    assert launcher.run_button.disabled  # until the name is edited
    assert launcher.form.errors == [] and launcher.form.value == {**QUICK}
    launcher.name_field.v_model = "fine now"
    assert launcher.blockers() == [] and launcher.name_field.error_messages == []
