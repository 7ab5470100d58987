"""The container contract: what a run's container sees and runs as.

:func:`container_spec` lays out the run's folder (``params.json`` read-only,
an empty ``outputs`` folder owned by the configured run user, never a fixed
uid) and turns a run into a hardened :class:`~.backends.base.ContainerSpec`:
its mounts (parameters, outputs, inputs by dataset version), the ``MLK_*``
environment, the labels reconcile finds it by, the user and the limits.
:func:`outputs_fs_problem` says why the outputs cap cannot hold while the
model writes (then it is measured by polls).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from mlrun_kernel.datasets import Datasets
from mlrun_kernel.runs.backends.base import (
    LABEL_DIGEST,
    LABEL_EXECUTOR,
    LABEL_MODEL,
    LABEL_OWNER,
    LABEL_RUN,
    LABEL_STORAGE,
    Backend,
    ContainerSpec,
    Mount,
)
from mlrun_kernel.runs.inputs import mount_inputs
from mlrun_kernel.runs.limits import RunSettings
from mlrun_kernel.runs.outputs_fs import CappedOutputs, OutputsFilesystemError, capped_fs_problem
from mlrun_kernel.runs.run_user import RunUser
from mlrun_kernel.store.models import Run


def container_spec(
    run: Run,
    *,
    datasets: Datasets,
    settings: RunSettings,
    run_user: RunUser,
    executor: str,
    root: Path,
    capped: bool,
) -> ContainerSpec:
    """The run's folder made ready (params, an empty outputs folder the run user owns)
    and the hardened container that sees it; ``capped``: outputs on a size-limited file system."""
    run_dir = Path(run.storage)
    outputs = run_dir / "outputs"
    folder = CappedOutputs(run_dir)
    folder.discard()  # a retry: start from an empty folder again
    if outputs.exists():
        shutil.rmtree(outputs)
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o755)
    if capped:  # the cap holds while the model writes
        folder.prepare(settings.outputs_max_bytes, run_user.uid, run_user.gid)
    else:
        outputs.mkdir()
        try:
            os.chown(outputs, run_user.uid, run_user.gid)  # the model's, not a fixed uid
            outputs.chmod(0o755)
        except PermissionError:
            outputs.chmod(0o777)
    params = run_dir / "params.json"
    params.write_text(json.dumps(run.parameters, indent=2, ensure_ascii=False))
    params.chmod(0o444)
    mounts = [
        Mount(str(params), "/mlk/params.json", read_only=True),
        Mount(str(outputs), "/mlk/outputs", read_only=False),
    ]
    for host, target in mount_inputs(datasets, run_dir, run.inputs):
        mounts.append(Mount(host, target, read_only=True))
    res = run.resources
    return ContainerSpec(
        name=f"mlk-run-{run.id}",
        image=run.image,
        command=list(run.command) if run.command else [run.task],
        env={
            "MLK_TASK": run.task,
            "MLK_RUN_ID": run.id,
            "MLK_PARAMS": "/mlk/params.json",
            "MLK_INPUTS": "/mlk/inputs",
            "MLK_OUTPUTS": "/mlk/outputs",
            "PYTHONUNBUFFERED": "1",
        },
        labels={
            LABEL_RUN: run.id,
            LABEL_OWNER: run.owner,
            LABEL_MODEL: run.model,
            LABEL_DIGEST: run.digest,
            LABEL_EXECUTOR: executor,
            LABEL_STORAGE: str(root),
        },
        mounts=mounts,
        user=run_user.spec,
        memory_bytes=int(res["memory_bytes"]),
        cpus=float(res["cpus"]),
        pids_limit=int(res["pids_limit"]),
        network=bool(res["network"]),
        gpus=int(res["gpus"]),
    )


def outputs_fs_problem(settings: RunSettings, backend: Backend) -> str | None:
    """Why outputs get a plain folder measured by polls instead of a size-limited file system.

    ``MLK_OUTPUTS_FILESYSTEM=capped`` makes that an error instead of a fallback.
    """
    choice = settings.outputs_filesystem
    if choice == "folder":
        return "MLK_OUTPUTS_FILESYSTEM=folder"
    problem = capped_fs_problem()
    if problem is None and not backend.outputs_on_this_host():
        problem = f"the {backend.name} backend's containers do not see this host's mounts"
    if problem is not None and choice == "capped":
        raise OutputsFilesystemError(
            f"cannot give the run a size-limited outputs folder: {problem} "
            "(set MLK_OUTPUTS_FILESYSTEM=auto to fall back to measuring it)"
        )
    return problem
