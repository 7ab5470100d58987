"""``ResultsView``: what a run produced, each output shown the way its type reads best.

- metrics as a table, with the goal (maximize/minimize) the model's manifest declares;
- ``_result.json`` as a collapsible tree (``json_tree_items``);
- tables (CSV, TSV, Parquet) as a paged, sortable table whose pages are cut by
  the service (``TablePager`` over ``Client.output_table``): the kernel holds a page;
- images inline, HTML in an iframe with ``sandbox=""`` (no scripts, no same-origin,
  no forms: ``sandboxed_html``), JSON as a tree, text as its head;
- anything else (or anything too big to show) as a link through a signed URL;
- a run that did not succeed: its reason in plain words and its last log lines.

``classify_output`` and the other functions here decide what to show; the widget
classes only draw it.
"""

from __future__ import annotations

import base64
import json
import posixpath
from dataclasses import dataclass
from typing import Any

import ipyvuetify as v

from mlrun_kernel.client import Client, Run
from mlrun_kernel.widgets.common import (
    Loading,
    Notice,
    ServerTable,
    apply_theme,
    client_or_default,
    explain,
    safe_call,
    section,
    state_chip,
)

CONTRACT_FILES = frozenset({"_metrics.json", "_result.json", "_failure.txt"})
INLINE_MAX = 5 * 1024 * 1024
"""Images, HTML and JSON larger than this are offered as a download instead."""
PAGE_SIZE = 20
LOG_LINES_ON_FAILURE = 30

_KINDS = {
    ".csv": "table",
    ".tsv": "table",
    ".tab": "table",
    ".parquet": "table",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".gif": "image",
    ".webp": "image",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".txt": "text",
    ".log": "text",
    ".md": "text",
    ".yaml": "text",
    ".yml": "text",
}
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def classify_output(path: str, size: int) -> str:
    """``table``, ``image``, ``html``, ``json``, ``text`` or ``download`` for one output file."""
    ext = posixpath.splitext(path.lower())[1]
    kind = _KINDS.get(ext, "download")
    if kind in ("image", "html", "json") and size > INLINE_MAX:
        return "download"
    return kind


def metrics_rows(metrics: dict[str, Any] | None, declared: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per metric the run reported, with what the manifest says of it (goal, description)."""
    declared = declared or {}
    rows = []
    for name, value in (metrics or {}).items():
        spec = declared.get(name) or {}
        goal = spec.get("goal")
        rows.append(
            {
                "name": name,
                "value": value,
                "goal": {"maximize": "higher is better ↑", "minimize": "lower is better ↓"}.get(
                    str(goal), "—"
                ),
                "description": spec.get("description") or "",
            }
        )
    return rows


def json_tree_items(value: Any, name: str = "result", path: str = "") -> dict[str, Any]:
    """``value`` as Treeview items: objects and arrays open up, leaves show their value."""
    node_id = path or "/"
    if isinstance(value, dict):
        return {
            "id": node_id,
            "title": f"{name} {{{len(value)}}}",
            "children": [json_tree_items(v, str(k), f"{path}/{k}") for k, v in value.items()],
        }
    if isinstance(value, list):
        return {
            "id": node_id,
            "title": f"{name} [{len(value)}]",
            "children": [json_tree_items(v, str(i), f"{path}/{i}") for i, v in enumerate(value)],
        }
    return {"id": node_id, "title": f"{name}: {json.dumps(value)}"}


def sandboxed_html(document: str) -> dict[str, str]:
    """The attributes of an iframe that shows ``document`` and lets it do nothing.

    ``sandbox=""`` turns on every restriction: no scripts, a unique origin (so no
    reading of the page, its cookies or the hub's token), no forms, no popups,
    no top navigation. The document goes in ``srcdoc``, so nothing is fetched.
    """
    return {
        "sandbox": "",
        "srcdoc": document,
        "referrerpolicy": "no-referrer",
        "style": "width: 100%; height: 480px; border: 1px solid #ddd; border-radius: 4px;",
        "title": "model output (sandboxed)",
    }


def failure_words(run: Run | dict[str, Any]) -> str:
    """Why a run did not succeed, in plain words."""
    state = run.get("state")
    reason = run.get("reason") or ""
    if state == "timed_out":
        limit = (run.get("resources") or {}).get("timeout_seconds")
        head = f"The run took longer than its time limit{f' of {limit} s' if limit else ''} and was stopped."
    elif state == "cancelled":
        head = "The run was cancelled."
    else:
        code = run.get("exit_code")
        head = "The model stopped with an error" + (f" (exit code {code})." if code not in (None, 0) else ".")
    parts = [head]
    if reason:
        parts.append(f"Reason: {reason}")
    if run.get("failure_text"):
        parts.append(f"The model said: {run['failure_text']}")
    return "\n".join(parts)


def declared_metrics(client: Client, run: Run | dict[str, Any]) -> dict[str, Any]:
    """The metrics the run's model version declares for its task (empty if unknown)."""
    from mlrun_kernel.widgets.model_card import manifest_for, model_name

    try:
        detail = client.get_model(model_name(str(run["model"])))
    except Exception:  # the model may be gone from the catalog: the values still show
        return {}
    manifest = manifest_for(dict(detail), str(run.get("digest") or "")) or {}
    return dict(((manifest.get("tasks") or {}).get(run["task"]) or {}).get("metrics") or {})


# ---- paged tables ----------------------------------------------------------------------


@dataclass
class TablePage:
    headers: list[dict[str, Any]]
    items: list[dict[str, Any]]
    total: int


class TablePager:
    """Pages of one table output, asked of the service one at a time."""

    def __init__(self, client: Client, run_id: str, path: str, page_size: int = PAGE_SIZE) -> None:
        self.client, self.run_id, self.path, self.page_size = client, run_id, path, page_size
        self.requests = 0

    def load(self, page: int = 1, sort: str | None = None, descending: bool = False) -> TablePage:
        self.requests += 1
        answer = self.client.output_table(
            self.run_id,
            self.path,
            offset=(page - 1) * self.page_size,
            limit=self.page_size,
            sort=sort,
            descending=descending,
        )
        names = [c["name"] for c in answer["columns"]]
        headers = [
            {"title": f"{n} ({c['type']})", "key": n, "sortable": True}
            for n, c in zip(names, answer["columns"], strict=True)
        ]
        items = [dict(zip(names, row, strict=False)) for row in answer["rows"]]
        return TablePage(headers, items, int(answer["total"]))


class PagedTable(ServerTable):
    """A sortable table whose rows the service sends a page at a time."""

    def __init__(self, pager: TablePager, notice: Notice, **kwargs: Any) -> None:
        self.pager = pager
        self.notice = notice
        first = safe_call(pager.load, notice, f"read {pager.path}") or TablePage([], [], 0)
        super().__init__(
            on_options=self.show,
            headers=first.headers,
            items=first.items,
            total=first.total,
            page_size=pager.page_size,
            css_class="mlk-server-table mlk-paged-table",
            **kwargs,
        )

    def show(self, page: int = 1, sort: str | None = None, descending: bool = False) -> None:
        self.loading = True
        got = safe_call(
            lambda: self.pager.load(page, sort, descending), self.notice, f"read {self.pager.path}"
        )
        self.loading = False
        if got is not None:
            self.items, self.total = list[Any](got.items), got.total


# ---- the view ------------------------------------------------------------------------------


def has_result(value: Any) -> bool:
    """Whether ``_result.json`` holds something to show: ``{}``, ``[]`` or ``""`` is nothing,
    but a ``0`` or a ``false`` a model returned is an answer."""
    return value is not None and not (isinstance(value, (dict, list, str)) and not value)


class ResultsView(v.Card):
    """Everything a run produced, shown by type; a failed run's reason and last log lines."""

    def __init__(self, run_id: str, client: Client | None = None, **kwargs: Any) -> None:
        apply_theme()
        self.client = client_or_default(client)
        self.run_id = run_id
        self.notice = Notice()
        self.loader = Loading()
        self.body = v.CardText(children=[])
        self.outputs: dict[str, Any] = {}  # path -> the widget showing it
        self.run: dict[str, Any] | None = None
        kwargs.setdefault("class_", "mlk-results pa-4")
        super().__init__(
            children=[
                v.CardTitle(children=[f"Results of run {run_id}"]),
                self.loader,
                self.notice,
                self.body,
            ],
            **kwargs,
        )
        self.refresh()

    def refresh(self) -> None:
        run = safe_call(lambda: self.client.get_run(self.run_id), self.notice, "load the run", self.loader)
        if run is None:
            return
        self.run = dict(run)
        self.notice.clear()
        self.loader.start("Loading the results…")
        try:
            self.body.children = self._sections(run)
        except Exception as exc:  # a bug drawing one output must not hide the others' failure
            self.notice.show(explain(exc, "show the results"))
        finally:
            self.loader.stop()

    def _sections(self, run: Run) -> list[Any]:
        parts: list[Any] = [v.Html(tag="div", class_="mb-3", children=[state_chip(run["state"])])]
        if run["state"] != "succeeded":
            parts.append(self._failure(run))
        if run.get("metrics"):
            parts.append(section("Metrics", self._metrics(run)))
        if has_result(run.get("result")):
            parts.append(section("Result", self._tree(run["result"])))
        for output in run.get("outputs") or []:
            path, size = str(output["path"]), int(output["size"])
            if path in CONTRACT_FILES:
                continue
            shown = self._output(path, size)
            self.outputs[path] = shown
            parts.append(section(path, shown))
        return parts

    def _failure(self, run: Run) -> Any:
        if run["state"] not in ("failed", "timed_out", "cancelled"):
            return v.Alert(
                type="info", variant="tonal", text=f"The run is {run['state']}: results come when it ends."
            )
        lines = (
            safe_call(
                lambda: self.client.run_logs(
                    self.run_id, after=max(run["log_lines"] - LOG_LINES_ON_FAILURE, 0)
                ),
                self.notice,
                "read the run's log",
            )
            or []
        )
        log = v.Html(
            tag="pre",
            class_="mlk-failure-log text-caption mt-2",
            style_="white-space: pre-wrap; background: #f5f5f5; padding: 8px; border-radius: 4px;",
            children=["\n".join(line["text"] for line in lines) or "(the run wrote no log)"],
        )
        return v.Alert(
            type="error" if run["state"] != "cancelled" else "warning",
            variant="tonal",
            title="This run did not succeed",
            class_="mlk-failure mb-4",
            children=[
                v.Html(tag="div", style_="white-space: pre-wrap", children=[failure_words(run)]),
                v.Html(tag="div", class_="mt-2 font-weight-medium", children=["Last lines of its log:"]),
                log,
            ],
        )

    def _metrics(self, run: Run) -> Any:
        rows = metrics_rows(run.get("metrics"), declared_metrics(self.client, run))
        head = v.Html(
            tag="thead",
            children=[
                v.Html(
                    tag="tr",
                    children=[
                        v.Html(tag="th", children=[t])
                        for t in ("Metric", "Value", "Goal", "What it measures")
                    ],
                )
            ],
        )
        body = v.Html(
            tag="tbody",
            children=[
                v.Html(
                    tag="tr",
                    children=[
                        v.Html(tag="td", children=[str(r[k])])
                        for k in ("name", "value", "goal", "description")
                    ],
                )
                for r in rows
            ],
        )
        self.metric_rows = rows
        return v.Table(density="compact", class_="mlk-metrics", children=[head, body])

    @staticmethod
    def _tree(value: Any) -> Any:
        root = json_tree_items(value)
        return v.Treeview(
            items=[root],
            item_title="title",
            item_value="id",
            density="compact",
            class_="mlk-json-tree",
            opened=["/"],
        )

    def _download(self, path: str, size: int) -> Any:
        signed = safe_call(lambda: self.client.output_url(self.run_id, path), self.notice, f"link {path}")
        if signed is None:
            return v.Html(tag="div", children=[f"{path} ({size} bytes) cannot be linked right now."])
        return v.Btn(
            href=signed["url"],
            attributes={"target": "_blank", "rel": "noopener"},
            variant="tonal",
            prepend_icon="mdi-download",
            class_="mlk-download",
            children=[f"Download {posixpath.basename(path)} ({size:,} bytes)"],
        )

    def _output(self, path: str, size: int) -> Any:
        kind = classify_output(path, size)
        if kind == "table":
            return PagedTable(TablePager(self.client, self.run_id, path), self.notice)
        if kind == "download":
            return self._download(path, size)
        if kind == "text":
            preview = (
                safe_call(lambda: self.client.preview_output(self.run_id, path), self.notice, f"read {path}")
                or {}
            )
            text = str(preview.get("head") or preview.get("reason") or "")
            if preview.get("truncated"):
                text += "\n…"
            return v.Html(
                tag="pre",
                class_="mlk-text text-caption",
                style_="white-space: pre-wrap",
                children=[str(text)],
            )
        data = safe_call(lambda: self.client.read_output(self.run_id, path), self.notice, f"read {path}")
        if data is None:
            return v.Html(tag="div", children=[f"{path} could not be read."])
        if kind == "image":
            mime = _IMAGE_TYPES[posixpath.splitext(path.lower())[1]]
            src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
            return v.Html(
                tag="img", class_="mlk-image", attributes={"src": src, "alt": path}, style_="max-width: 100%"
            )
        if kind == "html":
            return v.Html(
                tag="iframe", class_="mlk-html", attributes=sandboxed_html(data.decode("utf-8", "replace"))
            )
        try:  # json
            return self._tree(json.loads(data))
        except ValueError:
            return self._download(path, size)
