"""Labels of a small valid model image, for tests that push synthetic images."""

from __future__ import annotations

import json
from typing import Any

from mlrun_kernel.spec import LABEL_MANIFEST, LABEL_SPEC_VERSION

MANIFEST: dict[str, Any] = {
    "tasks": {
        "predict": {
            "description": "Predict.",
            "parameters": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"k": {"type": "integer", "minimum": 1, "default": 3}},
            },
            "inputs": {"data": {"media_types": ["text/csv"], "required": True}},
            "outputs": {"predictions": {"path": "predictions.csv", "media_type": "text/csv"}},
        }
    },
    "keywords": ["tabular"],
}


def model_labels(
    title: str, version: str = "1.0.0", manifest: dict[str, Any] | None = None, **extra: str
) -> dict[str, str]:
    """Contract labels for a model titled ``title``; ``extra`` adds or overrides labels."""
    return {
        LABEL_SPEC_VERSION: "1",
        LABEL_MANIFEST: json.dumps(manifest or MANIFEST),
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.description": f"{title}, for tests.",
        "org.opencontainers.image.version": version,
        **extra,
    }
