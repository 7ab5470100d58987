"""Rows the evaluations tests start from: finished runs as the executor records them."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Run


def finished_run(
    store: Store,
    *,
    model: str = "team/churn",
    digest: str = "sha256:" + "a" * 64,
    version: str | None = "1.0.0",
    task: str = "evaluate",
    metrics: dict[str, Any] | None = None,
    finished_at: datetime,
    state: str = "succeeded",
    dataset: str = "ada/labelled",
    dataset_version: int = 3,
) -> str:
    """A run that ended with ``metrics``, as the executor leaves it in the store."""
    run_id = secrets.token_hex(8)
    with store.session() as s:
        s.add(
            Run(
                id=run_id,
                owner="ada",
                model=model,
                model_ref=f"{model}:{version}",
                model_version=version,
                digest=digest,
                image=f"127.0.0.1:5000/{model}@{digest}",
                task=task,
                inputs={
                    "data": {"kind": "dataset", "ref": dataset, "version": dataset_version, "version_id": 1}
                },
                parameters={"threshold": 0.5},
                reuse_key=run_id,
                state=state,
                created_at=finished_at,
                state_changed_at=finished_at,
                finished_at=finished_at,
                storage=f"/tmp/runs/{run_id}",
                metrics=metrics,
            )
        )
    return run_id
