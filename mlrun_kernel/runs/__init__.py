"""Runs: a model version, a task, datasets and parameters, carried to a true end.

The public API (the CLI and the service are thin layers over it)::

    from mlrun_kernel.runs import Executor, RunRequest

    executor = Executor(store).start()            # reconciles, then takes runs from the queue
    run = executor.submit(RunRequest(model="iris-classifier:1.0.0", task="predict",
                                     inputs={"data": "iris"}, parameters={"threshold": 0.7},
                                     owner="ana"))
    for line in executor.follow(run.id):           # live, timestamped
        print(line.at, line.text)
    run = executor.wait(run.id)                    # succeeded | failed | cancelled | timed_out
    run.outputs_dir, run.metrics, run.reason

Modules, from the outside in: :mod:`.executor` (the ``Executor`` facade),
:mod:`.scheduler` (heartbeat, claims, fair starts), :mod:`.worker` (one run from
pulling to its verdict), :mod:`.transitions` (state moves in the store),
:mod:`.contract` (what a container sees and runs as), :mod:`.record`
(``RunInfo``, the one run record, and its wire shape), :mod:`.history` (paged
queries), :mod:`.queue` (fair order), :mod:`.reconcile` (after restarts),
:mod:`.logs`, :mod:`.outputs`, :mod:`.inputs`, :mod:`.reuse`,
:mod:`.limits` (operator options), :mod:`.states`, :mod:`.errors`, and
:mod:`.backends` (local engine, Swarm) behind one small interface.
"""

from mlrun_kernel.runs.backends import Backend, make_backend
from mlrun_kernel.runs.errors import (
    EngineUnavailable,
    ImagePullError,
    InfrastructureError,
    InvalidRun,
    RunConflict,
    RunError,
    RunNotFound,
)
from mlrun_kernel.runs.executor import Executor, RunRequest
from mlrun_kernel.runs.history import RunQuery
from mlrun_kernel.runs.inputs import LocalInput
from mlrun_kernel.runs.limits import EffectiveResources, RunSettings, effective_resources, run_settings
from mlrun_kernel.runs.logs import LogHub, RunLogEntry, parse_progress
from mlrun_kernel.runs.record import RunEventInfo, RunInfo, RunPage
from mlrun_kernel.runs.states import ACTIVE, TERMINAL, RunState

__all__ = [
    "ACTIVE",
    "TERMINAL",
    "Backend",
    "EffectiveResources",
    "EngineUnavailable",
    "Executor",
    "ImagePullError",
    "InfrastructureError",
    "InvalidRun",
    "LocalInput",
    "LogHub",
    "RunConflict",
    "RunError",
    "RunEventInfo",
    "RunInfo",
    "RunLogEntry",
    "RunNotFound",
    "RunPage",
    "RunQuery",
    "RunRequest",
    "RunSettings",
    "RunState",
    "effective_resources",
    "make_backend",
    "parse_progress",
    "run_settings",
]
