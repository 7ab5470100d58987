"""``mlk models list|show``: the model catalog.

One body per command over :class:`~mlrun_kernel.cli.platform.Platform`: embedded
(no service URL) the CLI syncs the local store from the registry and answers
from it, problems included (the CLI is an expert's tool); in a notebook
container it asks the service (problems as the caller's groups allow). Both
print the same model cards.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mlrun_kernel.catalog import catalog_status, sync_catalog
from mlrun_kernel.cli.output import emit
from mlrun_kernel.cli.platform import open_platform
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
        print(
            f"warning: showing the stored catalog (last good sync: {when}): {report.error}", file=sys.stderr
        )
    return store


def run_list(args: argparse.Namespace) -> int:
    cards = open_platform().models(
        search=args.search, keyword=args.keyword, task=args.task, problems=args.problems
    )
    if args.json:
        emit(cards, as_json=True)
        return 0
    rows = [
        {
            "model": c["name"],
            "title": c["title"],
            "version": c["version"],
            "tasks": ",".join(t["name"] for t in c["tasks"]),
            "tags": ",".join(c["tags"]),
            "problem": c["problem"],
        }
        for c in cards
    ]
    emit(rows, as_json=False, columns=["model", "title", "version", "tasks", "tags", "problem"])
    return 0


def _pick(detail: dict[str, Any], ref: str | None) -> dict[str, Any] | None:
    """The version ``ref`` names (a tag or a digest), or the card's head version."""
    versions = detail["versions"] + detail["problems"]
    if ref is None:
        return next((v for v in versions if v["digest"] == detail["digest"]), None)
    if ref.startswith("sha256:"):
        return next((v for v in versions if v["digest"] == ref), None)
    return next((v for v in versions if ref in v["tags"]), None)


def run_show(args: argparse.Namespace) -> int:
    name, sep, ref = args.name.partition("@") if "@" in args.name else args.name.partition(":")
    version = _pick(open_platform().model(name), ref if sep else None)
    if version is None:
        raise LookupError(f"no model {args.name} in the catalog (try `mlk models list`)")
    if args.json:
        emit(version | {"name": name}, as_json=True)
        return 0
    print(f"{version['title']}  ({name} {version['version']})")
    print(f"digest:   {version['digest']}")
    print(f"tags:     {', '.join(version['tags'])}")
    print(f"tasks:    {', '.join(version['tasks'])}")
    print(f"keywords: {', '.join(version['keywords'])}")
    if version["problem"]:
        print(f"PROBLEM:  {version['problem']}")
    print()
    print(version["description"] or "")
    return 0
