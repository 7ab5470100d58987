"""A run's inputs: each declared input resolved to a folder of files on the host.

This is the one place runs meet datasets, through the :class:`~mlrun_kernel.datasets.Datasets`
the executor was given. A string names a dataset version (``name``,
``owner/name``, with ``:3`` for version 3; default the newest), resolved with
the owner's rights; a :class:`DatasetVersionInput` names one version by its id
(a re-run: the very version the first run read, whatever was uploaded since).
The run's record keeps the version's id; the run holds it (``run:<id>``) so it
cannot be deleted while the run needs it, and it is laid out for the container
by that id, as hard links to its blobs (no copy). A :class:`LocalInput` names a
file or folder on the host; only trusted callers (the CLI, tests) make those,
never the service from a user's string.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrun_kernel.datasets import DatasetError, Datasets, DatasetVersionInfo, Principal
from mlrun_kernel.runs.errors import InvalidRun
from mlrun_kernel.spec import InputSpec
from mlrun_kernel.spec.media import media_type_accepted


@dataclass(frozen=True)
class LocalInput:
    """A file or folder on the executor's host, mounted read-only as it is."""

    path: Path


@dataclass(frozen=True)
class DatasetVersionInput:
    """One stored dataset version by its id: what a re-run gives for a dataset input.

    ``sha256`` is the content recorded with the id; a version by that id with other
    content (the dataset deleted and made again) is refused, never run on."""

    version_id: int
    sha256: str | None = None

    @classmethod
    def of(cls, recorded: dict[str, Any]) -> DatasetVersionInput:
        """The version a run's record names for one of its dataset inputs."""
        identity = str(recorded.get("identity") or "")
        sha = identity.removeprefix("dataset:") if identity.startswith("dataset:") else None
        return cls(int(recorded["version_id"]), sha)


InputSource = str | LocalInput | DatasetVersionInput


def parse_dataset_ref(text: str) -> tuple[str, int | None]:
    """``ana/sales:3`` -> (``ana/sales``, 3); ``sales`` -> (``sales``, None)."""
    ref, sep, version = text.rpartition(":")
    if sep and version.isdigit():
        return ref, int(version)
    return text, None


def _local_identity(path: Path) -> str:
    """The content hash of a local file or folder (names, sizes, bytes), for reuse."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        rel = file.name if file == path else file.relative_to(path).as_posix()
        content = hashlib.sha256()
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                content.update(chunk)
        digest.update(f"{rel}\0{content.hexdigest()}\n".encode())
    return digest.hexdigest()


def resolve_inputs(
    datasets: Datasets,
    owner: Principal | str,
    declared: dict[str, InputSpec],
    given: dict[str, InputSource],
) -> dict[str, dict[str, Any]]:
    """Check ``given`` against the task's inputs; return what the run row stores per input.

    Each value is JSON: ``{"kind": "dataset", "ref", "version", "version_id",
    "identity", "media_type"}`` or ``{"kind": "local", "path", "identity"}``.
    """
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise InvalidRun(
            f"input {unknown[0]!r} is not an input of this task (inputs: {', '.join(declared) or 'none'})"
        )
    missing = [n for n, spec in declared.items() if spec.required and n not in given]
    if missing:
        raise InvalidRun(f"input {missing[0]!r} is required (give --input {missing[0]}=DATASET)")
    resolved: dict[str, dict[str, Any]] = {}
    for name, source in given.items():
        spec = declared[name]
        if isinstance(source, LocalInput):
            path = Path(source.path).resolve()
            if not path.exists():
                raise InvalidRun(f"input {name!r}: {path} does not exist")
            resolved[name] = {
                "kind": "local",
                "path": str(path),
                "identity": "local:" + _local_identity(path),
            }
            continue
        info = _dataset_version(datasets, owner, name, source)
        if not media_type_accepted(info.media_type, spec.media_types):
            raise InvalidRun(
                f"input {name!r}: dataset {info.ref}:{info.version} is {info.media_type}, "
                f"but the task accepts {', '.join(spec.media_types)}"
            )
        if info.file_count > 1 and not spec.multiple:
            raise InvalidRun(
                f"input {name!r} takes one file, but dataset {info.ref}:{info.version} "
                f"holds {info.file_count}"
            )
        resolved[name] = {
            "kind": "dataset",
            "ref": info.ref,
            "version": info.version,
            "version_id": info.id,
            "media_type": info.media_type,
            "identity": f"dataset:{info.sha256}",
        }
    return resolved


def _dataset_version(
    datasets: Datasets, owner: Principal | str, name: str, source: str | DatasetVersionInput
) -> DatasetVersionInfo:
    try:
        if isinstance(source, DatasetVersionInput):
            return datasets.version_by_id(owner, source.version_id, sha256=source.sha256)
        ref, version = parse_dataset_ref(source)
        return datasets.get_version(owner, ref, version)
    except DatasetError as exc:
        raise InvalidRun(f"input {name!r}: {exc}") from exc


def can_read_version(datasets: Datasets, who: Principal | str, info: dict[str, Any]) -> bool:
    """Whether ``who`` may read the dataset version a run's input ``info`` names, today."""
    try:
        wanted = DatasetVersionInput.of(info)
        datasets.version_by_id(who, wanted.version_id, sha256=wanted.sha256)
    except (DatasetError, KeyError, TypeError, ValueError):
        return False
    return True


def hold_inputs(datasets: Datasets, run_id: str, inputs: dict[str, dict[str, Any]]) -> None:
    """Keep the run's dataset versions from deletion until :func:`release_inputs`."""
    for info in inputs.values():
        if info.get("kind") == "dataset":
            datasets.hold(int(info["version_id"]), f"run:{run_id}")


def release_inputs(datasets: Datasets, run_id: str, inputs: dict[str, Any]) -> None:
    if any(i.get("kind") == "dataset" for i in inputs.values()):
        datasets.release(f"run:{run_id}")


def mount_inputs(
    datasets: Datasets, run_dir: Path, inputs: dict[str, dict[str, Any]]
) -> list[tuple[str, str]]:
    """Lay out each input on the host; ``(host path, container path)`` pairs to mount read-only.

    A dataset input is laid out by the version id its record names: the hold
    kept that version, and the run was allowed to read it when it was submitted
    (its owner may have lost sight of it since, by an unshare)."""
    mounts: list[tuple[str, str]] = []
    for name, info in sorted(inputs.items()):
        target = f"/mlk/inputs/{name}"
        if info["kind"] == "local":
            path = Path(info["path"])
            if path.is_file():
                mounts.append((str(path), f"{target}/{path.name}"))
            else:
                mounts.append((str(path), target))
            continue
        folder = run_dir / "inputs" / name
        if not folder.exists() or not any(folder.iterdir()):
            datasets.materialize_version(int(info["version_id"]), folder)
        _readable(folder)
        mounts.append((str(folder), target))
    return mounts


def _readable(folder: Path) -> None:
    """Folders 0755, files at least 0444: the model's user (MLK_RUN_USER) must read them."""
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o755)
        for name in files:
            path = os.path.join(root, name)
            mode = os.stat(path).st_mode
            if mode & 0o444 != 0o444:
                os.chmod(path, mode | 0o444)
        del dirs  # walked by os.walk
