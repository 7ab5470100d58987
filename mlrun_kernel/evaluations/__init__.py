"""Evaluations: how models perform over time, when they deteriorate, and fine-tune requests.

The public surface (the service, the ``mlk`` CLI and the widgets are thin layers over it)::

    from mlrun_kernel.evaluations import Evaluations, metric_history

    evaluations = Evaluations(store, datasets, submit=executor.submit)
    evaluations.put_setup(admin, "iris-classifier", dataset="ada/iris-labelled", schedule="daily")
    evaluations.add_rule("ada", "iris-classifier", metric="accuracy", kind="threshold", threshold=0.9)
    evaluations.evaluate("ada", "iris-classifier")      # on demand; the schedule runs by tick()
    evaluations.tick()                                  # the service calls this periodically
    metric_history(store, "iris-classifier", metric="accuracy")

Modules: :mod:`.history` (metrics of every run, ingested from finished runs),
:mod:`.setups` (reference data, parameters, schedule), :mod:`.schedule` (cron slots),
:mod:`.rules` (pure rule logic), :mod:`.flags` (rules and flags in the store),
:mod:`.requests` (fine-tune requests), :mod:`.notify` (webhooks, e-mail),
:mod:`.core` (the ``Evaluations`` facade and its tick), :mod:`.records`, :mod:`.errors`,
:mod:`.settings`. docs/evaluations.md is the guide.
"""

from mlrun_kernel.evaluations.core import Evaluations, RunsOff, TickReport
from mlrun_kernel.evaluations.errors import Conflict, EvaluationError, Forbidden, InvalidSetting, NotFound
from mlrun_kernel.evaluations.history import (
    MetricPointInfo,
    history_statement,
    ingest_finished_runs,
    metric_history,
)
from mlrun_kernel.evaluations.notify import Notifier, check_webhook_url, sign, verify
from mlrun_kernel.evaluations.records import (
    DeliveryInfo,
    EvaluationInfo,
    FlagInfo,
    RequestInfo,
    RuleInfo,
    SetupInfo,
    WebhookInfo,
)
from mlrun_kernel.evaluations.settings import EvaluationSettings, evaluation_settings

__all__ = [
    "Conflict",
    "DeliveryInfo",
    "EvaluationError",
    "EvaluationInfo",
    "EvaluationSettings",
    "Evaluations",
    "FlagInfo",
    "Forbidden",
    "InvalidSetting",
    "MetricPointInfo",
    "NotFound",
    "Notifier",
    "RequestInfo",
    "RuleInfo",
    "RunsOff",
    "SetupInfo",
    "TickReport",
    "WebhookInfo",
    "check_webhook_url",
    "evaluation_settings",
    "history_statement",
    "ingest_finished_runs",
    "metric_history",
    "sign",
    "verify",
]
