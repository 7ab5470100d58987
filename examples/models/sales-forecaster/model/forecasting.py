"""One forecast from a regular series and the settings: holidays out, method,
holidays back in, floor at zero. Shared by the ``forecast`` and ``evaluate`` tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model import holidays, methods
from model.series import Series, fill_missing, future_dates
from model.settings import Settings


@dataclass
class Outcome:
    dates: np.ndarray  # future period starts
    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    fitted: np.ndarray  # one-step in-sample fit on the history's scale (NaN where none)
    details: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    holidays_applied: list[dict[str, str]] = field(default_factory=list)


def run(series: Series, horizon: int, s: Settings) -> Outcome:
    dates, y = series.dates, series.values
    future = future_dates(dates[-1], horizon, series.frequency)
    notes: list[str] = []

    past_factor, _ = holidays.factors(dates, series.frequency, s.holidays)
    future_factor, matched = holidays.factors(future, series.frequency, s.holidays)
    if (past_factor != 1).any():
        adjusted = np.where(past_factor > 0, y / np.where(past_factor > 0, past_factor, 1), np.nan)
        # a closed day (impact -100) says nothing of the usual level: interpolate over it
        y = fill_missing(adjusted, "interpolate")
        notes.append(f"{int((past_factor != 1).sum())} history periods adjusted for holidays")

    season = methods.plan_seasonality(
        dates, series.frequency, s.seasonality_mode, s.weekly, s.yearly, s.yearly_harmonics
    )
    notes += season.notes
    if s.method == "seasonal_naive" and s.seasonality_mode == "multiplicative":
        notes.append("seasonal naive repeats values as they were: the seasonal mode has no effect")
    if s.method == "seasonal_naive":
        result = methods.seasonal_naive(y, horizon, season, s.interval_level)
    elif s.method == "linear_seasonal":
        result = methods.linear_seasonal(y, dates, future, season, s.interval_level)
    else:
        fixed = {"alpha": s.smoothing.alpha, "beta": s.smoothing.beta, "gamma": s.smoothing.gamma}
        result = methods.holt_winters(
            y, dates, future, season, s.interval_level, fixed, s.smoothing.damped_trend
        )

    point, lower, upper = (
        result.point * future_factor,
        result.lower * future_factor,
        result.upper * future_factor,
    )
    lower, upper = np.minimum(lower, point), np.maximum(upper, point)
    if s.non_negative:
        point, lower, upper = np.maximum(point, 0), np.maximum(lower, 0), np.maximum(upper, 0)
    details = dict(result.details)
    details["seasonality"] = {
        "mode": season.mode,
        "weekly": season.weekly,
        "yearly": season.yearly,
        "yearly_harmonics": season.harmonics if season.yearly else None,
    }
    return Outcome(future, point, lower, upper, result.fitted * past_factor, details, notes, matched)
