"""``mlk run`` and ``mlk runs list|show|logs|cancel|rerun|rm``: runs from the command line.

Embedded (no service): ``mlk run`` syncs the catalog, queues the run in the
local store and carries it out in this process (``--detach`` only queues it,
for an executor started with ``python -m mlrun_kernel.runs``). An ``--input``
value that names an existing file or folder is mounted as it is; anything
else names a dataset (``name``, ``owner/name``, ``name:3``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
from pathlib import Path
from typing import Any

from mlrun_kernel.cli import remote
from mlrun_kernel.cli.output import emit
from mlrun_kernel.runs import Executor, LocalInput, RunInfo, RunRequest
from mlrun_kernel.store import open_store


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run a model on datasets")
    run.add_argument("model", help="MODEL[:TAG] or MODEL@sha256:DIGEST")
    run.add_argument("--task", default="predict", help="task to run (default: predict)")
    run.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=DATASET",
        help="a dataset (or local file/folder) for an input; repeatable",
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter; VALUE is read as JSON when it parses, else as text",
    )
    run.add_argument("--params", type=Path, metavar="FILE", help="parameters from a JSON file")
    run.add_argument("--follow", "-f", action="store_true", help="stream the log while it runs")
    run.add_argument(
        "--reuse", action="store_true", help="return an identical earlier successful run's results instead"
    )
    run.add_argument("--detach", action="store_true", help="only queue the run")
    run.add_argument("--owner", help="run as this user (default: you)")
    run.add_argument("--json", action="store_true", help="print the run as JSON at the end")
    run.set_defaults(handler=run_run)

    p = sub.add_parser("runs", help="list, inspect and manage runs")
    rsub = p.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    lst = rsub.add_parser("list", help="runs, newest first")
    lst.add_argument("--owner")
    lst.add_argument("--state")
    lst.add_argument("--limit", type=int, default=50)
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
    cancel.set_defaults(handler=run_cancel)
    rerun = rsub.add_parser("rerun", help="run again with the same digest, inputs, parameters")
    rerun.add_argument("run_id")
    rerun.add_argument("--follow", "-f", action="store_true")
    rerun.add_argument("--detach", action="store_true")
    rerun.set_defaults(handler=run_rerun)
    rm = rsub.add_parser("rm", help="delete an ended run and its stored outputs")
    rm.add_argument("run_id")
    rm.set_defaults(handler=run_rm)


def _me() -> str:
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def _executor() -> Executor:
    """An executor of this command's own name, so it never adopts a live service's runs."""
    from mlrun_kernel.runs import run_settings

    return Executor(open_store(), name=f"{run_settings().executor_name}-cli-{os.getpid()}")


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


def _request(args: argparse.Namespace) -> RunRequest:
    params: dict[str, Any] = {}
    if args.params:
        loaded = json.loads(args.params.read_text())
        if not isinstance(loaded, dict):
            raise ValueError(f"{args.params} must hold a JSON object")
        params.update(loaded)
    params.update({k: _value(v) for k, v in _pairs(args.param, "--param")})
    inputs: dict[str, Any] = {}
    for name, value in _pairs(args.input, "--input"):
        inputs[name] = LocalInput(Path(value)) if Path(value).exists() else value
    return RunRequest(
        model=args.model,
        task=args.task,
        inputs=inputs,
        parameters=params,
        owner=args.owner or _me(),
        reuse=args.reuse,
    )


def _carry_out(executor: Executor, info: RunInfo, args: argparse.Namespace) -> int:
    if info.terminal:
        return _summary(info, args)
    if getattr(args, "detach", False):
        print(f"run {info.id} queued (position {info.queue_position})")
        return 0
    executor.start()
    try:
        print(f"run {info.id}: {info.model}@{info.digest[:19]} {info.task}")
        if args.follow:
            for line in executor.follow(info.id):
                print(line.text, flush=True)
        final = executor.wait(info.id)
    except KeyboardInterrupt:
        executor.cancel(info.id, by=_me())
        executor.wait(info.id, timeout=30)
        raise
    finally:
        executor.stop()
    return _summary(final, args)


def _summary(info: RunInfo, args: argparse.Namespace) -> int:
    if getattr(args, "json", False):
        emit(_as_dict(info), as_json=True)
    else:
        print(f"run {info.id} {info.state}" + (f": {info.reason}" if info.reason else ""))
        if info.reused_from:
            print(f"reused the results of run {info.reused_from}")
        for warning in info.warnings:
            print(f"warning: {warning}")
        if info.metrics:
            print("metrics: " + ", ".join(f"{k}={v:g}" for k, v in info.metrics.items()))
        print(f"outputs: {info.outputs_dir}")
    return 0 if info.state == "succeeded" else 1


def _as_dict(info: RunInfo) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(info) | {"outputs_dir": str(info.outputs_dir)}


@remote.or_remote(remote.runs_start)
def run_run(args: argparse.Namespace) -> int:
    from mlrun_kernel.cli.models import synced_store

    synced_store().close()
    executor = _executor()
    info = executor.submit(_request(args))
    return _carry_out(executor, info, args)


@remote.or_remote(remote.runs_list)
def run_list(args: argparse.Namespace) -> int:
    runs = _executor().list(owner=args.owner, state=args.state, limit=args.limit)
    if args.json:
        emit([_as_dict(r) for r in runs], as_json=True)
        return 0
    rows = [
        {
            "run": r.id,
            "owner": r.owner,
            "model": f"{r.model}:{r.model_ref}"
            if not r.model_ref.startswith("sha256:")
            else f"{r.model}@{r.model_ref[:19]}",
            "task": r.task,
            "state": r.state + (f" #{r.queue_position}" if r.queue_position else ""),
            "created": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "reason": r.reason,
        }
        for r in runs
    ]
    emit(rows, as_json=False, columns=["run", "owner", "model", "task", "state", "created", "reason"])
    return 0


@remote.or_remote(remote.runs_show)
def run_show(args: argparse.Namespace) -> int:
    info = _executor().get(args.run_id)
    if args.json:
        emit(_as_dict(info), as_json=True)
        return 0
    print(f"run {info.id}  {info.state}" + (f": {info.reason}" if info.reason else ""))
    print(f"model:   {info.model} {info.model_version or ''} ({info.digest})")
    print(f"task:    {info.task}   owner: {info.owner}   attempts: {info.attempts}")
    print(f"params:  {json.dumps(info.parameters)}")
    for name, source in info.inputs.items():
        where = source.get("path") or f"{source.get('ref')}:{source.get('version')}"
        print(f"input:   {name} = {where}")
    for event in info.events:
        reason = f"  {event.reason}" if event.reason else ""
        print(f"  {event.at:%Y-%m-%d %H:%M:%S.%f}  {event.state}{reason}")
    if info.metrics:
        print("metrics: " + ", ".join(f"{k}={v:g}" for k, v in info.metrics.items()))
    for warning in info.warnings:
        print(f"warning: {warning}")
    print(f"outputs: {info.outputs_dir}")
    for item in info.outputs:
        print(f"  {item['path']}  ({item['size']} bytes)")
    return 0


@remote.or_remote(remote.runs_logs)
def run_logs(args: argparse.Namespace) -> int:
    executor = _executor()
    lines = executor.follow(args.run_id) if args.follow else executor.logs(args.run_id)
    for line in lines:
        stamp = f"{line.at.isoformat()} " if args.timestamps else ""
        print(f"{stamp}{line.text}", flush=True)
    return 0


@remote.or_remote(remote.runs_cancel)
def run_cancel(args: argparse.Namespace) -> int:
    info = _executor().cancel(args.run_id, by=_me())
    print(f"run {info.id} {info.state}" + (f": {info.reason}" if info.reason else ""))
    return 0


def run_rerun(args: argparse.Namespace) -> int:
    executor = _executor()
    info = executor.rerun(args.run_id, owner=_me())
    return _carry_out(executor, info, args)


def run_rm(args: argparse.Namespace) -> int:
    _executor().remove(args.run_id)
    print(f"run {args.run_id} removed")
    return 0
