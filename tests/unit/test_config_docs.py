"""One way to configure: every option declared once, read through its declaration, documented from it.

An operator reads docs/configuration.md and sets environment variables; what
the page says must be what the code reads. The page is generated from the
settings classes, so these tests check that it is current, that every option
has a description and one variable, that no module reads an ``MLK_*``
variable behind the declarations' back, and that a bad value is explained,
not a traceback.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlrun_kernel.config import MlkSettings, Settings, SettingsError, client_settings, is_option
from mlrun_kernel.config_docs import PAGE, REGENERATE, SETTINGS_CLASSES, render, settings_classes
from mlrun_kernel.service.config import ServiceSettings
from mlrun_kernel.store.engine import default_store_url, sqlite_store_url

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mlrun_kernel"


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(PACKAGE.rglob("*.py"))]


def test_the_committed_configuration_page_is_what_the_declarations_say():
    committed = (ROOT / PAGE).read_text() if (ROOT / PAGE).exists() else ""
    assert committed == render(), f"{PAGE} is out of date: run {REGENERATE} to regenerate"


def test_the_page_lists_every_option_of_every_area_under_its_section():
    page = (ROOT / PAGE).read_text()
    for cls in settings_classes():
        assert f"## {cls.section}" in page
        for name, field in cls.model_fields.items():
            if is_option(field):
                assert f"`{cls.variables(name)[0]}`" in page, f"{cls.__name__}.{name} is not on the page"
    assert "jupyterhub_config.py" in page  # the hub's own options are documented there


def test_every_option_has_a_description_and_a_variable_of_its_own():
    seen: dict[str, str] = {}
    for cls in settings_classes():
        assert cls.section, f"{cls.__name__} needs a section heading"
        for name, field in cls.model_fields.items():
            where = f"{cls.__module__}.{cls.__name__}.{name}"
            assert (field.description or "").strip(), f"{where} has no description"
            for variable in cls.variables(name):
                assert variable not in seen, f"{variable} is declared twice: {seen[variable]} and {where}"
                seen[variable] = where
    assert {"MLK_DATA_DIR", "MLK_SERVICE_URL", "MLK_MAX_CPUS", "MLK_SERVICE_STATIC_TOKEN"} <= set(seen)


def test_every_settings_class_in_the_package_is_on_the_page():
    listed = {spec.replace(":", ".") for spec in SETTINGS_CLASSES}
    bases = {"BaseSettings", "MlkSettings"}
    for path, tree in _sources():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name != "MlkSettings":
                names = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if names & bases:
                    assert f"{module}.{node.name}" in listed, (
                        f"{module}.{node.name} declares settings: subclass MlkSettings and add it to "
                        "SETTINGS_CLASSES in mlrun_kernel/config_docs.py"
                    )


def _reads_mlk_variable(node: ast.AST) -> str | None:
    """``os.environ["MLK_X"]``, ``os.environ.get("MLK_X")``, ``os.getenv("MLK_X")``, ``environ.pop``..."""
    key: ast.AST | None = None
    if (
        isinstance(node, ast.Subscript)
        and getattr(node.value, "attr", getattr(node.value, "id", "")) == "environ"
    ):
        key = node.slice
    elif isinstance(node, ast.Call) and node.args:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in {"get", "pop", "setdefault"}:
            owner = func.value
            if getattr(owner, "attr", getattr(owner, "id", "")) == "environ":
                key = node.args[0]
        elif getattr(func, "attr", getattr(func, "id", "")) == "getenv":
            key = node.args[0]
    if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.startswith("MLK_"):
        return key.value
    return None


# The author runtime runs inside model images: it reads the model contract's environment
# (docs/model-spec.md: MLK_TASK, MLK_INPUTS, ...), which the platform sets for the container,
# and must stay standard-library only, so it cannot use the settings classes.
CONTRACT_READERS = PACKAGE / "model"
CONTRACT_VARIABLES = {"MLK_TASK", "MLK_INPUTS", "MLK_OUTPUTS", "MLK_PARAMS"}


def test_no_module_reads_an_mlk_variable_behind_the_declarations():
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} reads {name}"
        for path, tree in _sources()
        for node in ast.walk(tree)
        if (name := _reads_mlk_variable(node))
        and not (path.is_relative_to(CONTRACT_READERS) and name in CONTRACT_VARIABLES)
    ]
    assert not found, "declare these as settings fields (mlrun_kernel/config.py) and read them there:\n" + (
        "\n".join(found)
    )


def test_an_operator_who_sets_a_bad_value_is_told_which_variable_and_why(tmp_path):
    env = {
        **os.environ,
        "MLK_DATA_DIR": str(tmp_path / "data"),
        "MLK_DATASET_QUOTA_BYTES": "lots",
        "MLK_USER": "alice",
    }
    env.pop("MLK_SERVICE_URL", None)
    env.pop("MLK_DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "mlrun_kernel.cli", "datasets", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "MLK_DATASET_QUOTA_BYTES='lots'" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("module", "told"),
    [
        ("mlrun_kernel.service", "MLK_SIGNED_URL_SECONDS='soon'"),
        ("mlrun_kernel.runs", "MLK_MAX_RUNS_PER_USER='many'"),
    ],
)
def test_the_service_and_the_executor_refuse_to_start_on_a_bad_value_and_say_why(module, told, tmp_path):
    env = {**os.environ, "MLK_DATA_DIR": str(tmp_path), "MLK_SIGNED_URL_SECONDS": "soon"}
    env |= {"MLK_MAX_RUNS_PER_USER": "many", "MLK_DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite'}"}
    out = subprocess.run(
        [sys.executable, "-m", module], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2, out.stderr
    assert told in out.stderr
    assert "Traceback" not in out.stderr


def test_the_service_reads_its_options_from_the_variables_the_page_names(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "services/models")
    monkeypatch.setenv("MLK_CATALOG_QUICK_SYNC_SECONDS", "5")
    monkeypatch.setenv("MLK_SERVICE_RUN_EXECUTOR", "0")
    monkeypatch.setenv("MLK_SERVICE_STATIC_TOKEN", "dev-token")
    monkeypatch.setenv("MLK_SIGNED_URL_SECONDS", "")  # empty is unset
    config = ServiceSettings.from_env()
    assert config.prefix == "/services/models/"
    assert (config.quick_sync_seconds, config.run_executor, config.static_token) == (5.0, False, "dev-token")
    assert config.signed_url_seconds == 300
    given = ServiceSettings(data_dir=tmp_path, quick_sync_seconds=3)  # code and tests pass fields by name
    assert given.quick_sync_seconds == 3 and given.data_dir == tmp_path
    assert (tmp_path / "service-secret").read_text().strip() == given.secret  # made once, kept

    monkeypatch.setenv("MLK_CATALOG_DEEP_SYNC_SECONDS", "-1")
    with pytest.raises(SettingsError, match="MLK_CATALOG_DEEP_SYNC_SECONDS='-1'"):
        ServiceSettings.from_env()


def test_a_field_passed_in_from_another_area_is_not_read_twice(monkeypatch, tmp_path):
    """The service's data folder is the platform's MLK_DATA_DIR, declared once in Settings."""
    assert not ServiceSettings.variables("data_dir")
    assert "MLK_DATA_DIR" in Settings.variables("data_dir")
    monkeypatch.setenv("MLK_DATA_DIR", str(tmp_path / "from-env"))
    assert ServiceSettings(data_dir=tmp_path, secret="s").data_dir == tmp_path


def test_notebooks_see_a_service_url_set_after_import(monkeypatch):
    monkeypatch.delenv("MLK_SERVICE_URL", raising=False)
    assert client_settings().service_url is None
    monkeypatch.setenv("MLK_SERVICE_URL", "http://10.0.0.1:8090/services/models/")
    assert client_settings().service_url == "http://10.0.0.1:8090/services/models/"


def test_the_default_database_is_one_sqlite_file_in_the_data_folder(monkeypatch, tmp_path):
    from mlrun_kernel.config import settings

    monkeypatch.setenv("MLK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MLK_DATABASE_URL", raising=False)
    settings.cache_clear()
    try:
        assert (
            default_store_url() == sqlite_store_url(tmp_path) == f"sqlite:///{tmp_path}/mlrun-kernel.sqlite"
        )
    finally:
        settings.cache_clear()


def test_settings_classes_share_one_base():
    assert all(issubclass(cls, MlkSettings) for cls in settings_classes())
