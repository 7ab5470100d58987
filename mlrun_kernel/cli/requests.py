"""``mlk requests list|show|ack|close``: fine-tune requests, for the experts who answer them.

One body per command over :class:`~mlrun_kernel.cli.metrics.EvaluationsPlatform`: the
service (experts see their groups' requests) or, embedded, the local store. A request is
resolved by publishing a new version whose ``mlk.yaml`` manifest says ``resolves: <id>``.
"""

from __future__ import annotations

import argparse
from typing import Any

from mlrun_kernel.cli.metrics import open_evaluations
from mlrun_kernel.cli.output import emit


def add_parser(sub: Any) -> None:
    p = sub.add_parser("requests", help="fine-tune requests for the models you look after")
    rsub = p.add_subparsers(dest="requests_command", required=True, metavar="ACTION")
    lst = rsub.add_parser("list", help="requests (default: open and acknowledged ones)")
    lst.add_argument("--state", default="active", help="open, acknowledged, resolved, closed, active, all")
    lst.add_argument("--model", help="only this model's")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=run_list)
    show = rsub.add_parser("show", help="one request: reason, evidence, new data, before/after")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=run_show)
    ack = rsub.add_parser("ack", help="acknowledge a request (you are on it)")
    ack.add_argument("id")
    ack.add_argument("--json", action="store_true", help="print JSON")
    ack.set_defaults(handler=run_ack)
    close = rsub.add_parser("close", help="close a request that no new version will resolve")
    close.add_argument("id")
    close.add_argument("--reason", required=True, help="why it is closed")
    close.add_argument("--json", action="store_true", help="print JSON")
    close.set_defaults(handler=run_close)


def run_list(args: argparse.Namespace) -> int:
    state = None if args.state == "all" else args.state
    found = open_evaluations().requests(model=args.model, state=state)
    if args.json:
        emit(found, as_json=True)
        return 0
    rows = [
        {
            "id": r["id"],
            "model": r["model"],
            "version": r["version"] or "",
            "state": r["state"],
            "created": str(r["created_at"])[:16].replace("T", " "),
            "by": r["created_by"],
            "datasets": ",".join(r["datasets"]),
            "reason": r["reason"],
        }
        for r in found
    ]
    emit(
        rows,
        as_json=False,
        columns=["id", "model", "version", "state", "created", "by", "datasets", "reason"],
    )
    return 0


def describe(r: dict[str, Any]) -> str:
    """A request as the text ``mlk requests show`` prints."""
    lines = [
        f"request {r['id']}: {r['model']} {r['version'] or r['digest'] or ''}".rstrip(),
        f"state:    {r['state']}" + (f" (by {r['acknowledged_by']})" if r["acknowledged_by"] else ""),
        f"asked by: {r['created_by']} at {r['created_at']}",
        f"reason:   {r['reason']}",
    ]
    if r["datasets"]:
        lines.append(f"new data: {', '.join(r['datasets'])} (shared with {r['experts_group']})")
    flag = (r["evidence"] or {}).get("flag")
    if flag:
        lines.append(f"flag:     {flag['message']}")
    for e in (r["evidence"] or {}).get("evaluations") or []:
        metrics = ", ".join(f"{k}={v:.6g}" for k, v in sorted((e.get("metrics") or {}).items()))
        lines.append(
            f"  evaluation {e['id']} {e.get('version') or ''} {str(e.get('finished_at'))[:16]}: {metrics}"
        )
    if r["close_reason"]:
        lines.append(f"closed:   {r['close_reason']} (by {r['closed_by']})")
    if r["resolved_digest"]:
        lines.append(f"resolved by: {r['resolved_version'] or ''} {r['resolved_digest']}")
    comparison = r["comparison"] or {}
    if comparison.get("error"):
        lines.append(f"re-evaluation: {comparison['error']}")
    for name, row in (comparison.get("metrics") or {}).items():
        lines.append(f"  {name}: {row['before']} -> {row['after']} (delta {row['delta']})")
    lines.append(f"answer it: publish a new version whose mlk.yaml manifest says `resolves: {r['id']}`")
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> int:
    r = open_evaluations().request(args.id)
    emit(r if args.json else describe(r), as_json=args.json)
    return 0


def run_ack(args: argparse.Namespace) -> int:
    r = open_evaluations().ack(args.id)
    emit(r if args.json else f"request {r['id']} acknowledged", as_json=args.json)
    return 0


def run_close(args: argparse.Namespace) -> int:
    r = open_evaluations().close(args.id, args.reason)
    emit(r if args.json else f"request {r['id']} closed", as_json=args.json)
    return 0
