"""A small self-contained HTML evaluation report (inline CSS, no scripts)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np


@dataclass
class Evaluation:
    source_name: str
    model_type: str
    model_source: str
    rows: int
    labels: list[str]
    confusion: np.ndarray  # rows: true label, columns: predicted label
    accuracy: float
    macro_f1: float
    per_class: list[dict[str, float | int | str]]  # label, precision, recall, f1, support
    mistakes: list[dict[str, str]]  # row, true, predicted, confidence


_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933;
       max-width: 58rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.sub { color: #52606d; margin-top: 0; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #d9e2ec; border-radius: 8px; padding: .8rem 1.2rem; min-width: 9rem; }
.card .v { font-size: 1.8rem; font-weight: 600; } .card .k { color: #52606d; font-size: .85rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #d9e2ec; padding: .35rem .7rem; text-align: right; }
th { background: #f0f4f8; } td.l, th.l { text-align: left; }
.cm td { min-width: 4.5rem; text-align: center; font-variant-numeric: tabular-nums; }
.note { color: #52606d; font-size: .85rem; }
"""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _card(value: str, label: str) -> str:
    return f'<div class="card"><div class="v">{value}</div><div class="k">{label}</div></div>'


def render(ev: Evaluation) -> str:
    e = escape
    out: list[str] = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Iris classifier evaluation: {e(ev.source_name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Iris classifier: evaluation report</h1>",
        f'<p class="sub">{ev.rows} labelled rows from <code>{e(ev.source_name)}</code>; '
        f"model: {e(ev.model_type)} ({e(ev.model_source)})</p>",
        '<div class="cards">',
        _card(_pct(ev.accuracy), "accuracy"),
        _card(f"{ev.macro_f1:.3f}", "macro F1"),
        _card(str(len(ev.mistakes)), "misclassified rows"),
        "</div>",
        "<h2>Confusion matrix</h2>",
        '<p class="note">Rows are the true species, columns the predicted one; '
        "the diagonal counts correct answers.</p>",
        '<table class="cm"><tr><th class="l">true \\ predicted</th>',
    ]
    out += [f"<th>{e(label)}</th>" for label in ev.labels]
    out.append("</tr>")
    for i, label in enumerate(ev.labels):
        total = max(int(ev.confusion[i].sum()), 1)
        out.append(f'<tr><th class="l">{e(label)}</th>')
        for j in range(len(ev.labels)):
            count = int(ev.confusion[i, j])
            share = count / total
            colour = "46,125,50" if i == j else "198,40,40"
            style = f"background: rgba({colour},{0.08 + 0.5 * share:.2f})" if count else ""
            out.append(f'<td style="{style}">{count}</td>')
        out.append("</tr>")
    out.append("</table>")

    out += [
        "<h2>Per class</h2>",
        '<table><tr><th class="l">species</th><th>precision</th><th>recall</th><th>F1</th><th>rows</th></tr>',
    ]
    for row in ev.per_class:
        out.append(
            f'<tr><td class="l">{e(str(row["label"]))}</td><td>{float(row["precision"]):.3f}</td>'
            f"<td>{float(row['recall']):.3f}</td><td>{float(row['f1']):.3f}</td><td>{row['support']}</td></tr>"
        )
    out.append("</table>")

    if ev.mistakes:
        shown = ev.mistakes[:50]
        out += [
            "<h2>Misclassified rows</h2>",
            '<table><tr><th>data row</th><th class="l">true</th>'
            '<th class="l">predicted</th><th>confidence</th></tr>',
        ]
        out += [
            f'<tr><td>{m["row"]}</td><td class="l">{e(m["true"])}</td>'
            f'<td class="l">{e(m["predicted"])}</td><td>{e(m["confidence"])}</td></tr>'
            for m in shown
        ]
        out.append("</table>")
        if len(ev.mistakes) > len(shown):
            out.append(f'<p class="note">and {len(ev.mistakes) - len(shown)} more.</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"
