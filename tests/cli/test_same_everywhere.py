"""`mlk` says the same on the machine and in a notebook container.

One table of commands runs twice: embedded (its own store, data folder and the
local engine) and through a real model service (``MLK_SERVICE_URL``, as inside
a notebook container). After ids, times and where outputs live are normalised,
every command must print the same and exit the same way on both sides.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.service.helpers import ServedApp, service_config

pytestmark = [pytest.mark.docker, pytest.mark.registry]

USER = "admin"  # the service's static-token user; the embedded side runs as the same name
MODEL = "mlk-test-behaving"

# (argv, what it stands for); {run}, {detached} name runs started earlier on the same side
COMMANDS: list[list[str]] = [
    ["datasets", "upload", "{csv}", "--name", "rows", "--description", "three rows"],
    ["datasets", "list"],
    ["datasets", "list", "--json"],
    ["datasets", "show", "rows"],
    ["datasets", "show", "rows", "--json"],
    ["datasets", "preview", "rows"],
    ["models", "list"],
    ["models", "list", "--json", "--task", "predict"],
    ["models", "show", f"{MODEL}:1.0.0"],
    ["models", "show", MODEL, "--json"],
    # the README's own command, as a notebook user types it
    ["run", MODEL, "--task", "predict", "--input", "data=rows", "--param", "threshold=0.25", "--follow"],
    ["run", MODEL, "--task", "predict", "--input", "data=rows", "--params", "{params}", "--reuse"],
    ["run", MODEL, "--task", "fail", "--json"],
    ["run", MODEL, "--task", "sleep", "--param", "seconds=120", "--detach"],
    ["runs", "cancel", "{detached}"],
    ["runs", "list"],
    ["runs", "list", "--task", "predict", "--limit", "1"],
    ["runs", "list", "--state", "failed", "--json"],
    ["runs", "show", "{run}"],
    ["runs", "show", "{run}", "--json"],
    ["runs", "logs", "{run}"],
    ["runs", "rerun", "{run}", "--follow"],
    ["runs", "rm", "{detached}"],
    ["runs", "show", "{detached}"],
    ["run", MODEL, "--task", "predict", "--input", "data=rows", "--name", "  Nightly check  "],
    ["runs", "list", "--name", "NIGHTLY"],
    ["run", MODEL, "--task", "predict", "--input", "data=rows", "--name", "x" * 201],
    ["datasets", "rm", "rows"],
    ["datasets", "show", "rows"],
]

RUN_ID = re.compile(r"\b[0-9a-f]{16}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?")


def mlk_in(env: dict[str, str], cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``mlk ARGV`` as a user types it, in its own process with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "mlrun_kernel.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def normalise(text: str) -> str:
    text = RUN_ID.sub("<run>", text)
    text = TIME.sub("<time>", text)
    text = re.sub(r"outputs: \S+", "outputs: <where>", text)
    text = re.sub(r'"outputs_dir": "[^"]*"', '"outputs_dir": <where>', text)
    text = re.sub(r"(at|GET|POST|DELETE) http://127\.0\.0\.1:\d+/\S*", r"\1 <service>", text)
    return re.sub(r" +\n", "\n", text)


class _Ids(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return f"no-{key}-run"


def play(mlk: Callable[..., subprocess.CompletedProcess[str]], files: dict[str, str]) -> list[tuple]:
    """Run the table on one side; what each command printed and how it exited."""
    ids = _Ids(files)
    seen = []
    for argv in COMMANDS:
        done = mlk(*[a.format_map(ids) if "{" in a else a for a in argv])
        found = RUN_ID.findall(done.stdout)
        if argv[0] == "run" and "--follow" in argv and found:
            ids.setdefault("run", found[0])
        if "--detach" in argv and found:
            ids["detached"] = found[0]
        out = normalise(done.stdout)
        if "--follow" in argv or argv[:2] == ["runs", "logs"]:
            # a model's stdout and stderr lines interleave as the engine delivers them
            out = "\n".join(sorted(out.splitlines()))
        seen.append((" ".join(argv), done.returncode, out, normalise(done.stderr)))
    return seen


def test_every_command_prints_the_same_embedded_and_through_the_service(
    tmp_path: Path, registry_url: str, behaving_model: object
) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b\n1,2\n3,4\n5,6\n")
    params = tmp_path / "params.json"
    params.write_text('{"threshold": 0.25}')
    files = {"csv": str(csv), "params": str(params)}
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLK_", "JUPYTERHUB_"))  # nothing of the test runner's own setup leaks in
    }
    base |= {"MLK_REGISTRY_URL": registry_url, "MLK_USER": USER}

    def side(env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
        return functools.partial(mlk_in, env, tmp_path)

    embedded = play(side(base | {"MLK_DATA_DIR": str(tmp_path / "embedded")}), files)

    config = service_config(
        tmp_path / "service",
        "http://127.0.0.1:9/hub/api",
        registry_url,
        static_token="cli-token",
        static_user=USER,
        run_executor=True,
    )
    with ServedApp(config) as served:
        remote_env = base | {
            "MLK_SERVICE_URL": served.url,
            "MLK_SERVICE_TOKEN": "cli-token",
            "MLK_DATA_DIR": str(tmp_path / "unused"),  # the remote side must not touch it
        }
        remote = play(side(remote_env), files)
    assert not (tmp_path / "unused" / "mlrun-kernel.sqlite").exists()

    if os.environ.get("MLK_TEST_SHOW"):
        for mine, theirs in zip(embedded, remote, strict=True):
            print(f"=== mlk {mine[0]}\n--- embedded {mine[1:]}\n--- remote {theirs[1:]}")
    for mine, theirs in zip(embedded, remote, strict=True):
        assert mine == theirs, f"`mlk {mine[0]}` differs:\nembedded: {mine[1:]}\nremote:   {theirs[1:]}"
    outcome = {argv: code for argv, code, _, _ in embedded}
    assert outcome[" ".join(COMMANDS[10])] == 0 and outcome[" ".join(COMMANDS[12])] == 1
    said = {argv: (code, out, err) for argv, code, out, err in embedded}
    named = said["runs list --name NIGHTLY"][1].splitlines()  # stored stripped, found in any case
    assert [line.split()[:3] for line in named[1:]] == [["<run>", "Nightly", "check"]], named
    code, _, err = said[" ".join(COMMANDS[-3])]
    assert code != 0 and "200" in err, err  # too long: refused, saying the limit


def test_what_cannot_work_through_the_service_says_so(tmp_path: Path, registry_url: str) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b\n1,2\n")
    config = service_config(
        tmp_path / "service", "http://127.0.0.1:9/hub/api", registry_url, static_token="t"
    )
    with ServedApp(config) as served:
        env = {**os.environ, "MLK_SERVICE_URL": served.url, "MLK_SERVICE_TOKEN": "t", "MLK_USER": "admin"}

        mlk = functools.partial(mlk_in, env, tmp_path)
        local = mlk("run", MODEL, "--input", f"data={csv}")
        assert local.returncode == 1 and "Traceback" not in local.stderr
        assert "names a file here, which the service cannot read: upload it first" in local.stderr
        other = mlk("run", MODEL, "--input", "data=rows", "--owner", "someone-else")
        assert other.returncode == 1 and "through the service a run is always yours (admin)" in other.stderr
        folder = mlk("datasets", "upload", str(tmp_path), "--name", "folder")
        assert folder.returncode == 1 and "is a folder: through the service, upload a file" in folder.stderr
