"""Who lands where and sees which apps: the table the hub pages, the guard and the nav bar share."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrun_kernel.hub.guard import WORKBENCH_PAGES, not_for_you_page
from mlrun_kernel.hub.roles import apps_for, home_apps, landing_url, may_use_jupyterlab, role_of


@pytest.mark.parametrize(
    ("groups", "admin", "role"),
    [
        ([], False, "model-user"),
        (["model-users"], False, "model-user"),
        (["model-users", "model-experts"], False, "model-expert"),
        (["model-experts", "model-admins"], False, "model-admin"),
        ([], True, "model-admin"),
    ],
)
def test_the_strongest_group_decides_the_role(groups: list[str], admin: bool, role: str) -> None:
    assert role_of(groups, admin) == role


def test_model_users_land_in_the_gallery_experts_in_jupyterlab_admins_in_evaluations() -> None:
    assert landing_url("model-user") == "/voila/render/apps/models.ipynb"
    assert landing_url("model-admin") == "/voila/render/apps/evaluate.ipynb"
    assert landing_url("model-expert") == "/lab/tree/notebooks"
    assert not may_use_jupyterlab("model-user")
    assert may_use_jupyterlab("model-expert") and may_use_jupyterlab("model-admin")


def test_the_home_page_lists_the_apps_of_the_role_under_the_users_server() -> None:
    user_apps = home_apps(["model-users"], False, "/user/ada/")
    assert [app["key"] for app in user_apps] == ["models", "runs", "datasets"]
    assert user_apps[0]["url"] == "/user/ada/voila/render/apps/models.ipynb"
    expert = [app["key"] for app in home_apps(["model-experts"], False, "/user/grace")]
    assert expert == ["models", "runs", "datasets", "lab"]
    assert "lab" not in [app.key for app in apps_for("model-user")]


@pytest.mark.parametrize(
    ("path", "guarded"),
    [
        ("lab", True),
        ("lab/", True),
        ("lab/tree/notebooks/x.ipynb", True),
        ("lab/workspaces/auto-x", True),
        ("tree", True),
        ("tree/apps", True),
        ("notebooks/x.ipynb", True),
        ("terminals/1", True),
        ("lab/api/settings", False),
        ("lab/extensions/x.js", False),
        ("voila/render/apps/models.ipynb", False),
        ("api/kernels", False),
        ("static/x.js", False),
    ],
)
def test_the_guard_covers_the_workbench_pages_not_their_apis(path: str, guarded: bool) -> None:
    assert bool(WORKBENCH_PAGES.fullmatch(path)) is guarded


def test_the_page_instead_of_jupyterlab_points_back_to_the_apps() -> None:
    page = not_for_you_page("Acme <Models>", "/user/ada/", "/hub/", "model-user")
    assert "This page is for model experts" in page
    assert 'href="/user/ada/voila/render/apps/models.ipynb"' in page
    assert 'href="/hub/home"' in page
    assert "Acme &lt;Models&gt;" in page and "<Models>" not in page
    assert "Traceback" not in page


def test_the_roles_name_the_hubs_groups() -> None:
    from mlrun_kernel.hub import groups, roles

    assert (roles.MODEL_EXPERTS, roles.MODEL_ADMINS) == (groups.MODEL_EXPERTS, groups.MODEL_ADMINS)


def test_the_notebook_servers_parts_load_without_the_service() -> None:
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['fastapi'] = None;"
        "import mlrun_kernel.hub.guard, mlrun_kernel.widgets.nav;"
        "assert 'mlrun_kernel.service' not in sys.modules, 'the service was imported'"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_jupyterlab_gets_a_launcher_entry_per_voila_app(tmp_path) -> None:
    import json

    from mlrun_kernel.hub.launcher import write_entries

    path = write_entries(tmp_path, "/user/grace/")
    entries = json.loads(path.read_text())  # YAML is a superset of JSON
    assert path.name.startswith("jp_app_launcher")
    assert [e["title"] for e in entries] == ["Models", "Runs", "Datasets"]
    assert entries[0]["source"] == "/user/grace/voila/render/apps/models.ipynb"
    assert all(e["type"] == "url" and e["args"] == {"createNewWindow": True} for e in entries)
    for entry in entries:  # an icon of its own, not JupyterLab's letters of the title
        icon = Path(entry["icon"])
        assert icon.name == f"{entry['id'].removeprefix('mlk-app-')}.svg"
        assert icon.read_text().startswith('<svg xmlns="http://www.w3.org/2000/svg"')
