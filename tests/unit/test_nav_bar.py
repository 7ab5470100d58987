"""The apps' navigation bar and the page around each app: links by role, failures in words."""

from __future__ import annotations

import pytest

pytest.importorskip("ipyvuetify")

from mlrun_kernel.client import AuthenticationFailed, PermissionDenied, ServiceUnavailable  # noqa: E402
from mlrun_kernel.widgets.nav import NavBar, Where, app_page, friendly_message, nav_links  # noqa: E402

WHERE = Where(user="ada", server_prefix="/user/ada/", hub_prefix="/hub/", platform="Acme models")


def test_model_users_see_their_apps_and_no_admin_link() -> None:
    links = nav_links("model-user", WHERE)
    assert [link.title for link in links] == ["Models", "Runs", "Datasets"]
    assert links[1].url == "/user/ada/voila/render/apps/runs.ipynb"


def test_admins_get_the_evaluations_app_and_the_admin_panel_and_nobody_else_does() -> None:
    links = nav_links("model-admin", WHERE)
    assert [link.title for link in links][-2:] == ["Evaluations", "Admin"]
    assert links[-2].url.endswith("voila/render/apps/evaluate.ipynb") and links[-1].url == "/hub/admin"
    for role in ("model-user", "model-expert"):
        assert not {"Evaluations", "Admin"} & {link.title for link in nav_links(role, WHERE)}


def test_the_bar_shows_the_platform_the_user_and_sign_out() -> None:
    bar = NavBar("runs", role="model-user", where=WHERE)
    texts = [child.children[0] for child in bar.children if getattr(child, "children", None)]
    assert "Acme models" in texts and "ada" in texts and "Sign out" in texts
    signout = next(c for c in bar.children if getattr(c, "children", None) == ["Sign out"])
    assert signout.href == "/hub/logout"
    current = next(c for c in bar.children if getattr(c, "children", None) == ["Runs"])
    assert current.variant == "flat"


@pytest.mark.parametrize(
    ("error", "title"),
    [
        (AuthenticationFailed("401", url="u", status=401), "Your session has expired"),
        (PermissionDenied("403", url="u", status=403), "Your account may not do this"),
        (ServiceUnavailable("down", url="u", status=503), "The model service is not answering"),
        (RuntimeError("boom"), "This app could not start"),
    ],
)
def test_failures_are_said_in_words(error: Exception, title: str) -> None:
    assert friendly_message(error)[0] == title


def test_an_app_that_fails_to_build_shows_the_message_under_the_bar() -> None:
    bar = NavBar("models", role="model-user", where=WHERE)

    def broken() -> None:
        raise AuthenticationFailed("token expired", url="u", status=401)

    page = app_page("models", broken, nav=bar)
    assert page.children[0] is bar
    assert page.children[1].title == "Your session has expired"
    assert "Traceback" not in page.children[1].text


def test_the_run_apps_deep_link_reads_model_task_or_run() -> None:
    from mlrun_kernel.widgets.apps import DeepLink

    assert DeepLink.parse("?model=iris-classifier&task=predict") == DeepLink("iris-classifier", "predict", "")
    assert DeepLink.parse("run=r-123") == DeepLink("", "", "r-123")
    assert DeepLink.parse("") == DeepLink()


def test_each_voila_app_is_one_app_page_call() -> None:
    import json

    from tests.paths import ROOT

    for name, key in {"models": "models", "runs": "runs", "datasets": "datasets", "run": "runs"}.items():
        cells = json.loads((ROOT / "voila_apps" / f"{name}.ipynb").read_text())["cells"]
        assert len(cells) == 1
        source = "".join(cells[0]["source"])
        assert f'app_page("{key}", ' in source and "mlrun_kernel.widgets.apps" in source


@pytest.mark.parametrize("ends_in_constructor", [True, False])
def test_a_run_link_shows_the_monitor_and_the_results_of_a_run_that_is_over(
    monkeypatch: pytest.MonkeyPatch, ends_in_constructor: bool
) -> None:
    """A reload, or a link opened after the end: the results show below the monitor either way,
    whether the monitor reports the end while it is being built or not at all."""
    import ipyvuetify as v

    import mlrun_kernel.client as client_module
    import mlrun_kernel.widgets.monitor as monitor_module
    import mlrun_kernel.widgets.results as results_module
    from mlrun_kernel.widgets.apps import run_app

    class Monitor(v.Html):
        def __init__(self, run_id: str, on_end=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(tag="div", class_="mlk-run-monitor")
            if ends_in_constructor:
                on_end({"id": run_id, "state": "succeeded"})

    class Results(v.Html):
        def __init__(self, run_id: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(tag="div", class_="mlk-results")

    monkeypatch.setattr(monitor_module, "RunMonitor", Monitor)
    monkeypatch.setattr(results_module, "ResultsView", Results)
    monkeypatch.setattr(client_module.Client, "__init__", lambda self, *a, **k: None)
    monkeypatch.setattr(client_module.Client, "get_run", lambda self, run_id: {"state": "succeeded"})
    page = run_app("run=r-1")
    assert [child.class_ for child in page.children] == ["mlk-run-monitor", "mlk-results"]
