"""Evaluations: metrics history, evaluation setups and runs, rules, flags, fine-tune
requests, webhooks. A thin layer over :class:`mlrun_kernel.evaluations.Evaluations`.

Who may do what (``service/scopes.py`` holds the table): admins manage everything; experts
(the publish scope) read the metrics history and the requests of their groups, and
acknowledge or close them; model users are refused everything here but the flags, which
the gallery shows as a badge. Models are named in the query (``?model=team/churn``), as
model names may hold slashes.

``keep_evaluating`` is the service's evaluation loop (started by the app's lifespan):
``Evaluations.tick`` every ``MLK_EVAL_TICK_SECONDS``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mlrun_kernel.evaluations import EvaluationError, Evaluations, RunsOff
from mlrun_kernel.evaluations.history import FIELDS, history_rows, history_statement, ingest_finished_runs
from mlrun_kernel.evaluations.notify import list_deliveries, list_webhooks
from mlrun_kernel.evaluations.records import (
    DeliveryInfo,
    EvaluationInfo,
    FlagInfo,
    RequestInfo,
    RuleInfo,
    SetupInfo,
    WebhookInfo,
    plain,
    wire_model,
)
from mlrun_kernel.service import audit
from mlrun_kernel.service.deps import CallerDep, Platform, PlatformDep
from mlrun_kernel.service.threads import in_thread

log = logging.getLogger(__name__)
router = APIRouter(tags=["evaluations"])

SetupOut = wire_model(SetupInfo)
EvaluationOut = wire_model(EvaluationInfo)
RuleOut = wire_model(RuleInfo)
FlagOut = wire_model(FlagInfo)
RequestOut = wire_model(RequestInfo)
WebhookOut = wire_model(WebhookInfo)
DeliveryOut = wire_model(DeliveryInfo)

MAX_ID = 2**53
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
ModelQuery = Annotated[str, Query(min_length=1, max_length=255, description="repository, e.g. team/churn")]


def make_evaluations(platform: Platform) -> Evaluations:
    """The service's ``Evaluations``: runs through its executor, webhooks never to itself.

    A process with no executor (no engine here, beside a separate ``python -m
    mlrun_kernel.runs``) still evaluates: its runs are validated and queued in the store by
    a queue-only executor, and whichever executor is started picks them up. So the process
    that sees a new version naming a fine-tune request resolves it and queues the
    re-evaluation, whether or not it runs containers itself."""
    config = platform.config
    own = [config.url]  # every path of the service's own address is the service
    if config.public_url:
        own.append(config.public_url.rstrip("/") + config.prefix)
    executor = platform.executor if platform.executor is not None else _queue_only_executor(platform)
    submit = executor.submit if executor is not None else None
    return Evaluations(platform.store, platform.datasets, submit=submit, own_urls=own)


def _queue_only_executor(platform: Platform) -> Any:
    """An ``Executor`` that only validates and queues (never started: no engine here)."""
    try:
        from mlrun_kernel.runs import Executor, run_settings
        from mlrun_kernel.runs.backends.base import Backend

        def no_engine(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("this process only queues runs; an executor with an engine runs them")

        class NoEngine(Backend):
            name = "none"
            ping = pull = create = start = wait = logs = stop = remove = inspect = list_runs = staticmethod(
                no_engine
            )

        root = run_settings().runs_dir or platform.config.data_dir / "runs"
        return Executor(
            platform.store,
            backend=NoEngine(),
            root=root,
            registry=platform.registry_host,
            datasets=platform.datasets,
        )
    except Exception as exc:
        log.warning("evaluations cannot queue runs in this process: %s", exc)
        return None


def evaluations_of(request: Request) -> Evaluations:
    found: Evaluations = request.app.state.evaluations
    return found


async def keep_evaluating(evaluations: Evaluations) -> None:
    """The evaluation loop: one tick, then wait; a failed tick is logged and retried."""
    while True:
        try:
            await in_thread(evaluations.tick)
        except Exception:  # the loop must outlive one bad tick; the log has the trace
            log.exception("the evaluation tick failed; retrying at the next one")
        await anyio.sleep(evaluations.settings.eval_tick_seconds)


def install(app: FastAPI) -> None:
    """Answer the area's errors with their status and the message that says what to do."""

    @app.exception_handler(EvaluationError)
    async def evaluation_error(request: Request, exc: EvaluationError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)


# ---------------------------------------------------------------------------- metrics history


class MetricHistoryOut(BaseModel):
    """A model's metric history, oldest first; each point is a row of ``fields``."""

    model: str
    fields: list[str]
    points: list[list[Any]]


@router.get("/metrics", response_model=MetricHistoryOut, summary="A model's metrics over time")
async def metrics_history(
    caller: CallerDep,
    platform: PlatformDep,
    model: ModelQuery,
    metric: Annotated[str | None, Query(max_length=128)] = None,
    digest: Annotated[str | None, Query(max_length=100)] = None,
    task: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    evaluations_only: bool = False,
) -> Response:
    """Every metric the model's finished runs reported (``evaluations_only``: evaluations'),
    filtered by metric, version digest, task and time. Points are compact rows
    (``fields`` names their columns) so a year of daily evaluations stays small."""
    stmt = history_statement(
        model,
        metric=metric,
        digest=digest,
        task=task,
        since=since,
        until=until,
        evaluations_only=evaluations_only,
    )

    def read() -> bytes:
        ingest_finished_runs(platform.store)
        with platform.store.session() as s:
            rows = history_rows(s, stmt)
        points = [[at.isoformat(), *rest] for at, *rest in rows]
        return json.dumps({"model": model, "fields": list(FIELDS), "points": points}).encode()

    return Response(await in_thread(read), media_type="application/json")


# ---------------------------------------------------------------------------- setups


class SetupIn(BaseModel):
    model: str = Field(min_length=1, max_length=255)
    dataset: str = Field(min_length=1, max_length=600, description="owner/name of the labelled data")
    dataset_version: int | None = Field(
        default=None, ge=1, le=2**31, description="default: the newest, pinned"
    )
    parameters: dict[str, Any] = Field(default_factory=dict, description="for the evaluate task")
    schedule: str | None = Field(default=None, max_length=200, description="daily, weekly or cron")
    input_name: str | None = Field(default=None, max_length=128, description="default: the first input")
    experts_group: str | None = Field(default=None, max_length=255)


@router.get("/evaluations/setups", response_model=list[SetupOut], summary="Evaluation setups")  # type: ignore[valid-type]
async def list_setups(caller: CallerDep, request: Request) -> list[dict[str, Any]]:
    return [plain(s) for s in await in_thread(evaluations_of(request).setups)]


@router.get("/evaluations/setup", response_model=SetupOut, summary="A model's evaluation setup")
async def get_setup(caller: CallerDep, request: Request, model: ModelQuery) -> dict[str, Any]:
    return plain(await in_thread(evaluations_of(request).setup, model))


@router.put("/evaluations/setup", response_model=SetupOut, summary="Set how a model is evaluated")
async def put_setup(
    body: SetupIn, caller: CallerDep, platform: PlatformDep, request: Request
) -> dict[str, Any]:
    """Reference dataset (its version pinned), evaluate parameters, schedule, experts' group."""
    fields = body.model_dump(exclude={"model"})
    info = await in_thread(evaluations_of(request).put_setup, caller.principal(), body.model, **fields)
    await in_thread(audit.record, platform.store, caller.name, "create", "evaluation-setup", body.model)
    return plain(info)


@router.delete("/evaluations/setup", status_code=204, summary="Stop evaluating a model")
async def delete_setup(
    caller: CallerDep, platform: PlatformDep, request: Request, model: ModelQuery
) -> Response:
    await in_thread(evaluations_of(request).delete_setup, model)
    await in_thread(audit.record, platform.store, caller.name, "delete", "evaluation-setup", model)
    return Response(status_code=204)


# ---------------------------------------------------------------------------- evaluations


class EvaluateIn(BaseModel):
    model: str = Field(min_length=1, max_length=255)
    ref: str = Field(default="latest", max_length=200, description="a tag or sha256: digest")


@router.post("/evaluations", response_model=EvaluationOut, status_code=201, summary="Evaluate a model now")
async def evaluate(
    body: EvaluateIn, caller: CallerDep, platform: PlatformDep, request: Request
) -> dict[str, Any]:
    evaluations = evaluations_of(request)
    if evaluations.submit is None:
        raise RunsOff("runs are off in this service (no run executor), so nothing can be evaluated")
    info = await in_thread(evaluations.evaluate, caller.name, body.model, ref=body.ref)
    await in_thread(audit.record, platform.store, caller.name, "run", "evaluation", str(info.id))
    return plain(info)


@router.get("/evaluations", response_model=list[EvaluationOut], summary="Evaluations, newest first")  # type: ignore[valid-type]
async def list_evaluations(
    caller: CallerDep,
    request: Request,
    model: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    evaluations = evaluations_of(request)
    return [plain(e) for e in await in_thread(evaluations.evaluations, model, limit=limit)]


@router.get("/evaluations/overview", summary="Every evaluated model: latest metrics, trend, state")
async def overview(caller: CallerDep, request: Request) -> list[dict[str, Any]]:
    rows = await in_thread(evaluations_of(request).overview)
    return [json.loads(json.dumps(r, default=str)) for r in rows]


# ---------------------------------------------------------------------------- rules and flags


class RuleIn(BaseModel):
    model: str = Field(min_length=1, max_length=255)
    metric: str = Field(min_length=1, max_length=128)
    kind: str = Field(description="threshold or drop")
    threshold: Any = Field(default=None, description="threshold rules: the limit")
    drop: Any = Field(default=None, description="drop rules: a fraction, 0.1 = 10 % worse")
    baseline: str | None = Field(default=None, description="drop rules: pinned or median")
    baseline_evaluation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    window: Any = Field(default=None, description="median baseline: how many evaluations")
    min_consecutive: Any = 1
    cooldown_seconds: Any = None


@router.get("/evaluations/rules", response_model=list[RuleOut], summary="Deterioration rules")  # type: ignore[valid-type]
async def list_rules(
    caller: CallerDep, request: Request, model: Annotated[str | None, Query(max_length=255)] = None
) -> list[dict[str, Any]]:
    return [plain(r) for r in await in_thread(evaluations_of(request).rules, model)]


@router.post(
    "/evaluations/rules", response_model=RuleOut, status_code=201, summary="Add a deterioration rule"
)
async def add_rule(
    body: RuleIn, caller: CallerDep, platform: PlatformDep, request: Request
) -> dict[str, Any]:
    """The metric must be one the model's evaluate task declares; its goal gives the direction."""
    fields = body.model_dump(exclude={"model"})
    info = await in_thread(evaluations_of(request).add_rule, caller.name, body.model, **fields)
    await in_thread(audit.record, platform.store, caller.name, "create", "evaluation-rule", str(info.id))
    return plain(info)


@router.delete("/evaluations/rules/{rule_id}", status_code=204, summary="Remove a rule")
async def delete_rule(rule_id: RowId, caller: CallerDep, platform: PlatformDep, request: Request) -> Response:
    await in_thread(evaluations_of(request).delete_rule, rule_id)
    await in_thread(audit.record, platform.store, caller.name, "delete", "evaluation-rule", str(rule_id))
    return Response(status_code=204)


@router.get("/evaluations/flags", response_model=list[FlagOut], summary="Flagged model versions")  # type: ignore[valid-type]
async def list_flags(
    caller: CallerDep,
    request: Request,
    model: Annotated[str | None, Query(max_length=255)] = None,
    open_only: bool = True,
) -> list[dict[str, Any]]:
    """Open flags (``open_only=false``: cleared ones too), with the rule and the numbers."""
    return [plain(f) for f in await in_thread(evaluations_of(request).flags, model, open_only=open_only)]


# ---------------------------------------------------------------------------- requests


class RequestIn(BaseModel):
    model: str = Field(min_length=1, max_length=255)
    reason: str = Field(max_length=4000)
    flag_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="the flag whose evidence to attach"
    )
    datasets: list[str] = Field(
        default_factory=list, max_length=50, description="new data: owner/name[:version]"
    )
    experts_group: str | None = Field(default=None, max_length=255)


class CloseIn(BaseModel):
    reason: str = Field(max_length=4000)


@router.post(
    "/requests", response_model=RequestOut, status_code=201, summary="Ask a model's experts to fine-tune"
)
async def create_request(
    body: RequestIn, caller: CallerDep, platform: PlatformDep, request: Request
) -> dict[str, Any]:
    """Evidence is filled in from the flag (or the latest evaluations); the datasets are
    shared with the experts' group; the webhooks and the mailbox are told."""
    info = await in_thread(
        evaluations_of(request).create_request,
        caller.principal(),
        body.model,
        reason=body.reason,
        flag_id=body.flag_id,
        attach=body.datasets,
        experts_group=body.experts_group,
    )
    await in_thread(audit.record, platform.store, caller.name, "create", "finetune-request", info.id)
    return plain(info)


@router.get("/requests", response_model=list[RequestOut], summary="Fine-tune requests")  # type: ignore[valid-type]
async def list_requests(
    caller: CallerDep,
    request: Request,
    model: Annotated[str | None, Query(max_length=255)] = None,
    state: Annotated[
        str | None, Query(max_length=16, description="open, acknowledged, resolved, closed, active")
    ] = None,
) -> list[dict[str, Any]]:
    """Admins see all; experts the requests of their groups."""
    evaluations = evaluations_of(request)
    found = await in_thread(evaluations.requests, caller.principal(), model=model, state=state)
    return [plain(r) for r in found]


@router.get("/requests/{request_id}", response_model=RequestOut, summary="One fine-tune request")
async def get_request(request_id: str, caller: CallerDep, request: Request) -> dict[str, Any]:
    return plain(await in_thread(evaluations_of(request).request, caller.principal(), request_id))


@router.post("/requests/{request_id}/ack", response_model=RequestOut, summary="Acknowledge a request")
async def acknowledge(request_id: str, caller: CallerDep, request: Request) -> dict[str, Any]:
    return plain(await in_thread(evaluations_of(request).acknowledge, caller.principal(), request_id))


@router.post(
    "/requests/{request_id}/close", response_model=RequestOut, summary="Close a request with a reason"
)
async def close(request_id: str, body: CloseIn, caller: CallerDep, request: Request) -> dict[str, Any]:
    return plain(await in_thread(evaluations_of(request).close, caller.principal(), request_id, body.reason))


# ---------------------------------------------------------------------------- webhooks


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000)
    secret: str | None = Field(default=None, max_length=255, description="default: one is made")


class WebhookCreated(BaseModel):
    webhook: WebhookOut  # type: ignore[valid-type]
    secret: str = Field(description="shown once: receivers check X-MLK-Signature-256 with it")


@router.get("/evaluations/webhooks", response_model=list[WebhookOut], summary="Webhooks")  # type: ignore[valid-type]
async def get_webhooks(caller: CallerDep, platform: PlatformDep) -> list[dict[str, Any]]:
    return [plain(w) for w in await in_thread(list_webhooks, platform.store)]


@router.post("/evaluations/webhooks", response_model=WebhookCreated, status_code=201, summary="Add a webhook")
async def add_webhook(
    body: WebhookIn, caller: CallerDep, platform: PlatformDep, request: Request
) -> dict[str, Any]:
    info, secret = await in_thread(evaluations_of(request).add_webhook, caller.name, body.url, body.secret)
    await in_thread(audit.record, platform.store, caller.name, "create", "webhook", str(info.id))
    return {"webhook": plain(info), "secret": secret}


@router.delete("/evaluations/webhooks/{webhook_id}", status_code=204, summary="Remove a webhook")
async def delete_webhook(webhook_id: RowId, caller: CallerDep, platform: PlatformDep) -> Response:
    from mlrun_kernel.evaluations.notify import delete_webhook as remove

    await in_thread(remove, platform.store, webhook_id)
    await in_thread(audit.record, platform.store, caller.name, "delete", "webhook", str(webhook_id))
    return Response(status_code=204)


@router.get("/evaluations/deliveries", response_model=list[DeliveryOut], summary="Notification delivery log")  # type: ignore[valid-type]
async def deliveries(
    caller: CallerDep,
    platform: PlatformDep,
    request_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[dict[str, Any]]:
    """Every attempt to deliver an event, newest first."""
    return [
        plain(d) for d in await in_thread(list_deliveries, platform.store, request_id=request_id, limit=limit)
    ]


# ---------------------------------------------------------------------------- last: the id route
# (declared after every fixed /evaluations/... path, which it would otherwise shadow)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationOut, summary="One evaluation")
async def get_evaluation(evaluation_id: RowId, caller: CallerDep, request: Request) -> dict[str, Any]:
    return plain(await in_thread(evaluations_of(request).get, evaluation_id))
