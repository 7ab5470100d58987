"""Evaluation setups: per model, the reference dataset (a pinned version), the evaluate
task's parameters, the schedule and the experts' group. Checked in full before anything
is stored, so a wrong setup leaves the old one in place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from mlrun_kernel.catalog import VersionInfo, get_model, resolve_version
from mlrun_kernel.datasets import DatasetError, Datasets, Principal
from mlrun_kernel.evaluations.errors import InvalidSetting, NotFound
from mlrun_kernel.evaluations.records import SetupInfo, setup_info
from mlrun_kernel.evaluations.schedule import next_slot, parse_schedule
from mlrun_kernel.spec import ParameterError, validate_parameters
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import EvaluationSetup
from mlrun_kernel.store.types import utcnow

EVALUATE = "evaluate"


def pick_version(store: Store, model: str, ref: str = "latest") -> VersionInfo | None:
    """``model``'s version ``ref`` (a tag or digest); ``latest`` falls back to the card's head
    version (the newest good one) for repositories without a ``latest`` tag."""
    version = resolve_version(store, model, ref)
    if version is None and ref == "latest":
        card = get_model(store, model)
        if card is not None and card.problem is None:
            version = resolve_version(store, model, card.digest)
    return version


def evaluate_task(store: Store, model: str, ref: str = "latest") -> dict[str, Any]:
    """The manifest's ``evaluate`` task of ``model`` (its ``ref`` version), as stored data."""
    version = pick_version(store, model, ref)
    if version is None:
        raise NotFound(f"no model {model!r} (version {ref!r}) in the catalog; see `mlk models list`")
    task = ((version.manifest or {}).get("tasks") or {}).get(EVALUATE)
    if not isinstance(task, dict):
        raise InvalidSetting(
            f"model {model!r} ({version.version or version.digest[:19]}) has no '{EVALUATE}' task; "
            "only models whose manifest declares one can be evaluated"
        )
    return task


def declared_metrics(store: Store, model: str) -> dict[str, Any]:
    """The metrics the model's evaluate task declares (name -> {goal, range})."""
    return dict(evaluate_task(store, model).get("metrics") or {})


def _next(schedule: str | None, now: datetime) -> datetime | None:
    return next_slot(schedule, now) if schedule else None


def get_setup(store: Store, model: str, *, now: datetime | None = None) -> SetupInfo:
    with store.session() as s:
        row = s.get(EvaluationSetup, model)
        if row is None:
            raise NotFound(
                f"model {model!r} has no evaluation setup; an admin sets one (reference dataset, "
                "parameters, schedule) with PUT api/evaluations/setup"
            )
        return setup_info(row, _next(row.schedule, now or utcnow()))


def list_setups(store: Store, *, now: datetime | None = None) -> list[SetupInfo]:
    with store.session() as s:
        rows = s.scalars(select(EvaluationSetup).order_by(EvaluationSetup.model))
        return [setup_info(r, _next(r.schedule, now or utcnow())) for r in rows]


def put_setup(
    store: Store,
    datasets: Datasets,
    by: Principal,
    model: str,
    *,
    dataset: str,
    dataset_version: int | None = None,
    parameters: dict[str, Any] | None = None,
    schedule: str | None = None,
    input_name: str | None = None,
    experts_group: str,
    now: datetime | None = None,
) -> SetupInfo:
    """Set how ``model`` is evaluated; every field checked first, nothing stored on error."""
    task = evaluate_task(store, model)
    inputs = dict(task.get("inputs") or {})
    if input_name is None:
        if not inputs:
            raise InvalidSetting(f"the evaluate task of {model!r} declares no input to give the data to")
        input_name = next(iter(inputs))
    elif input_name not in inputs:
        raise InvalidSetting(
            f"the evaluate task of {model!r} has no input {input_name!r} (it has: {', '.join(inputs)})"
        )
    try:
        validate_parameters(task.get("parameters") or {"type": "object"}, parameters or {})
    except ParameterError as exc:
        raise InvalidSetting(f"parameters for the evaluate task of {model!r}: {exc}") from None
    try:
        version = datasets.get_version(by, dataset, dataset_version)
    except DatasetError as exc:
        raise InvalidSetting(f"reference dataset: {exc.message}") from None
    parsed = parse_schedule(schedule)
    if not experts_group.strip():
        raise InvalidSetting("experts_group must name a hub group")
    moment = now or utcnow()
    with store.session() as s:
        row = s.get(EvaluationSetup, model, with_for_update=True)
        if row is None:
            row = EvaluationSetup(model=model, schedule_since=moment)
            s.add(row)
        elif row.schedule != parsed:
            row.schedule_since = moment  # a changed schedule starts now, it does not catch up
        row.dataset = version.ref
        row.dataset_version = version.version
        row.input_name = input_name
        row.parameters = dict(parameters or {})
        row.schedule = parsed
        row.experts_group = experts_group.strip()
        row.updated_by = by.name
        row.updated_at = moment
        s.flush()
        return setup_info(row, _next(parsed, moment))


def delete_setup(store: Store, model: str) -> None:
    with store.session() as s:
        row = s.get(EvaluationSetup, model)
        if row is None:
            raise NotFound(f"model {model!r} has no evaluation setup")
        s.delete(row)
