"""``RunLauncher(model, task)``: pick the inputs, fill the form, press Run.

A ``DatasetPicker`` per input the task declares (it accepts only the media
types the input takes), the task's ``SchemaForm``, an optional run name (stored
with the run: histories show it, monitors carry it in their title) and a Run
button that stays disabled while the form is invalid, the name is one the
service refuses, or a required input is missing. What happens on Run is decided
by plain functions tests call:

- ``run_inputs``: the picked datasets as the service wants them (``owner/name:version``);
- ``sort_refusal``: a refusal split into what belongs to a form field (422
  ``errors``, by JSON pointer), to the run name ("the run name ..."), to an input
  picker ("input 'history': ..."), and the rest, which is said in plain words
  (quota, permission, service down).

A refusal never clears anything: the form and the pickers keep what was typed.
Once the service takes the run, a ``RunMonitor`` follows it and a
``ResultsView`` replaces it when the run ends (``on_started`` can take over).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ipyvuetify as v

from mlrun_kernel.client import Client, InvalidRequest, Run, ServiceError
from mlrun_kernel.spec.run_name import RUN_NAME_MAX, RunNameError, clean_run_name
from mlrun_kernel.widgets.common import Loading, Notice, apply_theme, client_or_default, explain, safe_call
from mlrun_kernel.widgets.model_card import manifest_for, model_name

_INPUT_PROBLEM = re.compile(r"^input '([^']+)': (.*)$", re.S)
_NAME_PROBLEM = "the run name "


def task_spec(manifest: dict[str, Any], task: str) -> dict[str, Any]:
    """The task's part of a manifest; ``KeyError`` names the tasks there are."""
    tasks = manifest.get("tasks") or {}
    if task not in tasks:
        raise KeyError(f"the model has no task {task!r}; it has {', '.join(tasks) or 'none'}")
    return dict(tasks[task])


def run_inputs(picked: dict[str, dict[str, Any] | None]) -> dict[str, str]:
    """``{"history": {"dataset": "uma/sales", "version": 2}}`` -> ``{"history": "uma/sales:2"}``."""
    return {
        name: f"{value['dataset']}:{value['version']}" if value.get("version") else str(value["dataset"])
        for name, value in picked.items()
        if value
    }


def missing_inputs(inputs: dict[str, Any], picked: dict[str, dict[str, Any] | None]) -> list[str]:
    """Required inputs nothing is picked for."""
    return [
        name for name, spec in inputs.items() if (spec or {}).get("required", True) and not picked.get(name)
    ]


@dataclass
class Refusal:
    """A refused run, sorted by where each part is shown."""

    fields: list[tuple[str, str]] = field(default_factory=list)  # (JSON pointer, message)
    inputs: dict[str, str] = field(default_factory=dict)  # input name -> message
    name: str | None = None  # why the run name was refused
    general: ServiceError | Exception | None = None


def sort_refusal(exc: Exception, input_names: list[str]) -> Refusal:
    """Where each part of a refusal belongs (see the module docstring)."""
    if isinstance(exc, InvalidRequest):
        detail = str(exc.detail or "")
        if detail.startswith(_NAME_PROBLEM):  # the request's own /name, not a parameter's
            return Refusal(name=detail[len(_NAME_PROBLEM) :])
        if exc.errors:
            return Refusal(
                fields=[(str(e.get("path") or ""), str(e.get("message") or "")) for e in exc.errors]
            )
        match = _INPUT_PROBLEM.match(detail)
        if match and match.group(1) in input_names:
            return Refusal(inputs={match.group(1): match.group(2)})
    return Refusal(general=exc)


class RunLauncher(v.Card):
    """Start a run of ``model``'s ``task``; ``parameters``/``inputs`` prefill it (an example,
    or a run being cloned: inputs as ``{"name": {"dataset": ref, "version": n}}``); ``name``
    prefills the run name (``label`` is its older spelling)."""

    def __init__(
        self,
        model: str | None,
        task: str | None = None,
        client: Client | None = None,
        *,
        parameters: dict[str, Any] | None = None,
        inputs: dict[str, dict[str, Any] | None] | None = None,
        name: str = "",
        label: str = "",
        on_started: Callable[[Run], None] | None = None,
        **kwargs: Any,
    ) -> None:
        apply_theme()
        self.client = client_or_default(client)
        self.model, self.task = model or "", task or ""
        self.on_started = on_started or self._follow
        self.notice = Notice()
        self.loader = Loading()
        self.pickers: dict[str, Any] = {}
        self.input_errors: dict[str, v.Html] = {}
        self.form: Any = None
        self.inputs_spec: dict[str, Any] = {}
        self.started: Run | None = None
        self.monitor: Any = None
        self.results: Any = None
        self.name_field = v.TextField(
            label="Run name (optional)",
            v_model=name or label,
            counter=RUN_NAME_MAX,
            error_messages=[],
            density="compact",
            variant="outlined",
            class_="mt-2 mlk-run-name",
        )
        self.name_field.observe(lambda _change: self._refresh_button(), "v_model")
        self.label_field = self.name_field  # the older name of the field
        self.run_button = v.Btn(children=["Run"], color="primary", prepend_icon="mdi-play", disabled=True)
        self.run_button.on_event("click", lambda *_: self.submit())
        self.why_disabled = v.Html(tag="span", class_="text-caption text-medium-emphasis ml-3", children=[])
        self.follow_area = v.Html(tag="div", class_="mlk-launcher-follow mt-4", children=[])
        self.body = v.CardText(children=[])
        self._title = v.CardTitle(children=[f"Run {task or ''} of {model or 'a model'}"])
        kwargs.setdefault("class_", "mlk-launcher pa-2")
        super().__init__(
            children=[
                self._title,
                self.loader,
                self.body,
                self.notice,
                v.CardActions(children=[self.run_button, self.why_disabled]),
                self.follow_area,
            ],
            **kwargs,
        )
        self._build(parameters, inputs or {})

    # ---- building -------------------------------------------------------------------

    def _build(self, parameters: dict[str, Any] | None, inputs: dict[str, dict[str, Any] | None]) -> None:
        from mlrun_kernel.widgets.datasets import DatasetPicker
        from mlrun_kernel.widgets.schema_form import SchemaForm

        if not self.model:
            self.notice.note("Choose a model (and one of its tasks) in the gallery first.")
            return
        name = model_name(self.model)
        detail = safe_call(lambda: self.client.get_model(name), self.notice, "load the model", self.loader)
        if detail is None:
            return
        digest = self.model.split("@", 1)[1] if "@" in self.model else ""
        manifest = manifest_for(dict(detail), digest)
        if manifest is None:
            self.notice.note(
                f"{name} has no readable manifest, so it cannot be run: {detail.get('problem')}", "warning"
            )
            return
        self.task = self.task or next(iter(manifest.get("tasks") or {"predict": None}))
        self._title.children = [f"Run {self.task} of {name}"]
        try:
            spec = task_spec(manifest, self.task)
        except KeyError as exc:
            self.notice.note(str(exc.args[0]), "warning")
            return
        self.inputs_spec = dict(spec.get("inputs") or {})
        parts: list[Any] = []
        for input_name, input_spec in self.inputs_spec.items():
            picker = DatasetPicker(
                self.client,
                media_types=list((input_spec or {}).get("media_types") or []) or None,
                label=f"Input {input_name}"
                + ("" if (input_spec or {}).get("required", True) else " (optional)"),
            )
            if inputs.get(input_name):
                try:
                    picker.value = inputs[input_name]
                except Exception:  # a picker that cannot take this value: the user picks again
                    self.notice.note(f"Pick the {input_name} input again; the earlier one is not available.")
            picker.observe(lambda _change: self._refresh_button(), "value")
            self.pickers[input_name] = picker
            self.input_errors[input_name] = v.Html(tag="div", class_="text-caption text-error", children=[])
            parts += [picker, self.input_errors[input_name]]
        self.form = SchemaForm(spec.get("parameters") or {"type": "object"}, value=parameters)
        self.form.observe(lambda _change: self._refresh_button(), "value")
        parts += [self.form, self.name_field]
        self.body.children = parts
        self._refresh_button()

    def use_example(self, parameters: dict[str, Any]) -> None:
        """Fill the form with an example's parameters; the picked inputs stay."""
        if self.form is not None:
            self.form.value = parameters
            self._refresh_button()

    # ---- state ----------------------------------------------------------------------

    def picked(self) -> dict[str, dict[str, Any] | None]:
        return {name: picker.value for name, picker in self.pickers.items()}

    def run_name(self) -> str | None:
        """The name typed, as the service will store it; ``RunNameError`` if it would refuse it."""
        return clean_run_name(self.name_field.v_model or "")

    def _name_problem(self) -> str | None:
        try:
            self.run_name()
        except RunNameError as exc:
            return str(exc)
        return None

    def blockers(self) -> list[str]:
        """Why Run is disabled, in words (empty: it is enabled)."""
        if self.form is None:
            return ["the model could not be loaded"]
        why = [f"pick the {name} input" for name in missing_inputs(self.inputs_spec, self.picked())]
        if not self.form.valid:
            count = len(self.form.errors)
            why.append(f"fix {count} field{'s' if count != 1 else ''} in the form")
        if self._name_problem():
            why.append("fix the run name")
        return why

    def _refresh_button(self) -> None:
        why = self.blockers()
        self.run_button.disabled = bool(why)
        self.why_disabled.children = ["To run: " + "; ".join(why)] if why else []
        problem = self._name_problem()
        self.name_field.error_messages = [f"The run name {problem}"] if problem else []

    # ---- running --------------------------------------------------------------------

    def submit(self) -> Run | None:
        """Start the run; on refusal show why at the fields and keep everything as typed."""
        if self.blockers():
            self._refresh_button()
            return None
        for box in self.input_errors.values():
            box.children = []
        self.notice.clear()
        self.form.set_errors([])
        self.run_button.loading = True
        try:
            run = self.client.start_run(
                self.model,
                task=self.task,
                inputs=run_inputs(self.picked()),
                parameters=self.form.value,
                name=self.run_name(),
            )
        except Exception as exc:
            self.show_refusal(exc)
            return None
        finally:
            self.run_button.loading = False
        self.started = run
        self.on_started(run)
        return run

    def show_refusal(self, exc: Exception) -> Refusal:
        from mlrun_kernel.widgets.schema_form import FieldError

        refusal = sort_refusal(exc, list(self.pickers))
        if refusal.fields:
            self.form.set_errors([FieldError(pointer, message) for pointer, message in refusal.fields])
            self.notice.note(
                f"The service found {len(refusal.fields)} problem(s) in the form: see the fields marked.",
                "warning",
            )
        for name, message in refusal.inputs.items():
            self.input_errors[name].children = [message]
        if refusal.name is not None:
            self.name_field.error_messages = [f"The run name {refusal.name}"]
        if refusal.general is not None:
            self.notice.show(explain(refusal.general, "start the run"))
        if refusal.name is None:
            self._refresh_button()
        else:  # the service's verdict stays at the field until the name is edited
            self.run_button.disabled = True
        return refusal

    def _follow(self, run: Run) -> None:
        """Default after a start: follow the run, then show its results."""
        from mlrun_kernel.widgets.monitor import RunMonitor
        from mlrun_kernel.widgets.results import ResultsView

        def ended(final: dict[str, Any]) -> None:
            self.results = ResultsView(run["id"], client=self.client)
            self.follow_area.children = [self.monitor, self.results]

        self.monitor = RunMonitor(run["id"], client=self.client)  # its title carries the run's name
        self.follow_area.children = [self.monitor]
        self.monitor.on_end = ended
        self.monitor.render()  # a run that ended already shows its results at once
