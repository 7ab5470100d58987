"""Build time: a realistic example sales series for ``/mlk/examples/sales.csv``.

Three years (2022-2024) of daily unit sales of a growing shop: an 18% yearly
trend, a yearly cycle peaking in December, busier Fridays and Saturdays, a
Christmas Eve rush, a quiet New Year's Day, Black Friday, and noise. The seed is
fixed, so every build writes the same file.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

START, END = dt.date(2022, 1, 1), dt.date(2024, 12, 31)
WEEKDAY = np.array([0.88, 0.90, 0.94, 0.98, 1.10, 1.27, 0.93])  # Monday .. Sunday
SPECIAL_DAYS = {
    (12, 24): 1.6,  # Christmas Eve
    (1, 1): 0.45,  # New Year's Day
}
BLACK_FRIDAYS = {dt.date(2022, 11, 25), dt.date(2023, 11, 24), dt.date(2024, 11, 29)}


def sales_series(seed: int = 7) -> tuple[list[dt.date], np.ndarray]:
    rng = np.random.default_rng(seed)
    days = [START + dt.timedelta(days=i) for i in range((END - START).days + 1)]
    t = np.arange(len(days)) / 365.25
    doy = np.array([d.timetuple().tm_yday for d in days])
    trend = 140.0 * 1.18**t
    yearly = (
        1 + 0.22 * np.cos(2 * np.pi * (doy - 345) / 365.25) + 0.05 * np.cos(4 * np.pi * (doy - 200) / 365.25)
    )
    weekly = WEEKDAY[[d.weekday() for d in days]]
    special = np.array([SPECIAL_DAYS.get((d.month, d.day), 1.8 if d in BLACK_FRIDAYS else 1.0) for d in days])
    # day-to-day noise plus slow-moving shocks (weather, competitors), as real shops see
    shocks = np.convolve(rng.normal(0, 0.03, len(days) + 13), np.ones(14) / np.sqrt(14), mode="valid")
    noise = np.exp(rng.normal(0, 0.07, len(days)) + shocks)
    return days, np.round(trend * yearly * weekly * special * noise)


def write_example(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    days, sales = sales_series()
    path = folder / "sales.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["date", "sales"])
        writer.writerows([d.isoformat(), int(v)] for d, v in zip(days, sales, strict=True))
    return path
