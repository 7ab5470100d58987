"""A notebook's whole path through the model service with ``Client()`` and nothing configured:
list models, upload a dataset, start a run, read its results, inside a spawned container."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import docker
import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Hub, HubSession

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub]

NOTEBOOK = r"""
import json
from mlrun_kernel.client import Client

client = Client()  # MLK_SERVICE_URL and JUPYTERHUB_API_TOKEN come from the hub
models = [m["name"] for m in client.list_models(task="predict")]
rows = ("sepal_length,sepal_width,petal_length,petal_width\n"
        "5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n5.9,3.0,4.2,1.5\n")
version = client.upload_dataset(rows.encode(), "flowers", filename="flowers.csv", chunk_bytes=40)
run = client.start_run("iris-classifier", inputs={"data": version["ref"]}, parameters={"threshold": 0.2})
done = client.wait_run(run["id"], timeout=240, poll=1)
outputs = [o["path"] for o in client.run_outputs(run["id"])]
predictions = client.read_output(run["id"], "predictions.csv").decode()
preview = client.preview_output(run["id"], "predictions.csv")
logs = client.run_logs(run["id"])
print(json.dumps({"models": models, "dataset": version["ref"], "state": done["state"],
                  "reason": done["reason"], "outputs": outputs, "predictions": predictions,
                  "preview": preview.get("kind"), "logs": len(logs)}))
"""


def test_notebook_lists_uploads_runs_and_reads_results_with_client_alone(
    hub: Hub, hub_session: Callable[[str], HubSession], docker_client: docker.DockerClient
) -> None:
    hub_session("ada").spawn()
    container = docker_client.containers.get(hub.container_name("ada"))
    started = time.monotonic()
    code, output = container.exec_run(["python", "-c", NOTEBOOK], user="jovyan")
    text = output.decode()
    assert code == 0, f"{text}\n{hub.log_tail()}"
    result = json.loads(text.strip().splitlines()[-1])
    print(f"[e2e] client path in the container took {time.monotonic() - started:.1f}s: {result['state']}")
    assert "iris-classifier" in result["models"]
    assert result["dataset"] == "ada/flowers"
    assert result["state"] == "succeeded", result
    assert "predictions.csv" in result["outputs"]
    header = result["predictions"].splitlines()[0]
    assert "predicted_species" in header and len(result["predictions"].splitlines()) == 4
    assert result["preview"] == "table"
