"""JupyterLab launcher entries for the Voilà apps: ``python -m mlrun_kernel.hub.launcher DIR``.

Experts work in JupyterLab; jupyter-app-launcher (in the single-user image)
adds a launcher card per entry of the ``jp_app_launcher*.yaml`` files it finds
in ``JUPYTER_APP_LAUNCHER_PATH``. The entries come from the one table of apps
(``mlrun_kernel.hub.roles.APPS``), with this server's prefix (``/user/<name>/``),
so the image's entrypoint writes the file at every start (mlk-start.sh). Each
opens its app in a new browser tab, where the apps' navigation bar is at home.
Each card shows the app's icon (``icons/<key>.svg``, which jupyter-app-launcher
reads from disk and inlines), not JupyterLab's fallback of the title's letters.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from mlrun_kernel.hub.roles import APPS

FILE_NAME = "jp_app_launcher_mlk.yaml"
ICONS = Path(__file__).parent / "icons"


def launcher_entries(server_prefix: str) -> list[dict[str, Any]]:
    """One ``url`` entry per Voilà app an expert may open (JupyterLab itself needs none), under
    ``server_prefix``; the admins' evaluation app is one click away in every app's bar instead."""
    prefix = server_prefix if server_prefix.endswith("/") else server_prefix + "/"
    return [
        {
            "id": f"mlk-app-{app.key}",
            "title": app.title,
            "description": app.description,
            "type": "url",
            "source": prefix + app.path,
            "catalog": "Model apps",
            "args": {"createNewWindow": True},
            "icon": str(ICONS / f"{app.key}.svg"),
        }
        for app in APPS
        if app.path.startswith("voila/") and "model-expert" in app.roles  # not the admins' own app
    ]


def write_entries(folder: Path, server_prefix: str) -> Path:
    """Write the entries (YAML is a superset of JSON, so json.dumps serves) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    path.write_text(json.dumps(launcher_entries(server_prefix), indent=2) + "\n")
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m mlrun_kernel.hub.launcher DIR", file=sys.stderr)
        return 2
    # The hub gives every server its prefix; outside the hub the apps sit at the root.
    print(write_entries(Path(argv[0]), os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
