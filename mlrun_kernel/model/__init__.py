"""The model runtime for authors: the contract from inside the container, standard library only.

``mlk build`` copies this package into every model image (``/opt/mlk-runtime``,
on ``PYTHONPATH``), so a model needs nothing else to follow the contract::

    from mlrun_kernel.model import Param, input_file, main, progress, task, write_metrics

    @task
    def evaluate(label_column: str = Param("species", min_length=1)) -> None:
        rows = read(input_file("data"))
        progress(0.5, "scoring")
        write_metrics(accuracy=score(rows, label_column))

    if __name__ == "__main__":
        raise SystemExit(main())

- :mod:`.contract`: inputs, parameters, outputs, ``mlk:progress``, metrics,
  result and failure files, :class:`InputRejected` (exit 64).
- :mod:`.tasks`: :func:`task`, :class:`Param`, the JSON Schema of a task's
  parameters (typed arguments or a pydantic model), :func:`main`/:func:`run_task`.
- ``python -m mlrun_kernel.model schema MODULE``: the build asks an image for
  its tasks' schemas this way.
"""

from .contract import (
    EXIT_FAILED,
    EXIT_REJECTED,
    InputRejected,
    input_file,
    input_files,
    inputs_dir,
    load_params,
    optional_input_file,
    output_path,
    outputs_dir,
    params_path,
    progress,
    write_failure,
    write_json,
    write_metrics,
    write_result,
)
from .tasks import Param, SchemaError, Task, main, registered, run_task, task

__all__ = [
    "EXIT_FAILED",
    "EXIT_REJECTED",
    "InputRejected",
    "Param",
    "SchemaError",
    "Task",
    "input_file",
    "input_files",
    "inputs_dir",
    "load_params",
    "main",
    "optional_input_file",
    "output_path",
    "outputs_dir",
    "params_path",
    "progress",
    "registered",
    "run_task",
    "task",
    "write_failure",
    "write_json",
    "write_metrics",
    "write_result",
]
