"""The sales forecaster's tasks: ``forecast`` and ``evaluate``."""

from __future__ import annotations

import csv
from typing import Any

import numpy as np

from mlrun_kernel.model import InputRejected, input_file, outputs_dir, progress, write_json
from model import forecasting
from model.series import (
    MIN_POINTS,
    PERIOD_WORDS,
    PERIODS_PER_YEAR,
    Series,
    periods_until,
    read_history,
    regularise,
)
from model.settings import MAX_HORIZON, Settings, read_settings


def _load(s: Settings) -> Series:
    progress(0.05, "reading history")
    path = input_file("history")
    dates, values = read_history(path, s)
    series = regularise(dates, values, s)
    for note in series.notes:
        print(f"note: {note}", flush=True)
    return series


def _round(values: np.ndarray, decimals: int) -> list[str]:
    return [f"{v:.{decimals}f}" for v in values]


def _tail(series: Series, s: Settings, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """The history to draw: ``output.plot_history`` points, or (0) three horizons,
    at least a year."""
    n = s.plot_history or max(3 * horizon, PERIODS_PER_YEAR[series.frequency])
    return series.dates[-n:], series.values[-n:]


def _fit_quality(series: Series, fitted: np.ndarray) -> dict[str, float]:
    ok = ~np.isnan(fitted)
    errors = series.values[ok] - fitted[ok]
    return {"in_sample_rmse": round(float(np.sqrt(np.mean(errors**2))), 4)} if ok.any() else {}


def forecast(params: dict[str, Any]) -> None:
    s = read_settings(params, "forecast")
    series = _load(s)
    unit = PERIOD_WORDS[series.frequency]
    if s.horizon_periods is not None:
        horizon = s.horizon_periods
    else:
        assert s.horizon_until is not None
        horizon = periods_until(series.dates[-1], s.horizon_until, series.frequency)
        if horizon < 1:
            raise InputRejected(
                f"horizon.until {s.horizon_until} leaves no {series.frequency} period "
                "after the history, "
                f"which ends {series.dates[-1]}"
            )
        if horizon > MAX_HORIZON:
            raise InputRejected(
                f"horizon.until {s.horizon_until} is {horizon} {unit} ahead; the limit is {MAX_HORIZON}"
            )

    progress(0.2, f"fitting {s.method_title} to {len(series)} {series.frequency} points")
    outcome = forecasting.run(series, horizon, s)
    for note in outcome.notes:
        print(f"note: {note}", flush=True)

    progress(0.8, "writing forecast.csv and forecast.png")
    out = outputs_dir()
    with (out / "forecast.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["date", "forecast", "lower", "upper"])
        writer.writerows(
            zip(
                [str(d) for d in outcome.dates],
                _round(outcome.point, s.decimals),
                _round(outcome.lower, s.decimals),
                _round(outcome.upper, s.decimals),
                strict=True,
            )
        )
    hist_dates, hist_values = _tail(series, s, horizon)
    from model import plot  # matplotlib loads only when there is something to draw

    plot.draw(
        out / "forecast.png",
        history_dates=hist_dates,
        history=hist_values,
        dates=outcome.dates,
        point=outcome.point,
        lower=outcome.lower,
        upper=outcome.upper,
        level=s.interval_level,
        title=f"{s.series_name}: {s.method_title} forecast, next {horizon} {unit}",
        ylabel=s.value_column,
    )

    recent = series.values[-horizon:] if horizon <= len(series) else series.values
    total = float(outcome.point.sum())
    write_json(
        "_result.json",
        {
            "series": s.series_name,
            "method": s.method,
            "method_title": s.method_title,
            "frequency": series.frequency,
            "history": {
                "start": str(series.dates[0]),
                "end": str(series.dates[-1]),
                "points": len(series),
                "filled_points": series.filled,
            },
            "horizon": {
                "periods": horizon,
                "unit": unit,
                "start": str(outcome.dates[0]),
                "end": str(outcome.dates[-1]),
            },
            "forecast": {
                "total": round(total, s.decimals),
                "mean": round(float(outcome.point.mean()), s.decimals),
                "min": round(float(outcome.point.min()), s.decimals),
                "max": round(float(outcome.point.max()), s.decimals),
                "interval_level": s.interval_level,
                "total_lower": round(float(outcome.lower.sum()), s.decimals),
                "total_upper": round(float(outcome.upper.sum()), s.decimals),
            },
            "change_vs_previous_periods_pct": round(100 * (total / recent.sum() - 1), 2)
            if recent.sum()
            else None,
            "fit": {**_fit_quality(series, outcome.fitted), **outcome.details},
            "holidays_in_horizon": outcome.holidays_applied,
            "notes": series.notes + outcome.notes,
            "notify_email": s.notify_email,
        },
    )
    progress(1.0, "done")


def evaluate(params: dict[str, Any]) -> None:
    s = read_settings(params, "evaluate")
    series = _load(s)
    holdout = s.holdout_periods
    unit = PERIOD_WORDS[series.frequency]
    if len(series) - holdout < MIN_POINTS:
        raise InputRejected(
            f"holding out {holdout} {unit} leaves {len(series) - holdout} of {len(series)} "
            "points to fit on; "
            f"at least {MIN_POINTS} are needed: lower holdout_periods"
        )
    train = series.head(len(series) - holdout)
    actual = series.values[-holdout:]

    progress(
        0.2,
        f"fitting {s.method_title} to the first {len(train)} points, forecasting the last {holdout}",
    )
    outcome = forecasting.run(train, holdout, s)
    for note in outcome.notes:
        print(f"note: {note}", flush=True)

    error = outcome.point - actual
    rmse = float(np.sqrt(np.mean(error**2)))
    nonzero = actual != 0
    mape = float(np.mean(np.abs(error[nonzero] / actual[nonzero])) * 100) if nonzero.any() else None
    coverage = float(np.mean((actual >= outcome.lower) & (actual <= outcome.upper)))

    progress(0.8, "writing evaluation.csv and evaluation.png")
    out = outputs_dir()
    with (out / "evaluation.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["date", "actual", "forecast", "lower", "upper", "error"])
        writer.writerows(
            zip(
                [str(d) for d in outcome.dates],
                _round(actual, s.decimals),
                _round(outcome.point, s.decimals),
                _round(outcome.lower, s.decimals),
                _round(outcome.upper, s.decimals),
                _round(error, s.decimals),
                strict=True,
            )
        )
    hist_dates, hist_values = _tail(train, s, holdout)
    from model import plot

    plot.draw(
        out / "evaluation.png",
        history_dates=hist_dates,
        history=hist_values,
        dates=outcome.dates,
        point=outcome.point,
        lower=outcome.lower,
        upper=outcome.upper,
        level=s.interval_level,
        title=f"{s.series_name}: {s.method_title} on the last {holdout} {unit} (MAPE "
        + (f"{mape:.1f}%" if mape is not None else "n/a")
        + f", RMSE {rmse:,.1f})",
        ylabel=s.value_column,
        actual=actual,
    )

    metrics: dict[str, float] = {"rmse": round(rmse, 6)}
    if mape is not None:
        metrics["mape"] = round(mape, 6)
    write_json("_metrics.json", metrics)
    write_json(
        "_result.json",
        {
            "series": s.series_name,
            "method": s.method,
            "method_title": s.method_title,
            "frequency": series.frequency,
            "fitted_on": {
                "start": str(train.dates[0]),
                "end": str(train.dates[-1]),
                "points": len(train),
            },
            "held_out": {
                "start": str(outcome.dates[0]),
                "end": str(outcome.dates[-1]),
                "points": holdout,
            },
            "mape_pct": None if mape is None else round(mape, 3),
            "rmse": round(rmse, 4),
            "mae": round(float(np.mean(np.abs(error))), 4),
            "bias": round(float(np.mean(error)), 4),
            "interval_coverage": round(coverage, 4),
            "interval_level": s.interval_level,
            "fit": {**_fit_quality(train, outcome.fitted), **outcome.details},
            "notes": series.notes + outcome.notes,
        },
    )
    progress(1.0, "done")


TASKS = {"forecast": forecast, "evaluate": evaluate}
