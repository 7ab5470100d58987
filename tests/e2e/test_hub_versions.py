"""The hub stack is the one pyproject.toml promises, on the host and in the image.

The ranges in the ``hub``, ``singleuser`` and ``widgets`` extras are chosen on
purpose (JupyterHub 6.1 + DockerSpawner 14 + Voila 0.5 + ipyvuetify 3); these
tests fail when an install drifts out of them, and prove that a spawned
single-user server really runs JupyterHub 6.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Callable
from importlib.metadata import version
from typing import TYPE_CHECKING

import docker
import httpx
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.paths import ROOT

if TYPE_CHECKING:
    from tests.e2e.conftest import Hub, HubSession

HUB_STACK = ("jupyterhub", "dockerspawner")
SINGLEUSER_STACK = ("jupyterhub", "jupyterlab", "voila", "ipywidgets", "ipyvuetify")


def _promised(*extras: str) -> dict[str, Requirement]:
    """The requirements of ``extras`` in pyproject.toml, by package name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    promised: dict[str, Requirement] = {}
    for extra in extras:
        for line in project["optional-dependencies"][extra]:
            requirement = Requirement(line)
            promised[requirement.name.lower()] = requirement
    return promised


def test_host_hub_stack_is_in_the_promised_ranges() -> None:
    promised = _promised("hub", "singleuser", "widgets")
    for name in (*HUB_STACK, "voila", "ipyvuetify"):
        installed = Version(version(name))
        assert installed in promised[name].specifier, f"{name} {installed} not in {promised[name]}"


@pytest.mark.docker
def test_single_user_image_has_the_promised_versions(singleuser_image: str) -> None:
    promised = _promised("singleuser", "widgets")
    script = (
        "import json, importlib.metadata as m;"
        f"print(json.dumps({{n: m.version(n) for n in {list(SINGLEUSER_STACK)!r}}}))"
    )
    output = docker.from_env().containers.run(singleuser_image, ["python", "-c", script], remove=True)
    installed = json.loads(output.decode().strip().splitlines()[-1])
    for name in SINGLEUSER_STACK:
        assert Version(installed[name]) in promised[name].specifier, (
            f"{name} {installed[name]} in the image is not in {promised[name]}"
        )


@pytest.mark.docker
@pytest.mark.registry
@pytest.mark.hub
def test_spawned_single_user_server_runs_jupyterhub_6(
    hub: Hub, hub_session: Callable[[str], HubSession]
) -> None:
    hub_info = httpx.get(f"{hub.url}/hub/api/", timeout=30).json()
    assert hub_info["version"] == version("jupyterhub")

    session = hub_session("margaret")
    started = time.monotonic()
    server = session.spawn()
    print(f"[e2e] REST spawn ready in {time.monotonic() - started:.1f}s")
    token = session.new_token()
    # The single-user server answers through the proxy, and says which jupyterhub it runs.
    response = httpx.get(
        f"{hub.url}{server['url']}api/status",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    singleuser_version = Version(response.headers["X-JupyterHub-Version"])
    assert singleuser_version.major == 6, singleuser_version
    assert singleuser_version in _promised("singleuser")["jupyterhub"].specifier
