"""A model service with no engine of its own (a second service process, or one beside a
separate `python -m mlrun_kernel.runs`) still resolves a fine-tune request when a new
version naming it is published: it sees the version in its catalog, resolves the request,
and queues the re-evaluation as a run that another executor on the same store runs; its
own evaluation loop then attaches the before/after comparison."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mlrun_kernel.datasets import Datasets, Principal
from mlrun_kernel.evaluations import Evaluations
from mlrun_kernel.evaluations.settings import evaluation_settings
from mlrun_kernel.runs import Executor
from mlrun_kernel.store import Store
from tests.evaluations.conftest import MODEL
from tests.service.helpers import ServedApp, TokenHub, environ, service_config, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.hub]

ADMIN = Principal(name="ada", groups=frozenset({"model-admins"}), is_admin=True)
TOKEN = "no-engine-static-token"


@pytest.fixture
def engineless_service(
    eval_store: Store, tmp_path: Path, registry_url: str, token_hub: TokenHub
) -> Iterator[ServedApp]:
    """The service on the test's store and data, whose Docker engine cannot be reached."""
    config = service_config(
        tmp_path / "data",
        token_hub.api_url,
        registry_url,
        store_url=str(eval_store.engine.url),
        static_token=TOKEN,
        static_user="ada",
    )
    with environ(DOCKER_HOST="tcp://127.0.0.1:9", MLK_EVAL_TICK_SECONDS="0.2"):
        evaluation_settings.cache_clear()
        served = ServedApp(config)
    evaluation_settings.cache_clear()
    assert served.platform.executor is None, "the service must have no executor for this test"
    with served:
        yield served


def test_a_service_without_an_executor_resolves_a_request_and_queues_the_re_evaluation(
    eval_store: Store,
    run_executor: Executor,
    tmp_path: Path,
    reference_data: Callable[[int], Path],
    build_drifting: Callable[..., object],
    engineless_service: ServedApp,
) -> None:
    datasets = Datasets(eval_store, tmp_path / "data")
    datasets.upload_file("ada", "labelled", reference_data(2))  # truth 0.7: 1.0.0 scores 0.8
    here = Evaluations(eval_store, datasets, submit=run_executor.submit)
    here.put_setup(ADMIN, MODEL, dataset="ada/labelled", dataset_version=1)
    first = here.evaluate("ada", MODEL, ref="1.0.0")
    run_executor.wait(str(first.run_id), timeout=180)
    here.tick()
    assert here.get(first.id).metrics["accuracy"] == pytest.approx(0.8)
    request = here.create_request(ADMIN, MODEL, reason="accuracy 0.8 on the drifted rows")
    assert here.notifier.wait(30)

    better = build_drifting("1.3.0", 0.7, resolves=request.id)
    with httpx.Client(
        base_url=engineless_service.url, headers={"Authorization": f"token {TOKEN}"}, timeout=60
    ) as api:
        assert api.post("api/catalog/sync").status_code == 200  # the service sees the version

        def resolved() -> dict:
            body = api.get(f"api/requests/{request.id}").json()
            return body if body["state"] == "resolved" and body["resolution_evaluation_id"] else {}

        wait_for(resolved, timeout=30)
        body = resolved()
        assert body["resolved_digest"] == better.digest  # type: ignore[attr-defined]
        re_evaluation = api.get(f"api/evaluations/{body['resolution_evaluation_id']}").json()
        assert re_evaluation["trigger"] == "resolution" and re_evaluation["run_id"]
        run = run_executor.wait(re_evaluation["run_id"], timeout=180)  # run by the other executor
        assert run.state == "succeeded", (run.reason, run.failure_text)
        assert run.digest == better.digest  # type: ignore[attr-defined]
        wait_for(lambda: api.get(f"api/requests/{request.id}").json()["comparison"], timeout=30)
        comparison = api.get(f"api/requests/{request.id}").json()["comparison"]
    assert comparison["metrics"]["accuracy"]["before"] == pytest.approx(0.8)
    assert comparison["metrics"]["accuracy"]["after"] == pytest.approx(1.0)
    assert comparison["after"]["digest"] == better.digest  # type: ignore[attr-defined]
