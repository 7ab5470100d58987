"""Run reuse tells a user nothing they could not read: ana's run on her private dataset is
never offered to bob, even when bob brings the very same bytes; on a dataset she shares
with bob's group, it is."""

from __future__ import annotations

import pytest

from mlrun_kernel.datasets import Datasets, Principal
from mlrun_kernel.runs import Executor, LocalInput, RunRequest

pytestmark = [pytest.mark.docker, pytest.mark.registry]

MODEL = "mlk-test-hardening"
ANA = Principal(name="ana", groups=frozenset({"team"}))
BOB = Principal(name="bob", groups=frozenset({"team"}))
CY = Principal(name="cy", groups=frozenset({"team"}))
ROWS = b"name,salary\nana,100\n"


@pytest.fixture
def setup(make_executor) -> tuple[Executor, Datasets]:
    executor = make_executor()
    return executor, executor.datasets


def ask(executor: Executor, owner: Principal, dataset: str, *, reuse: bool):
    return executor.submit(
        RunRequest(model=MODEL, task="inputs", owner=owner, inputs={"a": dataset, "b": dataset}, reuse=reuse)
    )


def finished(executor: Executor, run) -> None:
    done = executor.wait(run.id, timeout=120)
    assert done.state == "succeeded", done.reason


def test_bob_does_not_learn_that_ana_ran_the_model_on_her_private_dataset(setup):
    executor, datasets = setup
    datasets.upload_file(ANA, "salaries", ROWS, filename="salaries.csv")
    anas = ask(executor, ANA, "salaries", reuse=False)
    finished(executor, anas)

    datasets.upload_file(BOB, "guess", ROWS, filename="salaries.csv")  # the same bytes, guessed
    bobs = ask(executor, BOB, "guess", reuse=True)
    assert bobs.inputs["a"]["identity"] == anas.inputs["a"]["identity"]  # the same reuse key
    assert bobs.reused_from is None
    assert not any("reused" in (e.reason or "") for e in bobs.events)
    finished(executor, bobs)
    # and once bob has run it himself, his own run is his to reuse
    again = ask(executor, BOB, "guess", reuse=True)
    assert again.reused_from == bobs.id


def test_bob_reuses_ana_s_run_on_a_dataset_she_shares_with_his_group(setup):
    executor, datasets = setup
    datasets.upload_file(ANA, "shared", ROWS, filename="shared.csv")
    datasets.share(ANA, "shared", "group", group="team")
    anas = ask(executor, ANA, "shared", reuse=False)
    finished(executor, anas)

    bobs = ask(executor, BOB, "ana/shared", reuse=True)
    assert bobs.state == "succeeded" and bobs.reused_from == anas.id
    assert bobs.result == {"a": {"shared.csv": "name,salary"}, "b": {"shared.csv": "name,salary"}}

    datasets.share(ANA, "shared", "private")  # unshared: cy, who joined the team too late,
    datasets.upload_file(CY, "copy", ROWS, filename="shared.csv")  # finds nothing with a copy
    copied = ask(executor, CY, "copy", reuse=True)
    assert copied.reused_from is None
    finished(executor, copied)


def test_another_owner_s_run_on_a_local_path_is_never_reused(setup, tmp_path):
    executor, _ = setup
    data = tmp_path / "local.csv"
    data.write_bytes(ROWS)
    request = RunRequest(
        model=MODEL, task="inputs", owner=ANA, inputs={"a": LocalInput(data), "b": LocalInput(data)}
    )
    anas = executor.submit(request)
    finished(executor, anas)
    assert executor.submit(RunRequest(**(request.__dict__ | {"reuse": True}))).reused_from == anas.id
    bobs = executor.submit(RunRequest(**(request.__dict__ | {"owner": BOB, "reuse": True})))
    assert bobs.reused_from is None
    finished(executor, bobs)
