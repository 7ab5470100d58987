"""``mlk models list|show``: the models in the registry."""

from __future__ import annotations

import argparse
from typing import Any

from mlrun_kernel.catalog import CatalogEntry, list_registry_models
from mlrun_kernel.cli.output import emit
from mlrun_kernel.config import settings


def add_parser(sub: Any) -> None:
    p = sub.add_parser("models", help="list and describe models")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    lst = msub.add_parser("list", help="models in the registry")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=run_list)
    show = msub.add_parser("show", help="one model's card and manifest")
    show.add_argument("name", help="repository[:tag]")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=run_show)


def _row(entry: CatalogEntry) -> dict[str, Any]:
    meta = entry.image.metadata if entry.image else None
    return {
        "model": f"{entry.repository}:{entry.tag}",
        "title": meta.title if meta else None,
        "version": meta.version if meta else None,
        "tasks": ",".join(entry.image.manifest.tasks) if entry.image else None,
        "digest": entry.digest,
        "problem": entry.problem,
    }


def run_list(args: argparse.Namespace) -> int:
    rows = [_row(e) for e in list_registry_models(settings().registry_url)]
    emit(rows, as_json=args.json, columns=["model", "title", "version", "tasks", "problem"])
    return 0


def run_show(args: argparse.Namespace) -> int:
    repo, _, tag = args.name.partition(":")
    tag = tag or "latest"
    for entry in list_registry_models(settings().registry_url):
        if entry.repository == repo and entry.tag == tag:
            row = _row(entry)
            if entry.image:
                row["description"] = entry.image.metadata.description
            emit(row, as_json=args.json)
            return 0
    raise LookupError(f"no model {repo}:{tag} in {settings().registry_url}")
