"""``mlk run`` and ``mlk runs list|show|logs|cancel|rerun|rm``: runs from the command line.

One body per command over :class:`~mlrun_kernel.cli.platform.Platform`, so every
flag means the same on the machine (embedded: the catalog is synced, the run is
queued in the local store and carried out in this process; ``--detach`` only
queues it, for an executor started with ``python -m mlrun_kernel.runs``) and in a
notebook container (through the model service, which carries the run out;
``--detach`` returns at once). An ``--input`` value names a dataset (``name``,
``owner/name``, ``name:3``); embedded, one that names an existing file or folder
is mounted as it is (through the service that is refused: upload it first).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from mlrun_kernel.cli.output import emit
from mlrun_kernel.cli.platform import Platform, RunAsk, open_platform
from mlrun_kernel.client import TERMINAL_STATES
from mlrun_kernel.runs.history import MAX_LIMIT, SORTS


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run a model on datasets")
    run.add_argument("model", help="MODEL[:TAG] or MODEL@sha256:DIGEST")
    run.add_argument("--task", default="predict", help="task to run (default: predict)")
    run.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=DATASET",
        help="a dataset (or, embedded, a local file/folder) for an input; repeatable",
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter; VALUE is read as JSON when it parses, else as text",
    )
    run.add_argument("--params", type=Path, metavar="FILE", help="parameters from a JSON file")
    _carry_flags(run)
    run.add_argument(
        "--reuse", action="store_true", help="return an identical earlier successful run's results instead"
    )
    run.add_argument("--owner", help="run as this user (embedded only; default: you)")
    run.add_argument("--name", help="what you call this run (up to 200 characters; shown in histories)")
    run.set_defaults(handler=run_run)

    p = sub.add_parser("runs", help="list, inspect and manage runs")
    rsub = p.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    lst = rsub.add_parser("list", help="runs, newest first")
    lst.add_argument("--owner", help="whose runs (admins; default: yours through the service)")
    lst.add_argument("--state")
    lst.add_argument("--model", help="repository name")
    lst.add_argument("--task")
    lst.add_argument("--name", help="runs whose name holds this text (any case)")
    lst.add_argument("--since", type=datetime.fromisoformat, help="created at or after (ISO 8601)")
    lst.add_argument("--until", type=datetime.fromisoformat, help="created before (ISO 8601)")
    lst.add_argument("--sort", default="-created_at", help=f"{', '.join(SORTS)}; -NAME reverses")
    lst.add_argument("--limit", type=int, default=50, help=f"runs per page (1 to {MAX_LIMIT})")
    lst.add_argument("--offset", type=int, default=0)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=run_list)
    show = rsub.add_parser("show", help="one run: state history, outputs, metrics")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=run_show)
    logs = rsub.add_parser("logs", help="a run's log")
    logs.add_argument("run_id")
    logs.add_argument("--follow", "-f", action="store_true")
    logs.add_argument("--timestamps", "-t", action="store_true")
    logs.set_defaults(handler=run_logs)
    cancel = rsub.add_parser("cancel", help="cancel a run in any state")
    cancel.add_argument("run_id")
    cancel.add_argument("--json", action="store_true")
    cancel.set_defaults(handler=run_cancel)
    rerun = rsub.add_parser("rerun", help="run again with the same digest, inputs, parameters")
    rerun.add_argument("run_id")
    _carry_flags(rerun)
    rerun.add_argument("--reuse", action="store_true", help="answer from an identical earlier run")
    rerun.set_defaults(handler=run_rerun)
    rm = rsub.add_parser("rm", help="delete an ended run and its stored outputs")
    rm.add_argument("run_id")
    rm.set_defaults(handler=run_rm)


def _carry_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--follow", "-f", action="store_true", help="stream the log while it runs")
    p.add_argument("--detach", action="store_true", help="only queue the run and print its id")
    p.add_argument("--json", action="store_true", help="print the run as JSON at the end")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} {item!r} must look like NAME=VALUE")
        out.append((key, value))
    return out


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.params:
        loaded = json.loads(args.params.read_text())
        if not isinstance(loaded, dict):
            raise ValueError(f"{args.params} must hold a JSON object")
        params.update(loaded)
    params.update({k: _value(v) for k, v in _pairs(args.param, "--param")})
    return params


def _when(text: str | None) -> str:
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S") if text else ""


def _carry_out(platform: Platform, run: dict[str, Any], args: argparse.Namespace) -> int:
    """Follow or wait for a queued run, then print its summary; Ctrl-C cancels it."""
    if run["state"] in TERMINAL_STATES:
        return _summary(platform, run, args)
    if args.detach:
        # No queue position here: through the service the run may already have left the queue.
        print(f"run {run['id']} queued; `mlk runs show {run['id']}` says where it stands")
        return 0
    with platform.executing():
        try:
            print(f"run {run['id']}: {run['model']}@{run['digest'][:19]} {run['task']}", flush=True)
            if args.follow:
                for lines in platform.log_batches(run["id"], follow=True):
                    _write_lines(line["text"] for line in lines)
            final = platform.wait(run["id"])
        except KeyboardInterrupt:
            platform.cancel(run["id"])
            raise
    return _summary(platform, final, args)


def _summary(platform: Platform, run: dict[str, Any], args: argparse.Namespace) -> int:
    if args.json:
        emit(run, as_json=True)
    else:
        print(f"run {run['id']} {run['state']}" + (f": {run['reason']}" if run["reason"] else ""))
        if run["reused_from"]:
            print(f"reused the results of run {run['reused_from']}")
        for warning in run["warnings"]:
            print(f"warning: {warning}")
        if run["metrics"]:
            print("metrics: " + ", ".join(f"{k}={v:g}" for k, v in run["metrics"].items()))
        print(f"outputs: {platform.outputs_location(run)}")
    return 0 if run["state"] == "succeeded" else 1


def run_run(args: argparse.Namespace) -> int:
    platform = open_platform()
    ask = RunAsk(
        model=args.model,
        task=args.task,
        inputs=dict(_pairs(args.input, "--input")),
        parameters=_parameters(args),
        reuse=args.reuse,
        owner=args.owner,
        name=args.name,
    )
    run = platform.submit(ask)
    return _carry_out(platform, run, args)


def _model_column(run: dict[str, Any]) -> str:
    ref = run["model_ref"]
    return f"{run['model']}@{ref[:19]}" if ref.startswith("sha256:") else f"{run['model']}:{ref}"


def run_list(args: argparse.Namespace) -> int:
    from mlrun_kernel.runs import RunQuery

    query = RunQuery(
        owner=args.owner,
        model=args.model,
        task=args.task,
        state=args.state,
        created_after=args.since,
        created_before=args.until,
        name=args.name,
        sort=args.sort,
        offset=args.offset,
        limit=args.limit,
    )
    page = open_platform().runs(query)
    if args.json:
        emit(page["runs"], as_json=True)
        return 0
    rows = [
        {
            "run": r["id"],
            "name": r.get("name") or "",
            "owner": r["owner"],
            "model": _model_column(r),
            "task": r["task"],
            "state": r["state"] + (f" #{r['queue_position']}" if r["queue_position"] else ""),
            "created": _when(r["created_at"]),
            "reason": r["reason"],
        }
        for r in page["runs"]
    ]
    emit(rows, as_json=False, columns=["run", "name", "owner", "model", "task", "state", "created", "reason"])
    if page["next_offset"] is not None:
        print(f"{len(rows)} of {page['total']} runs; the next page: --offset {page['next_offset']}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    platform = open_platform()
    run = platform.run(args.run_id)
    if args.json:
        emit(run, as_json=True)
        return 0
    print(f"run {run['id']}  {run['state']}" + (f": {run['reason']}" if run["reason"] else ""))
    if run.get("name"):
        print(f"name:    {run['name']}")
    print(f"model:   {run['model']} {run['model_version'] or ''} ({run['digest']})")
    print(f"task:    {run['task']}   owner: {run['owner']}   attempts: {run['attempts']}")
    print(f"params:  {json.dumps(run['parameters'])}")
    for name, source in run["inputs"].items():
        where = source.get("ref") and f"{source.get('ref')}:{source.get('version')}"
        print(f"input:   {name} = {where or source.get('name') or 'a file on the executor host'}")
    for event in run["events"]:
        reason = f"  {event['reason']}" if event["reason"] else ""
        print(f"  {_when(event['at'])}  {event['state']}{reason}")
    if run["metrics"]:
        print("metrics: " + ", ".join(f"{k}={v:g}" for k, v in run["metrics"].items()))
    for warning in run["warnings"]:
        print(f"warning: {warning}")
    print(f"outputs: {platform.outputs_location(run)}")
    for item in run["outputs"]:
        print(f"  {item['path']}  ({item['size']} bytes)")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    for lines in open_platform().log_batches(args.run_id, follow=args.follow):
        if args.timestamps:
            _write_lines(f"{line['at']} {line['text']}" for line in lines)
        else:
            _write_lines(line["text"] for line in lines)
    return 0


def _write_lines(texts: Iterable[str]) -> None:
    """One write and one flush per batch: a flood of lines is not a flood of syscalls."""
    sys.stdout.write("".join(f"{text}\n" for text in texts))
    sys.stdout.flush()


CANCEL_WAIT_SECONDS = 60.0


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel, then wait (a minute at most) for the run to end, so the state printed is its last."""
    platform = open_platform()
    run = platform.cancel(args.run_id)
    if run["state"] not in TERMINAL_STATES:
        with contextlib.suppress(TimeoutError):
            run = platform.wait(args.run_id, timeout=CANCEL_WAIT_SECONDS)
    if args.json:
        emit(run, as_json=True)
    else:
        print(f"run {run['id']} {run['state']}" + (f": {run['reason']}" if run["reason"] else ""))
    return 0


def run_rerun(args: argparse.Namespace) -> int:
    platform = open_platform()
    return _carry_out(platform, platform.rerun(args.run_id, reuse=args.reuse), args)


def run_rm(args: argparse.Namespace) -> int:
    open_platform().remove(args.run_id)
    print(f"run {args.run_id} removed")
    return 0
