"""From a CSV file to a regular time series.

``read_history`` reads the date and value columns; ``regularise`` puts the
points on a daily, weekly or monthly grid: rows that fall in the same period
are summed (or averaged), incomplete first/last periods are dropped, and
periods without data are filled (or rejected) as the parameters say.

Dates are ``numpy.datetime64[D]`` throughout; a weekly period is labelled by
its first day, a monthly one by the 1st of the month.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlrun_kernel.model import InputRejected
from model.settings import Settings

PERIOD_WORDS = {"daily": "days", "weekly": "weeks", "monthly": "months"}
PERIODS_PER_YEAR = {"daily": 365, "weekly": 52, "monthly": 12}
_RANK = {"daily": 0, "weekly": 1, "monthly": 2}
MAX_ROWS = 2_000_000
MIN_POINTS = 10


@dataclass
class Series:
    dates: np.ndarray  # datetime64[D], regular grid
    values: np.ndarray  # float, no NaN after regularise()
    frequency: str  # daily | weekly | monthly
    notes: list[str] = field(default_factory=list)
    filled: int = 0

    def __len__(self) -> int:
        return len(self.values)

    def head(self, n: int) -> Series:
        return Series(self.dates[:n], self.values[:n], self.frequency, list(self.notes), self.filled)


def _find_column(header: list[str], wanted: str, role: str, path: Path) -> int:
    for i, name in enumerate(header):
        if name == wanted:
            return i
    folded = wanted.strip().casefold()
    for i, name in enumerate(header):
        if name.strip().casefold() == folded:
            return i
    raise InputRejected(
        f"{path.name} has no {role} column {wanted!r} (found: {', '.join(header) or 'no header'}); "
        f"set columns.{role} to the right name"
    )


def _parse_date(cell: str, fmt: str, iso_fallback: bool) -> dt.date:
    try:
        return dt.datetime.strptime(cell, fmt).date()
    except ValueError:
        if not iso_fallback:
            raise
        return dt.datetime.fromisoformat(cell).date()  # e.g. "2024-03-01 00:00:00"


def _parse_value(cell: str) -> float:
    """A number as spreadsheets write it: ``1234.5``, ``1,234.5``, ``1 234,5`` or ``12,5``."""
    cell = cell.strip().replace("\u00a0", "").replace(" ", "")
    if cell == "" or cell.lower() in {"na", "n/a", "nan", "null", "none", "-"}:
        return float("nan")
    if "," in cell and "." in cell:
        cell = cell.replace(",", "")  # 1,234.5
    elif cell.count(",") == 1 and len(cell.split(",")[1]) != 3:
        cell = cell.replace(",", ".")  # 12,5 (decimal comma)
    else:
        cell = cell.replace(",", "")  # 1,234 or 1,234,567
    return float(cell)


def read_history(path: Path, s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The (dates, values) pairs in ``path``, unsorted; NaN marks an empty value."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputRejected(f"{path.name} is not UTF-8 text; is it really a CSV file?") from exc
    if not text.strip():
        raise InputRejected(f"{path.name} is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text.splitlines(), dialect)
    header = next(reader, None) or []
    date_col = _find_column(header, s.date_column, "date", path)
    value_col = _find_column(header, s.value_column, "value", path)

    dates: list[dt.date] = []
    values: list[float] = []
    iso_fallback = s.date_format == "%Y-%m-%d"
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(dates) >= MAX_ROWS:
            raise InputRejected(f"{path.name} has more than {MAX_ROWS} rows")
        date_cell = row[date_col].strip() if date_col < len(row) else ""
        value_cell = row[value_col] if value_col < len(row) else ""
        try:
            dates.append(_parse_date(date_cell, s.date_format, iso_fallback))
        except ValueError:
            raise InputRejected(
                f"{path.name}, line {line}: {s.date_column} is {date_cell!r}, "
                "not a date in the format "
                f"{s.date_format!r}; set columns.date_format to match the file"
            ) from None
        try:
            value = _parse_value(value_cell)
        except ValueError:
            raise InputRejected(
                f"{path.name}, line {line}: {s.value_column} is {value_cell!r}, not a number"
            ) from None
        if np.isinf(value):
            raise InputRejected(f"{path.name}, line {line}: {s.value_column} is {value_cell!r}")
        values.append(value)
    if not dates:
        raise InputRejected(f"{path.name} has a header but no data rows")
    return np.array(dates, dtype="datetime64[D]"), np.array(values, dtype=float)


# --- calendar


def infer_frequency(dates: np.ndarray) -> str:
    unique = np.unique(dates)
    if len(unique) < 3:
        raise InputRejected("the history has fewer than 3 distinct dates; a forecast needs many more")
    step = float(np.median(np.diff(unique).astype(int)))
    if step <= 1.5:
        return "daily"
    if 5 <= step <= 9:
        return "weekly"
    if 26 <= step <= 33:
        return "monthly"
    raise InputRejected(
        f"cannot tell the series' frequency: dates are typically {step:g} days apart; "
        "set frequency to daily, weekly or monthly"
    )


def period_keys(dates: np.ndarray, frequency: str, anchor: np.datetime64) -> np.ndarray:
    """The first day of the period each date falls in."""
    if frequency == "daily":
        return dates
    if frequency == "weekly":
        offset = (dates - anchor).astype(int)
        return anchor + (offset // 7) * 7
    return dates.astype("datetime64[M]").astype("datetime64[D]")


def future_dates(last: np.datetime64, periods: int, frequency: str) -> np.ndarray:
    steps = np.arange(1, periods + 1)
    if frequency == "daily":
        return last + steps
    if frequency == "weekly":
        return last + 7 * steps
    return (last.astype("datetime64[M]") + steps).astype("datetime64[D]")


def grid(first: np.datetime64, last: np.datetime64, frequency: str) -> np.ndarray:
    if frequency == "daily":
        return np.arange(first, last + 1, dtype="datetime64[D]")
    if frequency == "weekly":
        return np.arange(first, last + 1, 7, dtype="datetime64[D]")
    months = np.arange(first.astype("datetime64[M]"), last.astype("datetime64[M]") + 1)
    return months.astype("datetime64[D]")


def period_lengths(starts: np.ndarray, frequency: str) -> np.ndarray:
    """Days in each period."""
    if frequency == "daily":
        return np.ones(len(starts), dtype=int)
    if frequency == "weekly":
        return np.full(len(starts), 7, dtype=int)
    months = starts.astype("datetime64[M]")
    return ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(int)


def periods_until(last: np.datetime64, until: dt.date, frequency: str) -> int:
    """How many periods after ``last`` start on or before ``until``."""
    target = np.datetime64(until, "D")
    if target <= last:
        return 0
    days = int((target - last).astype(int))
    if frequency == "daily":
        return days
    if frequency == "weekly":
        return days // 7
    return int(target.astype("datetime64[M]") - last.astype("datetime64[M]"))


# --- regularise


def regularise(dates: np.ndarray, values: np.ndarray, s: Settings) -> Series:
    notes: list[str] = []
    order = np.argsort(dates, kind="stable")
    dates, values = dates[order], values[order]
    try:
        source = infer_frequency(dates)
    except InputRejected:
        if s.frequency == "auto":
            raise
        source = s.frequency  # irregular dates, but the user said how to read them
    frequency = source if s.frequency == "auto" else s.frequency
    if s.frequency == "auto":
        notes.append(f"frequency detected as {frequency}")
    elif _RANK[frequency] < _RANK[source]:
        raise InputRejected(
            f"the history is {source}; it cannot be forecast {frequency}. "
            f"Set frequency to {source} (or coarser) or auto"
        )

    keys = period_keys(dates, frequency, dates[0])
    unique, inverse = np.unique(keys, return_inverse=True)
    known = ~np.isnan(values)
    sums = np.bincount(inverse, weights=np.where(known, values, 0.0), minlength=len(unique))
    n_known = np.bincount(inverse, weights=known.astype(float), minlength=len(unique))
    agg = (
        sums
        if s.aggregation == "sum"
        else np.divide(sums, n_known, out=np.zeros_like(sums), where=n_known > 0)
    )
    agg = np.where(n_known > 0, agg, np.nan)
    if len(unique) < len(dates):
        notes.append(f"{len(dates)} rows combined into {len(unique)} {frequency} periods ({s.aggregation})")

    # When days become weeks (or months), a first or last period with fewer
    # distinct dates than it should have is incomplete and would look like a drop.
    if frequency != source and len(unique) >= 3:
        distinct = np.unique(period_keys(np.unique(dates), frequency, dates[0]), return_counts=True)[1]
        if source == "daily":
            expected = period_lengths(unique, frequency).astype(float)
        else:  # weeks into months: compare with the usual count
            expected = np.full(len(unique), float(np.median(distinct)))
        keep = np.ones(len(unique), dtype=bool)
        for edge in (0, len(unique) - 1):
            if distinct[edge] < expected[edge]:
                keep[edge] = False
                notes.append(
                    f"dropped the incomplete period starting {unique[edge]} "
                    f"({distinct[edge]} dates of {expected[edge]:g})"
                )
        unique, agg = unique[keep], agg[keep]

    full = grid(unique[0], unique[-1], frequency)
    series = np.full(len(full), np.nan)
    series[np.searchsorted(full, unique)] = agg
    missing = np.isnan(series)
    if missing.any():
        first_missing = full[missing][:5]
        shown = ", ".join(str(d) for d in first_missing) + (" ..." if missing.sum() > 5 else "")
        if s.missing_values == "reject":
            raise InputRejected(
                f"{int(missing.sum())} {frequency} periods have no value ({shown}); "
                "fill them in, or set preprocessing.missing_values to interpolate or zero"
            )
        if missing.all():
            raise InputRejected(f"the column {s.value_column!r} holds no numbers")
        series = fill_missing(series, s.missing_values)
        notes.append(f"{int(missing.sum())} missing periods filled ({s.missing_values}): {shown}")
    if len(series) < MIN_POINTS:
        raise InputRejected(
            f"the history has {len(series)} {frequency} points; a forecast needs at least {MIN_POINTS}"
        )
    return Series(full, series, frequency, notes, int(missing.sum()))


def fill_missing(values: np.ndarray, how: str) -> np.ndarray:
    missing = np.isnan(values)
    if not missing.any():
        return values
    if how == "zero":
        return np.where(missing, 0.0, values)
    index = np.arange(len(values))
    return np.interp(index, index[~missing], values[~missing])
