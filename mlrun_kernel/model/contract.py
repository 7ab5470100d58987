"""The model image contract as a model sees it from inside its container.

Paths come from the ``MLK_*`` variables, defaulting to the fixed ``/mlk/...``
locations (``docs/model-spec.md``, "At run time"), so the same code runs in a
container and in a test that points the variables at temporary folders.
Standard library only: this module is copied into model images as it is.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

EXIT_REJECTED = 64
"""The contract's exit code for "your input or parameters are unusable"."""
EXIT_FAILED = 1


class InputRejected(Exception):
    """The input or parameters cannot be used; the message tells the user what to fix.

    Raised from a task, it ends the run with exit 64 and the message in ``_failure.txt``.
    """


def outputs_dir() -> Path:
    """``/mlk/outputs`` (``$MLK_OUTPUTS``): everything written here is collected."""
    return Path(os.environ.get("MLK_OUTPUTS", "/mlk/outputs"))


def inputs_dir() -> Path:
    """``/mlk/inputs`` (``$MLK_INPUTS``): one read-only folder per declared input."""
    return Path(os.environ.get("MLK_INPUTS", "/mlk/inputs"))


def params_path() -> Path:
    """``/mlk/params.json`` (``$MLK_PARAMS``): the validated parameters, defaults filled in."""
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


def input_files(name: str) -> list[Path]:
    """Every file of input ``name`` (hidden files left out), sorted by path."""
    base = inputs_dir() / name
    if base.is_file():
        return [base]
    if not base.is_dir():
        return []
    return sorted(
        p
        for p in base.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(base).parts)
    )


def optional_input_file(name: str, *, suffixes: tuple[str, ...] = (".csv",)) -> Path | None:
    """The file behind input ``name``, or None when nothing was given: the single file
    in its folder, else the first with one of ``suffixes``."""
    files = input_files(name)
    if not files:
        return None
    if len(files) == 1:
        return files[0]
    for path in files:
        if path.suffix.lower() in suffixes:
            return path
    raise InputRejected(f"input '{name}' holds {len(files)} files and none ends with {', '.join(suffixes)}")


def input_file(name: str, *, suffixes: tuple[str, ...] = (".csv",)) -> Path:
    """Like :func:`optional_input_file`, for a required input: missing is a rejection."""
    path = optional_input_file(name, suffixes=suffixes)
    if path is None:
        raise InputRejected(f"input '{name}' is missing: no file under {inputs_dir() / name}")
    return path


def output_path(relative: str) -> Path:
    """Where to write output ``relative`` (its folder made); refuses paths that leave the outputs."""
    root = outputs_dir()
    path = (root / relative).resolve()
    if root.resolve() not in (path, *path.parents):
        raise ValueError(f"output path {relative!r} leaves {root}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def progress(fraction: float, message: str = "") -> None:
    """Move the run's progress bar: prints ``mlk:progress 0.42 message`` on stdout."""
    fraction = min(max(float(fraction), 0.0), 1.0)
    print(f"mlk:progress {fraction:.2f} {message}".rstrip(), flush=True)


def write_json(name: str, data: Any) -> Path:
    """Write ``data`` as JSON to ``/mlk/outputs/<name>``."""
    path = output_path(name)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def write_metrics(values: Mapping[str, float] | None = None, /, **more: float) -> Path:
    """Write ``_metrics.json``; every value must be a finite number (the platform charts them)."""
    metrics = {**(values or {}), **more}
    for key, value in metrics.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise TypeError(f"metric {key!r} must be a finite number, got {value!r}")
    return write_json("_metrics.json", {key: float(value) for key, value in metrics.items()})


def write_result(data: Mapping[str, Any]) -> Path:
    """Write ``_result.json``: a small structured result shown on the results page."""
    return write_json("_result.json", dict(data))


def write_failure(reason: str) -> None:
    """Write ``_failure.txt``, the reason a failed run shows; never raises."""
    try:
        out = outputs_dir()
        out.mkdir(parents=True, exist_ok=True)
        (out / "_failure.txt").write_text(reason.rstrip() + "\n", encoding="utf-8")
    except OSError:
        pass  # the reason still reaches the log through stderr
