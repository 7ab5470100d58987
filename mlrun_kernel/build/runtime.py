"""The author runtime (``mlrun_kernel.model``) in model images, and the schemas it reports.

- :func:`runtime_files`: the runtime's sources for the build context, under
  ``mlk-runtime/`` (a Dockerfile copies them with ``COPY mlk-runtime/ /opt/mlk-runtime/``;
  the finishing layer copies them again, so every model image has them).
- :func:`image_schemas`: asks a built image for its ``@task`` parameter schemas
  (``python -m mlrun_kernel.model schema``) in a container with no network, as
  the run user; only the image has the model's own dependencies.
- :func:`merge_schemas`: puts generated schemas into the manifest data where
  ``mlk.yaml`` has none; a hand-written schema wins, and one that disagrees
  with the code is a build error.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping
from importlib import resources
from typing import Any

from mlrun_kernel.spec import ManifestError, SpecIssue

RUNTIME_DIR = "mlk-runtime"
"""The runtime's folder in the build context."""
RUNTIME_PATH = "/opt/mlk-runtime"
"""Where model images keep the runtime (on ``PYTHONPATH``)."""
_PACKAGE = "mlrun_kernel.model"


def runtime_files() -> dict[str, bytes]:
    """``mlk-runtime/mlrun_kernel/model/*.py`` -> content: the stdlib-only runtime, as shipped."""
    root = resources.files(_PACKAGE)
    files: dict[str, bytes] = {}
    for item in sorted(root.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".py"):
            files[f"{RUNTIME_DIR}/mlrun_kernel/model/{item.name}"] = item.read_bytes()
    return files


def _runtime_tar() -> bytes:
    """The runtime as a tar whose members sit under ``mlk-runtime/`` (for put_archive into /tmp)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in runtime_files().items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def task_modules(manifest: Mapping[str, Any]) -> list[str]:
    """The modules of tasks run as ``python -m MODULE ...`` (where ``@task`` functions live)."""
    modules: list[str] = []
    for task in (manifest.get("tasks") or {}).values():
        command = task.get("command") if isinstance(task, Mapping) else None
        if not isinstance(command, list) or len(command) < 3 or command[1] != "-m":
            continue
        if command[0].split("/")[-1].startswith("python") and command[2] not in modules:
            modules.append(command[2])
    return modules


def uses_runtime(image_id: str) -> bool:
    """Whether the image carries the runtime at ``/opt/mlk-runtime`` (its Dockerfile copies it)."""
    import docker

    client = docker.from_env()
    container = client.containers.create(image_id, ["true"], network_disabled=True)
    try:
        container.get_archive(f"{RUNTIME_PATH}/mlrun_kernel/model/__init__.py")
        return True
    except docker.errors.NotFound:
        return False
    finally:
        container.remove(force=True)


def image_schemas(image_id: str, modules: list[str], *, timeout: float = 120) -> dict[str, Any]:
    """``{"tasks": {name: {"schema": ..., "description": ...}}, "errors": [...]}`` from the image.

    Runs with no network, as uid 65534, with the runtime this package ships
    (put into ``/tmp``), so the answer does not depend on the image's copy.
    """
    import docker

    from mlrun_kernel.build.images import BuildError

    client = docker.from_env()
    command = ["python", "-m", "mlrun_kernel.model", "schema", *modules]
    container = client.containers.create(
        image_id,
        command,
        user="65534:65534",
        network_disabled=True,
        environment={"PYTHONPATH": f"/tmp/{RUNTIME_DIR}", "PYTHONDONTWRITEBYTECODE": "1"},
        mem_limit="1g",
    )
    try:
        container.put_archive("/tmp", _runtime_tar())
        container.start()
        status = container.wait(timeout=timeout)
        out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace").strip()
        err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace").strip()
    finally:
        container.remove(force=True)
    if status.get("StatusCode") != 0 or not out:
        tail = "\n".join(err.splitlines()[-10:])
        raise BuildError(f"asking the image for its task schemas failed:\n{tail}")
    try:
        answer = json.loads(out.splitlines()[-1])
    except ValueError as exc:
        raise BuildError(f"the image's task schemas are not JSON: {exc}") from exc
    return dict(answer)


def merge_schemas(manifest: Mapping[str, Any], answer: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The manifest data with generated parameter schemas filled in.

    Raises :class:`ManifestError` (paths under ``source``, the mlk.yaml path)
    when a task's parameters cannot produce a schema, or when a hand-written
    schema disagrees with the code (other properties, types or defaults).
    """
    issues = [SpecIssue(f"{source}: tasks", error) for error in answer.get("errors", [])]
    tasks = {name: dict(task) for name, task in (manifest.get("tasks") or {}).items()}
    for name, found in (answer.get("tasks") or {}).items():
        generated = found.get("schema")
        if name not in tasks or generated is None:
            continue
        task = tasks[name]
        where = f"{source}: tasks.{name}.parameters"
        if "parameters" in task:
            issues.extend(SpecIssue(where, p) for p in schema_mismatches(task["parameters"], generated))
        else:
            task["parameters"] = generated
    if issues:
        raise ManifestError(issues)
    return {**manifest, "tasks": tasks}


def schema_mismatches(written: Mapping[str, Any], generated: Mapping[str, Any]) -> list[str]:
    """How a hand-written parameters schema disagrees with the one the code implies."""
    ours = written.get("properties") or {}
    code = generated.get("properties") or {}
    problems = []
    missing = sorted(set(code) - set(ours))
    extra = sorted(set(ours) - set(code))
    if missing:
        problems.append(f"the code takes {', '.join(missing)}, which mlk.yaml does not declare")
    if extra:
        problems.append(f"mlk.yaml declares {', '.join(extra)}, which the code does not take")
    for key in sorted(set(ours) & set(code)):
        a, b = ours[key], code[key]
        if not isinstance(a, Mapping) or not isinstance(b, Mapping):
            continue
        if "type" in a and "type" in b and a["type"] != b["type"]:
            problems.append(f"{key}: mlk.yaml says type {a['type']!r}, the code {b['type']!r}")
        if "default" in a and "default" in b and a["default"] != b["default"]:
            problems.append(
                f"{key}: mlk.yaml's default {a['default']!r} differs from the code's {b['default']!r}"
            )
    return problems
