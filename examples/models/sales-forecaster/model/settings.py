"""The run's parameters as one typed object (see the manifest's schema for the
meaning and defaults of each field)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from mlrun_kernel.model import InputRejected
from model import params as p

METHODS = {
    "holt_winters": "Holt-Winters",
    "seasonal_naive": "Seasonal naive",
    "linear_seasonal": "Linear trend + seasonal",
}
FREQUENCIES = ("auto", "daily", "weekly", "monthly")
MAX_HORIZON = 1000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Holiday:
    name: str
    date: dt.date
    impact: float  # percent change of the day's value, -100..500
    recurring: bool


@dataclass
class Smoothing:
    alpha: float | None = None  # None: estimated from the history
    beta: float | None = None
    gamma: float | None = None
    damped_trend: bool = True


@dataclass
class Settings:
    series_name: str = "Sales"
    date_column: str = "date"
    value_column: str = "sales"
    date_format: str = "%Y-%m-%d"
    method: str = "holt_winters"
    smoothing: Smoothing = field(default_factory=Smoothing)
    horizon_periods: int | None = 90
    horizon_until: dt.date | None = None
    frequency: str = "auto"
    seasonality_mode: str = "additive"
    weekly: bool = True
    yearly: bool = True
    yearly_harmonics: int = 6
    holidays: list[Holiday] = field(default_factory=list)
    interval_level: float = 80.0
    aggregation: str = "sum"
    missing_values: str = "interpolate"
    non_negative: bool = True
    decimals: int = 2
    plot_history: int = 0
    notify_email: str | None = None
    holdout_periods: int = 90

    @property
    def method_title(self) -> str:
        return METHODS[self.method]


def read_settings(params: dict[str, Any], task: str) -> Settings:
    s = Settings()
    s.series_name = p.text(params, "series_name", s.series_name)

    columns = p.section(params, "columns")
    s.date_column = p.text(columns, "date", s.date_column, where="columns.date")
    s.value_column = p.text(columns, "value", s.value_column, where="columns.value")
    s.date_format = p.text(columns, "date_format", s.date_format, where="columns.date_format")
    if (
        "%d" not in s.date_format
        or not re.search("%[Yy]", s.date_format)
        or not re.search("%[mbB]", s.date_format)
    ):
        raise InputRejected("parameter columns.date_format must name the year (%Y), month (%m) and day (%d)")

    s.method = p.choice(params, "method", s.method, METHODS)
    smoothing = p.section(params, "smoothing")
    if smoothing and s.method != "holt_winters":
        raise InputRejected("parameter smoothing applies only to the Holt-Winters method")
    s.smoothing = Smoothing(
        alpha=p.optional_number(smoothing, "alpha", low=0, high=1, where="smoothing.alpha"),
        beta=p.optional_number(smoothing, "beta", low=0, high=1, where="smoothing.beta"),
        gamma=p.optional_number(smoothing, "gamma", low=0, high=1, where="smoothing.gamma"),
        damped_trend=p.boolean(smoothing, "damped_trend", True, where="smoothing.damped_trend"),
    )

    if task == "forecast":
        horizon = p.section(params, "horizon") or {"periods": 90}
        if ("periods" in horizon) == ("until" in horizon):
            raise InputRejected('parameter horizon must be either {"periods": N} or {"until": "YYYY-MM-DD"}')
        if "periods" in horizon:
            s.horizon_periods = p.integer(
                horizon, "periods", 90, low=1, high=MAX_HORIZON, where="horizon.periods"
            )
        else:
            s.horizon_periods = None
            s.horizon_until = p.date(horizon["until"], "horizon.until")
    else:
        s.holdout_periods = p.integer(params, "holdout_periods", 90, low=1, high=MAX_HORIZON)

    s.frequency = p.choice(params, "frequency", s.frequency, FREQUENCIES)

    seasonality = p.section(params, "seasonality")
    s.seasonality_mode = p.choice(
        seasonality,
        "mode",
        s.seasonality_mode,
        ("additive", "multiplicative"),
        where="seasonality.mode",
    )
    s.weekly = p.boolean(seasonality, "weekly", s.weekly, where="seasonality.weekly")
    s.yearly = p.boolean(seasonality, "yearly", s.yearly, where="seasonality.yearly")
    s.yearly_harmonics = p.integer(
        seasonality,
        "yearly_harmonics",
        s.yearly_harmonics,
        low=1,
        high=20,
        where="seasonality.yearly_harmonics",
    )

    holidays = params.get("holidays") or []
    if not isinstance(holidays, list):
        raise InputRejected("parameter holidays must be a list")
    for i, item in enumerate(holidays):
        where = f"holidays[{i}]"
        if not isinstance(item, dict) or "impact" not in item:
            raise InputRejected(f"parameter {where} must be an object with name, date and impact")
        s.holidays.append(
            Holiday(
                name=p.text(item, "name", "holiday", where=f"{where}.name"),
                date=p.date(item.get("date"), f"{where}.date"),
                impact=p.number(item, "impact", 0.0, low=-100, high=500, where=f"{where}.impact"),
                recurring=p.boolean(item, "recurring", True, where=f"{where}.recurring"),
            )
        )

    s.interval_level = p.number(params, "interval_level", s.interval_level, low=50, high=99.9)
    prep = p.section(params, "preprocessing")
    s.aggregation = p.choice(
        prep, "aggregation", s.aggregation, ("sum", "mean"), where="preprocessing.aggregation"
    )
    s.missing_values = p.choice(
        prep,
        "missing_values",
        s.missing_values,
        ("interpolate", "zero", "reject"),
        where="preprocessing.missing_values",
    )
    s.non_negative = p.boolean(params, "non_negative", s.non_negative)
    output = p.section(params, "output")
    s.decimals = p.integer(output, "decimals", s.decimals, low=0, high=6, where="output.decimals")
    s.plot_history = p.integer(
        output, "plot_history", s.plot_history, low=0, high=100_000, where="output.plot_history"
    )

    email = params.get("notify_email")
    if email not in (None, ""):
        if not isinstance(email, str) or not _EMAIL.match(email):
            raise InputRejected(f"parameter notify_email must be an email address, got {email!r}")
        s.notify_email = email
    return s
