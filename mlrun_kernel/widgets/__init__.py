"""ipyvuetify widgets that Voila apps compose; the logic lives here, not in notebooks.

- ``gallery``: ``ModelGallery``, the registry's models as cards (``model_card``), searchable.
- ``model_card``: ``ModelCard``, one model in full, a Run button per task.
- ``datasets``: ``DatasetPicker``, pick or upload (browser-direct, resumable: ``upload``) a dataset.
- ``schema_form``: ``SchemaForm``, a JSON Schema as a form (``FieldError`` at JSON pointers).
- ``launcher``: ``RunLauncher``, inputs + parameter form + Run.
- ``monitor``: ``RunMonitor``, one run live (state, progress, log tail, Cancel).
- ``results``: ``ResultsView``, what a run produced, by type.
- ``history``: ``RunHistory``, past runs: filter, sort, page, re-run, clone, compare.
- ``common``: the one theme, error message and loading state they all use.
- ``evaluation``: ``EvaluationDashboard``, the admins' evaluations (table, charts, rules, requests).
- ``requests``: ``OpenRequests``, the experts' open fine-tune requests (acknowledge, close).
- ``nav``: ``NavBar``, the bar over every app, and ``app_page`` (bar + app, friendly failures).
- ``apps``: what each Voilà app of voila_apps/ shows.

Names load on first use (PEP 562), so an app pays only for the widgets it shows:
importing them all costs a kernel more than a second.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "ErrorMessage": "common",
    "Loading": "common",
    "apply_theme": "common",
    "DatasetPicker": "datasets",
    "EvaluationDashboard": "evaluation",
    "Markdown": "gallery",
    "ModelGallery": "gallery",
    "filter_models": "gallery",
    "group_by_image": "gallery",
    "model_card": "gallery",
    "RunHistory": "history",
    "RunLauncher": "launcher",
    "ModelCard": "model_card",
    "RunMonitor": "monitor",
    "NavBar": "nav",
    "app_page": "nav",
    "OpenRequests": "requests",
    "ResultsView": "results",
    "FieldError": "schema_form",
    "SchemaForm": "schema_form",
}

__all__ = [
    "DatasetPicker",
    "ErrorMessage",
    "EvaluationDashboard",
    "FieldError",
    "Loading",
    "Markdown",
    "ModelCard",
    "ModelGallery",
    "NavBar",
    "OpenRequests",
    "ResultsView",
    "RunHistory",
    "RunLauncher",
    "RunMonitor",
    "SchemaForm",
    "app_page",
    "apply_theme",
    "filter_models",
    "group_by_image",
    "model_card",
]

if TYPE_CHECKING:
    from mlrun_kernel.widgets.common import ErrorMessage, Loading, apply_theme
    from mlrun_kernel.widgets.datasets import DatasetPicker
    from mlrun_kernel.widgets.evaluation import EvaluationDashboard
    from mlrun_kernel.widgets.gallery import Markdown, ModelGallery, filter_models, group_by_image, model_card
    from mlrun_kernel.widgets.history import RunHistory
    from mlrun_kernel.widgets.launcher import RunLauncher
    from mlrun_kernel.widgets.model_card import ModelCard
    from mlrun_kernel.widgets.monitor import RunMonitor
    from mlrun_kernel.widgets.nav import NavBar, app_page
    from mlrun_kernel.widgets.requests import OpenRequests
    from mlrun_kernel.widgets.results import ResultsView
    from mlrun_kernel.widgets.schema_form import FieldError, SchemaForm


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mlrun_kernel.widgets' has no attribute {name!r}")
    value = getattr(import_module(f"mlrun_kernel.widgets.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
