"""``ModelCard``: one model in full, opened from the gallery; a Run button per task.

It shows what the model's manifest says (``card_facts`` reads it, no widgets
involved): the Markdown description, every version newest first with the date
the catalog first saw it, each task's inputs (with the media types they take),
outputs and declared metrics (with their goal), the resources a run gets, and
the manifest's examples, each of which fills the launcher's form in one click.
A broken image says what is wrong; the service only tells experts and admins.
A version a deterioration rule flagged carries the gallery's badge (``flag_badge``)
at the top of the card, each line with the version, the rule's numbers and when
it was raised (``flag_facts``); whoever may read flags sees it, as in the gallery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipyvuetify as v

from mlrun_kernel.client import Client
from mlrun_kernel.widgets.common import Loading, Notice, apply_theme, client_or_default, safe_call, section
from mlrun_kernel.widgets.gallery import Markdown, flag_badge, open_flags

RunHandler = Callable[[str, str, dict[str, Any] | None], None]
"""``(model, task, example parameters or None)``: what a Run button asks for."""


def model_name(reference: str) -> str:
    """``team/x``, ``team/x:1.0`` or ``team/x@sha256:...`` -> ``team/x`` (what ``get_model`` takes)."""
    name = reference.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    if ":" in last:
        last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def manifest_for(detail: dict[str, Any], digest: str = "") -> dict[str, Any] | None:
    """The manifest of the version with ``digest`` if the detail lists it, else the newest one's."""
    for version in detail.get("versions") or []:
        if digest and version.get("digest") == digest and version.get("manifest"):
            return dict(version["manifest"])
    manifest = detail.get("manifest")
    return dict(manifest) if manifest else None


def _when(value: Any) -> str:
    return str(value or "")[:16].replace("T", " ")


def flag_facts(
    flags: list[dict[str, Any]], versions: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The open flags of a model (``Client.list_flags``) as the card says them: the version, the
    rule's verdict in numbers (its ``message``: metric, value, threshold or baseline), and when."""
    by_digest = {str(ver.get("digest")): ver for ver in versions or []}
    facts = []
    for flag in flags:
        if flag.get("cleared_at"):
            continue
        digest = str(flag.get("digest") or "")
        ver = by_digest.get(digest) or {}
        version = flag.get("version") or ver.get("version") or digest[:19]
        raised = _when(flag.get("raised_at"))
        facts.append(
            {
                "version": str(version),
                "digest": digest,
                "metric": flag.get("metric"),
                "value": flag.get("value"),
                "limit": flag.get("limit"),
                "baseline": flag.get("baseline"),
                "kind": (flag.get("rule") or {}).get("kind"),
                "raised_at": raised,
                "updated_at": _when(flag.get("updated_at")),
                "message": f"{version}: {flag.get('message')} (flagged {raised} UTC)",
            }
        )
    return facts


def card_facts(detail: dict[str, Any], flags: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What a model card shows, from ``Client.get_model``'s answer (and the model's open
    flags, ``Client.list_flags``), in the order it shows it."""
    manifest = detail.get("manifest") or {}
    versions = sorted(
        detail.get("versions") or [], key=lambda ver: str(ver.get("first_seen") or ""), reverse=True
    )
    examples = list(manifest.get("examples") or [])
    tasks = []
    for name, task in (manifest.get("tasks") or {}).items():
        tasks.append(
            {
                "name": name,
                "description": task.get("description") or "",
                "inputs": [
                    {
                        "name": input_name,
                        "media_types": list(spec.get("media_types") or []),
                        "required": bool(spec.get("required", True)),
                        "description": spec.get("description") or "",
                    }
                    for input_name, spec in (task.get("inputs") or {}).items()
                ],
                "outputs": [
                    {
                        "name": out_name,
                        "path": spec.get("path") or out_name,
                        "media_type": spec.get("media_type") or "",
                        "description": spec.get("description") or "",
                    }
                    for out_name, spec in (task.get("outputs") or {}).items()
                ],
                "metrics": [
                    {"name": m, "goal": spec.get("goal") or "", "description": spec.get("description") or ""}
                    for m, spec in (task.get("metrics") or {}).items()
                ],
                "examples": [e for e in examples if e.get("task", "predict") == name],
            }
        )
    problems = [str(p.get("problem")) for p in detail.get("problems") or [] if p.get("problem")]
    if detail.get("problem") and str(detail["problem"]) not in problems:
        problems.insert(0, str(detail["problem"]))
    return {
        "name": detail.get("name") or detail.get("repository"),
        "title": detail.get("title") or detail.get("name"),
        "description": detail.get("description") or "",
        "versions": [
            {
                "version": ver.get("version") or "",
                "tags": list(ver.get("tags") or []),
                "date": str(ver.get("first_seen") or "")[:10],
                "digest": ver.get("digest") or "",
                "problem": ver.get("problem"),
            }
            for ver in versions
        ],
        "tasks": tasks,
        "resources": dict(manifest.get("resources") or {}),
        "problems": problems,
        "flags": flag_facts(list(flags or []), list(detail.get("versions") or [])),
    }


def _line(label: str, text: str) -> v.Html:
    return v.Html(
        tag="div",
        class_="text-body-2",
        children=[v.Html(tag="span", class_="font-weight-medium", children=[f"{label} "]), text],
    )


class ModelCard(v.Card):
    """One model in full. ``on_run(model, task, example_parameters)`` opens a launcher;
    by default the launcher opens inside the card."""

    def __init__(
        self,
        model: str,
        client: Client | None = None,
        *,
        on_run: RunHandler | None = None,
        **kwargs: Any,
    ) -> None:
        apply_theme()
        self.client = client_or_default(client)
        self.model = model_name(model)
        self.on_run = on_run or self._open_launcher
        self.notice = Notice()
        self.loader = Loading()
        self.body = v.CardText(children=[])
        self.launcher_area = v.Html(tag="div", class_="mlk-card-launcher", children=[])
        self.run_buttons: dict[str, v.Btn] = {}
        self.example_buttons: list[tuple[str, dict[str, Any], v.Btn]] = []
        self.facts: dict[str, Any] | None = None
        kwargs.setdefault("class_", "mlk-model-detail pa-2")
        super().__init__(children=[self.loader, self.notice, self.body, self.launcher_area], **kwargs)
        self.refresh()

    def refresh(self) -> None:
        detail = safe_call(
            lambda: self.client.get_model(self.model), self.notice, "load the model", self.loader
        )
        if detail is None:
            return
        self.facts = card_facts(dict(detail), open_flags(self.client, self.model))
        self.body.children = self._draw(self.facts)

    def _run_button(self, task: str, example: dict[str, Any] | None = None) -> v.Btn:
        if example is None:
            button = v.Btn(children=[f"Run {task}"], color="primary", prepend_icon="mdi-play", class_="mr-2")
            self.run_buttons[task] = button
        else:
            title = str(example.get("title") or "example")
            button = v.Btn(
                children=[f"Use example: {title}"],
                variant="text",
                size="small",
                prepend_icon="mdi-lightbulb-outline",
            )
            self.example_buttons.append((task, example, button))
        parameters = dict(example.get("parameters") or {}) if example else None
        button.on_event("click", lambda *_: self.on_run(self.model, task, parameters))
        return button

    def _draw(self, facts: dict[str, Any]) -> list[Any]:
        parts: list[Any] = [
            v.Html(tag="h2", class_="text-h5 mb-1", children=[str(facts["title"])]),
            v.Html(tag="div", class_="text-caption text-medium-emphasis mb-2", children=[str(facts["name"])]),
        ]
        if facts["flags"]:
            parts.append(flag_badge(facts["flags"]))
        if facts["problems"]:
            parts.append(
                v.Alert(
                    type="warning",
                    variant="tonal",
                    title="This image's model labels are broken",
                    class_="mlk-problems mb-3",
                    children=[v.Html(tag="div", children=[p]) for p in facts["problems"]],
                )
            )
        parts.append(Markdown(str(facts["description"])))
        for task in facts["tasks"]:
            rows: list[Any] = [Markdown(task["description"])] if task["description"] else []
            for item in task["inputs"]:
                kinds = ", ".join(item["media_types"]) or "any file"
                need = "" if item["required"] else " (optional)"
                rows.append(_line(f"Input {item['name']}{need}:", f"{kinds}. {item['description']}"))
            for item in task["outputs"]:
                rows.append(
                    _line(
                        f"Output {item['name']}:",
                        f"{item['path']} ({item['media_type']}). {item['description']}",
                    )
                )
            for item in task["metrics"]:
                rows.append(
                    _line(f"Metric {item['name']}:", f"{item['goal'] or 'no goal'}. {item['description']}")
                )
            actions = [self._run_button(task["name"])]
            actions += [self._run_button(task["name"], example) for example in task["examples"]]
            rows.append(v.Html(tag="div", class_="mt-2 d-flex flex-wrap align-center", children=actions))
            parts.append(section(f"Task: {task['name']}", *rows))
        if facts["resources"]:
            res = facts["resources"]
            words = [f"{k.replace('_', ' ')}: {res[k]}" for k in res]
            parts.append(
                section(
                    "Resources per run", v.Html(tag="div", class_="text-body-2", children=[" · ".join(words)])
                )
            )
        if facts["versions"]:
            flagged = {f["digest"]: f for f in facts["flags"]}
            items = [
                v.Html(
                    tag="li",
                    children=[
                        f"{ver['version'] or '(no version)'} — {', '.join(ver['tags'])}"
                        + f" — first seen {ver['date']}"
                        + (f" — broken: {ver['problem']}" if ver["problem"] else "")
                        + (" — flagged (see above)" if ver["digest"] in flagged else "")
                    ],
                )
                for ver in facts["versions"]
            ]
            parts.append(
                section("Versions (newest first)", v.Html(tag="ul", class_="mlk-versions", children=items))
            )
        return parts

    def _open_launcher(self, model: str, task: str, parameters: dict[str, Any] | None) -> None:
        from mlrun_kernel.widgets.launcher import RunLauncher

        current = getattr(self, "launcher", None)
        if current is not None and current.task == task and parameters is not None:
            current.use_example(parameters)  # the inputs already picked stay
            return
        self.launcher = RunLauncher(model, task, client=self.client, parameters=parameters)
        self.launcher_area.children = [self.launcher]
