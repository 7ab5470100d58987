"""Models as people are shown them: a card per repository, and its detail with versions.

The service's ``api/models`` answers and the embedded ``mlk models`` both build
their answers here, so a model looks the same wherever it is listed. The values
are plain data (``dict``), ready for JSON.
"""

from __future__ import annotations

from typing import Any

from mlrun_kernel.catalog.queries import ModelSummary, VersionInfo


def head_tag(tags: list[str]) -> str | None:
    """The tag a person would name: a version-like one, else ``latest``, else the first."""
    named = [t for t in tags if t != "latest"]
    if named:
        return sorted(named)[-1]
    return tags[0] if tags else None


def _tasks(head: VersionInfo | None, names: list[str]) -> list[dict[str, Any]]:
    declared = ((head.manifest or {}).get("tasks") or {}) if head else {}
    return [{"name": n, "description": (declared.get(n) or {}).get("description")} for n in names]


def model_card(model: ModelSummary, registry_host: str) -> dict[str, Any]:
    """A repository's card: its newest good version (or its problem)."""
    head = next((v for v in model.versions if v.digest == model.digest), None)
    tag = head_tag(model.tags)
    return {
        "name": model.name,
        "repository": model.name,
        "tag": tag,
        "tags": model.tags,
        "reference": f"{registry_host}/{model.name}:{tag or 'latest'}",
        "digest": model.digest,
        "title": model.title,
        "description": model.description,
        "version": model.version,
        "tasks": _tasks(head, model.tasks),
        "keywords": model.keywords,
        "problem": model.problem,
    }


def version_entry(v: VersionInfo, *, full: bool) -> dict[str, Any]:
    """One version of a model; ``full`` adds its manifest and image metadata."""
    return {
        "digest": v.digest,
        "version": v.version,
        "title": v.title,
        "description": v.description,
        "tags": v.tags,
        "tasks": v.tasks,
        "keywords": v.keywords,
        "problem": v.problem,
        "first_seen": v.first_seen,
        "manifest": v.manifest if full else None,
        "metadata": v.metadata if full else None,
    }


def model_detail(model: ModelSummary, registry_host: str, *, sees_problems: bool) -> dict[str, Any]:
    """The card with the manifest, every good version, and (``sees_problems``) the broken ones."""
    head = next((v for v in model.versions if v.digest == model.digest), None)
    return {
        **model_card(model, registry_host),
        "manifest": head.manifest if head else None,
        "versions": [version_entry(v, full=True) for v in model.versions if v.problem is None],
        "problems": [version_entry(v, full=False) for v in model.versions if v.problem]
        if sees_problems
        else [],
    }
