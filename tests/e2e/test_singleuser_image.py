"""What an expert finds in the notebook container: the curated notebooks, and they run there."""

from __future__ import annotations

import json
import runpy

import pytest

from tests.paths import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.hub]


def test_curated_notebooks_ship_in_the_image_and_run_there(docker_client, singleuser_image: str) -> None:
    # The ones that need the model service run against one in tests/build/test_publish_notebook.py.
    needs_service = set(runpy.run_path(str(ROOT / "notebooks" / "conftest.py"))["NEEDS_SERVICE"])
    shipped = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    notebooks = [name for name in shipped if name not in needs_service]
    assert notebooks and needs_service <= set(shipped)
    for name in notebooks:
        # Detached, waited, then logs read whole: `run(remove=True)` can cut long output.
        container = docker_client.containers.run(
            singleuser_image,
            ["jupyter", "nbconvert", "--to", "notebook", "--execute", "--stdout", f"notebooks/{name}"],
            detach=True,
            network_disabled=True,
        )
        try:
            status = container.wait(timeout=300)
            out = container.logs(stdout=True, stderr=False)
            assert status["StatusCode"] == 0, container.logs(stdout=False, stderr=True).decode()[-2000:]
        finally:
            container.remove(force=True)
        executed = json.loads(out)
        outputs = [o for cell in executed["cells"] for o in cell.get("outputs", [])]
        errors = [o for o in outputs if o.get("output_type") == "error"]
        assert not errors, (name, errors)


def test_jupyterlab_does_not_ask_users_about_news(docker_client, singleuser_image: str) -> None:
    script = (
        "import json, subprocess, pathlib;"
        "out = subprocess.run(['jupyter', 'lab', 'path'], capture_output=True, text=True).stdout;"
        "app = [l.split(':', 1)[1].strip() for l in out.splitlines()"
        " if l.startswith('Application directory')][0];"
        "print(json.dumps(json.loads(pathlib.Path(app, 'settings', 'overrides.json').read_text())))"
    )
    out = docker_client.containers.run(singleuser_image, ["python", "-c", script], remove=True)
    settings = json.loads(out)["@jupyterlab/apputils-extension:notification"]
    assert settings == {"checkForUpdates": False, "fetchNews": "false"}


def test_the_server_culls_kernels_after_the_hubs_idle_timeout(docker_client, singleuser_image: str) -> None:
    script = (
        "import json; from traitlets.config.loader import PyFileConfigLoader;"
        "c = PyFileConfigLoader('jupyter_server_config.py', path='/etc/jupyter').load_config();"
        "print(json.dumps({**c.MappingKernelManager, 'manager': c.ServerApp.kernel_manager_class}))"
    )
    out = docker_client.containers.run(
        singleuser_image,
        ["python", "-c", script],
        environment={"MLK_KERNEL_IDLE_TIMEOUT": "42"},
        remove=True,
        network_disabled=True,
    )
    assert json.loads(out) == {
        "cull_idle_timeout": 42,
        "cull_interval": 21,
        "cull_connected": False,
        "cull_busy": False,
        "manager": "mlrun_kernel.hub.warm.WarmKernelManager",
    }
