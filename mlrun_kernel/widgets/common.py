"""What every widget shares, so they look and fail like one product.

- ``THEME`` and ``STATE_COLORS``: the colours, applied once with ``apply_theme``.
- ``ErrorMessage``: the one way to show a failure, in plain words, with a
  "details" expander for what a person reporting it would need; never a traceback.
- ``Loading``: the one loading state (a thin bar that says what is happening).
- ``explain``: a ``ServiceError`` (or anything unexpected) turned into those words.
- ``safe_call``: run a step, and on failure show its ``ErrorMessage`` instead of raising.

Nothing here talks to the service; the widgets do, through ``mlrun_kernel.client``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import ipyvuetify as v
import traitlets

from mlrun_kernel.client import (
    AuthenticationFailed,
    Client,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ServiceError,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

THEME = {
    "primary": "#1565C0",
    "secondary": "#546E7A",
    "success": "#2E7D32",
    "warning": "#EF6C00",
    "error": "#C62828",
    "info": "#0277BD",
}

STATE_COLORS = {
    "queued": "secondary",
    "pulling": "info",
    "starting": "info",
    "running": "primary",
    "collecting": "primary",
    "succeeded": "success",
    "failed": "error",
    "cancelled": "warning",
    "timed_out": "error",
}

STATE_WORDS = {
    "queued": "Queued",
    "pulling": "Pulling the image",
    "starting": "Starting",
    "running": "Running",
    "collecting": "Collecting the results",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "timed_out": "Timed out",
}


def apply_theme() -> None:
    """Give the page the project's colours (one call per kernel is enough)."""
    light = v.theme.themes.light
    for name, colour in THEME.items():
        setattr(light, name, colour)


def client_or_default(client: Client | None) -> Client:
    """The widget's client: the one given, or one from the single-user server's environment."""
    return client if client is not None else Client()


# ---- errors in plain words ----------------------------------------------------------


@dataclass(frozen=True)
class Explained:
    """A failure as a person reads it: a title, what to do, and the details for a report."""

    title: str
    text: str
    details: str
    kind: str = "error"  # the alert type: error, warning, info


def _service_detail(exc: ServiceError) -> str:
    detail = exc.detail
    if isinstance(detail, str) and detail:
        return detail
    return str(exc)


def explain(exc: BaseException, doing: str = "do that") -> Explained:
    """``exc`` in plain words; ``doing`` completes "could not ..." ("start the run")."""
    if isinstance(exc, ServiceError):
        details = f"{exc}\n(HTTP {exc.status})" if exc.status else str(exc)
        said = _service_detail(exc)
        if isinstance(exc, ServiceUnavailable):
            if exc.status is None:
                return Explained(
                    f"The model service cannot be reached, so it could not {doing}",
                    "Check your network or try again in a minute; nothing you entered is lost.",
                    details,
                )
            return Explained(
                f"The model service failed to {doing}",
                "It is not your input: try again, and tell an administrator if it keeps failing.",
                details,
            )
        if isinstance(exc, AuthenticationFailed):
            return Explained(
                "Your session has expired",
                "Reload the page (log in again if asked); nothing is lost on the service.",
                details,
            )
        if isinstance(exc, PermissionDenied):
            return Explained(
                f"You are not allowed to {doing}",
                f"{said}. Ask an administrator for access if you need it.",
                details,
                "warning",
            )
        if isinstance(exc, NotFound):
            return Explained(
                f"Could not {doing}: it is not there",
                f"{said}. It may have been deleted, or it is not shared with you.",
                details,
                "warning",
            )
        if isinstance(exc, Conflict) or exc.status in (409, 429):
            return Explained(
                f"Could not {doing} now",
                f"{said}. Wait for one of your runs to end, or cancel one, and try again.",
                details,
                "warning",
            )
        if isinstance(exc, InvalidRequest):
            return Explained(f"Could not {doing}: something needs fixing", said, details, "warning")
        return Explained(f"Could not {doing}", said, details)
    # Anything else is a bug: logged with its traceback, shown without it.
    log.error("unexpected error while trying to %s", doing, exc_info=exc)
    return Explained(
        f"Something went wrong while trying to {doing}",
        "This is a bug in the widget, not something you did. Try again; if it repeats, "
        "send the details below to an administrator.",
        f"{type(exc).__name__}: {exc}",
    )


class ErrorMessage(v.Alert):
    """An ``Explained`` failure as an alert, with its details folded away."""

    def __init__(self, explained: Explained, **kwargs: Any) -> None:
        details = v.ExpansionPanels(
            variant="accordion",
            class_="mt-2 mlk-error-details",
            children=[
                v.ExpansionPanel(
                    children=[
                        v.ExpansionPanelTitle(children=["details"]),
                        v.ExpansionPanelText(
                            children=[
                                v.Html(
                                    tag="pre",
                                    class_="text-caption",
                                    style_="white-space: pre-wrap",
                                    children=[explained.details],
                                )
                            ]
                        ),
                    ]
                )
            ],
        )
        super().__init__(
            type=explained.kind,
            variant="tonal",
            title=explained.title,
            class_="mlk-error my-2",
            children=[v.Html(tag="div", children=[explained.text]), details],
            **kwargs,
        )
        self.explained = explained


class Notice(v.Html):
    """A place for at most one message (an error or a note); empty when all is well."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(tag="div", class_="mlk-notice", children=[], **kwargs)
        self.explained: Explained | None = None

    def show(self, explained: Explained) -> None:
        self.explained = explained
        self.children = [ErrorMessage(explained)]

    def note(self, text: str, kind: str = "info") -> None:
        self.explained = None
        self.children = [v.Alert(type=kind, variant="tonal", density="compact", text=text)]

    def clear(self) -> None:
        self.explained = None
        self.children = []


class Loading(v.Html):
    """The one loading state: a thin bar with a line saying what is being fetched."""

    def __init__(self, **kwargs: Any) -> None:
        self._bar = v.ProgressLinear(indeterminate=True, color="primary", active=False)
        self._text = v.Html(tag="div", class_="text-caption text-medium-emphasis", children=[])
        super().__init__(tag="div", class_="mlk-loading", children=[self._bar, self._text], **kwargs)

    @property
    def active(self) -> bool:
        return bool(self._bar.active)

    def start(self, what: str = "") -> None:
        self._bar.active = True
        self._text.children = [what] if what else []

    def stop(self) -> None:
        self._bar.active = False
        self._text.children = []


def safe_call(
    step: Callable[[], T],
    notice: Notice,
    doing: str,
    loading: Loading | None = None,
) -> T | None:
    """``step()``, or ``None`` with its failure shown in ``notice`` (never raised at the user)."""
    if loading is not None:
        loading.start(f"Trying to {doing}…")
    try:
        result = step()
    except Exception as exc:  # every failure becomes a message; bugs are logged by explain
        notice.show(explain(exc, doing))
        return None
    finally:
        if loading is not None:
            loading.stop()
    return result


def section(title: str, *children: Any) -> v.Html:
    """A titled block inside a widget (one heading style everywhere)."""
    return v.Html(
        tag="div",
        class_="mlk-section mb-4",
        children=[
            v.Html(tag="h3", class_="text-subtitle-1 font-weight-medium mb-2", children=[title]),
            *children,
        ],
    )


def state_words(state: str, queue_position: int | None = None) -> str:
    """A run state as the chip says it; a queued run says its place in line."""
    if state == "queued" and queue_position:
        return f"Queued (#{queue_position} in line)"
    return STATE_WORDS.get(state, state)


def state_chip(state: str, queue_position: int | None = None) -> v.Chip:
    """A run state as a coloured chip; a queued run says its place in the queue."""
    return v.Chip(
        children=[state_words(state, queue_position)],
        color=STATE_COLORS.get(state, "secondary"),
        variant="flat",
        size="small",
        class_="mlk-state-chip",
    )


_SERVER_TABLE = """
<template>
  <v-data-table-server
    :class="css_class" :headers="headers" :items="items" :items-length="total" :items-per-page="page_size"
    :items-per-page-options="[page_size]" :loading="loading" density="compact"
    :show-select="selectable" :item-value="item_key" v-model="selected" :sort-by="sort_by"
    :no-data-text="no_data_text" @update:options="options" />
</template>
"""


class ServerTable(v.VuetifyTemplate):
    """A table whose rows come a page at a time from the service: the one paged table.

    The page, page size and sort the user picks arrive at ``on_options(page, sort,
    descending)``, which fetches that page and sets ``items`` and ``total``.
    """

    template = traitlets.Unicode(_SERVER_TABLE).tag(sync=True)
    headers: traitlets.List[Any] = traitlets.List([]).tag(sync=True)
    items: traitlets.List[Any] = traitlets.List([]).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(20).tag(sync=True)
    loading = traitlets.Bool(False).tag(sync=True)
    selectable = traitlets.Bool(False).tag(sync=True)
    item_key = traitlets.Unicode("id").tag(sync=True)
    selected: traitlets.List[Any] = traitlets.List([]).tag(sync=True)
    sort_by: traitlets.List[Any] = traitlets.List([]).tag(sync=True)
    css_class = traitlets.Unicode("mlk-server-table").tag(sync=True)
    no_data_text = traitlets.Unicode("Nothing here yet").tag(sync=True)  # what an empty page says

    def __init__(
        self, on_options: Callable[[int, str | None, bool], None] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.on_options = on_options
        self.page = 1

    def vue_options(self, options: dict[str, Any]) -> None:
        """What the page's table asks for: ``{"page", "itemsPerPage", "sortBy": [{"key", "order"}]}``."""
        sort_by = options.get("sortBy") or []
        sort = sort_by[0].get("key") if sort_by else None
        descending = bool(sort_by and sort_by[0].get("order") == "desc")
        self.page = int(options.get("page") or 1)
        if self.on_options is not None:
            self.on_options(self.page, sort, descending)
