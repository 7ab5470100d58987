"""``python -m mlrun_kernel.model schema MODULE...``: the tasks' parameter schemas, as JSON.

``mlk build`` runs this inside the freshly built image (no network, as the run
user), because only the image has the model's dependencies. It imports each
module (a package's ``__main__`` when the module is a package, where
``python -m package`` tasks live), then prints one JSON line::

    {"tasks": {"predict": {"schema": {...}, "description": "..."}}, "errors": []}

``schema`` is null for a ``params: dict`` task. A task whose parameters cannot
become a schema is listed in ``errors`` with the reason; the build refuses it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import traceback
from typing import Any

from .tasks import SchemaError, registered


def _import(module: str) -> None:
    spec = importlib.util.find_spec(module)
    package = spec is not None and spec.submodule_search_locations is not None
    if package and importlib.util.find_spec(f"{module}.__main__") is not None:
        module = f"{module}.__main__"
    importlib.import_module(module)


def schemas(modules: list[str]) -> dict[str, Any]:
    errors: list[str] = []
    for module in modules:
        try:
            _import(module)
        except Exception:  # noqa: BLE001 - reported to the build with the traceback's tail
            tail = traceback.format_exc().strip().splitlines()[-6:]
            errors.append(f"importing {module} failed:\n" + "\n".join(tail))
    tasks: dict[str, Any] = {}
    for name, item in registered().items():
        try:
            tasks[name] = {"schema": item.schema(), "description": item.description}
        except SchemaError as exc:
            errors.append(str(exc))
    return {"tasks": tasks, "errors": errors}


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "schema":
        print("usage: python -m mlrun_kernel.model schema MODULE...", file=sys.stderr)
        return 2
    print(json.dumps(schemas(argv[1:]), allow_nan=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
