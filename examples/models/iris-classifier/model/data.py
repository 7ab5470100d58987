"""Reading iris-shaped CSV files.

Column names are matched loosely, so ``sepal_length``, ``Sepal Length``,
``sepal.length`` and scikit-learn's own ``sepal length (cm)`` all work. Labels
are matched the same way: ``setosa``, ``Iris-setosa`` and ``SETOSA`` are one
class.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlrun_kernel.model import InputRejected

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
MAX_ROWS = 1_000_000


def normalise_name(name: str) -> str:
    name = re.sub(r"\((cm|mm)\)", "", name.strip().lower())
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def normalise_label(label: str) -> str:
    label = label.strip().lower()
    return label[5:] if label.startswith("iris-") or label.startswith("iris_") else label


@dataclass
class Table:
    """A CSV file as read: its header, its rows, and the feature matrix."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    features: np.ndarray  # shape (rows, 4), float
    labels: list[str] | None  # normalised labels when a label column was asked for


def read_table(path: Path, *, label_column: str | None = None) -> Table:
    """Read ``path``; raise InputRejected naming the first problem found."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputRejected(f"{path.name} is not UTF-8 text; is it really a CSV file?") from exc
    if not text.strip():
        raise InputRejected(f"{path.name} is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text.splitlines(), dialect)
    header = next(reader, None) or []
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise InputRejected(f"{path.name} has a header but no data rows")
    if len(rows) > MAX_ROWS:
        raise InputRejected(f"{path.name} has {len(rows)} rows; this model takes at most {MAX_ROWS}")

    index = {normalise_name(name): i for i, name in reversed(list(enumerate(header)))}
    missing = [f for f in FEATURES if f not in index]
    if missing:
        raise InputRejected(
            f"{path.name} lacks the column(s) {', '.join(missing)}; "
            f"expected {', '.join(FEATURES)} (found: {', '.join(header) or 'no header'})"
        )
    columns = [index[f] for f in FEATURES]
    features = np.empty((len(rows), len(FEATURES)), dtype=float)
    for r, row in enumerate(rows):
        for c, col in enumerate(columns):
            cell = row[col].strip() if col < len(row) else ""
            try:
                value = float(cell)
            except ValueError:
                raise InputRejected(
                    f"{path.name}, data row {r + 1}: {FEATURES[c]} is {cell!r}, not a number"
                ) from None
            if not np.isfinite(value):
                raise InputRejected(f"{path.name}, data row {r + 1}: {FEATURES[c]} is {cell!r}")
            features[r, c] = value

    labels = None
    if label_column is not None:
        key = normalise_name(label_column)
        if key not in index:
            raise InputRejected(
                f"{path.name} has no label column {label_column!r} (found: {', '.join(header)})"
            )
        col = index[key]
        labels = [normalise_label(row[col]) if col < len(row) else "" for row in rows]
        blank = next((i for i, label in enumerate(labels) if not label), None)
        if blank is not None:
            raise InputRejected(f"{path.name}, data row {blank + 1}: the label {label_column!r} is empty")
    return Table(path=path, header=header, rows=rows, features=features, labels=labels)
