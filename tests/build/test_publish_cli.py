"""A model expert goes from `mlk init` to a published, contract-tested model with the CLI;
every broken step says why and publishes nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.build.conftest import Mlk, listed_versions, registry_tags
from tests.registry_process import RegistryProcess

pytestmark = [pytest.mark.docker, pytest.mark.registry]


def test_expert_scaffolds_builds_tests_pushes_and_finds_the_sklearn_model(
    mlk: Mlk, tmp_path: Path, session_registry: RegistryProcess, expert_env: dict[str, str]
) -> None:
    folder = tmp_path / "churn-model"
    mlk("init", str(folder), check=True)  # sklearn is the default

    built = mlk("build", str(folder), check=True)
    assert "built " in built.stdout and "[your Dockerfile: step" in built.stderr
    image = f"{session_registry.addr}/churn-model:0.1.0"

    refused = mlk("push", image, check=False)
    assert "has not been tested: run `mlk test" in refused.stderr
    assert registry_tags(session_registry, "churn-model") == []

    tested = mlk("test", image, "--json", check=True)
    report = json.loads(tested.stdout)
    assert report["passed"] and {e["task"] for e in report["examples"]} == {"train", "predict", "evaluate"}
    evaluate = next(e for e in report["examples"] if e["task"] == "evaluate")
    assert evaluate["metrics"]["accuracy"] > 0.8

    pushed = mlk("push", image, check=True)
    assert "churn-model:0.1.0" in pushed.stdout and "churn-model:latest" in pushed.stdout
    # One line per layer and state ("<layer>: Pushed"), not the engine's progress ticks.
    push_log = [line.strip() for line in pushed.stderr.splitlines()]
    assert "Pushing" not in push_log and any(line.endswith(": Pushed") for line in push_log)
    assert max(Counter(push_log).values()) <= 2, push_log  # two tags: each state once per push
    assert registry_tags(session_registry, "churn-model") == ["0.1.0", "latest"]
    assert "0.1.0" in listed_versions(mlk, "churn-model", expert_env["MLK_DATA_DIR"])

    labels_version = mlk("test", image, check=True).stdout  # the human report
    assert "PASS  evaluate" in labels_version and "passed: 3/3" in labels_version


def _generic(mlk: Mlk, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    mlk("init", str(folder), "--template", "generic", check=True)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_a_broken_manifest_is_refused_before_anything_is_built(mlk: Mlk, tmp_path: Path) -> None:
    folder = _generic(mlk, tmp_path, "broken-manifest")
    _edit(folder / "mlk.yaml", "path: report.json", "path: ../report.json")
    done = mlk("build", str(folder), check=False)
    assert "manifest.tasks.evaluate.outputs.report.path: must not contain '..'" in done.stderr
    assert "step" not in done.stderr  # the engine never saw it


def test_a_parameter_that_cannot_become_a_schema_is_a_build_error(mlk: Mlk, tmp_path: Path) -> None:
    folder = _generic(mlk, tmp_path, "no-schema")
    _edit(folder / "model" / "tasks.py", "def evaluate() -> None:", "def evaluate(weights=None) -> None:")
    done = mlk("build", str(folder), check=False)
    assert "task 'evaluate': parameter 'weights' has no type hint" in done.stderr


def test_a_hand_written_schema_that_disagrees_with_the_code_is_a_build_error(
    mlk: Mlk, tmp_path: Path
) -> None:
    folder = _generic(mlk, tmp_path, "mismatch")
    _edit(
        folder / "mlk.yaml",
        "      command: [python, -m, model, predict]\n",
        "      command: [python, -m, model, predict]\n"
        "      parameters: {type: object, properties: {threshold: {type: number, default: 0.9}}}\n",
    )
    done = mlk("build", str(folder), check=False)
    expected = "tasks.predict.parameters: threshold: mlk.yaml's default 0.9 differs from the code's 0.5"
    assert expected in done.stderr


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            (
                '    with output_path("predictions.csv").open("w", newline="") as fh:',
                '    with open("/tmp/p.csv", "w") as fh:',
            ),
            "output 'predictions' (predictions.csv) is missing",
        ),
        (
            ("    write_metrics(accuracy=accuracy)", '    write_json("_metrics.json", {"accuracy": "high"})'),
            "metric 'accuracy' is 'high', not a number",
        ),
        (
            (
                '    """Score the model on labelled rows: accuracy, and a small JSON report."""',
                '    raise RuntimeError("the model crashed")',
            ),
            "evaluate failed: RuntimeError: the model crashed",
        ),
    ],
    ids=["missing-output", "non-numeric-metric", "crash"],
)
def test_a_contract_violation_fails_the_test_and_the_push_is_refused(
    mlk: Mlk, tmp_path: Path, session_registry: RegistryProcess, change: tuple[str, str], reason: str
) -> None:
    name = f"violates-{abs(hash(reason)) % 10_000}"
    folder = _generic(mlk, tmp_path, name)
    _edit(folder / "model" / "tasks.py", *change)
    _edit(folder / "model" / "tasks.py", "    write_result,\n", "    write_json,\n    write_result,\n")
    mlk("build", str(folder), "-q", check=True)
    image = f"{session_registry.addr}/{name}:0.1.0"
    done = mlk("test", image, check=False)
    assert reason in done.stdout and "FAILED" in done.stdout
    refused = mlk("push", image, check=False)
    assert "failed `mlk test`" in refused.stderr
    assert registry_tags(session_registry, name) == []


def test_a_failing_dockerfile_step_says_which_and_builds_nothing(mlk: Mlk, tmp_path: Path) -> None:
    folder = _generic(mlk, tmp_path, "bad-step")
    _edit(folder / "Dockerfile", "CMD [", "RUN echo 'fetching weights' && exit 3\nCMD [")
    done = mlk("build", str(folder), check=False)
    assert "returned a non-zero code: 3" in done.stderr and "fetching weights" in done.stderr


def test_a_version_tag_with_another_digest_is_refused_unless_forced(
    mlk: Mlk, tmp_path: Path, session_registry: RegistryProcess
) -> None:
    folder = _generic(mlk, tmp_path, "twice")
    mlk("build", str(folder), "--push", "-q", check=True)
    first = registry_tags(session_registry, "twice")
    assert first == ["0.1.0", "latest"]
    with session_registry.access.reader() as reader:
        before = reader.manifest_digest("twice", "0.1.0")

    _edit(folder / "model" / "tasks.py", "marked 'uncertain'.", "marked 'uncertain' (changed).")
    mlk("build", str(folder), "-q", check=True)
    image = f"{session_registry.addr}/twice:0.1.0"
    mlk("test", image, "-q", check=True)
    refused = mlk("push", image, check=False)
    assert "twice:0.1.0 already exists in the registry as another image" in refused.stderr
    with session_registry.access.reader() as reader:
        assert reader.manifest_digest("twice", "0.1.0") == before

    forced = mlk("push", image, "--force", check=True)
    assert "forced past: other-digest (recorded)" in forced.stdout


def test_latest_moves_only_to_the_highest_version(
    mlk: Mlk, tmp_path: Path, session_registry: RegistryProcess, expert_env: dict[str, str]
) -> None:
    folder = _generic(mlk, tmp_path, "lines")
    for version in ("1.1.0", "1.0.1"):
        _edit(folder / "mlk.yaml", "version: ", f"version: {version}\n#was: ")
        _edit(folder / "mlk.yaml", "release_notes:\n", f'release_notes:\n  "{version}": Version {version}.\n')
        mlk("build", str(folder), "--push", "-q", check=True)
    with session_registry.access.reader() as reader:
        latest = reader.manifest("lines", "latest").config_digest
        assert reader.manifest("lines", "1.1.0").config_digest == latest
        assert reader.manifest("lines", "1.0.1").config_digest != latest
    assert listed_versions(mlk, "lines", expert_env["MLK_DATA_DIR"])[:2] == ["1.1.0", "1.0.1"]
