"""The experts' open fine-tune requests, in JupyterLab: ``OpenRequests()`` in a cell.

Each request shows its model and version, the reason, the evidence (the flag and the
evaluations' metrics), the new data attached (shared with the experts' group), and
buttons to acknowledge it or close it with a reason. A request is resolved by publishing a
new version whose manifest says ``resolves: <id>``; the card says so. The same calls as
``mlk requests``, through :class:`mlrun_kernel.client.Client`.
"""

from __future__ import annotations

from typing import Any

import ipyvuetify as v

from mlrun_kernel.client import Client, ServiceError


def evidence_lines(request: dict[str, Any]) -> list[str]:
    """What the evidence says, one line per flag and evaluation (plain data in, text out)."""
    evidence = request.get("evidence") or {}
    lines = []
    if evidence.get("flag"):
        lines.append(f"flag: {evidence['flag']['message']}")
    for e in evidence.get("evaluations") or []:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted((e.get("metrics") or {}).items()))
        lines.append(
            f"evaluation {e['id']} ({e.get('version') or ''}, {str(e.get('finished_at'))[:16]}): {metrics}"
        )
    return lines


class OpenRequests(v.Container):
    """The open and acknowledged requests for the caller's groups; see the module docstring."""

    def __init__(self, client: Client | None = None, **kwargs: Any) -> None:
        self.client = client or Client()
        self.status = v.Alert(type="info", variant="tonal", class_="mlk-requests-status mb-2", children=[""])
        self.box = v.Html(tag="div", class_="mlk-requests")
        super().__init__(fluid=True, children=[self.status, self.box], **kwargs)
        self.refresh()

    def refresh(self) -> None:
        try:
            found = self.client.list_requests(state="active")
        except ServiceError as exc:
            self.status.type, self.status.children = "error", [str(exc.detail or exc)]
            return
        self.status.type = "info"
        self.status.children = [
            f"{len(found)} open fine-tune requests" if found else "No open fine-tune requests."
        ]
        self.box.children = [self._card(r) for r in found]

    def _act(self, fn: Any, done: str) -> None:
        try:
            fn()
        except ServiceError as exc:
            self.status.type, self.status.children = "error", [str(exc.detail or exc)]
            return
        self.refresh()
        self.status.type, self.status.children = "success", [done]

    def _card(self, r: dict[str, Any]) -> v.Card:
        ack = v.Btn(children=["Acknowledge"], size="small", color="primary", disabled=r["state"] != "open")
        ack.on_event(
            "click", lambda *_: self._act(lambda: self.client.ack_request(r["id"]), f"{r['id']} acknowledged")
        )
        reason = v.TextField(label="Why close it?", v_model="", density="compact")
        close = v.Btn(children=["Close"], size="small", variant="text")
        close.on_event(
            "click",
            lambda *_: self._act(
                lambda: self.client.close_request(r["id"], reason.v_model), f"{r['id']} closed"
            ),
        )
        body = [
            v.CardSubtitle(
                children=[f"{r['state']} · asked by {r['created_by']} · {str(r['created_at'])[:16]}"]
            ),
            v.CardText(
                children=[
                    v.Html(tag="p", children=[r["reason"]]),
                    *[
                        v.Html(tag="div", class_="text-caption", children=[line])
                        for line in evidence_lines(r)
                    ],
                    v.Html(
                        tag="p", class_="mt-2", children=["New data: " + (", ".join(r["datasets"]) or "none")]
                    ),
                    v.Html(
                        tag="p",
                        class_="text-caption",
                        children=[
                            "Resolve it by publishing a version whose mlk.yaml manifest says "
                            f"resolves: {r['id']}"
                        ],
                    ),
                ]
            ),
            v.CardActions(children=[ack, reason, close]),
        ]
        title = f"{r['model']} {r['version'] or ''} — {r['id']}"
        return v.Card(class_="mlk-request mb-3", children=[v.CardTitle(children=[title]), *body])
