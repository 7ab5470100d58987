"""docs/configuration.md, written from the settings declarations so the page cannot drift.

:data:`SETTINGS_CLASSES` names every :class:`~mlrun_kernel.config.MlkSettings`
class, in the order the page shows them; :func:`render` turns their fields
(variable, type, default, description) into one table per section.
``scripts/gen-config-docs.py`` writes the page; tests/unit/test_config_docs.py
checks that the committed page is what :func:`render` gives today.
"""

from __future__ import annotations

import importlib
import json
import types
import typing
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mlrun_kernel.config import MlkSettings

SETTINGS_CLASSES = (
    "mlrun_kernel.config:Settings",
    "mlrun_kernel.config:ClientSettings",
    "mlrun_kernel.datasets.settings:DatasetSettings",
    "mlrun_kernel.runs.limits:RunSettings",
    "mlrun_kernel.builds.settings:BuildSettings",
    "mlrun_kernel.evaluations.settings:EvaluationSettings",
    "mlrun_kernel.service.config:ServiceSettings",
)
"""``module:Class`` of each settings area; a new area is added here."""

REGENERATE = ".venv/bin/python scripts/gen-config-docs.py"
PAGE = Path("docs") / "configuration.md"

_TYPE_NAMES: dict[Any, str] = {
    str: "text",
    int: "integer",
    float: "number",
    bool: "boolean (1/0, true/false)",
    Path: "path",
}


def settings_classes() -> list[type[MlkSettings]]:
    """The declared settings classes, imported."""
    found = []
    for spec in SETTINGS_CLASSES:
        module, _, name = spec.partition(":")
        found.append(getattr(importlib.import_module(module), name))
    return found


def type_name(annotation: Any) -> str:
    """An operator's name for a field's type: ``int | None`` -> ``integer``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        names = [type_name(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
        return " or ".join(names)
    if typing.get_origin(annotation) is typing.Literal:
        return " or ".join(f"`{value}`" for value in typing.get_args(annotation))
    if typing.get_origin(annotation) in (list, tuple, set, frozenset):
        (item, *_) = typing.get_args(annotation) or (str,)
        return f"JSON list of {type_name(item)}"
    return _TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size and n % (size // 16 or 1) == 0:
            value = n / size
            return f"{value:g} {unit}"
    return f"{n} bytes"


def _duration(seconds: float) -> str:
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{sec} s" if sec else ""]
    return " ".join(part for part in parts if part)


def default_text(name: str, field: FieldInfo) -> str:
    """The default as the page shows it; a computed one is told in the description."""
    if field.default_factory is not None:
        return "computed (see description)"
    value = field.default
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) and name.endswith("_bytes") and value >= 1024:
        return f"`{value}` ({_bytes(value)})"
    if isinstance(value, int | float) and name.endswith("_seconds") and value >= 60 and value == int(value):
        return f"`{value:g}` ({_duration(value)})"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, list | tuple | set | frozenset):
        return f"`{json.dumps(list(value))}`"
    return f"`{value}`"


def _markdown(text: str) -> str:
    """Docstring text as Markdown: ``code`` -> `code`, and ``<`` outside code is no HTML tag."""
    parts = " ".join(text.split()).replace("``", "`").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts))


def _cell(text: str) -> str:
    return _markdown(text).replace("|", "\\|")


def _first_paragraph(doc: str | None) -> str:
    return _markdown((doc or "").strip().split("\n\n")[0])


def section(cls: type[MlkSettings]) -> str:
    """One area: heading, what it is for, and a table of its options."""
    lines = [
        f"## {cls.section or cls.__name__}",
        "",
        f"{_first_paragraph(cls.__doc__)} (`{cls.__module__}.{cls.__name__}`)",
        "",
        "| Variable | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for name, field in cls.model_fields.items():
        variables = cls.variables(name)
        if not variables:
            continue  # passed in by the code, declared in another area
        variable = f"`{variables[0]}`" + "".join(f" (or `{other}`)" for other in variables[1:])
        lines.append(
            f"| {variable} | {_cell(type_name(field.annotation))} | {_cell(default_text(name, field))} "
            f"| {_cell(field.description or '')} |"
        )
    return "\n".join(lines)


_INTRO = f"""\
# Configuration

<!-- Generated from the settings declarations by `{REGENERATE}`; do not edit by hand. -->

Every option of the platform is an environment variable, declared once in the
code with its type, default and description (pydantic-settings classes that
subclass `mlrun_kernel.config.MlkSettings`); this page is generated from those
declarations. The defaults serve one machine. An empty variable counts as
unset. A value that does not fit stops the program with an error that names
the variable, the value and what it must be.

The processes read their options once, at start: set them for the hub (which
passes them on to the model service) or for the `mlk` command. Notebooks read
the *Notebooks and the mlk command line* options each time a `Client()` is made.

The hub's own options (where it listens, authentication, groups, the notebook
containers: `MLK_HUB_BIND_URL`, `MLK_SHARED_PASSWORD`, `MLK_MODEL_USERS`,
`MLK_SINGLEUSER_IMAGE`, ...) are documented in the table at the top of
[`jupyterhub_config.py`](../jupyterhub_config.py).

To add an option, add a field with a `description` to the class of its area,
then run `{REGENERATE}`.
"""


def render() -> str:
    """The whole page, as it is committed."""
    return "\n\n".join([_INTRO.rstrip(), *(section(cls) for cls in settings_classes())]) + "\n"


def write(root: Path) -> Path:
    """Write the page under the repository ``root``; returns its path."""
    path = root / PAGE
    path.write_text(render())
    return path
