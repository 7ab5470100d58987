"""One page of a table output (CSV, TSV, Parquet), sorted by any column, read in one pass.

A results view shows tables of any size page by page; the page is cut here, on
the service, so a notebook kernel only ever holds one page. Memory stays at the
page (plus, when sorting, the ``offset + limit`` best rows kept in a heap), never
the file: rows are streamed (``csv.reader`` over the file, Parquet record
batches), and the row count comes from the same pass (Parquet: its footer).

Sorting compares numbers as numbers and everything else as text; empty cells
sort last either way, so "largest first" does not start with blanks.
"""

from __future__ import annotations

import csv
import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrun_kernel.datasets.detect import CSV, PARQUET, TSV
from mlrun_kernel.datasets.preview import infer_column_types

MAX_PAGE = 500
MAX_SORTED_WINDOW = 100_000
"""``offset + limit`` at most this when sorting: the heap holds that many rows."""
TYPE_SAMPLE = 200
CELL_MAX = 500

TABLE_TYPES = frozenset({CSV, TSV, PARQUET})


class TableError(ValueError):
    """The page asked for cannot be cut (not a table, unknown column, window too deep)."""

    status = 400


@dataclass(frozen=True)
class PageRequest:
    offset: int = 0
    limit: int = 50
    sort: str | None = None
    descending: bool = False

    def check(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE:
            raise TableError(f"limit must be between 1 and {MAX_PAGE}, not {self.limit}")
        if self.offset < 0:
            raise TableError(f"offset must be 0 or more, not {self.offset}")
        if self.sort is not None and self.offset + self.limit > MAX_SORTED_WINDOW:
            raise TableError(
                f"a sorted table pages only through its first {MAX_SORTED_WINDOW} rows; "
                "sort the other way to see the end, or download the file"
            )


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > CELL_MAX:
        return value[: CELL_MAX - 1] + "…"
    return value


def _sort_key(value: Any, descending: bool) -> tuple[int, float, str]:
    """Blanks last in both directions; numbers before text; numbers compared as numbers."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return (0 if descending else 2, 0.0, "")
    if isinstance(value, bool):
        return (1, float(value), "")
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value))
        except ValueError:
            return (1, math.inf if not descending else -math.inf, str(value))
    if math.isnan(number):
        return (0 if descending else 2, 0.0, "")
    return (1, number, "")


def _window(rows: Iterator[list[Any]], column: int | None, req: PageRequest) -> tuple[list[list[Any]], int]:
    """The requested page of ``rows`` and how many rows there were, in one pass."""
    total = 0
    if column is None:
        page: list[list[Any]] = []
        for row in rows:
            if req.offset <= total < req.offset + req.limit:
                page.append(row)
            total += 1
        return page, total

    def counted() -> Iterator[tuple[tuple[int, float, str], int, list[Any]]]:
        nonlocal total
        for row in rows:
            cell = row[column] if column < len(row) else None
            yield _sort_key(cell, req.descending), total, row
            total += 1

    keep = req.offset + req.limit
    if req.descending:
        best = heapq.nlargest(keep, counted(), key=lambda t: (t[0], -t[1]))
    else:
        best = heapq.nsmallest(keep, counted(), key=lambda t: (t[0], t[1]))
    return [row for _, _, row in best[req.offset :]], total


def _column_index(names: list[str], sort: str | None) -> int | None:
    if sort is None:
        return None
    if sort not in names:
        raise TableError(f"no column {sort!r} to sort by; the columns are {', '.join(names)}")
    return names.index(sort)


def _delimited_page(path: Path, delimiter: str, req: PageRequest) -> dict[str, Any]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return {"columns": [], "rows": [], "total": 0}
        names = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
        column = _column_index(names, req.sort)
        rows = ([_clip(c) for c in row] for row in reader if row)
        page, total = _window(rows, column, req)
    width = len(names)
    types = infer_column_types(page[:TYPE_SAMPLE], width)
    return {
        "columns": [{"name": n, "type": t} for n, (t, _) in zip(names, types, strict=True)],
        "rows": [row[:width] + [""] * (width - len(row)) for row in page],
        "total": total,
    }


def _parquet_page(path: Path, req: PageRequest) -> dict[str, Any]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise TableError("Parquet tables need pyarrow on the service: pip install pyarrow") from exc
    # The dataset preview's Arrow conversions, so a table looks the same in both places.
    from mlrun_kernel.datasets.preview import _arrow_type, _jsonable

    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    names = [f.name for f in schema]
    column = _column_index(names, req.sort)

    def rows() -> Iterator[list[Any]]:
        for batch in parquet.iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                yield [_jsonable(record.get(n)) for n in names]

    page, total = _window(rows(), column, req)
    return {
        "columns": [{"name": f.name, "type": _arrow_type(f.type)} for f in schema],
        "rows": page,
        "total": total,
    }


def table_page(path: Path, media_type: str, req: PageRequest) -> dict[str, Any]:
    """``{"columns", "rows", "total", "offset", "limit", "sort", "descending"}`` for one page."""
    req.check()
    if media_type == CSV:
        body = _delimited_page(path, ",", req)
    elif media_type == TSV:
        body = _delimited_page(path, "\t", req)
    elif media_type == PARQUET:
        body = _parquet_page(path, req)
    else:
        raise TableError(f"{path.name} is {media_type}, not a CSV, TSV or Parquet table")
    return {**body, "offset": req.offset, "limit": req.limit, "sort": req.sort, "descending": req.descending}
