"""Fixtures of the widget tests: the real service, running real runs, with the example models.

- ``token_hub``/``tokens`` (from tests/service/conftest.py): a real JupyterHub
  issuing tokens for ``uma`` (user), ``ben`` (user2), ``eve`` (expert), ``ada`` (admin).
- ``widget_service``: the service app on a real port with its run executor on,
  reading the session registry, which holds the example models
  (``published_examples``), the ``mlk-test-showcase`` model of
  tests/widgets/images and a model whose labels are broken (``team/broken-widgets``).
- ``client_for(role)``: a ``Client`` of that role's user; ``uma``/``ada``: the common two.
- ``sales_csv``/``sales_dataset``: two years of daily sales, uploaded by uma.
- ``showcase_run``: an ended run of the showcase's ``outputs`` task (every output kind).

Widget state is driven in pytest, without a browser; the widgets talk to the
service only through these clients, as they do in a notebook.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrun_kernel.client import Client
from tests.model_labels import model_labels
from tests.registry_process import RegistryProcess
from tests.service.conftest import token_hub, tokens  # noqa: F401  (fixtures, shared with the service tests)
from tests.service.helpers import ServedApp, TokenHub, free_port, service_config

IMAGES = Path(__file__).with_name("images")
BROKEN = "team/broken-widgets"


def build_widget_model(name: str, registry: Any) -> Any:
    """Build and push ``tests/widgets/images/<name>`` with the project's own build tool."""
    from mlrun_kernel.build import build_model

    with tempfile.TemporaryDirectory(prefix=f"mlk-widget-{name}-") as tmp:
        context = Path(tmp) / name
        shutil.copytree(IMAGES / name, context)
        return build_model(context, registry=registry, push=True)


@pytest.fixture(scope="session")
def showcase_model(registry_access: Any) -> Any:
    return build_widget_model("showcase", registry_access)


@pytest.fixture(scope="session")
def broken_model(session_registry: RegistryProcess) -> str:
    seeder = session_registry.seeder()
    seeder.image(BROKEN, "1.0.0", {**model_labels("Broken"), "io.mlkernel.manifest": "{not json"})
    seeder.close()
    return BROKEN


@pytest.fixture(scope="session")
def widget_service(
    tmp_path_factory: pytest.TempPathFactory,
    token_hub: TokenHub,  # noqa: F811
    tokens: dict[str, str],  # noqa: F811
    registry_url: str,
    published_examples: dict[str, object],
    showcase_model: Any,
    broken_model: str,
) -> Iterator[ServedApp]:
    config = service_config(
        tmp_path_factory.mktemp("widget-service"),
        token_hub.api_url,
        registry_url,
        url=f"http://127.0.0.1:{free_port()}",
        run_executor=True,
    )
    with ServedApp(config) as served:
        with Client(served.url, tokens["admin"]) as admin:
            admin.sync_catalog(deep=True)
        yield served


@pytest.fixture(scope="session")
def client_for(widget_service: ServedApp, tokens: dict[str, str]) -> Iterator[Callable[[str], Client]]:  # noqa: F811
    """``client_for("user")``: a service client with that role's token (closed at the end)."""
    made: dict[str, Client] = {}

    def make(role: str) -> Client:
        if role not in made:
            made[role] = Client(widget_service.url, tokens[role], timeout=60)
        return made[role]

    yield make
    for client in made.values():
        client.close()


@pytest.fixture(scope="session")
def uma(client_for: Callable[[str], Client]) -> Client:
    return client_for("user")


@pytest.fixture(scope="session")
def ada(client_for: Callable[[str], Client]) -> Client:
    return client_for("admin")


def sales_rows(days: int = 800) -> str:
    """Daily sales of a growing shop: trend, a weekly and a yearly cycle."""
    start = dt.date(2023, 1, 1)
    lines = ["date,sales"]
    for i in range(days):
        day = start + dt.timedelta(days=i)
        value = 200 + 0.2 * i + 30 * math.sin(2 * math.pi * i / 365) + (25 if day.weekday() >= 5 else 0)
        lines.append(f"{day.isoformat()},{value:.1f}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def sales_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sales") / "sales.csv"
    path.write_text(sales_rows())
    return path


@pytest.fixture(scope="session")
def sales_dataset(uma: Client, sales_csv: Path) -> dict[str, Any]:
    return dict(uma.upload_dataset(sales_csv, f"sales-{uuid.uuid4().hex[:6]}"))


@pytest.fixture(scope="session")
def showcase_name(showcase_model: Any) -> str:
    return "mlk-test-showcase"


@pytest.fixture(scope="session")
def showcase_run(uma: Client, showcase_name: str) -> dict[str, Any]:
    run = uma.start_run(showcase_name, task="outputs", parameters={"rows": 20000})
    done = dict(uma.wait_run(run["id"], timeout=300, poll=0.5))
    assert done["state"] == "succeeded", done
    return done
