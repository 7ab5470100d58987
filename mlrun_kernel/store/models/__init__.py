"""Tables of the store, as SQLAlchemy 2 typed declarative models, one module per area."""

from mlrun_kernel.store.models.audit import AuditEntry
from mlrun_kernel.store.models.base import Base
from mlrun_kernel.store.models.builds import ImagePush, ImageTest, ModelBuild
from mlrun_kernel.store.models.catalog import (
    CatalogSync,
    ImageConfigBlob,
    ModelVersion,
    Repository,
    Tag,
)
from mlrun_kernel.store.models.datasets import (
    Blob,
    Dataset,
    DatasetFile,
    DatasetHold,
    DatasetVersion,
    Upload,
)
from mlrun_kernel.store.models.evaluations import (
    Evaluation,
    EvaluationRule,
    EvaluationSetup,
    EvaluationWebhook,
    FineTuneRequest,
    MetricIngest,
    MetricPoint,
    ModelFlag,
    NotificationDelivery,
)
from mlrun_kernel.store.models.outbox import NotificationOutbox
from mlrun_kernel.store.models.runs import Run, RunEvent, RunExecutor, RunLogLine

__all__ = [
    "AuditEntry",
    "Base",
    "Blob",
    "CatalogSync",
    "Dataset",
    "DatasetFile",
    "DatasetHold",
    "DatasetVersion",
    "Evaluation",
    "EvaluationRule",
    "EvaluationSetup",
    "EvaluationWebhook",
    "FineTuneRequest",
    "ImageConfigBlob",
    "ImagePush",
    "ImageTest",
    "MetricIngest",
    "MetricPoint",
    "ModelBuild",
    "ModelFlag",
    "ModelVersion",
    "NotificationDelivery",
    "NotificationOutbox",
    "Repository",
    "Run",
    "RunEvent",
    "RunExecutor",
    "RunLogLine",
    "Tag",
    "Upload",
]
