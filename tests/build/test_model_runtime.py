"""A model expert writes tasks as plain functions with mlrun_kernel.model, which needs only the stdlib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from mlrun_kernel.build.runtime import merge_schemas, runtime_files, schema_mismatches
from mlrun_kernel.model import InputRejected, SchemaError
from mlrun_kernel.model.tasks import Task
from mlrun_kernel.spec import ManifestError, check_parameters_schema


def _unpack_runtime(root: Path) -> Path:
    """The runtime as model images get it (mlk-runtime/mlrun_kernel/model/), under ``root``."""
    for name, content in runtime_files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root / "mlk-runtime"


def _bare_python(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a python with no site-packages (-I -S) and only the runtime on the path."""
    runtime = _unpack_runtime(tmp_path / "ctx")
    (tmp_path / "work").mkdir(exist_ok=True)
    script = f"import sys; sys.path[:0] = [{str(runtime)!r}, {str(tmp_path / 'work')!r}]\n" + textwrap.dedent(
        code
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=tmp_path / "work",
    )


def test_runtime_imports_in_a_bare_python_without_site_packages(tmp_path: Path) -> None:
    done = _bare_python(
        tmp_path,
        """
        import mlrun_kernel.model as m
        import sys
        heavy = [n for n in ("pydantic", "yaml", "httpx", "sqlalchemy", "docker") if n in sys.modules]
        print(m.__file__, heavy)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "mlk-runtime" in done.stdout and done.stdout.strip().endswith("[]")


TYPED_MODEL = """
from typing import Literal
from mlrun_kernel.model import Param, input_file, main, progress, task, write_metrics, InputRejected

@task
def evaluate(
    threshold: float = Param(0.5, minimum=0, maximum=1, title="Threshold"),
    mode: Literal["fast", "exact"] = "fast",
    repeats: int = 3,
    label: str = Param("species", min_length=1),
) -> None:
    "Score rows."
    progress(0.5, "scoring")
    if label == "bad":
        raise InputRejected("no such label column")
    if label == "crash":
        raise RuntimeError("boom")
    write_metrics(accuracy=threshold, repeats=repeats)

if __name__ == "__main__":
    raise SystemExit(main())
"""


def test_typed_arguments_give_a_2020_12_parameters_schema(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "mymodel.py").write_text(TYPED_MODEL)
    done = _bare_python(tmp_path, "from mlrun_kernel.model.__main__ import main; main(['schema', 'mymodel'])")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["errors"] == []
    schema = answer["tasks"]["evaluate"]["schema"]
    assert answer["tasks"]["evaluate"]["description"] == "Score rows."
    assert schema["properties"]["threshold"] == {
        "type": "number",
        "title": "Threshold",
        "minimum": 0,
        "maximum": 1,
        "default": 0.5,
    }
    assert schema["properties"]["mode"] == {"enum": ["fast", "exact"], "default": "fast"}
    assert schema["properties"]["label"]["minLength"] == 1
    assert schema["x-order"] == ["threshold", "mode", "repeats", "label"]
    check_parameters_schema(schema)  # a sound 2020-12 schema for an object


def _run_task(tmp_path: Path, params: dict[str, object]) -> tuple[subprocess.CompletedProcess[str], Path]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "mymodel.py").write_text(TYPED_MODEL)
    out = tmp_path / "out"
    (tmp_path / "params.json").write_text(json.dumps(params))
    done = _bare_python(
        tmp_path,
        "import runpy, sys; sys.argv = ['mymodel', 'evaluate']; "
        "runpy.run_module('mymodel', run_name='__main__')",
        MLK_OUTPUTS=str(out),
        MLK_PARAMS=str(tmp_path / "params.json"),
        MLK_INPUTS=str(tmp_path / "in"),
    )
    return done, out


def test_a_task_writes_metrics_and_progress(tmp_path: Path) -> None:
    done, out = _run_task(tmp_path, {"threshold": 1, "repeats": 2})
    assert done.returncode == 0, done.stderr
    assert "mlk:progress 0.50 scoring" in done.stdout
    assert json.loads((out / "_metrics.json").read_text()) == {"accuracy": 1.0, "repeats": 2.0}


def test_rejected_input_exits_64_with_the_reason(tmp_path: Path) -> None:
    done, out = _run_task(tmp_path, {"label": "bad"})
    assert done.returncode == 64
    assert (out / "_failure.txt").read_text().strip() == "no such label column"


def test_wrong_parameter_types_are_rejected_not_crashes(tmp_path: Path) -> None:
    done, out = _run_task(tmp_path, {"repeats": "three"})
    assert done.returncode == 64
    assert "repeats must be integer" in (out / "_failure.txt").read_text()


def test_any_other_error_exits_1_with_a_failure_reason(tmp_path: Path) -> None:
    done, out = _run_task(tmp_path, {"label": "crash"})
    assert done.returncode == 1
    assert (out / "_failure.txt").read_text().strip() == "evaluate failed: RuntimeError: boom"


class TrainParams(BaseModel):
    C: float = Field(1.0, gt=0)
    trees: int = 100


class Opaque:
    pass


class OpaqueParams(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    thing: Opaque


def test_a_pydantic_model_gives_the_schema_and_validates() -> None:
    def train(params: TrainParams) -> float:
        return params.C * params.trees

    item = Task("train", train, "")
    schema = item.schema()
    assert schema is not None and schema["properties"]["C"]["exclusiveMinimum"] == 0
    assert item.call({"C": 2, "trees": 3}) == 6
    with pytest.raises(InputRejected, match="parameters do not fit TrainParams"):
        item.call({"C": -1})


def test_a_parameters_model_that_cannot_produce_a_schema_names_the_task() -> None:
    def train(params: OpaqueParams) -> None: ...

    expected = "task 'train': parameters model OpaqueParams cannot produce a JSON Schema"
    with pytest.raises(SchemaError, match=expected):
        Task("train", train, "").schema()


def test_an_untyped_argument_cannot_produce_a_schema() -> None:
    def predict(threshold=0.5) -> None: ...  # type: ignore[no-untyped-def]

    with pytest.raises(SchemaError, match="parameter 'threshold' has no type hint"):
        Task("predict", predict, "").schema()


GENERATED = {"type": "object", "properties": {"threshold": {"type": "number", "default": 0.5}}}


def test_a_hand_written_schema_wins_and_agreeing_is_fine() -> None:
    written = {
        "type": "object",
        "properties": {"threshold": {"type": "number", "default": 0.5, "title": "T"}},
    }
    manifest = {
        "tasks": {"predict": {"description": "p", "parameters": written}, "train": {"description": "t"}}
    }
    answer = {"tasks": {"predict": {"schema": GENERATED}, "train": {"schema": GENERATED}}, "errors": []}
    merged = merge_schemas(manifest, answer, "mlk.yaml")
    assert merged["tasks"]["predict"]["parameters"] is written
    assert merged["tasks"]["train"]["parameters"] == GENERATED


def test_a_hand_written_schema_that_disagrees_with_the_code_is_a_build_error() -> None:
    written = {"type": "object", "properties": {"threshold": {"type": "integer", "default": 1}, "x": {}}}
    assert schema_mismatches(written, GENERATED) == [
        "mlk.yaml declares x, which the code does not take",
        "threshold: mlk.yaml says type 'integer', the code 'number'",
        "threshold: mlk.yaml's default 1 differs from the code's 0.5",
    ]
    manifest = {"tasks": {"predict": {"description": "p", "parameters": written}}}
    with pytest.raises(ManifestError, match="mlk.yaml: tasks.predict.parameters: mlk.yaml declares x"):
        merge_schemas(manifest, {"tasks": {"predict": {"schema": GENERATED}}}, "mlk.yaml")
