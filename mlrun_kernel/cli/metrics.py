"""``mlk metrics MODEL``: a model's metrics over time, from the metrics history.

One body per command over :class:`EvaluationsPlatform`, which both sides implement:
embedded (no service URL) the library reads the local store (and copies finished runs'
metrics into the history first); in a notebook container the service answers. Both give
the same points: ``{at, metric, value, digest, version, task, run_id, evaluation_id}``.
``mlk requests`` (``cli/requests.py``) uses the same interface.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from pydantic_core import to_jsonable_python

from mlrun_kernel.cli.output import emit
from mlrun_kernel.cli.platform import me
from mlrun_kernel.config import client_settings

if TYPE_CHECKING:
    from mlrun_kernel.client import Client
    from mlrun_kernel.evaluations import Evaluations

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class EvaluationsPlatform(Protocol):
    """What ``mlk metrics`` and ``mlk requests`` do, in the service's wire shapes."""

    def history(self, model: str, **filters: Any) -> list[dict[str, Any]]: ...
    def requests(self, *, model: str | None, state: str | None) -> list[dict[str, Any]]: ...
    def request(self, request_id: str) -> dict[str, Any]: ...
    def ack(self, request_id: str) -> dict[str, Any]: ...
    def close(self, request_id: str, reason: str) -> dict[str, Any]: ...


class EmbeddedEvaluations:
    """The library on the local store. The CLI holds the store itself, so it sees every
    request (as an admin would); notifications go out before the command ends."""

    @cached_property
    def _evaluations(self) -> Evaluations:
        from mlrun_kernel.datasets import Datasets
        from mlrun_kernel.evaluations import Evaluations
        from mlrun_kernel.store import open_store

        store = open_store()
        return Evaluations(store, Datasets(store))

    @cached_property
    def _who(self) -> Any:
        from mlrun_kernel.datasets import Principal

        return Principal(name=me(), is_admin=True)

    def history(self, model: str, **filters: Any) -> list[dict[str, Any]]:
        from mlrun_kernel.evaluations import metric_history

        points = metric_history(self._evaluations.store, model, **filters)
        return [dict(to_jsonable_python(p.__dict__)) for p in points]

    def requests(self, *, model: str | None, state: str | None) -> list[dict[str, Any]]:
        from mlrun_kernel.evaluations.records import plain

        return [plain(r) for r in self._evaluations.requests(self._who, model=model, state=state)]

    def request(self, request_id: str) -> dict[str, Any]:
        from mlrun_kernel.evaluations.records import plain

        return plain(self._evaluations.request(self._who, request_id))

    def ack(self, request_id: str) -> dict[str, Any]:
        from mlrun_kernel.evaluations.records import plain

        info = self._evaluations.acknowledge(self._who, request_id)
        self._evaluations.notifier.wait()
        return plain(info)

    def close(self, request_id: str, reason: str) -> dict[str, Any]:
        from mlrun_kernel.evaluations.records import plain

        info = self._evaluations.close(self._who, request_id, reason)
        self._evaluations.notifier.wait()
        return plain(info)


class RemoteEvaluations:
    """The model service, through :class:`mlrun_kernel.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def history(self, model: str, **filters: Any) -> list[dict[str, Any]]:
        return self.client.metric_history(model, **filters)

    def requests(self, *, model: str | None, state: str | None) -> list[dict[str, Any]]:
        return self.client.list_requests(model=model, state=state)

    def request(self, request_id: str) -> dict[str, Any]:
        return self.client.get_request(request_id)

    def ack(self, request_id: str) -> dict[str, Any]:
        return self.client.ack_request(request_id)

    def close(self, request_id: str, reason: str) -> dict[str, Any]:
        return self.client.close_request(request_id, reason)


def open_evaluations() -> EvaluationsPlatform:
    """The service named by ``MLK_SERVICE_URL``, or the embedded library when it is not set."""
    if client_settings().service_url:
        from mlrun_kernel.client import Client

        return RemoteEvaluations(Client())
    return EmbeddedEvaluations()


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``2026-01-31``, ``2026-01-31T12:00:00Z`` (UTC when no zone), or ``30d``/``12h``/``2w``/``90m`` ago."""
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        amount, unit = match.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since/--until {text!r}: give a date (2026-01-31), a time (2026-01-31T12:00:00Z) "
            "or an age such as 30d, 12h, 2w, 90m"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("metrics", help="a model's metrics over time (the metrics history)")
    p.add_argument("model", help="repository, e.g. iris-classifier")
    p.add_argument("--metric", help="only this metric")
    p.add_argument("--since", help="from: a date, a time, or an age such as 30d")
    p.add_argument("--until", help="to: a date, a time, or an age")
    p.add_argument("--digest", help="only this version (sha256:...)")
    p.add_argument("--task", help="only runs of this task")
    p.add_argument("--evaluations", action="store_true", help="only evaluations (not every run)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_metrics)


def run_metrics(args: argparse.Namespace) -> int:
    points = open_evaluations().history(
        args.model,
        metric=args.metric,
        digest=args.digest,
        task=args.task,
        since=parse_when(args.since) if args.since else None,
        until=parse_when(args.until) if args.until else None,
        evaluations_only=args.evaluations,
    )
    if args.json:
        emit(points, as_json=True)
        return 0
    if not points:
        print(f"no metrics recorded for {args.model} (runs record theirs when they finish)")
        return 0
    rows = [
        {
            "at": str(p["at"])[:19].replace("T", " "),
            "metric": p["metric"],
            "value": f"{p['value']:.6g}",
            "version": p["version"] or str(p["digest"])[:19],
            "task": p["task"],
            "run": p["run_id"],
            "evaluation": p["evaluation_id"] or "",
        }
        for p in points
    ]
    emit(rows, as_json=False, columns=["at", "metric", "value", "version", "task", "run", "evaluation"])
    return 0
