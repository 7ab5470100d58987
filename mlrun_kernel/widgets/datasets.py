"""``DatasetPicker``: choose one of your or shared datasets, see its preview, or upload a new one.

Layers, bottom up:

- ``dataset_rows`` (plain data): what the list shows for each dataset the
  service lists (name, version, size, media type, owner, sharing), and whether
  this input accepts it, with the reason when not (``accepts``: the same rule
  the runner applies when a run starts, so the picker never offers what the
  service would refuse).
- ``preview_view``: the service's preview as widgets (a table with column
  types, an image thumbnail, the head of a text, a file list).
- ``DatasetPicker``: the list, a version select, the preview, and
  ``upload.DatasetUpload`` (the browser sends the file to the service; the
  kernel never holds it). ``.value`` is ``{"dataset": ref, "version": n}`` or
  None; ``observe(handler, "value")`` as for any widget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipyvuetify as v
import traitlets

from mlrun_kernel.client import Client, Dataset, DatasetVersion
from mlrun_kernel.spec.media import media_type_accepted
from mlrun_kernel.widgets.common import Loading, Notice, apply_theme, client_or_default, safe_call
from mlrun_kernel.widgets.upload import DatasetUpload


def human_bytes(n: int) -> str:
    """1536 -> ``1.5 KiB``: sizes as people read them."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def accepts(media_type: str, media_types: Sequence[str] | None) -> bool:
    """Whether an input declaring ``media_types`` (``text/csv``, ``image/*``) takes ``media_type``."""
    return media_type_accepted(media_type, tuple(media_types or ()))


@dataclass(frozen=True)
class DatasetRow:
    """One dataset as the picker lists it."""

    ref: str
    name: str
    owner: str
    version: int  # the newest
    size: int
    media_type: str
    visibility: str
    mine: bool
    accepted: bool
    reason: str | None  # why it is greyed out

    @property
    def summary(self) -> str:
        whose = "yours" if self.mine else f"shared by {self.owner}"
        return f"v{self.version} · {human_bytes(self.size)} · {self.media_type} · {whose}"


def dataset_rows(datasets: Sequence[Dataset], media_types: Sequence[str] | None, me: str) -> list[DatasetRow]:
    """The rows of the list: yours first, then shared ones, each by name; accepted or greyed with why."""
    rows = []
    for d in datasets:
        ok = accepts(d["media_type"], media_types)
        reason = None
        if not ok:
            reason = f"This input takes {', '.join(media_types or ())}; this dataset is {d['media_type']}."
        rows.append(
            DatasetRow(
                ref=d["ref"],
                name=d["name"],
                owner=d["owner"],
                version=d["latest_version"],
                size=d["size"],
                media_type=d["media_type"],
                visibility=d["visibility"],
                mine=d["owner"] == me,
                accepted=ok,
                reason=reason,
            )
        )
    return sorted(rows, key=lambda r: (not r.mine, r.name.lower(), r.owner))


# ---- previews ------------------------------------------------------------------------


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _table(preview: dict[str, Any]) -> v.Html:
    columns = preview.get("columns") or []
    head = v.Html(
        tag="thead",
        children=[
            v.Html(
                tag="tr",
                children=[
                    v.Html(
                        tag="th",
                        children=[
                            str(c.get("name")),
                            v.Html(
                                tag="div",
                                class_="text-caption text-medium-emphasis mlk-column-type",
                                children=[str(c.get("type")) + (" or empty" if c.get("nullable") else "")],
                            ),
                        ],
                    )
                    for c in columns
                ],
            )
        ],
    )
    body = v.Html(
        tag="tbody",
        children=[
            v.Html(tag="tr", children=[v.Html(tag="td", children=[_cell(x)]) for x in row])
            for row in preview.get("rows") or []
        ],
    )
    count = preview.get("row_count")
    caption = f"first {len(preview.get('rows') or [])} rows" + (f" of {count}" if count else "")
    return v.Html(
        tag="div",
        class_="mlk-preview-table",
        children=[
            v.Table(density="compact", children=[head, body]),
            v.Html(tag="div", class_="text-caption text-medium-emphasis", children=[caption]),
        ],
    )


def preview_view(preview: dict[str, Any]) -> v.Html:
    """The service's preview of a dataset version, by its ``kind``."""
    kind = preview.get("kind")
    if kind == "table":
        return _table(preview)
    if kind == "image":
        size = f"{preview.get('format', 'image')} · {preview.get('width')} x {preview.get('height')} px"
        children: list[Any] = [v.Html(tag="div", class_="text-caption", children=[size])]
        if preview.get("thumbnail"):
            children.insert(
                0,
                v.Html(
                    tag="img",
                    class_="mlk-preview-thumbnail",
                    attributes={"src": str(preview["thumbnail"]), "alt": "thumbnail"},
                    style_="max-width: 240px; max-height: 240px",
                ),
            )
        elif preview.get("reason"):
            children.append(v.Html(tag="div", class_="text-caption", children=[str(preview["reason"])]))
        return v.Html(tag="div", class_="mlk-preview-image", children=children)
    if kind == "text":
        head = str(preview.get("head") or "")
        more = " (first lines)" if preview.get("truncated") else ""
        return v.Html(
            tag="div",
            class_="mlk-preview-text",
            children=[
                v.Html(tag="pre", class_="text-caption", style_="white-space: pre-wrap", children=[head]),
                v.Html(tag="div", class_="text-caption text-medium-emphasis", children=[f"text{more}"]),
            ],
        )
    if kind == "files":
        files = preview.get("files") or []
        lines = [
            f"{f.get('path')}  ({human_bytes(int(f.get('size') or 0))}, {f.get('media_type')})" for f in files
        ]
        total = f"{preview.get('count')} files, {human_bytes(int(preview.get('total_bytes') or 0))}"
        return v.Html(
            tag="div",
            class_="mlk-preview-files",
            children=[
                v.Html(tag="div", class_="text-caption", children=[total]),
                v.Html(tag="pre", class_="text-caption", children=["\n".join(lines)]),
            ],
        )
    return v.Html(
        tag="div",
        class_="mlk-preview-none text-caption text-medium-emphasis",
        children=[str(preview.get("reason") or "No preview for this dataset.")],
    )


# ---- the widget ------------------------------------------------------------------------


class DatasetPicker(v.Html):
    """Pick a dataset version for one input, or upload a new one from the browser.

    ``media_types`` (the input's, from the manifest) greys out datasets it does
    not accept, saying why. ``value``: ``{"dataset": "owner/name", "version": n}``
    or None.
    """

    value: Any = traitlets.Dict(allow_none=True, default_value=None)

    def __init__(
        self, client: Client | None = None, *, media_types: list[str] | None = None, label: str = "Dataset"
    ) -> None:
        apply_theme()
        super().__init__(tag="div", class_="mlk-dataset-picker")
        self.client = client_or_default(client)
        self.media_types = list(media_types or [])
        self.label = label
        self.rows: list[DatasetRow] = []
        self.versions: list[dict[str, Any]] = []
        self.preview: dict[str, Any] | None = None
        self._me: str | None = None
        self._shown: dict[str, Any] | None = None  # the value the widgets show
        self.notice = Notice()
        self.loading = Loading()
        accepted = f" (accepts {', '.join(self.media_types)})" if self.media_types else ""
        self._title = v.Html(
            tag="div", class_="text-subtitle-1 font-weight-medium", children=[f"{label}{accepted}"]
        )
        self._chosen = v.Html(
            tag="div", class_="text-body-2 mlk-dataset-chosen", children=["Nothing chosen yet."]
        )
        self._list = v.List(
            density="compact", class_="mlk-dataset-list", style_="max-height: 320px; overflow-y: auto"
        )
        self._version = v.Select(
            label="Version",
            items=[],
            v_model=None,
            density="compact",
            variant="outlined",
            hide_details=True,
            class_="mlk-dataset-version",
            style_="max-width: 200px",
            disabled=True,
        )
        self._version.observe(self._version_chosen, "v_model")
        self._preview = v.Html(tag="div", class_="mlk-dataset-preview mt-2", children=[])
        self.upload = DatasetUpload(self.client)
        self.upload.on_uploaded(self._uploaded)
        refresh = v.Btn(
            children=["Refresh"],
            variant="text",
            size="small",
            prepend_icon="mdi-refresh",
            class_="mlk-dataset-refresh",
        )
        refresh.on_event("click", lambda *_: self.refresh())
        upload_panel = v.ExpansionPanels(
            class_="mt-2",
            children=[
                v.ExpansionPanel(
                    children=[
                        v.ExpansionPanelTitle(
                            children=["Upload a new dataset"], class_="mlk-dataset-upload-open"
                        ),
                        v.ExpansionPanelText(children=[self.upload]),
                    ]
                )
            ],
        )
        self.children = [
            v.Html(tag="div", class_="d-flex align-center", children=[self._title, v.Spacer(), refresh]),
            self.loading,
            self.notice,
            self._list,
            v.Html(tag="div", class_="d-flex align-center ga-3 mt-2", children=[self._chosen, self._version]),
            self._preview,
            upload_panel,
        ]
        self.refresh()

    # ---- what the service has ---------------------------------------------------

    def _whoami(self) -> str:
        if self._me is None:
            self._me = str(self.client.me().get("name") or "")
        return self._me

    def refresh(self) -> None:
        """Ask the service for the datasets again and redraw the list (the choice is kept)."""
        self.notice.clear()

        def load() -> list[DatasetRow]:
            return dataset_rows(self.client.list_datasets(), self.media_types, self._whoami())

        rows = safe_call(load, self.notice, "list the datasets", self.loading)
        if rows is None:
            return
        self.rows = rows
        self._draw_list()

    def _draw_list(self) -> None:
        chosen = self.value["dataset"] if self.value else None
        if not self.rows:
            self._list.children = [
                v.ListItem(
                    title="No datasets yet",
                    subtitle="Upload one below.",
                    disabled=True,
                    class_="mlk-dataset-empty",
                )
            ]
            return
        items = []
        for row in self.rows:
            subtitle = row.summary if row.accepted else f"{row.summary} — {row.reason}"
            item = v.ListItem(
                title=row.ref,
                subtitle=subtitle,
                active=row.ref == chosen,
                color="primary",
                disabled=not row.accepted,
                lines="two",
                class_="mlk-dataset-item" + ("" if row.accepted else " mlk-dataset-refused"),
                attributes={"data-ref": row.ref},
                prepend_icon="mdi-table" if "csv" in row.media_type else "mdi-file-outline",
            )
            if row.accepted:
                item.on_event("click", lambda *_, ref=row.ref: self.select(ref))
            items.append(item)
        self._list.children = items

    # ---- choosing -----------------------------------------------------------------

    def row(self, ref: str) -> DatasetRow | None:
        return next((r for r in self.rows if r.ref == ref), None)

    def select(self, ref: str, version: int | None = None) -> None:
        """Choose dataset ``ref`` (``owner/name``) at ``version`` (default: the newest)."""
        self.notice.clear()
        row = self.row(ref)
        if row is None:
            self.refresh()
            row = self.row(ref)
        if row is None:
            self.notice.note(
                f"There is no dataset {ref} you can see; it may have been deleted or unshared.", "warning"
            )
            return
        if not row.accepted:
            self.notice.note(f"{ref} cannot be used here: {row.reason}", "warning")
            return
        detail = safe_call(lambda: self.client.get_dataset(ref), self.notice, f"open {ref}", self.loading)
        if detail is None:
            return
        self.versions = sorted(detail.get("versions") or [], key=lambda x: -int(x["version"]))
        wanted = version or (self.versions[0]["version"] if self.versions else row.version)
        self._version.items = [
            {
                "title": f"v{x['version']} · {human_bytes(int(x['size']))} · {str(x['created_at'])[:10]}",
                "value": x["version"],
            }
            for x in self.versions
        ]
        self._version.disabled = len(self.versions) < 2
        self._set(ref, int(wanted))

    def _version_chosen(self, change: dict[str, Any]) -> None:
        if self.value and change["new"] and change["new"] != self.value["version"]:
            self._set(self.value["dataset"], int(change["new"]))

    def _set(self, ref: str, version: int) -> None:
        known = next((x for x in self.versions if int(x["version"]) == version), None)
        if self.versions and known is None:
            self.notice.note(f"{ref} has no version {version}; choose one of the list.", "warning")
            return
        self._version.v_model = version
        if known is not None and not accepts(known["media_type"], self.media_types):
            self.notice.note(
                f"{ref} version {version} is {known['media_type']}; this input takes "
                f"{', '.join(self.media_types)}.",
                "warning",
            )
            return
        details = f" ({human_bytes(int(known['size']))}, {known['media_type']})" if known else ""
        self._chosen.children = [f"Chosen: {ref} version {version}{details}"]
        self._shown = {"dataset": ref, "version": version}
        self.value = dict(self._shown)
        self._draw_list()
        self._show_preview(ref, version)

    @traitlets.observe("value")
    def _value_set(self, change: dict[str, Any]) -> None:
        """A value set from outside (a launcher prefilled from a past run) is shown like a pick."""
        new = change["new"]
        if new == self._shown:
            return
        if new is None:
            self.clear()
            return
        self.select(str(new.get("dataset")), new.get("version"))
        if self.value != self._shown:  # refused (gone, unshared, not accepted): show what is chosen
            self.value = self._shown

    def _show_preview(self, ref: str, version: int) -> None:
        preview = safe_call(
            lambda: self.client.preview_dataset(ref, version), self.notice, f"preview {ref}", self.loading
        )
        self.preview = preview
        self._preview.children = [preview_view(preview)] if preview is not None else []

    def clear(self) -> None:
        """Choose nothing."""
        self._shown = None
        self.value = None
        self.preview = None
        self._chosen.children = ["Nothing chosen yet."]
        self._preview.children = []
        self._draw_list()

    def _uploaded(self, version: DatasetVersion) -> None:
        """A new upload is stored: list it and choose it (if this input accepts it)."""
        self.refresh()
        if accepts(version["media_type"], self.media_types):
            self.select(version["ref"], version["version"])
        else:
            self.notice.note(
                f"Stored {version['ref']} version {version['version']}, but it is {version['media_type']} "
                f"and this input takes {', '.join(self.media_types)}.",
                "warning",
            )
