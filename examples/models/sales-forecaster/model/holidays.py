"""Known one-day effects (holidays, promotions) as multiplicative factors.

A holiday with ``impact`` +60 makes its day 60% higher than usual. The history
is divided by the factors before a method is fitted, so the effect does not
leak into the seasonal pattern, and the forecast is multiplied by them. In a
weekly or monthly series the effect is spread over the period: +60% on one day
of a week is +60/7 % for the week.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from model.series import period_lengths
from model.settings import Holiday


def _occurrences(holiday: Holiday, first_year: int, last_year: int) -> list[dt.date]:
    if not holiday.recurring:
        return [holiday.date]
    found = []
    for year in range(first_year, last_year + 1):
        try:
            found.append(holiday.date.replace(year=year))
        except ValueError:  # 29 February in a common year
            continue
    return found


def factors(starts: np.ndarray, frequency: str, holidays: list[Holiday]) -> tuple[np.ndarray, list[dict]]:
    """One factor per period (1.0 where no holiday falls) and the holidays that matched."""
    result = np.ones(len(starts))
    if not holidays or len(starts) == 0:
        return result, []
    lengths = period_lengths(starts, frequency)
    ends = starts + lengths  # exclusive
    first_year = int(str(starts[0])[:4])
    last_year = int(str(ends[-1])[:4])
    matched = []
    for holiday in holidays:
        for day in _occurrences(holiday, first_year, last_year):
            day64 = np.datetime64(day, "D")
            i = int(np.searchsorted(starts, day64, side="right")) - 1
            if i < 0 or day64 >= ends[i]:
                continue
            result[i] *= 1.0 + holiday.impact / 100.0 / lengths[i]
            matched.append({"name": holiday.name, "date": str(day), "period": str(starts[i])})
    return result, matched
