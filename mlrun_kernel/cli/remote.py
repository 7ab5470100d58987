"""The CLI through the model service: when ``MLK_SERVICE_URL`` is set, commands go over
HTTP with ``mlrun_kernel.client.Client`` instead of opening the store and the engine.

Each function here takes the parsed arguments of the embedded command of the
same name and prints the same way (tables, or ``--json``). A command module
wires it by decorating its embedded handler::

    @remote.or_remote(remote.models_list)
    def run_list(args): ...
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable
from typing import Any

from mlrun_kernel.cli.output import emit
from mlrun_kernel.client import Client
from mlrun_kernel.config import client_settings


def service_client() -> Client | None:
    """A client of the service named by ``MLK_SERVICE_URL`` (token: ``MLK_SERVICE_TOKEN`` or
    ``JUPYTERHUB_API_TOKEN``), or None to run embedded."""
    if not (client_settings().service_url or "").strip():
        return None
    return Client()


Handler = Callable[[argparse.Namespace], int]


def or_remote(remote: Callable[[Client, argparse.Namespace], int]) -> Callable[[Handler], Handler]:
    """Run ``remote`` through the service when one is configured, else the embedded handler."""

    def wrap(embedded: Handler) -> Handler:
        @functools.wraps(embedded)
        def handler(args: argparse.Namespace) -> int:
            client = service_client()
            return remote(client, args) if client is not None else embedded(args)

        return handler

    return wrap


def _get(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)


def models_list(client: Client, args: argparse.Namespace) -> int:
    models = client.list_models(
        _get(args, "search"),
        keyword=_get(args, "keyword"),
        task=_get(args, "task"),
        has_problems=True if _get(args, "problems") else None,
    )
    rows = [
        {**m, "tasks": ", ".join(t["name"] for t in m["tasks"]), "tags": ", ".join(m["tags"])} for m in models
    ]
    emit(
        models if args.json else rows,
        as_json=args.json,
        columns=["name", "version", "title", "tasks", "problem"],
    )
    return 0


def models_show(client: Client, args: argparse.Namespace) -> int:
    name = str(args.name).split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    emit(client.get_model(name), as_json=True)
    return 0


def datasets_upload(client: Client, args: argparse.Namespace) -> int:
    version = client.upload_dataset(
        args.path,
        _get(args, "name") or os.path.basename(str(args.path).rstrip("/")),
        description=_get(args, "description"),
        visibility=_get(args, "visibility"),
        group=_get(args, "group"),
    )
    emit(
        version if _get(args, "json") else f"{version['ref']}:{version['version']}",
        as_json=_get(args, "json", False),
    )
    return 0


def datasets_list(client: Client, args: argparse.Namespace) -> int:
    found = client.list_datasets()
    emit(
        found,
        as_json=_get(args, "json", False),
        columns=["ref", "latest_version", "visibility", "size", "media_type"],
    )
    return 0


def datasets_show(client: Client, args: argparse.Namespace) -> int:
    emit(client.get_dataset(args.ref), as_json=True)
    return 0


def datasets_preview(client: Client, args: argparse.Namespace) -> int:
    emit(client.preview_dataset(args.ref, _get(args, "version")), as_json=True)
    return 0


def datasets_rm(client: Client, args: argparse.Namespace) -> int:
    client.delete_dataset(args.ref)
    print(f"deleted {args.ref}")
    return 0


def runs_start(client: Client, args: argparse.Namespace) -> int:
    run = client.start_run(
        args.model,
        task=_get(args, "task", "predict"),
        inputs=dict(_get(args, "inputs") or {}),
        parameters=dict(_get(args, "parameters") or {}),
    )
    emit(run if _get(args, "json") else run["id"], as_json=_get(args, "json", False))
    return 0


def runs_list(client: Client, args: argparse.Namespace) -> int:
    page = client.list_runs(state=_get(args, "state"), limit=_get(args, "limit", 50) or 50)
    emit(
        page["runs"],
        as_json=_get(args, "json", False),
        columns=["id", "model", "task", "state", "created_at", "reason"],
    )
    return 0


def runs_show(client: Client, args: argparse.Namespace) -> int:
    emit(client.get_run(args.run_id), as_json=True)
    return 0


def runs_logs(client: Client, args: argparse.Namespace) -> int:
    lines = client.follow_logs(args.run_id) if _get(args, "follow") else iter(client.run_logs(args.run_id))
    for line in lines:
        print(line["text"])
    return 0


def runs_cancel(client: Client, args: argparse.Namespace) -> int:
    print(client.cancel_run(args.run_id)["state"])
    return 0
