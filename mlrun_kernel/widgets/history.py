"""``RunHistory``: your runs (admins: everyone's), found, sorted and paged by the service.

Filters (a piece of the run's name, model, task, state, created from/to), sorting by a column and the page
are one ``HistoryQuery``, which becomes one ``Client.list_runs`` call: the table
never holds more than a page. From the table: open a run (monitor, results),
re-run it as it was, clone it into a ``RunLauncher`` prefilled with its model,
inputs and parameters, or pick two and compare them (``compare_runs``: the
parameters that differ, by JSON pointer, and the metrics side by side).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import ipyvuetify as v

from mlrun_kernel.client import Client, Run
from mlrun_kernel.widgets.common import (
    STATE_WORDS,
    Loading,
    Notice,
    ServerTable,
    apply_theme,
    client_or_default,
    safe_call,
    section,
)

PAGE_SIZE = 20
SORTABLE = {"created_at", "started_at", "finished_at", "state", "model", "owner", "name"}
STATES = [
    "queued",
    "pulling",
    "starting",
    "running",
    "collecting",
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
]


@dataclass(frozen=True)
class HistoryQuery:
    """What the table shows: filters, sort and page, as the service's run query takes them."""

    model: str | None = None
    task: str | None = None
    state: str | None = None
    owner: str | None = None
    name: str | None = None  # runs whose name holds this text (any case)
    created_after: str | None = None  # a date (YYYY-MM-DD) or a date-time
    created_before: str | None = None
    sort: str = "created_at"
    descending: bool = True
    page: int = 1
    page_size: int = PAGE_SIZE

    @property
    def filtered(self) -> bool:
        """Whether any filter narrows the table (an empty table then says to clear one)."""
        name = (self.name or "").strip()  # blank is no filter, as in arguments()
        dates = (self.created_after, self.created_before)
        return any((self.model, self.task, self.state, self.owner, name, *dates))

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``Client.list_runs`` for this query."""
        if self.sort not in SORTABLE:
            raise ValueError(
                f"runs cannot be sorted by {self.sort!r}; use one of {', '.join(sorted(SORTABLE))}"
            )
        before = self.created_before
        if before and len(before) == 10:  # a date: up to the end of that day
            before = f"{before}T23:59:59.999999+00:00"
        after = (
            f"{self.created_after}T00:00:00+00:00"
            if self.created_after and len(self.created_after) == 10
            else (self.created_after or None)
        )
        return {
            "model": self.model or None,
            "task": self.task or None,
            "state": self.state or None,
            "owner": self.owner or None,
            "name": (self.name or "").strip() or None,
            "created_after": after,
            "created_before": before or None,
            "sort": ("-" if self.descending else "") + self.sort,
            "limit": self.page_size,
            "offset": (self.page - 1) * self.page_size,
        }


def _flatten(value: Any, pointer: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"/a/b": 1}``: leaves by JSON pointer (lists as whole values)."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            token = str(key).replace("~", "~0").replace("/", "~1")
            flat.update(_flatten(item, f"{pointer}/{token}"))
        return flat
    return {pointer or "/": value}


@dataclass
class Comparison:
    """Two runs side by side."""

    left: str
    right: str
    parameters: list[tuple[str, Any, Any]] = field(default_factory=list)  # (pointer, left, right), differing
    metrics: list[tuple[str, Any, Any]] = field(default_factory=list)  # (name, left, right), all
    notes: list[str] = field(default_factory=list)  # what else differs: model, version, task, inputs

    @property
    def identical_parameters(self) -> bool:
        return not self.parameters


_MISSING = "—"


def compare_runs(a: Run | dict[str, Any], b: Run | dict[str, Any]) -> Comparison:
    """The parameters that differ (by JSON pointer) and every metric of either run."""
    pa, pb = _flatten(a.get("parameters") or {}), _flatten(b.get("parameters") or {})
    params = [
        (pointer, pa.get(pointer, _MISSING), pb.get(pointer, _MISSING))
        for pointer in sorted(set(pa) | set(pb))
        if pa.get(pointer, _MISSING) != pb.get(pointer, _MISSING)
    ]
    ma, mb = a.get("metrics") or {}, b.get("metrics") or {}
    metrics = [(name, ma.get(name, _MISSING), mb.get(name, _MISSING)) for name in sorted(set(ma) | set(mb))]
    notes = []
    for key, words in (("model", "model"), ("digest", "model version"), ("task", "task")):
        if a.get(key) != b.get(key):
            notes.append(f"{words}: {a.get(key)} / {b.get(key)}")
    ia = {k: (v or {}).get("ref", v) for k, v in (a.get("inputs") or {}).items()}
    ib = {k: (v or {}).get("ref", v) for k, v in (b.get("inputs") or {}).items()}
    if ia != ib:
        notes.append(f"inputs: {json.dumps(ia)} / {json.dumps(ib)}")
    return Comparison(str(a.get("id")), str(b.get("id")), params, metrics, notes)


def clone_arguments(run: Run | dict[str, Any]) -> dict[str, Any]:
    """What a ``RunLauncher`` needs to start this run again after edits: same model version,
    task, datasets (their versions), parameters and name."""
    model = str(run.get("model") or "")
    if run.get("digest"):
        model = f"{model}@{run['digest']}"
    inputs = {
        name: {"dataset": info.get("ref"), "version": info.get("version")}
        for name, info in (run.get("inputs") or {}).items()
        if (info or {}).get("kind") == "dataset"
    }
    return {
        "model": model,
        "task": str(run.get("task") or "predict"),
        "inputs": inputs,
        "parameters": dict(run.get("parameters") or {}),
        "name": str(run.get("name") or ""),
    }


def run_row(run: Run | dict[str, Any]) -> dict[str, Any]:
    return {
        "id": run["id"],
        "name": run.get("name") or "",
        "model": f"{run.get('model')}" + (f" {run['model_version']}" if run.get("model_version") else ""),
        "task": run.get("task"),
        "state": STATE_WORDS.get(str(run.get("state")), run.get("state")),
        "owner": run.get("owner"),
        "created_at": str(run.get("created_at") or "")[:19].replace("T", " "),
        "finished_at": str(run.get("finished_at") or "")[:19].replace("T", " "),
    }


HEADERS = [
    {"title": "Run", "key": "id", "sortable": False},
    {"title": "Name", "key": "name", "sortable": True},
    {"title": "Model", "key": "model", "sortable": True},
    {"title": "Task", "key": "task", "sortable": False},
    {"title": "State", "key": "state", "sortable": True},
    {"title": "Owner", "key": "owner", "sortable": True},
    {"title": "Created", "key": "created_at", "sortable": True},
    {"title": "Finished", "key": "finished_at", "sortable": True},
]


def _filter_field(label: str) -> v.TextField:
    """One of the history's text filters (all drawn alike)."""
    return v.TextField(
        label=label, v_model="", density="compact", variant="outlined", hide_details=True, clearable=True
    )


class RunHistory(v.Card):
    """Past and current runs, with filters, sorting, paging, re-run, clone-and-edit and compare."""

    def __init__(self, client: Client | None = None, *, page_size: int = PAGE_SIZE, **kwargs: Any) -> None:
        apply_theme()
        self.client = client_or_default(client)
        self.query = HistoryQuery(page_size=page_size)
        self.runs: list[dict[str, Any]] = []
        self.total = 0
        self.notice = Notice()
        self.loader = Loading()
        self.comparison: Comparison | None = None
        self.launcher: Any = None
        self.name_filter = _filter_field("Name contains")
        self.model_filter = _filter_field("Model")
        self.task_filter = _filter_field("Task")
        self.state_filter = v.Select(
            label="State",
            items=[{"title": STATE_WORDS[s], "value": s} for s in STATES],
            v_model=None,
            density="compact",
            variant="outlined",
            hide_details=True,
            clearable=True,
        )
        self.after_filter = v.TextField(
            label="Created from",
            type="date",
            v_model="",
            density="compact",
            variant="outlined",
            hide_details=True,
        )
        self.before_filter = v.TextField(
            label="Created until",
            type="date",
            v_model="",
            density="compact",
            variant="outlined",
            hide_details=True,
        )
        self.owner_filter = v.TextField(
            label="Owner (everyone's when empty)",
            v_model="",
            density="compact",
            variant="outlined",
            hide_details=True,
            clearable=True,
        )
        me = safe_call(self.client.me, self.notice, "find out who you are") or {}
        self.is_admin = bool(me.get("is_admin"))
        for control in (
            self.name_filter,
            self.model_filter,
            self.task_filter,
            self.state_filter,
            self.after_filter,
            self.before_filter,
            self.owner_filter,
        ):
            control.observe(lambda _change: self.apply_filters(), "v_model")
        self.table = ServerTable(
            on_options=self._options,
            headers=HEADERS,
            page_size=page_size,
            selectable=True,
            item_key="id",
            sort_by=[{"key": "created_at", "order": "desc"}],
            css_class="mlk-server-table mlk-run-history",
        )
        self.table.observe(lambda _change: self._refresh_actions(), "selected")
        self.rerun_button = v.Btn(
            children=["Re-run"], prepend_icon="mdi-replay", variant="tonal", class_="mr-2"
        )
        self.clone_button = v.Btn(
            children=["Clone and edit"], prepend_icon="mdi-content-copy", variant="tonal", class_="mr-2"
        )
        self.compare_button = v.Btn(
            children=["Compare two"], prepend_icon="mdi-compare", variant="tonal", class_="mr-2"
        )
        self.open_button = v.Btn(
            children=["Open"], prepend_icon="mdi-open-in-app", variant="tonal", class_="mr-2"
        )
        self.rerun_button.on_event("click", lambda *_: self.rerun_selected())
        self.clone_button.on_event("click", lambda *_: self.clone_selected())
        self.compare_button.on_event("click", lambda *_: self.compare_selected())
        self.open_button.on_event("click", lambda *_: self.open_selected())
        self.detail = v.Html(tag="div", class_="mlk-history-detail mt-4", children=[])
        filters = v.Row(
            dense=True,
            children=[
                v.Col(cols=12, md=3, children=[self.name_filter]),
                v.Col(cols=12, md=3, children=[self.model_filter]),
                v.Col(cols=6, md=2, children=[self.task_filter]),
                v.Col(cols=6, md=3, children=[self.state_filter]),
                v.Col(cols=6, md=2, children=[self.after_filter]),
                v.Col(cols=6, md=2, children=[self.before_filter]),
                *([v.Col(cols=12, md=3, children=[self.owner_filter])] if self.is_admin else []),
            ],
        )
        kwargs.setdefault("class_", "mlk-history pa-4")
        super().__init__(
            children=[
                v.CardTitle(children=["Runs"]),
                v.CardText(
                    children=[
                        filters,
                        self.loader,
                        self.notice,
                        self.table,
                        v.Html(
                            tag="div",
                            class_="mt-2",
                            children=[
                                self.open_button,
                                self.rerun_button,
                                self.clone_button,
                                self.compare_button,
                            ],
                        ),
                        self.detail,
                    ]
                ),
            ],
            **kwargs,
        )
        self.load()
        self._refresh_actions()

    # ---- the table ------------------------------------------------------------------

    def load(self, query: HistoryQuery | None = None) -> None:
        """Ask the service for the page ``query`` describes and show it."""
        if query is not None:
            self.query = query
        try:
            arguments = self.query.arguments()
        except ValueError as exc:
            self.notice.note(str(exc), "warning")
            return
        self.table.loading = True
        page = safe_call(
            lambda: self.client.list_runs(**arguments), self.notice, "list the runs", self.loader
        )
        self.table.loading = False
        if page is None:
            return
        self.notice.clear()
        self.runs = [dict(r) for r in page["runs"]]
        self.total = int(page["total"])
        self.table.items = [run_row(r) for r in self.runs]
        self.table.total = self.total
        self.table.selected = [i for i in self.table.selected if i in {r["id"] for r in self.runs}]
        self.table.no_data_text = (
            "No run matches these filters: clear one to see more."
            if self.query.filtered
            else "No runs yet: open a model in Models and press Run."
        )

    def apply_filters(self) -> None:
        self.load(
            replace(
                self.query,
                name=self.name_filter.v_model or None,
                model=self.model_filter.v_model or None,
                task=self.task_filter.v_model or None,
                state=self.state_filter.v_model or None,
                created_after=self.after_filter.v_model or None,
                created_before=self.before_filter.v_model or None,
                owner=self.owner_filter.v_model or None,
                page=1,
            )
        )

    def _options(self, page: int, sort: str | None, descending: bool) -> None:
        if sort not in SORTABLE:
            sort, descending = self.query.sort, self.query.descending
        self.load(replace(self.query, sort=sort, descending=descending, page=page))

    # ---- acting on the selection -----------------------------------------------------

    def selected(self) -> list[dict[str, Any]]:
        chosen = list(self.table.selected)
        by_id = {r["id"]: r for r in self.runs}
        return [by_id[i] for i in chosen if i in by_id]

    def _refresh_actions(self) -> None:
        n = len(self.selected())
        self.open_button.disabled = self.rerun_button.disabled = self.clone_button.disabled = n != 1
        self.compare_button.disabled = n != 2

    def open_selected(self) -> None:
        from mlrun_kernel.widgets.monitor import RunMonitor
        from mlrun_kernel.widgets.results import ResultsView

        run = self.selected()[0]
        if run["state"] in ("succeeded", "failed", "cancelled", "timed_out"):
            self.detail.children = [ResultsView(run["id"], client=self.client)]
        else:
            self.detail.children = [RunMonitor(run["id"], client=self.client)]

    def rerun_selected(self) -> Run | None:
        from mlrun_kernel.widgets.monitor import RunMonitor

        run = self.selected()[0]
        started = safe_call(lambda: self.client.rerun(run["id"]), self.notice, "re-run it")
        if started is not None:
            self.detail.children = [RunMonitor(started["id"], client=self.client)]
            self.load()
        return started

    def clone_selected(self) -> Any:
        from mlrun_kernel.widgets.launcher import RunLauncher

        self.launcher = RunLauncher(client=self.client, **clone_arguments(self.selected()[0]))
        self.detail.children = [self.launcher]
        return self.launcher

    def compare_selected(self) -> Comparison:
        a, b = self.selected()[:2]
        self.comparison = compare_runs(a, b)
        self.detail.children = [self._comparison_view(self.comparison)]
        return self.comparison

    @staticmethod
    def _table(headers: list[str], rows: list[tuple[Any, ...]]) -> v.Table:
        def cell(value: Any) -> str:
            return value if isinstance(value, str) else json.dumps(value)

        return v.Table(
            density="compact",
            children=[
                v.Html(
                    tag="thead",
                    children=[v.Html(tag="tr", children=[v.Html(tag="th", children=[h]) for h in headers])],
                ),
                v.Html(
                    tag="tbody",
                    children=[
                        v.Html(tag="tr", children=[v.Html(tag="td", children=[cell(c)]) for c in row])
                        for row in rows
                    ],
                ),
            ],
        )

    def _comparison_view(self, c: Comparison) -> Any:
        params: Any = (
            self._table(["Parameter", f"run {c.left}", f"run {c.right}"], c.parameters)
            if c.parameters
            else v.Html(tag="div", children=["The two runs have the same parameters."])
        )
        metrics: Any = (
            self._table(["Metric", f"run {c.left}", f"run {c.right}"], c.metrics)
            if c.metrics
            else v.Html(tag="div", children=["Neither run reported metrics."])
        )
        parts = [section("Parameters that differ", params), section("Metrics", metrics)]
        if c.notes:
            parts.append(
                section(
                    "Also different",
                    v.Html(tag="ul", children=[v.Html(tag="li", children=[n]) for n in c.notes]),
                )
            )
        return v.Html(tag="div", class_="mlk-compare", children=parts)
