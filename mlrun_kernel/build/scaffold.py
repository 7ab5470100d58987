"""``mlk init``: a model project that builds, tests and publishes untouched.

Templates live in ``mlrun_kernel/templates/<name>/``; every file there ends in
``.tmpl`` (so the project's own linters and type checker leave them alone),
and ``dot-`` stands for a leading ``.``. Copying drops both and fills in
``__MLK_NAME__``, ``__MLK_TITLE__`` and ``__MLK_AUTHOR__``.
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

TEMPLATES = ("sklearn", "pytorch", "tensorflow", "generic")
DEFAULT_TEMPLATE = "sklearn"
_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")


class ScaffoldError(ValueError):
    """The folder or the name cannot take a new project; says what to do instead."""


@dataclass(frozen=True)
class Scaffold:
    folder: Path
    template: str
    name: str
    files: list[str]


def model_name(folder: Path) -> str:
    """A repository name from a folder name: ``My Model`` -> ``my-model``."""
    name = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-")
    return name or "my-model"


def _files(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for item in sorted(root.iterdir(), key=lambda entry: entry.name):
        if item.is_dir():
            found.extend(_files(item, f"{prefix}{item.name}/"))
        elif item.name.endswith(".tmpl"):
            target = item.name.removesuffix(".tmpl")
            target = "." + target.removeprefix("dot-") if target.startswith("dot-") else target
            found.append((prefix + target, item))
    return found


def scaffold(
    folder: Path | str,
    *,
    template: str = DEFAULT_TEMPLATE,
    name: str | None = None,
    title: str | None = None,
    force: bool = False,
) -> Scaffold:
    """Copy ``template`` into ``folder``; refuses a non-empty folder unless ``force``."""
    folder = Path(folder)
    if template not in TEMPLATES:
        raise ScaffoldError(f"no template {template!r}; choose one of {', '.join(TEMPLATES)}")
    if folder.exists() and not folder.is_dir():
        raise ScaffoldError(f"{folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise ScaffoldError(
            f"{folder} is not empty; choose an empty folder, or give --force to write into it"
        )
    name = name or model_name(folder)
    if not _NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a model name: lowercase letters and digits, with '.', '_' or '-' between"
        )
    title = title or name.replace("-", " ").replace("_", " ").capitalize()
    values = {"__MLK_NAME__": name, "__MLK_TITLE__": title, "__MLK_AUTHOR__": getpass.getuser()}
    root = resources.files("mlrun_kernel").joinpath("templates", template)
    written = []
    for relative, source in _files(root):
        text = source.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(relative)
    return Scaffold(folder=folder, template=template, name=name, files=written)
