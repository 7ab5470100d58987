"""ipyvuetify widgets that Voila apps compose; the logic lives here, not in notebooks.

- ``gallery``: ``ModelGallery``, the registry's models as cards (``model_card``), searchable.
- ``model_card``: ``ModelCard``, one model in full, a Run button per task.
- ``launcher``: ``RunLauncher``, inputs + parameter form + Run.
- ``monitor``: ``RunMonitor``, one run live (state, progress, log tail, Cancel).
- ``results``: ``ResultsView``, what a run produced, by type.
- ``history``: ``RunHistory``, past runs: filter, sort, page, re-run, clone, compare.
- ``common``: the one theme, error message and loading state they all use.
- ``evaluation``: ``EvaluationDashboard``, the admins' evaluations (table, charts, rules, requests).
- ``requests``: ``OpenRequests``, the experts' open fine-tune requests (acknowledge, close).
- ``nav``: ``NavBar``, the bar over every app, and ``app_page`` (bar + app, friendly failures).
- ``apps``: what each Voilà app of voila_apps/ shows.
"""

from mlrun_kernel.widgets.common import ErrorMessage, Loading, apply_theme
from mlrun_kernel.widgets.evaluation import EvaluationDashboard
from mlrun_kernel.widgets.gallery import Markdown, ModelGallery, filter_models, group_by_image, model_card
from mlrun_kernel.widgets.history import RunHistory
from mlrun_kernel.widgets.launcher import RunLauncher
from mlrun_kernel.widgets.model_card import ModelCard
from mlrun_kernel.widgets.monitor import RunMonitor
from mlrun_kernel.widgets.nav import NavBar, app_page
from mlrun_kernel.widgets.requests import OpenRequests
from mlrun_kernel.widgets.results import ResultsView

__all__ = [
    "EvaluationDashboard",
    "OpenRequests",
    "ErrorMessage",
    "Loading",
    "Markdown",
    "ModelCard",
    "ModelGallery",
    "NavBar",
    "ResultsView",
    "RunHistory",
    "RunLauncher",
    "RunMonitor",
    "app_page",
    "apply_theme",
    "filter_models",
    "group_by_image",
    "model_card",
]
