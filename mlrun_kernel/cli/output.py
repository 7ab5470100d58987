"""How the CLI prints: readable tables for people, ``--json`` for programs."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain aligned text table; long cells are cut with an ellipsis."""

    def cell(value: Any) -> str:
        text = "" if value is None else str(value).replace("\n", " ")
        return text if len(text) <= 60 else text[:59] + "…"

    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def emit(data: Any, *, as_json: bool, columns: Sequence[str] | None = None) -> None:
    if as_json:
        print(json.dumps(data, indent=2, default=str))
    elif columns is not None:
        print(table(data, columns))
    else:
        print(data)


def fail(exc: BaseException) -> int:
    """The one line a failed command prints. The service's refusals (4xx) say what the
    library would have said embedded, without the HTTP wrapping around it."""
    from mlrun_kernel.client import ServiceError

    message = str(exc)
    refused = isinstance(exc, ServiceError) and exc.status is not None and exc.status < 500
    if refused and isinstance(exc, ServiceError) and isinstance(exc.detail, str) and exc.detail:
        said = exc.detail  # what the detail already says is not said twice (as embedded)
        lines = [
            f"\n  {e.get('path') or '/'}: {e.get('message')}"
            for e in exc.errors
            if str(e.get("message")) not in said
        ]
        message = exc.detail + "".join(lines)
    print(f"mlk: error: {message}", file=sys.stderr)
    return 1
