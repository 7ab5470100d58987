"""A fresh platform's admin starts the evaluation loop in the evaluation app itself.

Against the model service with real hub tokens and a registry holding a model
with an ``evaluate`` task and one without: the app says nothing is evaluated
yet, offers the evaluable model only, opens its setup without an error, and
once the setup is saved the model moves into the table and out of the offer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrun_kernel.client import Client
from mlrun_kernel.widgets.evaluation import EvaluationDashboard
from tests.evaluations.conftest import SCORED, seeded_service
from tests.service.helpers import ServedApp, TokenHub

pytestmark = [pytest.mark.hub, pytest.mark.registry]

PREDICT_ONLY = {
    "tasks": {
        "predict": {
            "description": "Label rows.",
            "parameters": {"type": "object", "properties": {}},
            "inputs": {"data": {"media_types": ["text/csv"], "required": True}},
        }
    }
}


@pytest.fixture(scope="module")
def fresh_platform(tmp_path_factory: pytest.TempPathFactory, token_hub: TokenHub) -> Iterator[ServedApp]:
    state = tmp_path_factory.mktemp("fresh-evaluations")
    manifests = {"team/fresh": SCORED, "team/plain": PREDICT_ONLY}
    with seeded_service(state, token_hub, manifests, "fresh-static") as served:
        with Client(served.url, token="fresh-static") as admin:
            admin.sync_catalog()
        yield served


def _text(widget: Any) -> str:
    children = getattr(widget, "children", None) or []
    return " ".join(c if isinstance(c, str) else _text(c) for c in children)


def test_an_admin_starts_evaluating_a_model_from_the_app(fresh_platform: ServedApp, tmp_path: Path) -> None:
    with Client(fresh_platform.url, token="fresh-static") as admin:
        dashboard = EvaluationDashboard(client=admin)
        assert "No model is evaluated yet" in _text(dashboard.status)
        assert dashboard.start_pick is not None
        assert dashboard.start_pick.items == ["team/fresh"]  # team/plain has no evaluate task

        start = dashboard.start_box.children[0].children[1]
        start.fire_event("click", {})
        assert dashboard.status.type == "info", _text(dashboard.status)  # no setup yet is no error
        assert "team/fresh: metrics over time" in _text(dashboard.detail)
        setup = next(c for c in dashboard.detail.children if "mlk-eval-setup" in (c.class_ or ""))
        dataset, _version, schedule, save = setup.children[1].children
        assert dataset.v_model == "" and schedule.v_model == ""

        labelled = tmp_path / "labelled.csv"
        labelled.write_text("x,label\n0.1,0\n0.9,1\n")
        ref = str(admin.upload_dataset(labelled, name="fresh-ref")["ref"]).rsplit(":", 1)[0]
        dataset.v_model, schedule.v_model = ref, "daily"
        save.fire_event("click", {})

        assert dashboard.status.type == "success", _text(dashboard.status)
        assert [row["model"] for row in dashboard.overview] == ["team/fresh"]
        assert _text(dashboard.status) == "Saved. 1 evaluated model; 0 flagged"
        assert dashboard.start_pick is None and dashboard.start_box.children == []
        admin.delete_evaluation_setup("team/fresh")


def test_without_an_evaluable_model_the_app_says_who_publishes_one(
    tmp_path: Path, token_hub: TokenHub
) -> None:
    only_plain = {"team/plain": PREDICT_ONLY}
    with (
        seeded_service(tmp_path, token_hub, only_plain, "plain-static") as served,
        Client(served.url, token="plain-static") as admin,
    ):
        admin.sync_catalog()
        dashboard = EvaluationDashboard(client=admin)
    assert dashboard.start_pick is None and dashboard.start_box.children == []
    assert _text(dashboard.status) == (
        "No model is evaluated yet, and no model in the registry has an evaluate task: "
        "model experts publish them."
    )
