"""A model user runs each example model's tasks the way the platform does.

Every example is built with the real build (``build_model``) and each task runs
in a real container under the contract's conditions: uid 65534, no network,
inputs mounted read-only at ``/mlk/inputs/<name>/``, the validated parameters
(defaults filled by the spec code, as the platform does) at
``/mlk/params.json``, an empty writable ``/mlk/outputs``, and the memory and
CPU limits the manifest asks for. Inputs come from the examples the manifest
points at inside the image.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import struct
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from mlrun_kernel.build import build_model
from mlrun_kernel.spec import validate_parameters
from tests.paths import ROOT

pytestmark = [pytest.mark.docker]

MODELS = ROOT / "examples" / "models"
TAG_PREFIX = "mlk-example-test"  # a local tag namespace: nothing is pushed
UID = "65534:65534"
EXIT_REJECTED = 64
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class TaskRun:
    exit_code: int
    logs: str
    outputs: Path

    def json(self, name: str) -> Any:
        return json.loads((self.outputs / name).read_text())

    def csv_rows(self, name: str) -> list[dict[str, str]]:
        with (self.outputs / name).open(newline="") as fh:
            return list(csv.DictReader(fh))

    @property
    def progress(self) -> list[float]:
        return [float(line.split()[1]) for line in self.logs.splitlines() if line.startswith("mlk:progress ")]


class ExampleModel:
    """A built example image, run as the platform would run it."""

    def __init__(self, client: docker.DockerClient, image: str) -> None:
        self.client = client
        self.image = image
        self.manifest: dict[str, Any] = json.loads(self.read_file("/mlk/manifest.json"))

    def read_file(self, path: str) -> bytes:
        """A file from the image (copied out of a container that never starts)."""
        container = self.client.containers.create(self.image, ["true"], user=UID, network_disabled=True)
        try:
            stream, _ = container.get_archive(path)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.next()
                assert member is not None and member.isfile(), f"{path} is not a file in {self.image}"
                extracted = tar.extractfile(member)
                assert extracted is not None
                return extracted.read()
        finally:
            container.remove(force=True)

    def readable_by_run_user(self, path: str) -> bool:
        try:
            self.client.containers.run(
                self.image, ["test", "-r", path], user=UID, network_disabled=True, remove=True
            )
        except docker.errors.ContainerError:
            return False
        return True

    def example(self, task: str, index: int = 0) -> dict[str, Any]:
        return [e for e in self.manifest["examples"] if e["task"] == task][index]

    def example_inputs(self, example: dict[str, Any], tmp: Path) -> dict[str, Path]:
        files = {}
        for name, path in example.get("inputs", {}).items():
            local = tmp / "examples" / name / Path(path).name
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(self.read_file(path))
            files[name] = local
        return files

    def run(
        self,
        task: str,
        tmp: Path,
        *,
        inputs: dict[str, Path],
        params: dict[str, Any] | None = None,
        validate: bool = True,
    ) -> TaskRun:
        spec = self.manifest["tasks"][task]
        schema = spec.get("parameters", {"type": "object", "properties": {}})
        values = validate_parameters(schema, params or {}) if validate else dict(params or {})

        run_dir = tmp / f"run-{task}-{len(list(tmp.glob('run-*')))}"
        inputs_dir, outputs_dir = run_dir / "inputs", run_dir / "outputs"
        outputs_dir.mkdir(parents=True)
        outputs_dir.chmod(0o777)
        volumes = {str(outputs_dir): {"bind": "/mlk/outputs", "mode": "rw"}}
        for name, file in inputs.items():
            folder = inputs_dir / name
            folder.mkdir(parents=True)
            shutil.copy(file, folder / file.name)
            (folder / file.name).chmod(0o644)
            folder.chmod(0o755)
            volumes[str(folder)] = {"bind": f"/mlk/inputs/{name}", "mode": "ro"}
        params_file = run_dir / "params.json"
        params_file.write_text(json.dumps(values))
        params_file.chmod(0o644)
        volumes[str(params_file)] = {"bind": "/mlk/params.json", "mode": "ro"}

        resources = self.manifest.get("resources", {})
        container = self.client.containers.run(
            self.image,
            spec.get("command") or [task],
            user=UID,
            network_disabled=True,
            volumes=volumes,
            environment={
                "MLK_TASK": task,
                "MLK_RUN_ID": run_dir.name,
                "MLK_PARAMS": "/mlk/params.json",
                "MLK_INPUTS": "/mlk/inputs",
                "MLK_OUTPUTS": "/mlk/outputs",
            },
            mem_limit=resources.get("memory", "1g"),
            nano_cpus=int(float(resources.get("cpus", 1)) * 1e9),
            detach=True,
        )
        try:
            status = container.wait(timeout=int(resources.get("timeout_seconds", 600)))
            logs = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        finally:
            container.remove(force=True)
        return TaskRun(int(status["StatusCode"]), logs, outputs_dir)


def _build(folder: Path) -> Iterator[ExampleModel]:
    client = docker.from_env()
    build = build_model(folder, registry=TAG_PREFIX)
    assert build.image_id
    yield ExampleModel(client, build.image)


@pytest.fixture(scope="module")
def iris() -> Iterator[ExampleModel]:
    yield from _build(MODELS / "iris-classifier")


@pytest.fixture(scope="module")
def sales() -> Iterator[ExampleModel]:
    yield from _build(MODELS / "sales-forecaster")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


def _assert_succeeded(run: TaskRun) -> None:
    failure = run.outputs / "_failure.txt"
    reason = failure.read_text() if failure.exists() else ""
    assert run.exit_code == 0, f"exit {run.exit_code}: {reason}\n{run.logs}"
    assert run.progress and run.progress[-1] == 1.0, run.logs


@pytest.mark.parametrize("model", ["iris", "sales"])
def test_every_manifest_example_is_in_the_image_and_readable_by_the_run_user(
    model: str, request: pytest.FixtureRequest
) -> None:
    image: ExampleModel = request.getfixturevalue(model)
    assert image.manifest["examples"]
    for example in image.manifest["examples"]:
        assert example["task"] in image.manifest["tasks"]
        for path in example["inputs"].values():
            assert image.readable_by_run_user(path), path
            assert image.read_file(path).count(b"\n") > 10


# ----------------------------------------------------------------------------- iris classifier


def test_iris_image_ships_the_iris_flowers(iris: ExampleModel) -> None:
    assert {"predict", "evaluate", "train"} <= set(iris.manifest["tasks"])
    for example in iris.manifest["examples"]:
        for path in example["inputs"].values():
            rows = list(csv.DictReader(io.StringIO(iris.read_file(path).decode())))
            assert rows and {"sepal_length", "sepal_width", "petal_length", "petal_width"} <= set(rows[0])
    labelled = list(csv.DictReader(io.StringIO(iris.read_file("/mlk/examples/iris.csv").decode())))
    assert len(labelled) == 150
    assert {row["species"] for row in labelled} == {"setosa", "versicolor", "virginica"}


def test_model_user_labels_the_example_flowers(iris: ExampleModel, tmp_path: Path) -> None:
    example = iris.example("predict")
    inputs = iris.example_inputs(example, tmp_path)
    run = iris.run(
        "predict",
        tmp_path,
        inputs=inputs,
        params={**example["parameters"], "include_probabilities": True},
    )
    _assert_succeeded(run)

    given = list(csv.DictReader(inputs["data"].open()))
    predictions = run.csv_rows("predictions.csv")
    assert len(predictions) == len(given)
    assert {"predicted_species", "confidence", "probability_setosa"} <= set(predictions[0])
    labels = {row["predicted_species"] for row in predictions}
    assert labels <= {"setosa", "versicolor", "virginica", "uncertain"}
    confident = [row for row in predictions if row["predicted_species"] != "uncertain"]
    agree = sum(row["predicted_species"] == row["species"] for row in confident)
    assert agree / len(confident) >= 0.95
    result = run.json("_result.json")
    assert sum(result["counts"].values()) == len(given)


def test_evaluate_scores_the_built_in_model_above_90_percent(iris: ExampleModel, tmp_path: Path) -> None:
    example = iris.example("evaluate")
    run = iris.run(
        "evaluate",
        tmp_path,
        inputs=iris.example_inputs(example, tmp_path),
        params=example["parameters"],
    )
    _assert_succeeded(run)

    metrics = run.json("_metrics.json")
    assert set(metrics) == set(iris.manifest["tasks"]["evaluate"]["metrics"]) == {"accuracy", "macro_f1"}
    assert metrics["accuracy"] >= 0.9
    assert metrics["macro_f1"] >= 0.9
    report = (run.outputs / "report.html").read_text()
    assert "Confusion matrix" in report and "virginica" in report


def test_model_expert_trains_a_forest_and_predicts_with_it(iris: ExampleModel, tmp_path: Path) -> None:
    example = iris.example("train")
    data = iris.example_inputs(example, tmp_path)
    trained = iris.run("train", tmp_path, inputs=data, params=example["parameters"])
    _assert_succeeded(trained)
    assert trained.json("_metrics.json")["accuracy"] >= 0.85
    assert trained.json("_result.json")["model_type"] == "random_forest"
    model_file = trained.outputs / "model.joblib"
    assert model_file.stat().st_size > 1000

    used = iris.run("predict", tmp_path, inputs={**data, "model": model_file}, params={"threshold": 0})
    _assert_succeeded(used)
    result = used.json("_result.json")
    assert result["model"] == {"type": "random_forest", "source": "input model.joblib"}
    assert result["counts"]["uncertain"] == 0


def test_iris_rejects_a_csv_without_the_measurement_columns(iris: ExampleModel, tmp_path: Path) -> None:
    bad = tmp_path / "flowers.csv"
    bad.write_text("sepal_length,sepal_width,colour\n5.1,3.5,blue\n")
    run = iris.run("predict", tmp_path, inputs={"data": bad})
    assert run.exit_code == EXIT_REJECTED, run.logs
    reason = (run.outputs / "_failure.txt").read_text()
    assert "petal_length" in reason and "petal_width" in reason


# ----------------------------------------------------------------------------- sales forecaster


def test_model_user_forecasts_the_example_sales_with_holidays(sales: ExampleModel, tmp_path: Path) -> None:
    example = sales.example("forecast")
    inputs = sales.example_inputs(example, tmp_path)
    run = sales.run("forecast", tmp_path, inputs=inputs, params=example["parameters"])
    _assert_succeeded(run)

    horizon = example["parameters"]["horizon"]["periods"]
    rows = run.csv_rows("forecast.csv")
    assert len(rows) == horizon
    assert list(rows[0]) == ["date", "forecast", "lower", "upper"]
    history = list(csv.DictReader(inputs["history"].open()))
    last = dt.date.fromisoformat(history[-1]["date"])
    dates = [dt.date.fromisoformat(row["date"]) for row in rows]
    assert dates == [last + dt.timedelta(days=i) for i in range(1, horizon + 1)]
    for row in rows:
        assert 0 <= float(row["lower"]) <= float(row["forecast"]) <= float(row["upper"])
    # New Year's Day is declared 55% down: the forecast shows it.
    new_year = next(float(r["forecast"]) for r in rows if r["date"] == "2025-01-01")
    following = [float(r["forecast"]) for r in rows[1:8]]
    assert new_year < 0.7 * min(following)

    width, height = _png_size(run.outputs / "forecast.png")
    assert width >= 800 and height >= 400
    assert (run.outputs / "forecast.png").stat().st_size > 20_000
    result = run.json("_result.json")
    assert result["method"] == "holt_winters" and result["horizon"]["periods"] == horizon


def test_weekly_forecast_until_a_date_stops_at_that_date(sales: ExampleModel, tmp_path: Path) -> None:
    example = sales.example("forecast", 1)
    run = sales.run(
        "forecast",
        tmp_path,
        inputs=sales.example_inputs(example, tmp_path),
        params=example["parameters"],
    )
    _assert_succeeded(run)

    until = dt.date.fromisoformat(example["parameters"]["horizon"]["until"])
    dates = [dt.date.fromisoformat(row["date"]) for row in run.csv_rows("forecast.csv")]
    assert len(dates) >= 50
    assert all((b - a).days == 7 for a, b in zip(dates, dates[1:], strict=False))
    assert dates[-1] <= until < dates[-1] + dt.timedelta(days=7)
    assert run.json("_result.json")["frequency"] == "weekly"


def test_evaluate_backtests_the_last_90_days(sales: ExampleModel, tmp_path: Path) -> None:
    example = sales.example("evaluate")
    run = sales.run(
        "evaluate",
        tmp_path,
        inputs=sales.example_inputs(example, tmp_path),
        params=example["parameters"],
    )
    _assert_succeeded(run)

    metrics = run.json("_metrics.json")
    assert set(metrics) == {"mape", "rmse"}
    assert 0 < metrics["mape"] < 15
    assert metrics["rmse"] > 0
    rows = run.csv_rows("evaluation.csv")
    assert len(rows) == example["parameters"]["holdout_periods"]
    assert _png_size(run.outputs / "evaluation.png")[0] >= 800


def test_sales_rejects_a_value_column_the_file_lacks(sales: ExampleModel, tmp_path: Path) -> None:
    example = sales.example("forecast")
    run = sales.run(
        "forecast",
        tmp_path,
        inputs=sales.example_inputs(example, tmp_path),
        params={"columns": {"value": "revenue"}},
    )
    assert run.exit_code == EXIT_REJECTED, run.logs
    assert "revenue" in (run.outputs / "_failure.txt").read_text()


def test_sales_rejects_an_empty_history(sales: ExampleModel, tmp_path: Path) -> None:
    empty = tmp_path / "history.csv"
    empty.write_text("")
    run = sales.run("forecast", tmp_path, inputs={"history": empty})
    assert run.exit_code == EXIT_REJECTED, run.logs
    assert "empty" in (run.outputs / "_failure.txt").read_text()
