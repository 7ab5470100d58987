"""``mlk models list|show``: the model catalog.

Embedded (no service URL): the CLI syncs the local store from the registry,
then answers from the store, so it shows the same catalog the service does,
problems included (the CLI is an expert's tool).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from mlrun_kernel.catalog import (
    ModelSummary,
    catalog_status,
    get_model,
    list_models,
    resolve_version,
    sync_catalog,
)
from mlrun_kernel.cli import remote
from mlrun_kernel.cli.output import emit
from mlrun_kernel.config import settings
from mlrun_kernel.registry import RegistryClient
from mlrun_kernel.store import Store, open_store


def add_parser(sub: Any) -> None:
    p = sub.add_parser("models", help="list and describe models")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    lst = msub.add_parser("list", help="models in the catalog")
    lst.add_argument("--search", help="text in the name, title or description")
    lst.add_argument("--keyword", help="only models with this keyword")
    lst.add_argument("--task", help="only models with this task")
    lst.add_argument("--problems", action="store_true", help="only models with problems")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=run_list)
    show = msub.add_parser("show", help="one model's card, versions and manifest")
    show.add_argument("name", help="repository[:tag or @sha256:digest]")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=run_show)


def synced_store() -> Store:
    """The local store, synced from the registry; a registry outage is reported, not fatal."""
    cfg = settings()
    store = open_store()
    with RegistryClient(
        cfg.registry_url, username=cfg.registry_username, password=cfg.registry_password
    ) as reg:
        report = sync_catalog(store, reg)
    if report.error:
        status = catalog_status(store, reg.url)
        when = status.last_success_at.isoformat() if status.last_success_at else "never"
        print(f"warning: showing the stored catalog (last good sync: {when}): {report.error}")
    return store


def _row(model: ModelSummary) -> dict[str, Any]:
    return {
        "model": model.name,
        "title": model.title,
        "version": model.version,
        "tasks": ",".join(model.tasks),
        "tags": ",".join(model.tags),
        "problem": model.problem
        or (
            f"{sum(1 for v in model.versions if v.problem)} broken version(s)"
            if any(v.problem for v in model.versions)
            else None
        ),
    }


@remote.or_remote(remote.models_list)
def run_list(args: argparse.Namespace) -> int:
    store = synced_store()
    models = list_models(
        store,
        include_problems=True,
        search=args.search,
        keyword=args.keyword,
        task=args.task,
        has_problems=True if args.problems else None,
    )
    if args.json:
        emit([asdict(m) for m in models], as_json=True)
    else:
        emit(
            [_row(m) for m in models],
            as_json=False,
            columns=["model", "title", "version", "tasks", "tags", "problem"],
        )
    return 0


@remote.or_remote(remote.models_show)
def run_show(args: argparse.Namespace) -> int:
    name, sep, ref = args.name.partition("@") if "@" in args.name else args.name.partition(":")
    store = synced_store()
    model = get_model(store, name, include_problems=True)
    version = resolve_version(store, name, ref if sep else "latest") if model else None
    if model is None or version is None:
        raise LookupError(f"no model {args.name} in the catalog (try `mlk models list`)")
    if args.json:
        emit(asdict(version) | {"name": name}, as_json=True)
        return 0
    print(f"{version.title}  ({name} {version.version})")
    print(f"digest:   {version.digest}")
    print(f"tags:     {', '.join(version.tags)}")
    print(f"tasks:    {', '.join(version.tasks)}")
    print(f"keywords: {', '.join(version.keywords)}")
    if version.problem:
        print(f"PROBLEM:  {version.problem}")
    print()
    print(version.description or "")
    return 0
