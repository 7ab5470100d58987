"""Fine-tune requests: from an admin to a model's experts, and back.

Lifecycle: ``open`` -> ``acknowledged`` -> ``resolved`` (a new version names the request
in its manifest, ``resolves: <id>``) or ``closed`` (with a reason). Datasets attached to a
request are shared with the experts' group by that act; the evidence (a flag, the
evaluations and their metrics) is filled in from the store, not typed by hand.

Who sees what: admins see every request; an expert sees the requests of the group they
belong to (``experts_group``, by default ``model-experts``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from mlrun_kernel.datasets import DatasetError, Datasets, Principal
from mlrun_kernel.evaluations.errors import Conflict, InvalidSetting, NotFound
from mlrun_kernel.evaluations.records import RequestInfo, evaluation_info, flag_info, plain, request_info
from mlrun_kernel.evaluations.setups import pick_version
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import Evaluation, FineTuneRequest, ModelFlag
from mlrun_kernel.store.types import utcnow

STATES = ("open", "acknowledged", "resolved", "closed")
ACTIVE = ("open", "acknowledged")
MAX_REASON = 4000
EVIDENCE_EVALUATIONS = 10


def new_request_id() -> str:
    return f"ftr-{secrets.token_hex(6)}"


Announce = Callable[[Any, RequestInfo], None]
"""Called in the session that changes a request, with its new record: the outbox row of
its notification is written in the same transaction (``Notifier.enqueue``)."""


def may_see(who: Principal, request: FineTuneRequest | RequestInfo) -> bool:
    return who.is_admin or request.experts_group in who.groups


def _evidence(s: Any, model: str, flag_id: int | None) -> tuple[dict[str, Any], str | None, str | None]:
    """(evidence, digest, version): the flag and its evaluations, else the latest evaluations."""
    evidence: dict[str, Any] = {}
    digest = version = None
    ids: list[int] = []
    if flag_id is not None:
        flag = s.get(ModelFlag, flag_id)
        if flag is None or flag.model != model:
            raise InvalidSetting(f"flag {flag_id} is not a flag of model {model!r}")
        evidence["flag"] = plain(flag_info(flag))
        digest, version = flag.digest, flag.model_version
        ids = [int(i) for i in flag.evaluation_ids or []]
    stmt = select(Evaluation).where(Evaluation.model == model, Evaluation.state == "succeeded")
    if ids:
        stmt = stmt.where(Evaluation.id.in_(ids))
    rows = s.scalars(stmt.order_by(Evaluation.finished_at.desc()).limit(EVIDENCE_EVALUATIONS)).all()
    evidence["evaluations"] = [
        {k: v for k, v in plain(evaluation_info(e)).items() if k in _EVIDENCE_FIELDS} for e in reversed(rows)
    ]
    if digest is None and rows:
        digest, version = rows[0].digest, rows[0].model_version
    return evidence, digest, version


_EVIDENCE_FIELDS = (
    "id",
    "digest",
    "version",
    "trigger",
    "slot",
    "run_id",
    "dataset",
    "metrics",
    "finished_at",
)


def create_request(
    store: Store,
    datasets: Datasets,
    by: Principal,
    model: str,
    *,
    reason: str,
    experts_group: str,
    flag_id: int | None = None,
    attach: list[str] | None = None,
    announce: Announce | None = None,
) -> RequestInfo:
    """Open a request; check everything first, then share the new data, then store."""
    text = (reason or "").strip()
    if not text:
        raise InvalidSetting("a fine-tune request needs a reason: what is wrong, and what would help")
    if len(text) > MAX_REASON:
        raise InvalidSetting(f"the reason is longer than {MAX_REASON} characters")
    if pick_version(store, model) is None:
        raise NotFound(f"no model {model!r} in the catalog; see `mlk models list`")
    pinned: list[tuple[str, int, Any]] = []
    for ref in attach or []:
        name, _, version_text = ref.rpartition(":")
        if not (version_text.isascii() and version_text.isdigit()):
            name, version_text = ref, ""
        if version_text and not 1 <= int(version_text) <= 2**31:
            raise InvalidSetting(f"attached dataset {ref!r}: there is no version {version_text}")
        try:
            version = datasets.get_version(by, name, int(version_text) if version_text else None)
            info = datasets.get(by, version.ref)
        except DatasetError as exc:
            raise InvalidSetting(f"attached dataset {ref!r}: {exc.message}") from None
        if info.visibility == "group" and info.group != experts_group:
            raise InvalidSetting(
                f"dataset {info.ref} is shared with group {info.group!r}; a dataset is shared with one "
                f"group, so make it public or attach a copy for {experts_group!r}"
            )
        pinned.append((f"{version.ref}:{version.version}", version.version, info))
    with store.session() as s:
        evidence, digest, model_version = _evidence(s, model, flag_id)
    for _ref, _v, info in pinned:
        if info.visibility == "private":
            datasets.share(by, info.ref, "group", experts_group)
    now = utcnow()
    with store.session() as s:
        row = FineTuneRequest(
            id=new_request_id(),
            model=model,
            digest=digest,
            model_version=model_version,
            reason=text,
            evidence=evidence,
            datasets=[ref for ref, _v, _i in pinned],
            experts_group=experts_group,
            state="open",
            created_by=by.name,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()
        created = request_info(row)
        if announce is not None:
            announce(s, created)
        return created


def list_requests(
    store: Store, who: Principal, *, model: str | None = None, state: str | None = None
) -> list[RequestInfo]:
    if state is not None and state not in (*STATES, "active"):
        raise InvalidSetting(f"state {state!r} is not one of {', '.join(STATES)} or 'active'")
    with store.session() as s:
        stmt = select(FineTuneRequest).order_by(FineTuneRequest.created_at.desc(), FineTuneRequest.id)
        if model:
            stmt = stmt.where(FineTuneRequest.model == model)
        if state == "active":
            stmt = stmt.where(FineTuneRequest.state.in_(ACTIVE))
        elif state:
            stmt = stmt.where(FineTuneRequest.state == state)
        if not who.is_admin:
            stmt = stmt.where(FineTuneRequest.experts_group.in_(sorted(who.groups) or [""]))
        return [request_info(r) for r in s.scalars(stmt)]


def _visible(s: Any, who: Principal, request_id: str, *, lock: bool = False) -> FineTuneRequest:
    row = s.get(FineTuneRequest, request_id, with_for_update=lock)
    if row is None or not may_see(who, row):
        raise NotFound(
            f"no fine-tune request {request_id!r} (or not one for your groups); see `mlk requests list`"
        )
    return row


def get_request(store: Store, who: Principal, request_id: str) -> RequestInfo:
    with store.session() as s:
        return request_info(_visible(s, who, request_id))


def acknowledge(
    store: Store, who: Principal, request_id: str, announce: Announce | None = None
) -> RequestInfo:
    with store.session() as s:
        row = _visible(s, who, request_id, lock=True)
        if row.state != "open":
            raise Conflict(f"request {request_id} is {row.state}; only an open request can be acknowledged")
        now = utcnow()
        row.state, row.acknowledged_by, row.acknowledged_at, row.updated_at = (
            "acknowledged",
            who.name,
            now,
            now,
        )
        info = request_info(row)
        if announce is not None:
            announce(s, info)
        return info


def close(
    store: Store, who: Principal, request_id: str, reason: str, announce: Announce | None = None
) -> RequestInfo:
    text = (reason or "").strip()
    if not text:
        raise InvalidSetting(
            "closing a request needs a reason (why it will not be resolved by a new version)"
        )
    with store.session() as s:
        row = _visible(s, who, request_id, lock=True)
        if row.state not in ACTIVE:
            raise Conflict(f"request {request_id} is already {row.state}")
        now = utcnow()
        row.state, row.closed_by, row.closed_at, row.updated_at = "closed", who.name, now, now
        row.close_reason = text[:MAX_REASON]
        info = request_info(row)
        if announce is not None:
            announce(s, info)
        return info


def resolving_versions(store: Store) -> list[tuple[str, str, str | None]]:
    """(request id, digest, version) of catalog versions that name an active request."""
    from mlrun_kernel.store.models import ModelVersion, Repository

    found: list[tuple[str, str, str | None]] = []
    with store.session() as s:
        active = dict(
            s.execute(
                select(FineTuneRequest.id, FineTuneRequest.model).where(FineTuneRequest.state.in_(ACTIVE))
            ).all()
        )
        if not active:
            return found
        rows = s.execute(
            select(ModelVersion.digest, ModelVersion.version, ModelVersion.manifest, Repository.name)
            .join(Repository, Repository.id == ModelVersion.repository_id)
            .where(Repository.name.in_(sorted(set(active.values()))), ModelVersion.problem.is_(None))
        ).all()
    for digest, version, manifest, repo in rows:
        rid = (manifest or {}).get("resolves")
        if isinstance(rid, str) and active.get(rid) == repo:
            found.append((rid, digest, version))
    return found


def mark_resolved(store: Store, request_id: str, digest: str, version: str | None, now: datetime) -> bool:
    """Move an active request to resolved by ``digest``; False when it was no longer active."""
    with store.session() as s:
        row = s.get(FineTuneRequest, request_id, with_for_update=True)
        if row is None or row.state not in ACTIVE:
            return False
        row.state, row.resolved_digest, row.resolved_version, row.updated_at = (
            "resolved",
            digest,
            version,
            now,
        )
        return True


def comparison(before: Evaluation | None, after: Evaluation) -> dict[str, Any]:
    """Before/after metrics of the flagged version and the version that resolves the request."""
    b = (before.metrics if before else None) or {}
    a = after.metrics or {}
    metrics = {}
    for name in sorted(set(a) | set(b)):
        x, y = b.get(name), a.get(name)
        delta = y - x if isinstance(x, int | float) and isinstance(y, int | float) else None
        metrics[name] = {"before": x, "after": y, "delta": delta}
    return {"before": _side(before), "after": _side(after), "metrics": metrics}


def _side(e: Evaluation | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {
        "evaluation_id": e.id,
        "digest": e.digest,
        "version": e.model_version,
        "dataset": e.dataset,
        "finished_at": e.finished_at.isoformat() if e.finished_at else None,
    }
