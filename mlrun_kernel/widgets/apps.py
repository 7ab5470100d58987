"""What each Voilà app of ``voila_apps/`` shows, so the notebooks stay one line each.

Every function here builds one app's content from the library's widgets, and
each notebook is ``app_page("<key>", <function>)`` (``mlrun_kernel.widgets.nav``):
the navigation bar above, failures in words. Imports are inside the functions:
an app pays only for the widgets it shows.

- ``models_app``: the gallery (a card opens the model card, its Run buttons the launcher);
- ``run_app``: the deep link ``run.ipynb?model=…&task=…`` (the launcher) or
  ``?run=…`` (the run's monitor, then its results once it ends);
- ``runs_app``: the run history (re-run, clone, compare);
- ``datasets_app``: my datasets (pick, preview, upload).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class DeepLink:
    """What ``run.ipynb``'s query asks for."""

    model: str = ""
    task: str = ""
    run: str = ""

    @classmethod
    def parse(cls, query: str) -> DeepLink:
        values = {key: items[0].strip() for key, items in parse_qs(query.lstrip("?")).items() if items}
        return cls(values.get("model", ""), values.get("task", ""), values.get("run", ""))


def _query() -> str:
    # Voilà gives the kernel the page's query string in QUERY_STRING.
    return os.environ.get("QUERY_STRING", "")


def models_app() -> Any:
    from mlrun_kernel.widgets.gallery import ModelGallery

    return ModelGallery()


def run_app(query: str | None = None) -> Any:
    """The launcher for ``?model=&task=``, or a run's monitor (then results) for ``?run=``."""
    import ipyvuetify as v

    link = DeepLink.parse(_query() if query is None else query)
    if link.run:
        return _run_page(link.run)
    if link.model:
        from mlrun_kernel.widgets.launcher import RunLauncher

        return RunLauncher(link.model, link.task or None)
    return v.Alert(
        type="info",
        variant="tonal",
        title="Nothing to run yet",
        text="Open a model in Models and press Run, or open a run from Runs.",
        class_="mlk-run-nothing",
    )


ENDED = frozenset({"succeeded", "failed", "cancelled", "timed_out"})


def _run_page(run_id: str) -> Any:
    """The run's monitor, and its results once it has ended (now, or later while watched)."""
    import threading

    import ipyvuetify as v

    from mlrun_kernel.client import Client
    from mlrun_kernel.widgets.monitor import RunMonitor
    from mlrun_kernel.widgets.results import ResultsView

    page = v.Html(tag="div", class_="mlk-run-page", children=[])
    shown = threading.Lock()
    parts: dict[str, Any] = {}

    def show_results(_run: Any = None) -> None:
        # The monitor may report the end from its constructor (a run that is over) or from
        # its thread: the page is laid out from both parts whenever either arrives.
        with shown:
            if "results" not in parts:
                parts["results"] = ResultsView(run_id)
            page.children = [part for part in (parts.get("monitor"), parts["results"]) if part is not None]

    monitor = RunMonitor(run_id, on_end=show_results)
    with shown:
        parts["monitor"] = monitor
        page.children = [monitor, *([parts["results"]] if "results" in parts else [])]
    # A run that ended before the monitor followed it may report no end: ask once, now
    # that the monitor is up, so that no ending falls in between.
    if Client().get_run(run_id)["state"] in ENDED:
        show_results()
    return page


def runs_app() -> Any:
    from mlrun_kernel.widgets.history import RunHistory

    return RunHistory()


def datasets_app() -> Any:
    from mlrun_kernel.widgets.datasets import DatasetPicker

    return DatasetPicker(label="My datasets")
