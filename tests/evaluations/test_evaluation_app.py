"""The admins' evaluation app: its pure pieces with plain answers, then
``voila_apps/evaluate.ipynb`` rendered by Voilà in Chromium against the model service with
real hub tokens: an admin sees the table, a chart with version markers and a threshold,
and asks the experts in two clicks; a model user is refused."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlrun_kernel.datasets import Principal
from mlrun_kernel.store.models import Evaluation
from mlrun_kernel.widgets.evaluation import (
    _cell,
    chart_data,
    compare_versions,
    metric_chart,
    overview_rows,
    request_reason,
    version_markers,
)
from tests.evaluations.helpers import finished_run
from tests.paths import ROOT
from tests.service.helpers import ServedApp, TokenHub, free_port

T0 = datetime(2026, 1, 1, 2, tzinfo=UTC)
V1, V2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def points() -> list[dict[str, Any]]:
    out = []
    for day in range(6):
        digest, version = (V1, "1.0.0") if day < 4 else (V2, "1.1.0")
        value = 0.95 - day * 0.05 if day < 4 else 0.97
        at = (T0 + timedelta(days=day)).isoformat()
        out.append({"at": at, "metric": "accuracy", "value": value, "digest": digest, "version": version})
    return out


def test_the_chart_draws_the_series_version_markers_and_thresholds() -> None:
    import bqplot as bq

    data = points()
    markers = version_markers(data)
    assert [label for _, label in markers] == ["1.0.0", "1.1.0"]
    drawn = chart_data(data, "accuracy", markers=markers, thresholds=[(0.85, "rule 1")])
    assert drawn is not None and len(drawn.values) == 6 and drawn.values[-1] == 0.97
    assert [label for _, label in drawn.markers] == ["1.0.0", "1.1.0"]
    assert drawn.low < 0.8 and drawn.high > 0.97, "the threshold and every point are in view"
    figure = metric_chart(drawn, "accuracy")
    assert isinstance(figure, bq.Figure) and "mlk-chart" in figure._dom_classes
    (dots,) = [m for m in figure.marks if isinstance(m, bq.Scatter)]
    assert len(dots.x) == 6
    labels = [text for m in figure.marks if isinstance(m, bq.Label) for text in m.text]
    assert labels == ["1.0.0", "1.1.0", "rule 1 (0.85)"]
    assert chart_data(data, "f1") is None
    assert "no values of f1" in metric_chart(None, "f1").children[0]


def test_two_versions_side_by_side_and_the_table_rows() -> None:
    rows = compare_versions(points(), "1.0.0", "1.1.0")
    assert rows == [
        {"metric": "accuracy", "1.0.0": pytest.approx(0.8), "1.1.0": 0.97, "delta": pytest.approx(0.17)}
    ]
    flag = {"id": 3, "message": "accuracy=0.7 is below the threshold 0.75"}
    table = overview_rows(
        [{"model": "m", "metrics": {"accuracy": 0.7}, "trend": {"accuracy": -0.1}, "state": "flagged",
          "flags": [flag], "schedule": "daily", "next_slot": "2026-01-02T00:00:00+00:00",
          "latest": {"version": "1.0.0"}, "active_requests": 0}]
    )  # fmt: skip
    assert table[0]["metrics"] == "accuracy 0.7▼" and table[0]["state"] == "flagged"
    noisy = compare_versions(
        [{"at": "1", "metric": "a", "value": 0.7999999999999999, "digest": V1, "version": "1"},
         {"at": "2", "metric": "a", "value": 0.8, "digest": V2, "version": "2"}], "1", "2",
    )  # fmt: skip
    assert noisy[0]["delta"] == 0.0, "float noise is not a change"
    assert [_cell(noisy[0]["1"]), _cell(None), _cell(3)] == ["0.8", "–", "3"]
    assert "below the threshold 0.75" in request_reason([flag])


# ---------------------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def app_service(eval_service: ServedApp) -> ServedApp:
    """The evaluations service with a year of history for team/scored: two versions, a rule, a flag."""
    store = eval_service.platform.store
    with httpx.Client(
        base_url=eval_service.url, headers={"Authorization": "token eval-static-token"}
    ) as admin:
        admin.post("api/catalog/sync").raise_for_status()
        source = Path(eval_service.platform.config.data_dir) / "ref.csv"
        source.write_text("x,label\n0.1,0\n0.9,1\n")
        from mlrun_kernel.client import Client

        with Client(eval_service.url, token="eval-static-token") as client:
            ref = str(client.upload_dataset(source, name="scored-ref")["ref"]).rsplit(":", 1)[0]
            client.set_evaluation_setup("team/scored", ref, schedule="daily")
            client.add_rule("team/scored", "accuracy", "threshold", threshold=0.82)
    for day in range(6):
        digest, version = (V1, "1.0.0") if day < 4 else (V2, "1.1.0")
        value = 0.95 - day * 0.05 if day < 4 else 0.80
        at = T0 + timedelta(days=day)
        run_id = finished_run(store, model="team/scored", digest=digest, version=version,
                              metrics={"accuracy": value}, finished_at=at)  # fmt: skip
        with store.session() as s:  # an evaluation whose run the executor finished
            s.add(Evaluation(model="team/scored", model_ref=f"team/scored@{digest}", trigger="schedule",
                             slot=at, run_id=run_id, dataset=f"{ref}:1", state="running",
                             created_by="ada", created_at=at))  # fmt: skip
    eval_service.app.state.evaluations.tick()
    return eval_service


@pytest.fixture
def voila(app_service: ServedApp, token_hub: TokenHub, tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def serve(role: str) -> str:
        port = free_port()
        env = {**os.environ, "MLK_SERVICE_URL": app_service.url, "MLK_SERVICE_TOKEN": token_hub.tokens[role]}
        env.pop("JUPYTERHUB_API_TOKEN", None)
        log = (tmp_path / f"voila-{role}.log").open("wb")
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "voila"), str(ROOT / "voila_apps" / "evaluate.ipynb"),
             "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        started.append(process)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return url
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError(f"Voilà did not answer: {(tmp_path / f'voila-{role}.log').read_text()[-2000:]}")

    yield serve
    for process in started:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.hub
@pytest.mark.registry
@pytest.mark.browser
def test_admins_see_the_evaluation_app_with_a_chart_and_ask_the_experts_in_two_clicks(
    voila: Any,
    page: Any,
    app_service: ServedApp,
    screenshots: Path,
) -> None:
    def shot(name: str, locator: Any | None = None) -> None:
        if locator is not None:
            locator.scroll_into_view_if_needed()  # Voilà scrolls in its own container
        page.wait_for_timeout(300)  # let the chart's transitions settle for the picture
        page.screenshot(path=str(screenshots / f"evaluations-admin-{name}.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(voila("admin"), timeout=120_000)
    page.locator(".mlk-eval-table").wait_for(timeout=120_000)
    row = page.locator(".mlk-eval-row", has_text="team/scored")
    assert "flagged" in row.inner_text() and "accuracy 0.8" in row.inner_text()
    shot("1-table-flagged", row)
    chart = page.locator(".mlk-chart.mlk-chart-accuracy")  # the bqplot figure, drawn in SVG
    chart.locator("svg .dot").first.wait_for(timeout=60_000)
    assert chart.locator("svg .dot").count() == 6
    for label in ("1.0.0", "1.1.0", "rule"):  # version markers and the threshold line
        assert chart.locator("svg text", has_text=label).count() >= 1, label
    assert page.locator(".mlk-eval-compare-table").count() == 1
    shot("2-chart", chart)
    row.locator(".mlk-eval-ask-btn").click()
    send = page.locator(".mlk-eval-send-request")
    send.wait_for(timeout=30_000)
    shot("3-request-dialog", send)
    send.click()
    requests_table = page.locator(".mlk-eval-request-table", has_text="team/scored")
    requests_table.wait_for(timeout=60_000)
    shot("4-request-sent", requests_table)
    requests = app_service.app.state.evaluations.requests(
        Principal(name="ada", is_admin=True), model="team/scored"
    )
    assert requests and "below the threshold 0.82" in requests[0].reason
    assert requests[0].evidence["flag"]["metric"] == "accuracy"


@pytest.mark.hub
@pytest.mark.registry
@pytest.mark.browser
def test_a_model_user_is_refused_the_evaluation_app(voila: Any, page: Any, screenshots: Path) -> None:
    page.goto(voila("user"), timeout=120_000)
    error = page.locator(".mlk-app-error")
    error.wait_for(timeout=120_000)
    page.screenshot(path=str(screenshots / "evaluations-user-refused.png"), full_page=True)
    assert "may not do this" in error.inner_text()
    assert page.locator(".mlk-eval-table").count() == 0
