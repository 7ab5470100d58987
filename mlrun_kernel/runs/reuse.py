"""Opt-in reuse: the same model digest, task, input contents and parameters give the same results.

The reuse key hashes exactly those; a new run asked with ``reuse=True``
whose key matches an earlier succeeded run (outputs still on disk) becomes a
succeeded run at once, pointing at that run's outputs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Run


def reuse_key(digest: str, task: str, inputs: dict[str, dict[str, Any]], parameters: Any) -> str:
    identity = {
        "digest": digest,
        "task": task,
        "inputs": {name: info["identity"] for name, info in sorted(inputs.items())},
        "parameters": parameters,
    }
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def find_reusable(store: Store, key: str) -> Run | None:
    """The newest succeeded run with ``key`` whose outputs are still there."""
    with store.session() as s:
        candidates = s.scalars(
            select(Run)
            .where(Run.reuse_key == key, Run.state == "succeeded")
            .order_by(Run.finished_at.desc())
            .limit(10)
        ).all()
        for run in candidates:
            if Path(run.storage, "outputs").is_dir():
                s.expunge(run)
                return run
    return None
