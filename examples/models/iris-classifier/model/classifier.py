"""The estimators this model can train, and the saved-model format.

A saved model is a joblib file holding a dict::

    {"format": "mlk-iris/1", "estimator": <fitted sklearn estimator>,
     "features": [...], "classes": [...], "model_type": "...",
     "hyperparameters": {...}, "trained_rows": 150, "sklearn_version": "..."}

so ``predict`` and ``evaluate`` can check what they load before using it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import joblib
import sklearn
from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from mlrun_kernel.model import InputRejected
from model.data import FEATURES

MODEL_FORMAT = "mlk-iris/1"
MODEL_TYPES = {
    "logistic_regression": "Logistic regression",
    "random_forest": "Random forest",
    "svm": "Support vector machine (RBF kernel)",
}
BUILT_IN_MODEL = Path(os.environ.get("MLK_ARTIFACTS", "/opt/model/artifacts")) / "model.joblib"


def make_estimator(
    model_type: str, *, C: float, n_estimators: int, seed: int, smallest_class: int = 50
) -> ClassifierMixin:
    """A fresh estimator; ``smallest_class`` (rows of the rarest class) sizes the SVM's
    calibration folds."""
    if model_type == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000, random_state=seed))
    if model_type == "random_forest":
        return RandomForestClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=1)
    if model_type == "svm":
        if smallest_class < 2:
            raise InputRejected(
                "an SVM needs at least two training rows of every class to calibrate probabilities"
            )
        svm = SVC(C=C, random_state=seed)
        calibrated = CalibratedClassifierCV(svm, ensemble=False, cv=min(5, smallest_class))
        return make_pipeline(StandardScaler(), calibrated)
    raise InputRejected(f"model_type {model_type!r} is not one of {', '.join(MODEL_TYPES)}")


def bundle(
    estimator: ClassifierMixin, model_type: str, hyperparameters: dict[str, Any], rows: int
) -> dict[str, Any]:
    return {
        "format": MODEL_FORMAT,
        "estimator": estimator,
        "features": list(FEATURES),
        "classes": [str(c) for c in estimator.classes_],
        "model_type": model_type,
        "hyperparameters": hyperparameters,
        "trained_rows": rows,
        "sklearn_version": sklearn.__version__,
    }


def save(model: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path, compress=3)


def load(path: Path | None) -> tuple[dict[str, Any], str]:
    """The model to use and where it came from: ``path`` when given, else the built-in one.

    A model file runs code when unpickled: only pass files made by this model's
    ``train`` task (the container has no network and no write access outside
    its outputs, which bounds the harm of a hostile file).
    """
    source = "built-in" if path is None else f"input {path.name}"
    target = BUILT_IN_MODEL if path is None else path
    try:
        model = joblib.load(target)
    except Exception as exc:  # noqa: BLE001 - any unpickling error means "not our file"
        if path is None:
            raise
        raise InputRejected(f"{path.name} is not a model saved by this model's train task: {exc}") from exc
    if not isinstance(model, dict) or model.get("format") != MODEL_FORMAT:
        raise InputRejected(f"{target.name} is not a model saved by this model's train task")
    return model, source
