"""The admins' evaluation dashboard (``voila_apps/evaluate.ipynb``).

``EvaluationDashboard`` asks the model service (``Client``) and shows:

- a table of evaluated models: latest metrics with their trend, state (flagged or ok),
  schedule, active requests, and buttons to chart, evaluate now, or (flagged) ask the
  experts to fine-tune: two clicks, the reason filled in from the flag;
- per model: a metric-over-time chart with version markers and rule thresholds, two
  versions side by side, the rules (add, remove) and the setup (reference data, schedule);
- the fine-tune requests and their state;
- "Start evaluating a model": the models with an ``evaluate`` task that nobody evaluates
  yet, each one click from its setup (reference data, schedule) and rules, so a fresh
  platform's admin starts the loop here, not in a notebook.

Charts are bqplot figures (:func:`metric_chart` over :func:`chart_data`); bqplot's
JavaScript is a prebuilt JupyterLab extension in its wheel, which Voilà's lab template serves
from the hub, so the app renders the same on an air-gapped site. The pure functions
(``chart_data``, ``overview_rows``, ``version_markers``, ``compare_versions``,
``request_reason``) take plain answers of the service, so tests need no service.

Model users never see this: the service refuses them every route it reads, and
``app_page`` turns that refusal into "Your account may not do this".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ipyvuetify as v

from mlrun_kernel.client import Client, NotFound, ServiceError

WIDTH, HEIGHT, PAD = 640, 240, 36


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) and not isinstance(value, bool) else "–"


def overview_rows(overview: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One table row per evaluated model: metric cells with a trend arrow."""
    rows = []
    for entry in overview:
        cells = []
        for name, value in sorted((entry.get("metrics") or {}).items()):
            delta = (entry.get("trend") or {}).get(name)
            arrow = "" if delta is None or abs(delta) < 1e-12 else ("▲" if delta > 0 else "▼")
            cells.append(f"{name} {_fmt(value)}{arrow}")
        rows.append(
            {
                "model": entry["model"],
                "version": ((entry.get("latest") or {}).get("version")) or "",
                "metrics": ", ".join(cells) or "not evaluated yet",
                "state": entry.get("state", ""),
                "flags": [f["message"] for f in entry.get("flags") or []],
                "schedule": entry.get("schedule") or "on demand",
                "next": str(entry.get("next_slot") or "")[:16].replace("T", " "),
                "requests": entry.get("active_requests", 0),
            }
        )
    return rows


def version_markers(points: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(at, version)`` where the evaluated version changes, oldest first."""
    markers: list[tuple[str, str]] = []
    last = None
    for p in sorted(points, key=lambda p: str(p["at"])):
        if p["digest"] != last:
            markers.append((str(p["at"]), p.get("version") or str(p["digest"])[:19]))
            last = p["digest"]
    return markers


def compare_versions(points: list[dict[str, Any]], a: str, b: str) -> list[dict[str, Any]]:
    """Each metric's latest value for versions ``a`` and ``b`` (a version name or digest)."""

    def latest(which: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for p in sorted(points, key=lambda p: str(p["at"])):
            if which in (p.get("version"), p["digest"]):
                out[p["metric"]] = p["value"]
        return out

    left, right = latest(a), latest(b)
    return [
        {
            "metric": m,
            a: left.get(m),
            b: right.get(m),
            "delta": round(right[m] - left[m], 12) if m in left and m in right else None,
        }
        for m in sorted(set(left) | set(right))
    ]


def rule_lines(rules: list[dict[str, Any]], metric: str) -> list[tuple[float, str]]:
    """Horizontal lines to draw for ``metric``: thresholds (their value)."""
    return [
        (float(r["threshold"]), f"rule {r['id']}")
        for r in rules
        if r["metric"] == metric and r["kind"] == "threshold"
    ]


@dataclass(frozen=True)
class ChartData:
    """What a metric-over-time chart draws, in plain values (the tests read this)."""

    metric: str
    times: list[datetime]
    """UTC, without a zone (bqplot's date scale wants naive datetime64)."""
    values: list[float]
    markers: list[tuple[datetime, str]]
    """Where a version starts, and its label."""
    thresholds: list[tuple[float, str]]
    low: float
    high: float


def _naive_utc(at: str) -> datetime:
    when = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def chart_data(
    points: list[dict[str, Any]],
    metric: str,
    *,
    markers: list[tuple[str, str]] | None = None,
    thresholds: list[tuple[float, str]] | None = None,
) -> ChartData | None:
    """The series of ``metric`` (oldest first), version markers and threshold lines; None
    when there are no values of it."""
    series = sorted((_naive_utc(p["at"]), float(p["value"])) for p in points if p["metric"] == metric)
    if not series:
        return None
    limits = [value for value, _ in thresholds or []]
    values = [y for _, y in series] + limits
    low, high = min(values), max(values)
    span = high - low if high - low > 1e-9 else 1.0
    known = {_naive_utc(at) for at, _ in markers or []}
    return ChartData(
        metric=metric,
        times=[x for x, _ in series],
        values=[y for _, y in series],
        markers=[(_naive_utc(at), label) for at, label in markers or [] if _naive_utc(at) in known],
        thresholds=list(thresholds or []),
        low=low - 0.1 * span,
        high=high + 0.1 * span,
    )


def metric_chart(data: ChartData | None, metric: str) -> Any:
    """A bqplot figure of ``data``: the series with its points, a dashed line where each version
    starts, a red line per threshold. Its JavaScript ships in bqplot's wheel (a prebuilt
    JupyterLab extension), so Voilà serves it from the hub: nothing comes from the internet."""
    if data is None:
        return v.Html(tag="div", class_="mlk-chart-empty pa-2", children=[f"no values of {metric} yet"])
    import bqplot as bq
    import numpy as np
    from ipywidgets import Layout

    def dates(items: list[datetime]) -> Any:
        return np.array(items, dtype="datetime64[ms]")

    x = bq.DateScale()
    y = bq.LinearScale(min=data.low, max=data.high)
    scales = {"x": x, "y": y}
    first, last = data.times[0], data.times[-1]
    marks: list[Any] = []
    for when, label in data.markers:
        marks.append(
            bq.Lines(x=dates([when, when]), y=[data.low, data.high], scales=scales, colors=["#90A4AE"],
                     line_style="dashed", stroke_width=1)
        )  # fmt: skip
        marks.append(
            bq.Label(x=dates([when]), y=[data.high], scales=scales, text=[label], colors=["#546E7A"],
                     x_offset=4, y_offset=12, default_size=11)
        )  # fmt: skip
    for value, label in data.thresholds:
        marks.append(
            bq.Lines(x=dates([first, last]), y=[value, value], scales=scales, colors=["#C62828"],
                     line_style="dash_dotted", stroke_width=1.5)
        )  # fmt: skip
        marks.append(
            bq.Label(x=dates([last]), y=[value], scales=scales, text=[f"{label} ({_fmt(value)})"],
                     colors=["#C62828"], x_offset=-90, y_offset=-4, default_size=11)
        )  # fmt: skip
    marks.append(
        bq.Lines(x=dates(data.times), y=data.values, scales=scales, colors=["#1565C0"], stroke_width=2)
    )
    marks.append(
        bq.Scatter(x=dates(data.times), y=data.values, scales=scales, colors=["#1565C0"], default_size=28,
                   tooltip=bq.Tooltip(fields=["x", "y"], formats=["%Y-%m-%d %H:%M", ".4g"],
                                      labels=["time", metric]))
    )  # fmt: skip
    figure = bq.Figure(
        marks=marks,
        axes=[
            bq.Axis(scale=x, side="bottom", label="time", tick_format="%b %d", num_ticks=6),
            bq.Axis(scale=y, side="left", tick_format=".3g"),  # the metric is named above
        ],
        fig_margin={"top": 24, "bottom": 44, "left": 60, "right": 24},
        layout=Layout(width="100%", max_width="760px", height="300px"),
        animation_duration=0,
    )
    figure.add_class("mlk-chart")
    figure.add_class(f"mlk-chart-{_css_name(metric)}")
    return figure


def _css_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def request_reason(flags: list[dict[str, Any]]) -> str:
    """The reason a request from a flagged model starts with: what the flags say."""
    if not flags:
        return ""
    return (
        "Deteriorated: "
        + "; ".join(f["message"] for f in flags)
        + ". Please fine-tune with the attached data."
    )


def _cell(value: Any) -> str:
    """A table cell: numbers to 4 significant digits (no 0.7999999999999999), none as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return _fmt(value)
    return str(value)


def _table(rows: list[dict[str, Any]], columns: list[str], class_: str = "") -> v.Html:
    head = v.Html(
        tag="thead", children=[v.Html(tag="tr", children=[v.Html(tag="th", children=[c]) for c in columns])]
    )
    body = v.Html(
        tag="tbody",
        children=[
            v.Html(
                tag="tr",
                children=[v.Html(tag="td", children=[_cell(r.get(c))]) for c in columns],
            )
            for r in rows
        ],
    )
    return v.Table(class_=class_, density="compact", children=[head, body])


class EvaluationDashboard(v.Container):
    """See the module docstring; ``client`` defaults to ``Client()`` (the notebook's service)."""

    def __init__(self, client: Client | None = None, **kwargs: Any) -> None:
        self.client = client or Client()
        self.status = v.Alert(
            type="info", variant="tonal", class_="mlk-eval-status mb-2", children=["Loading…"]
        )
        self.table_box = v.Html(tag="div", class_="mlk-eval-models")
        self.start_box = v.Html(tag="div", class_="mlk-eval-start mt-2")
        self.detail = v.Html(tag="div", class_="mlk-eval-detail")
        self.requests_box = v.Html(tag="div", class_="mlk-eval-requests")
        self.dialog_box = v.Html(tag="div")
        super().__init__(
            class_="mlk-evaluations",
            fluid=True,
            children=[
                v.Html(tag="h2", class_="text-h5 mb-2", children=["Model evaluations"]),
                self.status,
                self.table_box,
                self.start_box,
                self.dialog_box,
                self.detail,
                v.Html(tag="h3", class_="text-h6 mt-4", children=["Fine-tune requests"]),
                self.requests_box,
            ],
            **kwargs,
        )
        self.overview: list[dict[str, Any]] = []
        self.start_pick: v.Select | None = None  # the models not evaluated yet, when there are
        self.refresh()

    # ------------------------------------------------------------------ loading

    def _guard(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ServiceError as exc:
            self.status.type = "error"
            self.status.children = [f"{what}: {exc.detail if isinstance(exc.detail, str) else exc}"]
            return None

    def refresh(self) -> None:
        overview = self.client.evaluation_overview()  # a refusal here is the app's refusal
        self.overview = overview
        self.status.type = "info"
        self.table_box.children = [self._models_table(overview_rows(overview))]
        self.start_box.children = self._start_row({str(o["model"]) for o in overview})
        if self.status.type == "error":  # the models could not be listed: the guard said why
            pass
        elif overview:
            flagged = sum(1 for o in overview if o["state"] == "flagged")
            many = "s" if len(overview) != 1 else ""
            self.status.children = [f"{len(overview)} evaluated model{many}; {flagged} flagged"]
        elif self.start_pick is not None:
            self.status.children = [
                "No model is evaluated yet: pick one under Start evaluating a model, then give it "
                "labelled reference data and a schedule."
            ]
        else:
            self.status.children = [
                "No model is evaluated yet, and no model in the registry has an evaluate task: "
                "model experts publish them."
            ]
        requests = self._guard("requests", self.client.list_requests) or []
        self.requests_box.children = [
            _table(
                [{**r, "created": str(r["created_at"])[:16]} for r in requests],
                ["id", "model", "version", "state", "created", "created_by", "reason"],
                "mlk-eval-request-table",
            )
        ]
        if overview and not self.detail.children:
            self.show_model(overview[0]["model"])

    def _models_table(self, rows: list[dict[str, Any]]) -> v.Table:
        columns = ["model", "version", "metrics", "state", "schedule", "next", "requests", ""]
        body = []
        for row in rows:
            chart = v.Btn(children=["Chart"], size="small", variant="text", class_="mlk-eval-chart-btn")
            chart.on_event("click", lambda *_, m=row["model"]: self.show_model(m))
            run = v.Btn(children=["Evaluate now"], size="small", variant="text", class_="mlk-eval-run-btn")
            run.on_event("click", lambda *_, m=row["model"]: self.evaluate(m))
            actions = [chart, run]
            if row["state"] == "flagged":
                ask = v.Btn(
                    children=["Ask experts"],
                    size="small",
                    color="error",
                    variant="tonal",
                    class_="mlk-eval-ask-btn",
                )
                ask.on_event("click", lambda *_, m=row["model"]: self.ask_experts(m))
                actions.append(ask)
            state = v.Chip(
                children=[row["state"]],
                size="small",
                color="error" if row["state"] == "flagged" else "success",
                class_=f"mlk-eval-state mlk-eval-state-{row['state'].replace(' ', '-')}",
            )
            cells = [
                row["model"],
                row["version"],
                row["metrics"],
                state,
                row["schedule"],
                row["next"],
                str(row["requests"]),
            ]
            body.append(
                v.Html(
                    tag="tr",
                    class_="mlk-eval-row",
                    children=[v.Html(tag="td", children=[c]) for c in cells]
                    + [v.Html(tag="td", children=actions)],
                )
            )
        head = v.Html(
            tag="thead",
            children=[v.Html(tag="tr", children=[v.Html(tag="th", children=[c]) for c in columns])],
        )
        return v.Table(
            class_="mlk-eval-table", density="compact", children=[head, v.Html(tag="tbody", children=body)]
        )

    def _start_row(self, evaluated: set[str]) -> list[Any]:
        """The models with an ``evaluate`` task not evaluated yet, and a button to set one up."""
        self.start_pick = None
        models = self._guard("models", lambda: self.client.list_models(task="evaluate")) or []
        waiting = sorted({str(m["name"]) for m in models if not m.get("problem")} - evaluated)
        if not waiting:
            return []
        pick = v.Select(
            label="Start evaluating a model",
            items=list[Any](waiting),
            v_model=waiting[0],
            density="compact",
            hide_details=True,
            class_="mlk-eval-start-model",
            style_="max-width: 320px",
        )
        start = v.Btn(
            children=["Set up"],
            size="small",
            color="primary",
            variant="tonal",
            class_="mlk-eval-start-btn ml-3",
        )

        def open_setup(*_: Any) -> None:
            if pick.v_model:
                self.show_model(str(pick.v_model))

        start.on_event("click", open_setup)
        self.start_pick = pick
        return [v.Row(align="center", class_="ma-0", children=[pick, start])]

    # ------------------------------------------------------------------ one model

    def show_model(self, model: str, metric: str | None = None) -> None:
        points = (
            self._guard("metrics history", lambda: self.client.metric_history(model, evaluations_only=True))
            or []
        )
        rules = self._guard("rules", lambda: self.client.list_rules(model)) or []
        metrics = sorted({p["metric"] for p in points})
        chosen = metric or (metrics[0] if metrics else "")
        pick = v.Select(
            label="Metric",
            items=metrics,
            v_model=chosen,
            density="compact",
            class_="mlk-eval-metric",
            style_="max-width: 240px",
        )
        pick.observe(lambda change: self.show_model(model, change["new"]), "v_model")
        data = chart_data(
            points, chosen, markers=version_markers(points), thresholds=rule_lines(rules, chosen)
        )
        chart = metric_chart(data, chosen)
        versions = [label for _, label in version_markers(points)]
        compare_box = v.Html(tag="div", class_="mlk-eval-compare")
        left = v.Select(
            label="Version A",
            items=versions,
            v_model=versions[0] if versions else None,
            density="compact",
            style_="max-width: 200px",
        )
        right = v.Select(
            label="Version B",
            items=versions,
            v_model=versions[-1] if versions else None,
            density="compact",
            style_="max-width: 200px",
        )

        def compare(*_: Any) -> None:
            if left.v_model and right.v_model:
                rows = compare_versions(points, left.v_model, right.v_model)
                compare_box.children = [
                    _table(rows, ["metric", left.v_model, right.v_model, "delta"], "mlk-eval-compare-table")
                ]

        left.observe(compare, "v_model")
        right.observe(compare, "v_model")
        compare()
        self.detail.children = [
            v.Html(tag="h3", class_="text-h6 mt-4", children=[f"{model}: metrics over time"]),
            pick,
            chart,
            v.Html(tag="h4", class_="mt-2", children=["Two versions side by side"]),
            v.Row(children=[left, right]),
            compare_box,
            self._rules_editor(model, rules, metrics),
            self._setup_editor(model),
        ]

    def _rules_editor(self, model: str, rules: list[dict[str, Any]], metrics: list[str]) -> v.Html:
        rows = []
        for r in rules:
            remove = v.Btn(children=["Remove"], size="small", variant="text")
            remove.on_event(
                "click", lambda *_, rid=r["id"]: self._act(lambda: self.client.delete_rule(rid), model)
            )
            limit = (
                "threshold " + _fmt(r["threshold"])
                if r["kind"] == "threshold"
                else "drop " + _fmt(r["drop"]) + " vs " + str(r["baseline"])
            )
            cooldown = int(r["cooldown_seconds"])
            what = f"{r['metric']} {limit}, {r['min_consecutive']} in a row, cooldown {cooldown} s"
            rows.append(v.Html(tag="div", class_="mlk-eval-rule", children=[what, remove]))
        metric = v.TextField(
            label="Metric",
            v_model=metrics[0] if metrics else "",
            density="compact",
            style_="max-width: 160px",
        )
        kind = v.Select(
            label="Kind",
            items=["threshold", "drop"],
            v_model="threshold",
            density="compact",
            style_="max-width: 140px",
        )
        number = v.TextField(
            label="Threshold or drop", v_model="", density="compact", style_="max-width: 160px"
        )
        baseline = v.Select(
            label="Baseline",
            items=["median", "pinned"],
            v_model="median",
            density="compact",
            style_="max-width: 140px",
        )
        add = v.Btn(children=["Add rule"], size="small", color="primary", class_="mlk-eval-add-rule")

        def add_rule(*_: Any) -> None:
            fields: dict[str, Any] = (
                {"threshold": number.v_model}
                if kind.v_model == "threshold"
                else {"drop": number.v_model, "baseline": baseline.v_model}
            )
            self._act(lambda: self.client.add_rule(model, metric.v_model, kind.v_model, **fields), model)

        add.on_event("click", add_rule)
        return v.Html(
            tag="div",
            class_="mlk-eval-rules mt-4",
            children=[
                v.Html(tag="h4", children=["Deterioration rules"]),
                *rows,
                v.Row(children=[metric, kind, number, baseline, add]),
            ],
        )

    def _setup_editor(self, model: str) -> v.Html:
        def read() -> dict[str, Any]:
            try:
                return self.client.evaluation_setup(model)
            except NotFound:  # not evaluated yet: the fields start empty
                return {}

        setup = self._guard("setup", read) or {}
        dataset = v.TextField(
            label="Reference dataset (owner/name)",
            v_model=setup.get("dataset", ""),
            density="compact",
            style_="max-width: 260px",
        )
        version = v.TextField(
            label="Pinned version",
            v_model=str(setup.get("dataset_version", "")),
            density="compact",
            style_="max-width: 120px",
        )
        schedule = v.TextField(
            label="Schedule (daily, weekly, cron)",
            v_model=setup.get("schedule") or "",
            density="compact",
            style_="max-width: 220px",
        )
        save = v.Btn(children=["Save setup"], size="small", color="primary", class_="mlk-eval-save-setup")

        def store(*_: Any) -> None:
            pinned = int(version.v_model) if str(version.v_model).strip().isdigit() else None
            self._act(
                lambda: self.client.set_evaluation_setup(
                    model, dataset.v_model, dataset_version=pinned, schedule=schedule.v_model or None
                ),
                model,
            )

        save.on_event("click", store)
        return v.Html(
            tag="div",
            class_="mlk-eval-setup mt-4",
            children=[
                v.Html(tag="h4", children=["Reference data and schedule"]),
                v.Row(children=[dataset, version, schedule, save]),
            ],
        )

    # ------------------------------------------------------------------ actions

    def _act(self, fn: Callable[[], Any], model: str | None = None, done: str = "saved") -> None:
        if self._guard("refused", fn) is None and self.status.type == "error":
            return
        self.refresh()
        if model:
            self.show_model(model)
        if self.status.type != "error":  # said last: the refresh would write over it
            summary = " ".join(str(c) for c in self.status.children)
            self.status.type = "success"
            self.status.children = [f"{done[:1].upper()}{done[1:]}. {summary}"]

    def evaluate(self, model: str) -> None:
        self._act(lambda: self.client.evaluate(model), model, f"evaluation of {model} started")

    def ask_experts(self, model: str) -> None:
        """The first click: a dialog with the reason filled in from the flags; the second sends it."""
        entry = next((o for o in self.overview if o["model"] == model), {})
        flags = entry.get("flags") or []
        reason = v.Textarea(label="Reason", v_model=request_reason(flags), rows=3, class_="mlk-eval-reason")
        datasets = v.TextField(label="New data (owner/name, comma-separated)", v_model="", density="compact")
        send = v.Btn(children=["Send request"], color="error", class_="mlk-eval-send-request")
        cancel = v.Btn(children=["Cancel"], variant="text")

        def submit(*_: Any) -> None:
            refs = [d.strip() for d in (datasets.v_model or "").split(",") if d.strip()]
            flag_id = flags[0]["id"] if flags else None
            self.dialog_box.children = []
            self._act(
                lambda: self.client.create_request(model, reason.v_model, flag_id=flag_id, datasets=refs),
                None,
                f"request sent to the experts of {model}",
            )

        send.on_event("click", submit)
        cancel.on_event("click", lambda *_: setattr(self.dialog_box, "children", []))
        self.dialog_box.children = [
            v.Card(
                class_="mlk-eval-ask pa-3 mb-3",
                children=[
                    v.CardTitle(children=[f"Ask the experts of {model} to fine-tune"]),
                    reason,
                    datasets,
                    v.CardActions(children=[send, cancel]),
                ],
            )
        ]


def evaluation_app() -> EvaluationDashboard:
    """``voila_apps/evaluate.ipynb``'s content."""
    return EvaluationDashboard()
