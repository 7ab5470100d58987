"""The model gallery: one ipyvuetify card per model image in the registry.

``ModelGallery`` asks the model service (``Client().list_models()``) and lays
the answers out as cards: title, version, description, task chips, keywords,
and the image reference. Images whose labels are broken still get a card that
says what is wrong, so experts see it too. ``model_card`` builds one card from
one entry of the service's answer and knows nothing of HTTP, so tests can feed
it plain dicts.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipyvuetify as v
import traitlets

from mlrun_kernel.client import Client, ServiceError

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


class ModelGallery(v.Container):
    """Every model in the registry as a grid of cards, with a refresh button.

    ``client_factory`` makes the service client (default ``Client``, which finds
    the service URL and the hub token in the single-user server's environment).
    """

    def __init__(self, client_factory: Callable[[], Client] = Client, **kwargs: Any) -> None:
        kwargs.setdefault("fluid", True)
        kwargs.setdefault("class_", "mlk-gallery pa-4")
        super().__init__(**kwargs)
        self._client_factory = client_factory
        self.models: list[Model] = []  # grouped by image, as shown
        self._count = v.Html(tag="span", class_="text-body-2 text-medium-emphasis", children=[""])
        self._refresh = v.Btn(
            children=["Refresh"], variant="tonal", color="primary", prepend_icon="mdi-refresh"
        )
        self._refresh.on_event("click", lambda *_: self.refresh())
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
        self.children = [header, self._progress, self._grid]
        self.refresh()

    def refresh(self) -> None:
        """Ask the service again and redraw the cards."""
        self._progress.active = True
        try:
            with self._client_factory() as client:
                self.models = group_by_image(client.list_models())
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
        n = len(self.models)
        self._count.children = [f"{n} model{'s' if n != 1 else ''} in the registry"]
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
        self._grid.children = [
            v.Col(cols=12, md=6, lg=4, children=[model_card(model)]) for model in self.models
        ]
