"""``Evaluations``: the one face of the area that the service, the CLI and the widgets call.

It ties the pieces together around the run executor (whose public ``submit`` is all it
uses, so nothing in :mod:`mlrun_kernel.runs` knows about evaluations):

- ``evaluate(model)`` claims an evaluation row and submits an ``evaluate`` run of the
  model on its setup's pinned reference dataset;
- ``tick()`` is what the service does every ``MLK_EVAL_TICK_SECONDS``: copy finished runs'
  metrics into the history, finish evaluations whose runs ended (then judge them by the
  rules and announce new flags), claim due schedule slots, and start the re-evaluation of
  versions that name a fine-tune request. Each step is idempotent; the unique (model, slot)
  row makes a slot run once across processes, and ``clock`` is injectable for tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mlrun_kernel.datasets import Datasets, Principal
from mlrun_kernel.evaluations import flags as flag_store
from mlrun_kernel.evaluations import notify, setups
from mlrun_kernel.evaluations import requests as req
from mlrun_kernel.evaluations.errors import EvaluationError, InvalidSetting, NotFound
from mlrun_kernel.evaluations.history import ingest_finished_runs, numeric_metrics
from mlrun_kernel.evaluations.records import (
    EvaluationInfo,
    FlagInfo,
    RequestInfo,
    SetupInfo,
    evaluation_info,
    plain,
    request_info,
)
from mlrun_kernel.evaluations.schedule import due_slot
from mlrun_kernel.evaluations.settings import EvaluationSettings, evaluation_settings
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Evaluation, EvaluationSetup, FineTuneRequest, Run
from mlrun_kernel.store.types import utcnow

log = logging.getLogger(__name__)

Submit = Callable[[Any], Any]
"""``Executor.submit``: a ``RunRequest`` in, a ``RunInfo`` (with ``id``) out."""

TERMINAL_RUN = ("succeeded", "failed", "cancelled", "timed_out")


class RunsOff(EvaluationError):
    status = 503


@dataclass
class TickReport:
    ingested: int = 0
    finished: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    raised: list[int] = field(default_factory=list)


class Evaluations:
    """Evaluations of every model, in one store; see the module docstring."""

    def __init__(
        self,
        store: Store,
        datasets: Datasets,
        *,
        submit: Submit | None = None,
        settings: EvaluationSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        own_urls: Iterable[str] = (),
        notifier: notify.Notifier | None = None,
    ) -> None:
        self.store = store
        self.datasets = datasets
        self.submit = submit
        self.settings = settings or evaluation_settings()
        self.clock = clock
        self.own_urls = tuple(u for u in own_urls if u)
        self.notifier = notifier or notify.Notifier(store, self.settings)

    # ------------------------------------------------------------------ setups

    def setup(self, model: str) -> SetupInfo:
        return setups.get_setup(self.store, model, now=self.clock())

    def setups(self) -> list[SetupInfo]:
        return setups.list_setups(self.store, now=self.clock())

    def put_setup(self, by: Principal, model: str, **fields: Any) -> SetupInfo:
        fields.setdefault("experts_group", None)
        fields["experts_group"] = fields["experts_group"] or self.settings.eval_experts_group
        return setups.put_setup(self.store, self.datasets, by, model, now=self.clock(), **fields)

    def delete_setup(self, model: str) -> None:
        setups.delete_setup(self.store, model)

    # ------------------------------------------------------------------ evaluations

    def evaluate(
        self,
        by: str,
        model: str,
        *,
        ref: str = "latest",
        trigger: str = "manual",
        slot: datetime | None = None,
        request_id: str | None = None,
    ) -> EvaluationInfo:
        """Claim and start an evaluation of ``model`` (``ref``: a tag or ``sha256:`` digest).

        A claimed slot that another process already holds raises ``Conflict``-like
        ``IntegrityError`` inside and answers None to the scheduler; here it is a 409."""
        if self.submit is None:
            raise RunsOff("runs are off in this process (no run executor), so nothing can be evaluated")
        setup = setups.get_setup(self.store, model, now=self.clock())
        version = setups.pick_version(self.store, model, ref)
        if version is None:
            raise NotFound(f"no model {model!r} (version {ref!r}) in the catalog; see `mlk models list`")
        model_ref = f"{model}@{version.digest}"  # the version evaluated is the one resolved now
        with self.store.session() as s:
            row = Evaluation(
                model=model,
                model_ref=model_ref,
                trigger=trigger,
                slot=slot,
                request_id=request_id,
                dataset=f"{setup.dataset}:{setup.dataset_version}",
                parameters=dict(setup.parameters),
                state="claimed",
                created_by=by,
                created_at=self.clock(),
            )
            s.add(row)
            s.flush()
            evaluation_id = row.id
        return self._start(evaluation_id, setup, model_ref, by)

    def _start(self, evaluation_id: int, setup: SetupInfo, model_ref: str, by: str) -> EvaluationInfo:
        from mlrun_kernel.runs import RunError, RunRequest

        assert self.submit is not None
        request = RunRequest(
            model=model_ref,
            task=setups.EVALUATE,
            inputs={setup.input_name: f"{setup.dataset}:{setup.dataset_version}"},
            parameters=dict(setup.parameters),
            owner=Principal(name=by, is_admin=True),
        )
        try:
            run = self.submit(request)
        except RunError as exc:
            self._fail(evaluation_id, f"the evaluate run could not start: {exc}")
            raise InvalidSetting(f"evaluation of {model_ref} could not start: {exc}") from None
        with self.store.session() as s:
            row = s.get(Evaluation, evaluation_id, with_for_update=True)
            assert row is not None
            row.run_id, row.digest, row.model_version, row.state = (
                run.id,
                run.digest,
                run.model_version,
                "running",
            )
            return evaluation_info(row)

    def _fail(self, evaluation_id: int, reason: str) -> None:
        with self.store.session() as s:
            row = s.get(Evaluation, evaluation_id, with_for_update=True)
            if row is not None:
                row.state, row.reason, row.finished_at = "failed", reason, self.clock()

    def get(self, evaluation_id: int) -> EvaluationInfo:
        with self.store.session() as s:
            row = s.get(Evaluation, evaluation_id)
            if row is None:
                raise NotFound(f"no evaluation {evaluation_id}")
            return evaluation_info(row)

    def evaluations(self, model: str | None = None, *, limit: int = 500) -> list[EvaluationInfo]:
        with self.store.session() as s:
            stmt = (
                select(Evaluation).order_by(Evaluation.created_at.desc(), Evaluation.id.desc()).limit(limit)
            )
            if model:
                stmt = stmt.where(Evaluation.model == model)
            return [evaluation_info(r) for r in s.scalars(stmt)]

    # ------------------------------------------------------------------ rules and flags

    def add_rule(self, by: str, model: str, **fields: Any) -> Any:
        return flag_store.add_rule(
            self.store, by, model, default_cooldown=self.settings.eval_cooldown_seconds, **fields
        )

    def rules(self, model: str | None = None) -> list[Any]:
        return flag_store.list_rules(self.store, model)

    def delete_rule(self, rule_id: int) -> None:
        flag_store.delete_rule(self.store, rule_id)

    def flags(self, model: str | None = None, *, open_only: bool = True) -> list[FlagInfo]:
        return flag_store.list_flags(self.store, model, open_only=open_only)

    # ------------------------------------------------------------------ requests

    def create_request(self, by: Principal, model: str, **fields: Any) -> RequestInfo:
        group = fields.pop("experts_group", None)
        if group is None:
            try:
                group = self.setup(model).experts_group
            except NotFound:
                group = self.settings.eval_experts_group
        announce = self._announce("request.opened")
        return req.create_request(
            self.store, self.datasets, by, model, experts_group=group, announce=announce, **fields
        )

    def _announce(self, event: str) -> req.Announce:
        """The request's notification, written to the outbox in the transaction that changes it."""

        def announce(s: Any, info: RequestInfo) -> None:
            self.notifier.enqueue(s, event, {"request": plain(info)}, request_id=info.id)

        return announce

    def requests(self, who: Principal, **filters: Any) -> list[RequestInfo]:
        return req.list_requests(self.store, who, **filters)

    def request(self, who: Principal, request_id: str) -> RequestInfo:
        return req.get_request(self.store, who, request_id)

    def acknowledge(self, who: Principal, request_id: str) -> RequestInfo:
        return req.acknowledge(self.store, who, request_id, self._announce("request.acknowledged"))

    def close(self, who: Principal, request_id: str, reason: str) -> RequestInfo:
        return req.close(self.store, who, request_id, reason, self._announce("request.closed"))

    # ------------------------------------------------------------------ webhooks

    def add_webhook(self, by: str, url: str, secret: str | None = None) -> tuple[Any, str]:
        return notify.add_webhook(self.store, by, url, self.own_urls, secret)

    # ------------------------------------------------------------------ the admin's table

    def overview(self) -> list[dict[str, Any]]:
        """Per evaluated model: setup, latest and previous evaluation metrics, open flags and
        active requests: the rows of the evaluation app's table."""
        flags = self.flags()
        with self.store.session() as s:
            active = s.execute(
                select(FineTuneRequest.model, func.count())
                .where(FineTuneRequest.state.in_(req.ACTIVE))
                .group_by(FineTuneRequest.model)
            ).all()
        requests_by_model = dict(active)
        rows = []
        for setup in self.setups():
            with self.store.session() as s:
                latest = s.scalars(
                    select(Evaluation)
                    .where(Evaluation.model == setup.model, Evaluation.state == "succeeded")
                    .order_by(Evaluation.finished_at.desc(), Evaluation.id.desc())
                    .limit(2)
                ).all()
                last_any = s.scalars(
                    select(Evaluation)
                    .where(Evaluation.model == setup.model)
                    .order_by(Evaluation.created_at.desc(), Evaluation.id.desc())
                    .limit(1)
                ).first()
            now_metrics = latest[0].metrics if latest else None
            before = latest[1].metrics if len(latest) > 1 else None
            trend = {
                k: (v - before[k]) if before and isinstance(before.get(k), int | float) else None
                for k, v in (now_metrics or {}).items()
            }
            model_flags = [plain(f) for f in flags if f.model == setup.model]
            rows.append(
                {
                    "model": setup.model,
                    "schedule": setup.schedule,
                    "next_slot": setup.next_slot,
                    "dataset": f"{setup.dataset}:{setup.dataset_version}",
                    "latest": plain(evaluation_info(latest[0])) if latest else None,
                    "last_state": last_any.state if last_any else None,
                    "metrics": now_metrics or {},
                    "trend": trend,
                    "flags": model_flags,
                    "state": "flagged" if model_flags else ("ok" if latest else "not evaluated"),
                    "active_requests": int(requests_by_model.get(setup.model, 0)),
                }
            )
        return rows

    # ------------------------------------------------------------------ the tick

    def tick(self) -> TickReport:
        """One round of the service's evaluation loop; see the module docstring."""
        report = TickReport()
        report.ingested = ingest_finished_runs(self.store)
        self._collect(report)
        if self.submit is not None:
            self._schedules(report)
        self._resolutions(report)  # with no way to queue a run, the comparison says so
        return report

    def _goals(self, model: str, ref: str | None) -> dict[str, str]:
        try:
            task = setups.evaluate_task(self.store, model, ref or "latest")
        except EvaluationError:
            try:
                task = setups.evaluate_task(self.store, model)
            except EvaluationError:
                return {}
        return {n: str((m or {}).get("goal")) for n, m in (task.get("metrics") or {}).items()}

    def _collect(self, report: TickReport) -> None:
        with self.store.session() as s:
            pending = s.execute(
                select(Evaluation.id, Evaluation.model, Evaluation.digest)
                .join(Run, Run.id == Evaluation.run_id)
                .where(Evaluation.state == "running", Run.state.in_(TERMINAL_RUN))
                .order_by(Evaluation.id)
            ).all()
        for evaluation_id, model, digest in pending:
            goals = self._goals(model, digest)
            now = self.clock()
            with self.store.session() as s:
                row = s.get(Evaluation, evaluation_id, with_for_update=True)
                if row is None or row.state != "running":
                    continue  # another process finished it
                run = s.get(Run, row.run_id)
                assert run is not None
                row.finished_at = run.finished_at or now
                if run.state == "succeeded":
                    row.state, row.metrics = "succeeded", numeric_metrics(run.metrics)
                    s.flush()
                    raised, cleared = flag_store.apply_rules(s, row, goals, now)
                else:
                    row.state, row.reason = "failed", run.reason or f"the evaluate run {run.state}"
                    raised, cleared = [], []
                info = evaluation_info(row)
                for kind, flags in (("flag.raised", raised), ("flag.cleared", cleared)):
                    for flag in flags:  # announced in the transaction that raises or clears it
                        self.notifier.enqueue(s, kind, {"flag": plain(flag), "evaluation": plain(info)})
            report.finished.append(evaluation_id)
            report.raised += [flag.id for flag in raised]
            if info.trigger == "resolution" and info.request_id:
                self._attach_comparison(info)

    def _schedules(self, report: TickReport) -> None:
        now = self.clock()
        with self.store.session() as s:
            rows = s.execute(
                select(EvaluationSetup, func.max(Evaluation.slot))
                .outerjoin(Evaluation, Evaluation.model == EvaluationSetup.model)
                .where(EvaluationSetup.schedule.is_not(None))
                .group_by(EvaluationSetup.model)
            ).all()
            due = []
            for setup, last in rows:
                slot = due_slot(setup.schedule, now=now, since=setup.schedule_since, last=last)
                if slot is not None:
                    due.append((setup.model, setup.updated_by, slot))
        for model, by, slot in due:
            try:
                info = self.evaluate(by, model, trigger="schedule", slot=slot)
            except IntegrityError:
                continue  # another service process claimed this slot first
            except EvaluationError as exc:
                log.warning("scheduled evaluation of %s at %s did not start: %s", model, slot, exc)
                continue
            report.started.append(info.id)

    def _resolutions(self, report: TickReport) -> None:
        for request_id, digest, version in req.resolving_versions(self.store):
            if not req.mark_resolved(self.store, request_id, digest, version, self.clock()):
                continue
            report.resolved.append(request_id)
            with self.store.session() as s:
                row = s.get(FineTuneRequest, request_id)
                assert row is not None
                model = row.model
            try:
                info = self.evaluate(
                    "evaluations", model, ref=digest, trigger="resolution", request_id=request_id
                )
            except EvaluationError as exc:
                self._set_comparison(request_id, None, {"error": f"the new version was not evaluated: {exc}"})
                continue
            report.started.append(info.id)
            with self.store.session() as s:
                row = s.get(FineTuneRequest, request_id, with_for_update=True)
                assert row is not None
                row.resolution_evaluation_id = info.id

    def _set_comparison(self, request_id: str, evaluation_id: int | None, comparison: dict[str, Any]) -> None:
        with self.store.session() as s:
            row = s.get(FineTuneRequest, request_id, with_for_update=True)
            assert row is not None
            row.comparison, row.updated_at = comparison, self.clock()
            if evaluation_id is not None:
                row.resolution_evaluation_id = evaluation_id
            info = request_info(row)
            self.notifier.enqueue(s, "request.resolved", {"request": plain(info)}, request_id=request_id)

    def _attach_comparison(self, after_info: EvaluationInfo) -> None:
        assert after_info.request_id is not None
        with self.store.session() as s:
            request = s.get(FineTuneRequest, after_info.request_id)
            after = s.get(Evaluation, after_info.id)
            assert request is not None and after is not None
            before = None
            if after.state == "succeeded":
                stmt = select(Evaluation).where(
                    Evaluation.model == request.model,
                    Evaluation.state == "succeeded",
                    Evaluation.id != after.id,
                    Evaluation.dataset == after.dataset,
                )
                if request.digest:
                    stmt = stmt.where(Evaluation.digest == request.digest)
                before = s.scalars(stmt.order_by(Evaluation.finished_at.desc())).first()
                comparison = req.comparison(before, after)
            else:
                comparison = {"error": f"the re-evaluation failed: {after.reason}"}
        self._set_comparison(after_info.request_id, after_info.id, comparison)
