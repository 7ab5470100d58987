"""Publishing a model from a notebook: the model service builds, tests and pushes it.

An expert's JupyterLab container has no Docker socket, so the steps of
``mlk build && mlk test && mlk push`` run in the model service::

    from mlrun_kernel.expert import publish

    build = publish("my-model")     # the folder `mlk init my-model` made

:func:`publish` checks ``mlk.yaml`` here first (every problem with its path,
nothing sent), packs the folder as a tar stream (:func:`pack`: ``.dockerignore``
honoured, links refused, a size cap), sends it to ``POST /api/builds`` (the
publish scope), then shows the build and test log as it arrives with a
progress bar (ipywidgets in a notebook, plain lines elsewhere). It returns
the finished build, or raises :class:`BuildFailed` saying why.
"""

from __future__ import annotations

import fnmatch
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from mlrun_kernel.client import Client

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
"""The service's default cap (MLK_BUILD_CONTEXT_MAX_BYTES); the service enforces its own."""
ALWAYS_LEFT_OUT = (".git", "__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache", ".venv")


class ContextError(ValueError):
    """The folder cannot be sent: a link, too big, not a model folder. Says what to do."""


class BuildFailed(RuntimeError):
    """The service's build ended without publishing; ``build`` is its record."""

    def __init__(self, message: str, build: dict[str, Any]) -> None:
        super().__init__(message)
        self.build = build


def _ignored(folder: Path) -> list[str]:
    path = folder / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [
        line.rstrip("/") for line in lines if line and not line.startswith("#") and not line.startswith("!")
    ]


def _left_out(rel: str, patterns: list[str]) -> bool:
    parts = rel.split("/")
    if any(part in ALWAYS_LEFT_OUT for part in parts):
        return True
    for pattern in patterns:
        pattern = pattern.removeprefix("./").removeprefix("**/")
        if fnmatch.fnmatch(rel, pattern) or any(fnmatch.fnmatch(p, pattern) for p in parts):
            return True
        if rel.startswith(pattern + "/"):
            return True
    return False


def pack(folder: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> IO[bytes]:
    """The folder as a tar (spooled to disk past 16 MiB), read to send; see the module docstring."""
    root = Path(folder).resolve()
    if not (root / "mlk.yaml").is_file():
        raise ContextError(f"{root} has no mlk.yaml: give the model folder (`mlk init` makes one)")
    patterns = _ignored(root)
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - returned open
    total = 0
    with tarfile.open(fileobj=spool, mode="w") as tar:
        for current, dirs, files in os.walk(root, followlinks=False):
            here = Path(current)
            for name in sorted(dirs + files):
                path = here / name
                rel = path.relative_to(root).as_posix()
                if _left_out(rel, patterns):
                    if name in dirs:
                        dirs.remove(name)
                    continue
                if path.is_symlink():
                    target = os.readlink(path)
                    where = (path.parent / target).resolve()
                    outside = not where.is_relative_to(root)
                    place = "out of the folder " if outside else ""
                    raise ContextError(
                        f"{rel} is a link {place}(to {target}); links are refused: "
                        "copy the file into the folder instead"
                    )
                if name in dirs:
                    continue
                if not path.is_file():
                    raise ContextError(f"{rel} is not a regular file; only files are sent")
                total += path.stat().st_size
                if total > max_bytes:
                    raise ContextError(
                        f"the folder holds more than {max_bytes // (1024 * 1024)} MiB: leave data and "
                        "weights out (.dockerignore) and make them at build time"
                    )
                tar.add(path, arcname=rel, recursive=False)
            dirs.sort()
    spool.seek(0)
    return spool


def _chunks(stream: IO[bytes], size: int = 1024 * 1024) -> Iterator[bytes]:
    while piece := stream.read(size):
        yield piece


class _Display:
    """A progress bar and a log tail in a notebook; plain lines elsewhere."""

    def __init__(self, show: bool, tail: int = 25) -> None:
        self.show = show
        self.lines: list[str] = []
        self.tail = tail
        self.bar: Any = None
        self.log: Any = None
        if not show:
            return
        try:
            import ipywidgets as widgets
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="queued")
        self.log = widgets.HTML()
        display(widgets.VBox([self.bar, self.log]))

    def state(self, data: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.description = str(data.get("state"))
            if data.get("progress") is not None:
                self.bar.value = float(data["progress"])
        elif self.show:
            progress = data.get("progress")
            print(f"== {data.get('state')}" + (f" {progress:.0%}" if isinstance(progress, float) else ""))

    def line(self, text: str) -> None:
        self.lines.append(text)
        if self.log is not None:
            import html

            shown = "\n".join(html.escape(line) for line in self.lines[-self.tail :])
            self.log.value = f"<pre style='font-size:11px;max-height:24em;overflow:auto'>{shown}</pre>"
        elif self.show:
            print(text)


def publish(
    folder: str | os.PathLike[str],
    *,
    client: Client | None = None,
    force: bool = False,
    show: bool = True,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Build, contract-test and push the model in ``folder`` through the service (see the module)."""
    from mlrun_kernel.build import load_build_file

    spec = load_build_file(Path(folder))  # errors with paths, before anything is sent
    client = client or Client()
    with pack(folder) as context:
        build = client.start_build(_chunks(context), force=force)
    display = _Display(show)
    display.line(f"build {build['id']}: {spec.image}:{spec.metadata.version}")
    final = build
    last = 0
    for _attempt in range(5):  # a dropped stream resumes from the last line seen
        try:
            for event, data in client.follow_build(build["id"], after=last):
                if on_event is not None:
                    on_event(event, data)
                if event == "log":
                    last = int(data["seq"])
                    display.line(str(data["text"]))
                elif event == "state":
                    display.state(data)
                elif event == "end":
                    final = data
            break
        except Exception:  # noqa: BLE001 - the stream broke; resume below, the build goes on
            continue
    if final.get("state") not in ("succeeded", "failed", "cancelled", "timed_out"):
        final = client.get_build(build["id"])
    display.state(final)
    if final.get("state") != "succeeded":
        raise BuildFailed(f"build {final['id']} {final.get('state')}: {final.get('reason')}", final)
    return final


__all__ = ["BuildFailed", "ContextError", "pack", "publish"]
