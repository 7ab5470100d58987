"""An expert scaffolds a model project with `mlk init`; its model runs as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlrun_kernel.build import load_build_file
from mlrun_kernel.build.runtime import runtime_files
from mlrun_kernel.build.scaffold import TEMPLATES, ScaffoldError, scaffold
from mlrun_kernel.cli import main as mlk


def test_init_makes_a_valid_project_for_every_template(tmp_path: Path) -> None:
    for template in TEMPLATES:
        assert mlk(["init", str(tmp_path / f"My {template} model"), "--template", template]) == 0
        spec = load_build_file(tmp_path / f"My {template} model")
        assert spec.image == f"my-{template}-model"
        assert spec.metadata.version in spec.manifest.release_notes
        assert {e.task for e in spec.manifest.examples} == set(spec.manifest.tasks)
        for name in ("Dockerfile", "README.md", ".dockerignore", "model/tasks.py", "tests/test_model.py"):
            assert (spec.folder / name).is_file(), name


def test_init_refuses_a_folder_that_is_not_empty_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="is not empty; choose an empty folder, or give --force"):
        scaffold(tmp_path)
    assert scaffold(tmp_path, force=True).name
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_init_refuses_an_unusable_name(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="is not a model name"):
        scaffold(tmp_path / "x", name="Not OK")


def _run_examples(folder: Path, tmp: Path, python: list[str], extra_path: list[str]) -> dict[str, dict]:
    """bootstrap, then every manifest example of the project, as ``python -m model <task>``."""
    for name, content in runtime_files().items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(content)
    examples, artifacts = tmp / "examples", tmp / "artifacts"
    path = os.pathsep.join([str(tmp / "mlk-runtime"), *extra_path])
    boot = (
        "import sys; from pathlib import Path; from model.tasks import bootstrap; "
        f"bootstrap(Path({str(artifacts)!r}), Path({str(examples)!r}))"
    )
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": path, "MLK_ARTIFACTS": str(artifacts)}
    done = subprocess.run([*python, "-c", boot], cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    spec = load_build_file(folder)
    results = {}
    for index, example in enumerate(spec.manifest.examples):
        run = tmp / f"run{index}"
        for key, value in example.inputs.items():
            (run / "in" / key).mkdir(parents=True)
            source = examples / Path(str(value)).name
            (run / "in" / key / source.name).write_bytes(source.read_bytes())
        (run / "params.json").write_text(json.dumps(example.parameters))
        env_run = {
            **env,
            "MLK_INPUTS": str(run / "in"),
            "MLK_OUTPUTS": str(run / "out"),
            "MLK_PARAMS": str(run / "params.json"),
        }
        done = subprocess.run(
            [*python, "-m", "model", example.task], cwd=folder, env=env_run, capture_output=True, text=True
        )
        assert done.returncode == 0, (example.task, done.stderr)
        task = spec.manifest.tasks[example.task]
        for output in task.outputs.values():
            assert (run / "out" / output.path).is_file(), (example.task, output.path)
        metrics = json.loads((run / "out" / "_metrics.json").read_text()) if task.metrics else {}
        assert set(metrics) == set(task.metrics)
        results[example.task] = metrics
    return results


def test_the_generic_template_runs_on_the_standard_library_alone(tmp_path: Path) -> None:
    folder = scaffold(tmp_path / "generic", template="generic").folder
    metrics = _run_examples(folder, tmp_path, [sys.executable, "-S", "-s"], [str(folder)])
    assert metrics["evaluate"]["accuracy"] > 0.8


def test_the_sklearn_template_trains_predicts_and_evaluates(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="scikit-learn is not installed here (the image test covers it)")
    folder = scaffold(tmp_path / "sk").folder
    site = [p for p in sys.path if p.endswith("site-packages")]
    metrics = _run_examples(folder, tmp_path, [sys.executable], [str(folder), *site])
    assert metrics["evaluate"]["accuracy"] > 0.8 and 0 <= metrics["train"]["macro_f1"] <= 1


def test_mlk_test_and_push_through_the_service_say_what_to_run_instead(tmp_path: Path) -> None:
    env = {**os.environ, "MLK_SERVICE_URL": "http://127.0.0.1:9/services/models/"}
    for command in (["test", "m:0.1.0"], ["push", "m:0.1.0"], ["build", str(tmp_path)]):
        done = subprocess.run(
            [sys.executable, "-m", "mlrun_kernel.cli", *command], env=env, capture_output=True, text=True
        )
        assert done.returncode != 0
        assert "mlk build FOLDER --push" in done.stderr, done.stderr
