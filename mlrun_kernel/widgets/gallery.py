"""The model gallery: one ipyvuetify card per model image in the registry.

``ModelGallery`` asks the model service (``Client().list_models()``) and lays
the answers out as cards: title, version, description, task chips, keywords,
and the image reference. Images whose labels are broken still get a card that
says what is wrong, so experts see it too. ``model_card`` builds one card from
one entry of the service's answer and knows nothing of HTTP, so tests can feed
it plain dicts. ``filter_models`` is the search (text, task kind, keyword) the
gallery's bar applies; a click on a card opens its ``ModelCard`` (manifest in full,
a Run button per task).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipyvuetify as v
import traitlets

from mlrun_kernel.client import Client, ServiceError
from mlrun_kernel.widgets.common import apply_theme

Model = dict[str, Any]


def markdown_to_html(text: str) -> str:
    """Model descriptions are Markdown: render them with raw HTML escaped, unsafe links dropped.

    Uses mistune (it comes with nbconvert, which Voila needs); without it the
    text is shown as it is.
    """
    try:
        import mistune
    except ImportError:
        return f"<p>{html.escape(text)}</p>"
    return str(mistune.create_markdown(escape=True)(text))


class Markdown(v.VuetifyTemplate):
    """A block of Markdown, styled by Vuetify's typography."""

    rendered = traitlets.Unicode("").tag(sync=True)
    template = traitlets.Unicode(
        '<template><div class="mlk-markdown text-body-2 mb-3" v-html="rendered"></div></template>'
    ).tag(sync=True)

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(rendered=markdown_to_html(text), **kwargs)


def _chip(text: str, **props: Any) -> v.Chip:
    return v.Chip(children=[text], size="small", class_="mr-1 mb-1", **props)


def _tag_order(tag: str) -> tuple[bool, str]:
    return (tag == "latest", tag)


def group_by_image(models: list[Model]) -> list[Model]:
    """One entry per image (repository + digest), with every tag that points at it in ``tags``.

    The service lists tags; ``1.0.0`` and ``latest`` of the same digest are one
    model version to a user. Working models come first, by title.
    """
    images: dict[tuple[str, str], Model] = {}
    for model in models:
        key = (str(model.get("repository")), str(model.get("digest")))
        if key in images:
            images[key]["tags"].append(str(model.get("tag")))
        else:
            images[key] = {**model, "tags": [str(model.get("tag"))]}
    for image in images.values():
        image["tags"].sort(key=_tag_order)
    return sorted(
        images.values(),
        key=lambda m: (
            m.get("problem") is not None,
            str(m.get("title") or m.get("repository")).lower(),
        ),
    )


def _words(model: Model) -> str:
    parts = [model.get("name"), model.get("repository"), model.get("title"), model.get("description")]
    parts += [str(t.get("name")) for t in model.get("tasks") or []]
    parts += [str(k) for k in model.get("keywords") or []]
    return " ".join(str(p) for p in parts if p).lower()


def filter_models(
    models: list[Model], text: str = "", *, task: str | None = None, keyword: str | None = None
) -> list[Model]:
    """The models matching every word of ``text`` (name, title, description, tasks, keywords),
    having a task named ``task`` and the keyword ``keyword``."""
    words = text.lower().split()
    found = []
    for model in models:
        if task and task not in {str(t.get("name")) for t in model.get("tasks") or []}:
            continue
        if keyword and keyword not in {str(k) for k in model.get("keywords") or []}:
            continue
        haystack = _words(model)
        if all(word in haystack for word in words):
            found.append(model)
    return found


def facets(models: list[Model]) -> tuple[list[str], list[str]]:
    """The task kinds and keywords the models have, sorted: the filter choices."""
    tasks = sorted({str(t.get("name")) for m in models for t in m.get("tasks") or []})
    keywords = sorted({str(k) for m in models for k in m.get("keywords") or []})
    return tasks, keywords


def attach_flags(models: list[Model], flags: list[dict[str, Any]]) -> list[Model]:
    """Each model entry with the open deterioration flags of its image (``flags``), for the badge."""
    by_image: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for flag in flags:
        by_image.setdefault((str(flag.get("model")), str(flag.get("digest"))), []).append(flag)
    return [
        {**model, "flags": by_image.get((str(model.get("repository")), str(model.get("digest"))), [])}
        for model in models
    ]


def flag_badge(flags: list[dict[str, Any]]) -> v.Alert:
    """The gallery's deterioration badge: which metric broke which rule, in numbers."""
    lines = [str(flag.get("message") or f"{flag.get('metric')}: {flag.get('value')}") for flag in flags]
    return v.Alert(
        type="error",
        variant="tonal",
        density="compact",
        class_="mlk-flag-badge mb-2",
        icon="mdi-trending-down",
        title="Deteriorating" if len(flags) == 1 else f"Deteriorating ({len(flags)} rules)",
        text="; ".join(lines),
    )


def model_card(model: Model) -> v.Card:
    """A card for one model image (an entry of ``GET /api/models``, maybe grouped by image)."""
    repository = str(model.get("repository"))
    tags = model.get("tags") or [model.get("tag")]
    named = f"{repository}:{', '.join(str(t) for t in tags)}"
    digest = str(model.get("digest") or "")
    reference = str(model.get("reference") or repository).rsplit(":", 1)[0]
    algorithm, _, hex_digest = digest.partition(":")
    pinned = f"{reference}@{algorithm}:{hex_digest[:12]}" if digest else reference
    footer = v.CardText(class_="pt-0 pb-3 text-caption text-medium-emphasis", children=[pinned])
    if model.get("problem"):
        return v.Card(
            class_="mlk-model-card fill-height d-flex flex-column",
            variant="outlined",
            children=[
                v.CardTitle(children=[repository], class_="text-wrap"),
                v.CardSubtitle(children=[named]),
                v.CardText(
                    class_="flex-grow-1",
                    children=[
                        v.Alert(
                            type="warning",
                            variant="tonal",
                            density="compact",
                            title="This image's model labels are broken",
                            text=str(model["problem"]),
                        )
                    ],
                ),
                footer,
            ],
        )

    version = f"v{model['version']}" if model.get("version") else ""
    body: list[Any] = [Markdown(str(model.get("description") or ""))]
    if model.get("flags"):
        body.insert(0, flag_badge(list(model["flags"])))
    tasks = model.get("tasks") or []
    if tasks:
        body.append(
            v.Html(
                tag="div",
                class_="mb-1",
                children=[
                    _chip(
                        str(task.get("name")),
                        color="primary",
                        variant="tonal",
                        prepend_icon="mdi-play-circle-outline",
                    )
                    for task in tasks
                ],
            )
        )
    keywords = model.get("keywords") or []
    if keywords:
        body.append(
            v.Html(
                tag="div",
                children=[_chip(str(word), variant="outlined", color="secondary") for word in keywords],
            )
        )
    return v.Card(
        class_="mlk-model-card fill-height d-flex flex-column",
        elevation=2,
        children=[
            v.CardTitle(children=[str(model.get("title") or repository)], class_="text-wrap"),
            v.CardSubtitle(children=[" · ".join(p for p in (version, named) if p)]),
            v.CardText(children=body, class_="flex-grow-1 pt-3"),
            footer,
        ],
    )


def open_flags(client: Client, model: str | None = None) -> list[dict[str, Any]]:
    """Open flags for the badges (of one ``model``, or all); a service without evaluations (or
    refusing to show them to this user) just shows none."""
    try:
        return client.list_flags(model)
    except ServiceError:
        return []


class ModelGallery(v.Container):
    """Every model in the registry as a grid of cards, with search, filters and a refresh button;
    a click on a card opens its ``ModelCard``.

    ``client`` is the service client to use; without it ``client_factory`` makes
    one per refresh (default ``Client``, which finds the service URL and the hub
    token in the single-user server's environment).
    """

    def __init__(
        self,
        client_factory: Callable[[], Client] = Client,
        *,
        client: Client | None = None,
        **kwargs: Any,
    ) -> None:
        apply_theme()
        kwargs.setdefault("fluid", True)
        kwargs.setdefault("class_", "mlk-gallery pa-4")
        super().__init__(**kwargs)
        self._client_factory = client_factory
        self.client = client
        self.models: list[Model] = []  # grouped by image, as known
        self.shown: list[Model] = []  # after the search and filters
        self.detail: Any = None  # the open ModelCard
        self._count = v.Html(tag="span", class_="text-body-2 text-medium-emphasis", children=[""])
        self._refresh = v.Btn(
            children=["Refresh"], variant="tonal", color="primary", prepend_icon="mdi-refresh"
        )
        self._refresh.on_event("click", lambda *_: self.refresh())
        self.search = v.TextField(
            label="Search models",
            v_model="",
            prepend_inner_icon="mdi-magnify",
            clearable=True,
            density="compact",
            variant="outlined",
            hide_details=True,
        )
        self.task_filter = v.Select(
            label="Task",
            items=[],
            v_model=None,
            clearable=True,
            density="compact",
            variant="outlined",
            hide_details=True,
        )
        self.keyword_filter = v.Select(
            label="Keyword",
            items=[],
            v_model=None,
            clearable=True,
            density="compact",
            variant="outlined",
            hide_details=True,
        )
        for control in (self.search, self.task_filter, self.keyword_filter):
            control.observe(lambda _change: self.apply_filters(), "v_model")
        self._progress = v.ProgressLinear(indeterminate=True, color="primary", active=False)
        self._grid = v.Row(children=[])
        header = v.Row(
            align="center",
            class_="mb-2",
            children=[
                v.Col(
                    children=[
                        v.Html(tag="h1", class_="text-h4", children=["Models"]),
                        self._count,
                    ]
                ),
                v.Col(cols="auto", children=[self._refresh]),
            ],
        )
        bar = v.Row(
            class_="mb-2 mlk-gallery-filters",
            children=[
                v.Col(cols=12, md=6, children=[self.search]),
                v.Col(cols=6, md=3, children=[self.task_filter]),
                v.Col(cols=6, md=3, children=[self.keyword_filter]),
            ],
        )
        self._list = v.Html(tag="div", children=[bar, self._progress, self._grid])
        self._back = v.Btn(children=["Back to the models"], variant="text", prepend_icon="mdi-arrow-left")
        self._back.on_event("click", lambda *_: self.close_detail())
        self._detail_area = v.Html(tag="div", children=[])
        self._header = header
        self.children = [header, self._list]
        self.refresh()

    def _fetch(self) -> list[Model]:
        if self.client is not None:
            return attach_flags(self.client.list_models(), open_flags(self.client))
        with self._client_factory() as client:
            return attach_flags(client.list_models(), open_flags(client))

    def refresh(self) -> None:
        """Ask the service again and redraw the cards."""
        self._progress.active = True
        try:
            self.models = group_by_image(self._fetch())
        except ServiceError as exc:
            self.models = []
            self._count.children = [""]
            self._grid.children = [
                v.Col(
                    cols=12,
                    children=[
                        v.Alert(
                            type="error",
                            variant="tonal",
                            title="The model service could not list the models",
                            text=str(exc),
                        )
                    ],
                )
            ]
            return
        finally:
            self._progress.active = False
        tasks, keywords = facets(self.models)
        self.task_filter.items, self.keyword_filter.items = list[Any](tasks), list[Any](keywords)
        self.apply_filters()

    def apply_filters(self) -> None:
        """Show the cards matching the search text, task and keyword."""
        self.shown = filter_models(
            self.models,
            self.search.v_model or "",
            task=self.task_filter.v_model or None,
            keyword=self.keyword_filter.v_model or None,
        )
        n, total = len(self.shown), len(self.models)
        if n == total:
            self._count.children = [f"{n} model{'s' if n != 1 else ''} in the registry"]
        else:
            self._count.children = [f"{n} of {total} models match"]
        if not self.models:
            self._grid.children = [
                v.Col(
                    cols=12,
                    children=[
                        v.Alert(
                            type="info",
                            variant="tonal",
                            text="No model images in the registry yet: model experts publish them.",
                        )
                    ],
                )
            ]
            return
        if not self.shown:
            self._grid.children = [
                v.Col(
                    cols=12,
                    children=[
                        v.Alert(
                            type="info",
                            variant="tonal",
                            text="No model matches: clear the search or a filter.",
                        )
                    ],
                )
            ]
            return
        self._grid.children = [
            v.Col(cols=12, md=6, lg=4, children=[self._card(model)]) for model in self.shown
        ]

    def _card(self, model: Model) -> v.Card:
        card = model_card(model)
        card.style_ = "cursor: pointer"
        name = str(model.get("name") or model.get("repository"))
        card.on_event("click", lambda *_: self.open_model(name))
        return card

    def open_model(self, name: str) -> Any:
        """Open one model's card in full (what a click on its card does)."""
        from mlrun_kernel.widgets.model_card import ModelCard

        self.detail = ModelCard(name, client=self.client or self._client_factory())
        self._detail_area.children = [self._back, self.detail]
        self.children = [self._detail_area]
        return self.detail

    def close_detail(self) -> None:
        self.detail = None
        self._detail_area.children = []
        self.children = [self._header, self._list]
