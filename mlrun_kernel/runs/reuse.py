"""Opt-in reuse: the same model digest, task, input contents and parameters give the same results.

The reuse key hashes exactly those; a new run asked with ``reuse=True``
whose key matches an earlier succeeded run (outputs still on disk) becomes a
succeeded run at once, pointing at that run's outputs.

Only runs whose inputs the caller may read are offered. The key is a hash of
contents, so without that rule anyone could upload a guess of somebody's
private dataset, ask for reuse and learn from the answer that its owner ran
this model on exactly those bytes. Reuse tells a caller nothing they could
not have run themselves: their own earlier runs, and runs whose every input
is a dataset version they can see (their own, their group's, public).
Another owner's local-path inputs (the CLI's) are never readable to them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import case, select

from mlrun_kernel.datasets import Datasets, Principal
from mlrun_kernel.runs.inputs import can_read_version
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Run

CANDIDATES = 20
"""Earlier runs looked at per request, the caller's own first, newest first."""


def reuse_key(digest: str, task: str, inputs: dict[str, dict[str, Any]], parameters: Any) -> str:
    identity = {
        "digest": digest,
        "task": task,
        "inputs": {name: info["identity"] for name, info in sorted(inputs.items())},
        "parameters": parameters,
    }
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def find_reusable(store: Store, datasets: Datasets, key: str, caller: Principal | str) -> Run | None:
    """The newest succeeded run with ``key`` that ``caller`` may reuse, its outputs still there.

    ``caller`` is a user name or a ``Principal`` (groups and admin rights
    decide which dataset versions they can read).
    """
    name = Principal.of(caller).name
    with store.session() as s:
        candidates = s.scalars(
            select(Run)
            .where(Run.reuse_key == key, Run.state == "succeeded")
            .order_by(case((Run.owner == name, 0), else_=1), Run.finished_at.desc())
            .limit(CANDIDATES)
        ).all()
        for run in candidates:
            s.expunge(run)
    for run in candidates:
        if not Path(run.storage, "outputs").is_dir():
            continue
        if run.owner == name or _inputs_readable(datasets, caller, run.inputs or {}):
            return run
    return None


def _inputs_readable(datasets: Datasets, caller: Principal | str, inputs: dict[str, Any]) -> bool:
    for info in inputs.values():
        if info.get("kind") != "dataset":
            return False  # a host path of another owner's: not the caller's to read
        if not can_read_version(datasets, caller, info):
            return False
    return True
