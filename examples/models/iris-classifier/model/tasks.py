"""The iris classifier's tasks: ``predict``, ``evaluate``, ``train``, and the
build-time ``bootstrap`` that trains the built-in model and writes the examples."""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.model_selection import train_test_split

from mlrun_kernel.model import (
    InputRejected,
    input_file,
    optional_input_file,
    outputs_dir,
    progress,
    task,
    write_json,
)
from model import classifier, report
from model import params as p
from model.data import FEATURES, read_table

UNCERTAIN = "uncertain"


def _model_input() -> Path | None:
    return optional_input_file("model", suffixes=(".joblib", ".pkl"))


@task
def predict(params: dict[str, Any]) -> None:
    threshold = p.number(params, "threshold", 0.5, low=0.0, high=1.0)
    with_probabilities = p.boolean(params, "include_probabilities", False)
    progress(0.05, "reading data")
    table = read_table(input_file("data"))
    model, source = classifier.load(_model_input())
    progress(0.3, f"classifying {len(table.rows)} rows")
    estimator = model["estimator"]
    classes = [str(c) for c in estimator.classes_]
    proba = estimator.predict_proba(table.features)
    best = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    predicted = [classes[b] if c >= threshold else UNCERTAIN for b, c in zip(best, confidence, strict=True)]

    progress(0.7, "writing predictions.csv")
    header = [*table.header, "predicted_species", "confidence"]
    if with_probabilities:
        header += [f"probability_{c}" for c in classes]
    with (outputs_dir() / "predictions.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i, row in enumerate(table.rows):
            row = row + [""] * (len(table.header) - len(row))
            extra = [predicted[i], f"{confidence[i]:.4f}"]
            if with_probabilities:
                extra += [f"{x:.4f}" for x in proba[i]]
            writer.writerow([*row[: len(table.header)], *extra])

    counts = Counter(predicted)
    write_json(
        "_result.json",
        {
            "rows": len(predicted),
            "counts": {label: counts.get(label, 0) for label in [*classes, UNCERTAIN]},
            "threshold": threshold,
            "mean_confidence": round(float(confidence.mean()), 4),
            "model": {"type": model["model_type"], "source": source},
        },
    )
    progress(1.0, "done")


def _scores(truth: list[str], predicted: list[str], known: list[str]) -> tuple[list[str], dict[str, Any]]:
    labels = sorted(set(known) | set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    return labels, {
        "accuracy": float(accuracy_score(truth, predicted)),
        # macro over the classes that occur in the truth or the predictions
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "per_class": [
            {
                "label": labels[i],
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i in range(len(labels))
        ],
    }


@task
def evaluate(params: dict[str, Any]) -> None:
    label_column = p.text(params, "label_column", "species")
    progress(0.05, "reading data")
    table = read_table(input_file("data"), label_column=label_column)
    assert table.labels is not None
    model, source = classifier.load(_model_input())
    unknown = sorted(set(table.labels) - set(model["classes"]))
    if len(unknown) == len(set(table.labels)):
        raise InputRejected(
            f"none of the labels in {label_column!r} ({', '.join(unknown[:5])}) "
            "is a class this model "
            f"knows ({', '.join(model['classes'])})"
        )
    progress(0.3, f"scoring {len(table.rows)} rows")
    estimator = model["estimator"]
    proba = estimator.predict_proba(table.features)
    classes = [str(c) for c in estimator.classes_]
    predicted = [classes[i] for i in proba.argmax(axis=1)]
    labels, scores = _scores(table.labels, predicted, classes)
    matrix = confusion_matrix(table.labels, predicted, labels=labels)
    mistakes = [
        {"row": str(i + 1), "true": t, "predicted": y, "confidence": f"{proba[i].max():.3f}"}
        for i, (t, y) in enumerate(zip(table.labels, predicted, strict=True))
        if t != y
    ]

    progress(0.7, "writing report.html")
    html = report.render(
        report.Evaluation(
            source_name=table.path.name,
            model_type=classifier.MODEL_TYPES.get(model["model_type"], "?"),
            model_source=source,
            rows=len(table.rows),
            labels=labels,
            confusion=matrix,
            accuracy=scores["accuracy"],
            macro_f1=scores["macro_f1"],
            per_class=scores["per_class"],
            mistakes=mistakes,
        )
    )
    (outputs_dir() / "report.html").write_text(html, encoding="utf-8")
    write_json(
        "_metrics.json",
        {"accuracy": round(scores["accuracy"], 6), "macro_f1": round(scores["macro_f1"], 6)},
    )
    write_json(
        "_result.json",
        {
            "rows": len(table.rows),
            "correct": len(table.rows) - len(mistakes),
            "accuracy": round(scores["accuracy"], 4),
            "macro_f1": round(scores["macro_f1"], 4),
            "labels_unknown_to_model": unknown,
            "model": {"type": model["model_type"], "source": source},
        },
    )
    progress(1.0, "done")


@task
def train(params: dict[str, Any]) -> None:
    model_type = p.choice(params, "model_type", "logistic_regression", classifier.MODEL_TYPES)
    C = p.number(params, "C", 1.0, low=0.0, high=10_000.0, low_open=True)
    n_estimators = p.integer(params, "n_estimators", 200, low=1, high=2000)
    test_size = p.number(params, "test_size", 0.2, low=0.05, high=0.5)
    seed = p.integer(params, "random_seed", 42, low=0, high=2**32 - 1)
    label_column = p.text(params, "label_column", "species")

    progress(0.05, "reading data")
    table = read_table(input_file("data"), label_column=label_column)
    assert table.labels is not None
    counts = Counter(table.labels)
    n = len(table.labels)
    if len(counts) < 2:
        raise InputRejected(
            f"{label_column!r} holds a single class ({next(iter(counts))}); training needs two or more"
        )
    n_test = math.ceil(test_size * n)
    if n - n_test < len(counts) or n_test < len(counts):
        raise InputRejected(
            f"{n} rows are too few to hold out {test_size:.0%} for testing "
            f"across {len(counts)} classes; "
            "supply more rows or change test_size"
        )
    stratify = table.labels if min(counts.values()) >= 2 and n_test >= len(counts) else None
    labels = np.array(table.labels)
    X_train, X_test, y_train, y_test = train_test_split(
        table.features, labels, test_size=n_test, random_state=seed % 2**32, stratify=stratify
    )

    progress(0.2, f"training {classifier.MODEL_TYPES[model_type]} on {len(y_train)} rows")
    estimator = classifier.make_estimator(
        model_type,
        C=C,
        n_estimators=n_estimators,
        seed=seed,
        smallest_class=min(Counter(y_train).values()),
    )
    estimator.fit(X_train, y_train)
    progress(0.8, f"scoring on {len(y_test)} held-out rows")
    predicted = [str(x) for x in estimator.predict(X_test)]
    _, scores = _scores([str(x) for x in y_test], predicted, [str(c) for c in estimator.classes_])

    hyper: dict[str, Any] = {"random_seed": seed, "test_size": test_size}
    hyper.update({"C": C} if model_type != "random_forest" else {"n_estimators": n_estimators})
    classifier.save(
        classifier.bundle(estimator, model_type, hyper, len(y_train)),
        outputs_dir() / "model.joblib",
    )
    write_json(
        "_metrics.json",
        {"accuracy": round(scores["accuracy"], 6), "macro_f1": round(scores["macro_f1"], 6)},
    )
    write_json(
        "_result.json",
        {
            "model_type": model_type,
            "hyperparameters": hyper,
            "rows": {"train": len(y_train), "test": len(y_test)},
            "stratified": stratify is not None,
            "classes": dict(sorted(counts.items())),
            "held_out": {
                "accuracy": round(scores["accuracy"], 4),
                "macro_f1": round(scores["macro_f1"], 4),
                "per_class_f1": {c["label"]: round(c["f1"], 4) for c in scores["per_class"]},
            },
        },
    )
    progress(1.0, "done")


def bootstrap(artifacts: Path, examples: Path) -> None:
    """Build time: train the built-in model on scikit-learn's bundled iris data
    (no download) and write the example files the manifest points at."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    species = [str(iris.target_names[t]) for t in iris.target]
    estimator = classifier.make_estimator("logistic_regression", C=1.0, n_estimators=0, seed=0)
    estimator.fit(iris.data, species)
    accuracy = accuracy_score(species, estimator.predict(iris.data))
    model = classifier.bundle(estimator, "logistic_regression", {"C": 1.0, "random_seed": 0}, len(species))
    classifier.save(model, artifacts / "model.joblib")
    print(f"built-in model: logistic regression, training accuracy {accuracy:.3f} on {len(species)} rows")

    examples.mkdir(parents=True, exist_ok=True)
    with (examples / "iris.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*FEATURES, "species"])
        writer.writerows([*(f"{v:g}" for v in row), s] for row, s in zip(iris.data, species, strict=True))
    with (examples / "iris-unlabelled.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(FEATURES)
        writer.writerows([f"{v:g}" for v in row] for row in iris.data[::5])
    print(f"examples written to {examples}")
