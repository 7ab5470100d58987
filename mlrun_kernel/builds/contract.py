"""``mlk test IMAGE``: run every manifest example through the platform's executor and check the contract.

The runs go through :class:`mlrun_kernel.runs.Executor` (its public API), on
a throw-away store whose catalog holds only this image, with the operator's
run settings: the same hardening (non-root, capabilities dropped, read-only
inputs), limits (memory, CPUs, pids, time) and network rule as a user's run.
The only difference is where the image comes from: :class:`LocalImageBackend`
hands the engine the local image instead of pulling it from the registry, so
an image is tested before it is pushed.

For each example the report says passed, or failed with every reason:
the run did not succeed (exit code, rejection, crash, out of memory, timed out),
a declared output is missing or is not of its media type, ``_metrics.json``
lacks a declared metric or holds a non-number. A task with no example fails
too: nothing would have tested it. The model gets no network unless its
manifest asks (``resources.network``), so undeclared network use fails the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlrun_kernel.runs import Backend, Executor, LocalInput, RunRequest, RunSettings, run_settings
from mlrun_kernel.runs.backends import ContainerSpec, ExitStatus, Handle, LogLine
from mlrun_kernel.runs.backends.base import OutputStream, PullProgress
from mlrun_kernel.spec import (
    LabelError,
    Manifest,
    ManifestError,
    ModelImage,
    manifest_to_data,
    parse_labels,
)

LogSink = Callable[[str], None]
TEST_REGISTRY = "mlk-contract-test.invalid"
"""The registry host test runs name; never contacted (the local image is used)."""


class ContractTestError(RuntimeError):
    """The image cannot be tested at all (not found, not a model image); says what to do."""


@dataclass
class ExampleResult:
    index: int
    task: str
    title: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    state: str | None = None
    exit_code: int | None = None
    metrics: dict[str, Any] | None = None
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    run_id: str | None = None


@dataclass
class ContractReport:
    reference: str
    image_id: str
    name: str
    version: str
    passed: bool
    examples: list[ExampleResult]
    problems: list[str] = field(default_factory=list)
    network: bool = False

    def to_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- the image


@dataclass(frozen=True)
class LocalImage:
    reference: str
    """The reference that found it (``mlk build`` tags ``<registry host>/<name>:<version>``)."""
    image_id: str
    name: str
    """The repository name, without the registry host."""
    model: ModelImage
    tags: tuple[str, ...]


def local_image(reference: str) -> LocalImage:
    """A local model image by reference; ``name:version`` also finds ``<registry host>/name:version``."""
    import docker

    from mlrun_kernel.config import settings

    client = docker.from_env()
    candidates = [reference]
    if "/" not in reference.split("@")[0] or "." not in reference.split("/")[0]:
        candidates.append(f"{settings().registry_host}/{reference}")
    image = None
    for candidate in candidates:
        try:
            image = client.images.get(candidate)
            reference = candidate
            break
        except docker.errors.ImageNotFound:
            continue
    if image is None:
        raise ContractTestError(
            f"no image {candidates[0]!r} on this engine: build it first (`mlk build FOLDER`), "
            "or give its full name (`docker images` lists them)"
        )
    tags = tuple(image.tags or ())
    named = reference if not reference.startswith("sha256:") else (tags[0] if tags else "")
    if not named:
        raise ContractTestError(f"image {reference} has no name: tag it, or give it by name")
    try:
        model = parse_labels(image.labels or {})
    except (LabelError, ManifestError) as exc:
        raise ContractTestError(f"{reference} is not a valid model image:\n{exc}") from None
    return LocalImage(reference, str(image.id), repository_name(named), model, tags)


def inspect_local_image(reference: str) -> tuple[str, ModelImage]:
    """(image id, what its labels say) for a local image; errors say what to do."""
    found = local_image(reference)
    return found.image_id, found.model


def _copy_from_image(image_id: str, paths: list[str], into: Path) -> dict[str, Path]:
    """Copy files (or folders) out of the image without running it; missing ones are left out."""
    import docker

    client = docker.from_env()
    found: dict[str, Path] = {}
    container = client.containers.create(image_id, ["true"], network_disabled=True)
    try:
        for index, path in enumerate(paths):
            try:
                stream, _ = container.get_archive(path)
            except docker.errors.NotFound:
                continue
            target = into / str(index)
            target.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                tar.extractall(target, filter="data")
            found[path] = target / Path(path).name
    finally:
        container.remove(force=True)
    return found


# --------------------------------------------------------------------------- backend


class LocalImageBackend(Backend):
    """A backend that runs the local image for the test's image reference and delegates the rest."""

    def __init__(self, inner: Backend, images: dict[str, str]) -> None:
        self.inner = inner
        self.images = dict(images)
        self.name = inner.name

    def ping(self) -> None:
        self.inner.ping()

    def engine_started_at(self) -> datetime | None:
        return self.inner.engine_started_at()

    def hit_process_limit(self, handle: str) -> bool | None:
        return self.inner.hit_process_limit(handle)

    def pull(self, image: str, on_progress: PullProgress | None = None) -> None:
        if image not in self.images:
            self.inner.pull(image, on_progress)

    def create(self, spec: ContainerSpec) -> str:
        return self.inner.create(dataclasses.replace(spec, image=self.images.get(spec.image, spec.image)))

    def start(self, handle: str) -> None:
        self.inner.start(handle)

    def wait(self, handle: str, timeout: float) -> ExitStatus | None:
        return self.inner.wait(handle, timeout)

    def logs(self, handle: str, *, since: datetime | None = None) -> Iterator[LogLine]:
        return self.inner.logs(handle, since=since)

    def attach(self, handle: str) -> OutputStream | None:
        return self.inner.attach(handle)

    def stop(self, handle: str, grace: float) -> None:
        self.inner.stop(handle, grace)

    def remove(self, handle: str) -> None:
        self.inner.remove(handle)

    def inspect(self, handle: str) -> Handle:
        return self.inner.inspect(handle)

    def list_runs(self, executor: str | None = None) -> list[Handle]:
        return self.inner.list_runs(executor)

    def outputs_on_this_host(self) -> bool:
        return self.inner.outputs_on_this_host()

    def sweep(self, *, executor: str, storage: str, active: set[str]) -> list[str]:
        return self.inner.sweep(executor=executor, storage=storage, active=active)

    def close(self) -> None:
        self.inner.close()


# --------------------------------------------------------------------------- checks


def media_type_problem(path: Path, declared: str) -> str | None:
    """Why the file is not of ``declared`` media type, or None (unknown types are not judged)."""
    if declared in ("application/octet-stream", "*/*"):
        return None
    head = path.read_bytes()[: 1 << 20] if path.is_file() else b""
    family = declared.split("/", 1)[0]
    if declared == "image/png":
        return None if head.startswith(b"\x89PNG\r\n\x1a\n") else "is not a PNG image"
    if declared == "image/jpeg":
        return None if head.startswith(b"\xff\xd8\xff") else "is not a JPEG image"
    if declared == "application/json" or declared.endswith("+json"):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            return f"is not JSON ({exc})"
        return None
    if family == "text":
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            return "is not UTF-8 text"
        if declared == "text/csv" and not text.strip():
            return "is an empty CSV file"
        if declared == "text/html" and "<" not in text:
            return "does not look like HTML"
    return None


def metric_problems(path: Path, declared: list[str]) -> tuple[dict[str, Any] | None, list[str]]:
    """(the metrics read, problems) for ``_metrics.json`` against the declared metric names."""
    if not declared:
        return None, []
    if not path.is_file():
        return None, [f"_metrics.json is missing; the task declares {', '.join(declared)}"]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [f"_metrics.json is not JSON: {exc}"]
    if not isinstance(data, dict):
        return None, ["_metrics.json must be a JSON object of numbers"]
    problems = []
    for name in declared:
        value = data.get(name)
        if name not in data:
            problems.append(f"metric {name!r} is missing from _metrics.json")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append(f"metric {name!r} is {value!r}, not a number")
    return data, problems


def _output_problems(outputs_dir: Path, manifest: Manifest, task: str) -> tuple[list[str], list[str]]:
    problems, found = [], []
    for spec in manifest.tasks[task].outputs.values():
        target = outputs_dir / spec.path.rstrip("/")
        if spec.path.endswith("/"):
            if not target.is_dir() or not any(target.iterdir()):
                problems.append(f"output {spec.name!r} ({spec.path}) is missing or empty")
            else:
                found.append(spec.path)
            continue
        if not target.is_file():
            problems.append(f"output {spec.name!r} ({spec.path}) is missing")
            continue
        found.append(spec.path)
        problem = media_type_problem(target, spec.media_type)
        if problem:
            problems.append(
                f"output {spec.name!r} ({spec.path}) {problem}, but is declared {spec.media_type}"
            )
    return problems, found


def _run_reason(info: Any) -> str:
    reason = info.reason or ""
    failure = (info.failure_text or "").strip()
    parts = [f"the run {info.state}" + (f" (exit {info.exit_code})" if info.exit_code is not None else "")]
    if reason:
        parts.append(reason)
    if failure and failure not in reason:
        parts.append(f"_failure.txt: {failure}")
    return ": ".join(parts)


# --------------------------------------------------------------------------- the test


def _catalog_with(store: Any, name: str, image_id: str, model: ModelImage) -> None:
    from mlrun_kernel.store.models import ModelVersion, Repository, Tag

    with store.session() as s:
        repo = Repository(name=name)
        s.add(repo)
        s.flush()
        version = ModelVersion(
            repository_id=repo.id,
            digest=image_id,
            config_digest=image_id,
            title=model.metadata.title,
            description=model.metadata.description,
            version=model.metadata.version,
            metadata_json=dataclasses.asdict(model.metadata),
            manifest=manifest_to_data(model.manifest),
            problem=None,
        )
        s.add(version)
        s.flush()
        s.add(
            Tag(
                repository_id=repo.id,
                name=model.metadata.version,
                digest=image_id,
                model_version_id=version.id,
            )
        )


def repository_name(reference: str) -> str:
    """``host:5000/team/iris:1.0.0`` -> ``team/iris``."""
    ref = reference.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref = ref.rsplit(":", 1)[0]
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        ref = rest
    return ref


def contract_test(
    reference: str,
    *,
    owner: str = "mlk-test",
    settings: RunSettings | None = None,
    on_log: LogSink | None = None,
    backend: Backend | None = None,
) -> ContractReport:
    """Test the local image ``reference`` against its own manifest; see the module docstring."""
    from mlrun_kernel.store import open_store

    found = local_image(reference)
    image_id, model, name, reference = found.image_id, found.model, found.name, found.reference
    manifest = model.manifest
    report = ContractReport(
        reference=reference,
        image_id=image_id,
        name=name,
        version=model.metadata.version,
        passed=False,
        examples=[],
        network=manifest.resources.network,
    )
    tested = {example.task for example in manifest.examples}
    for task in manifest.tasks:
        if task not in tested:
            report.problems.append(f"task {task!r} has no example: add one under `examples` in mlk.yaml")
    settings = settings or run_settings()
    work = Path(tempfile.mkdtemp(prefix="mlk-test-"))
    os.chmod(work, 0o755)  # noqa: S103 - the run user must reach its inputs and outputs under it
    store = open_store(f"sqlite:///{work / 'store.sqlite'}")
    if backend is None:
        from mlrun_kernel.runs.backends.local import LocalBackend

        backend = LocalBackend()
    ref = f"{TEST_REGISTRY}/{name}@{image_id}"
    executor = Executor(
        store,
        backend=LocalImageBackend(backend, {ref: image_id}),
        settings=settings,
        root=work / "runs",
        registry=TEST_REGISTRY,
        data_dir=work / "data",
        name=f"mlk-test-{os.getpid()}-{image_id[7:19]}",
    )
    try:
        _catalog_with(store, name, image_id, model)
        paths = sorted({str(p) for e in manifest.examples for v in e.inputs.values() for p in _paths(v)})
        copied = _copy_from_image(image_id, paths, work / "image-files")
        executor.start()
        for index, example in enumerate(manifest.examples):
            result = _run_example(
                executor, manifest, index, example, copied, work, owner, name, image_id, on_log
            )
            report.examples.append(result)
    finally:
        for result in report.examples:  # unmounts a run's outputs before anything is deleted
            if result.run_id:
                with contextlib.suppress(Exception):
                    executor.remove(result.run_id)
        executor.stop()
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    report.passed = not report.problems and bool(report.examples) and all(e.passed for e in report.examples)
    if not manifest.examples:
        report.problems.append("the manifest has no examples, so nothing could be tested")
    return report


def _paths(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _run_example(
    executor: Executor,
    manifest: Manifest,
    index: int,
    example: Any,
    copied: dict[str, Path],
    work: Path,
    owner: str,
    name: str,
    image_id: str,
    on_log: LogSink | None,
) -> ExampleResult:
    result = ExampleResult(index=index, task=example.task, title=example.title, passed=False)
    inputs: dict[str, LocalInput] = {}
    for key, value in example.inputs.items():
        folder = work / "inputs" / str(index) / key
        folder.mkdir(parents=True)
        for path in _paths(value):
            source = copied.get(path)
            if source is None:
                result.problems.append(f"example input {key!r}: {path} is not in the image")
                continue
            target = folder / source.name
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
        for item in [folder, *folder.rglob("*")]:
            item.chmod(0o755 if item.is_dir() else 0o644)
        inputs[key] = LocalInput(folder)
    if result.problems:
        return result
    started = time.monotonic()
    label = f"[{index}:{example.task}]"
    if on_log:
        on_log(f"{label} {example.title or 'example ' + str(index)}")
    run = executor.submit(
        RunRequest(
            model=f"{name}@{image_id}",
            task=example.task,
            inputs=dict(inputs),
            parameters=dict(example.parameters),
            owner=owner,
        )
    )
    result.run_id = run.id
    if on_log:
        for line in executor.follow(run.id):
            on_log(f"{label} {line.text}")
    limit = manifest.resources.timeout_seconds + 120
    try:
        info = executor.wait(run.id, timeout=limit)
    except TimeoutError:  # the executor's own time limit should have ended it first
        executor.cancel(run.id, by="mlk test")
        info = executor.wait(run.id, timeout=60)
        result.problems.append(f"the run did not end within {limit} s")
    result.seconds = round(time.monotonic() - started, 2)
    result.state, result.exit_code = info.state, info.exit_code
    if info.state != "succeeded":
        result.problems.append(_run_reason(info))
    outputs_dir = Path(info.outputs_dir)
    problems, found = _output_problems(outputs_dir, manifest, example.task)
    result.outputs = found
    if info.state == "succeeded":
        result.problems.extend(problems)
        names = list(manifest.tasks[example.task].metrics)
        result.metrics, metric_issues = metric_problems(outputs_dir / "_metrics.json", names)
        result.problems.extend(metric_issues)
    result.passed = not result.problems
    return result
