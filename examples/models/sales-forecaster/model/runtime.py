"""The model image contract as seen from inside the container.

Paths come from the ``MLK_*`` environment variables, defaulting to the fixed
``/mlk/...`` locations, so the same code runs in a container and in a test that
points the variables at temporary folders.

- ``inputs_dir``/``input_file``: the dataset files of a declared input.
- ``load_params``: the run's parameters (validated by the platform; we stay
  defensive anyway).
- ``progress``: ``mlk:progress`` lines that move the run's progress bar.
- ``write_json``: ``_metrics.json``, ``_result.json`` and friends.
- ``InputRejected`` + ``run_task``: exit 64 with ``_failure.txt`` when the input
  or parameters are unusable; any other error exits 1 with a short reason.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

EXIT_REJECTED = 64
EXIT_FAILED = 1


class InputRejected(Exception):
    """The input or parameters cannot be used; the message tells the user what to fix."""


def outputs_dir() -> Path:
    return Path(os.environ.get("MLK_OUTPUTS", "/mlk/outputs"))


def inputs_dir() -> Path:
    return Path(os.environ.get("MLK_INPUTS", "/mlk/inputs"))


def params_path() -> Path:
    return Path(os.environ.get("MLK_PARAMS", "/mlk/params.json"))


def load_params() -> dict[str, Any]:
    """The run's parameters; an absent file means "all defaults"."""
    path = params_path()
    if not path.is_file():
        return {}
    try:
        params = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise InputRejected(f"parameters file {path} is not valid JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise InputRejected("parameters must be a JSON object")
    return params


def optional_input_file(name: str, *, suffixes: tuple[str, ...] = (".csv",)) -> Path | None:
    """The file behind input ``name``, or None when nothing was given: the single file
    in its folder, else the first with one of ``suffixes`` (sorted by name). A plain
    file at the path is used as is."""
    base = inputs_dir() / name
    if base.is_file():
        return base
    files: list[Path] = []
    if base.is_dir():
        files = sorted(
            p
            for p in base.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(base).parts)
        )
    if not files:
        return None
    if len(files) == 1:
        return files[0]
    for path in files:
        if path.suffix.lower() in suffixes:
            return path
    raise InputRejected(f"input '{name}' holds {len(files)} files and none ends with {', '.join(suffixes)}")


def input_file(name: str, *, suffixes: tuple[str, ...] = (".csv",)) -> Path:
    """Like :func:`optional_input_file`, for a required input."""
    path = optional_input_file(name, suffixes=suffixes)
    if path is None:
        raise InputRejected(f"input '{name}' is missing: no file under {inputs_dir() / name}")
    return path


def progress(fraction: float, message: str = "") -> None:
    fraction = min(max(fraction, 0.0), 1.0)
    print(f"mlk:progress {fraction:.2f} {message}".rstrip(), flush=True)


def write_json(name: str, data: Any) -> Path:
    path = outputs_dir() / name
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def _write_failure(reason: str) -> None:
    try:
        out = outputs_dir()
        out.mkdir(parents=True, exist_ok=True)
        (out / "_failure.txt").write_text(reason.rstrip() + "\n", encoding="utf-8")
    except OSError:
        pass  # the reason still reaches the log through stderr


def run_task(tasks: Mapping[str, Callable[[dict[str, Any]], None]], argv: list[str]) -> int:
    """Run ``argv[0]`` (or ``$MLK_TASK``) and map its outcome to the contract's exit codes."""
    name = argv[0] if argv else os.environ.get("MLK_TASK", "")
    if name not in tasks:
        known = ", ".join(sorted(tasks))
        print(f"unknown task {name!r}; this model knows: {known}", file=sys.stderr)
        return 2
    try:
        outputs_dir().mkdir(parents=True, exist_ok=True)
        tasks[name](load_params())
    except InputRejected as exc:
        _write_failure(str(exc))
        print(f"rejected: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except Exception as exc:  # noqa: BLE001 - every other failure is reported, not hidden
        traceback.print_exc()
        _write_failure(f"{name} failed: {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    return 0
