"""The three forecasting methods, in numpy.

Each method takes a regular series and returns a :class:`Forecast`: the point
forecast, the prediction interval, the in-sample one-step fit and the fitted
parameters.

- **Seasonal naive**: each future period repeats the value one season earlier
  (364 days back for daily data with yearly seasonality, so weekdays line up).
  The interval widens with each season ahead (Hyndman & Athanasopoulos,
  *Forecasting: Principles and Practice*, 5.5).
- **Linear trend + seasonal**: least squares on a straight-line trend,
  day-of-week effects and Fourier terms for the yearly cycle (on log values
  when seasonality is multiplicative), with the exact OLS prediction interval.
- **Holt-Winters**: exponential smoothing of level, (damped) trend and season
  (additive or multiplicative), smoothing constants estimated by minimising the
  one-step squared error with Nelder-Mead, and intervals from 1,000 simulated
  future paths. Daily data has two cycles, so the yearly one is taken out with
  Fourier terms first and Holt-Winters handles the weekly one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from mlrun_kernel.model import InputRejected
from model.series import PERIODS_PER_YEAR, period_lengths

DAYS_PER_YEAR = 365.25
SIMULATED_PATHS = 1000
_SEED = 20240601


@dataclass
class Seasonality:
    """What the data supports of what the parameters asked for."""

    frequency: str
    mode: str  # additive | multiplicative
    weekly: bool  # day-of-week cycle (daily data only)
    yearly: bool
    harmonics: int  # Fourier pairs for the yearly cycle
    notes: list[str] = field(default_factory=list)


@dataclass
class Forecast:
    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    fitted: np.ndarray  # one-step in-sample predictions; NaN where a method has none
    details: dict[str, Any] = field(default_factory=dict)


def plan_seasonality(
    dates: np.ndarray, frequency: str, mode: str, weekly: bool, yearly: bool, harmonics: int
) -> Seasonality:
    notes = []
    span = int((dates[-1] - dates[0]).astype(int)) + int(period_lengths(dates[-1:], frequency)[0])
    if weekly and frequency != "daily":
        weekly = False
    if weekly and len(dates) < 14:
        weekly = False
        notes.append("weekly seasonality skipped: it needs at least two weeks of daily data")
    per_year = PERIODS_PER_YEAR[frequency]
    if yearly and (span < 2 * 365 or len(dates) < 2 * per_year):
        yearly = False
        notes.append(f"yearly seasonality skipped: it needs two full years of history, this has {span} days")
    cap = max(1, (per_year - 1) // 2)
    harmonics = min(harmonics, cap)  # monthly data cannot show more than 5 pairs
    return Seasonality(frequency, mode, weekly, yearly, harmonics, notes)


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 200.0)


def _require_positive(y: np.ndarray, what: str) -> None:
    if np.any(y <= 0):
        raise InputRejected(
            f"{what} needs values above zero, and the history has "
            f"{int(np.sum(y <= 0))} zero or negative "
            "values; use additive seasonality"
        )


# --- regression terms


def _days(dates: np.ndarray) -> np.ndarray:
    return (dates - np.datetime64("1970-01-01", "D")).astype(float)


def _fourier(dates: np.ndarray, harmonics: int) -> np.ndarray:
    angle = 2 * np.pi * _days(dates)[:, None] / DAYS_PER_YEAR * np.arange(1, harmonics + 1)[None, :]
    return np.hstack([np.sin(angle), np.cos(angle)])


def _weekday_dummies(dates: np.ndarray) -> np.ndarray:
    weekday = (_days(dates).astype(int) + 3) % 7  # 0 = Monday
    return (weekday[:, None] == np.arange(1, 7)[None, :]).astype(float)


def _design(
    dates: np.ndarray,
    origin: np.datetime64,
    season: Seasonality,
    *,
    trend: bool = True,
    weekly: bool = True,
) -> np.ndarray:
    columns = [np.ones(len(dates))]
    if trend:
        columns.append((dates - origin).astype(float) / DAYS_PER_YEAR)
    parts = [np.column_stack(columns)]
    if weekly and season.weekly:
        parts.append(_weekday_dummies(dates))
    if season.yearly:
        parts.append(_fourier(dates, season.harmonics))
    return np.hstack(parts)


# --- linear trend + seasonal


def linear_seasonal(
    y: np.ndarray, dates: np.ndarray, future: np.ndarray, season: Seasonality, level: float
) -> Forecast:
    log = season.mode == "multiplicative"
    if log:
        _require_positive(y, "multiplicative seasonality")
    target = np.log(y) if log else y
    X = _design(dates, dates[0], season)
    Xf = _design(future, dates[0], season)
    beta, _, rank, _ = np.linalg.lstsq(X, target, rcond=None)
    fitted = X @ beta
    dof = max(len(y) - int(rank), 1)
    sigma2 = float(np.sum((target - fitted) ** 2)) / dof
    xtx_inv = np.linalg.pinv(X.T @ X)
    spread = _z(level) * np.sqrt(sigma2 * (1.0 + np.einsum("ij,jk,ik->i", Xf, xtx_inv, Xf)))
    mean = Xf @ beta
    lower, upper = mean - spread, mean + spread
    if log:
        mean, lower, upper, fitted = np.exp(mean), np.exp(lower), np.exp(upper), np.exp(fitted)
    slope = float(beta[1])
    return Forecast(
        mean,
        lower,
        upper,
        fitted,
        {
            "trend_per_year": round(100 * (math.exp(slope) - 1), 3) if log else round(slope, 4),
            "trend_unit": "% per year" if log else "per year",
            "terms": int(X.shape[1]),
            "residual_sd": round(math.sqrt(sigma2), 4),
        },
    )


# --- seasonal naive


def seasonal_naive(y: np.ndarray, horizon: int, season: Seasonality, level: float) -> Forecast:
    if season.frequency == "daily":
        m = 364 if season.yearly else 7 if season.weekly else 1
    else:
        m = {"weekly": 52, "monthly": 12}[season.frequency] if season.yearly else 1
    n = len(y)
    steps = np.arange(horizon)
    point = y[n - m + steps % m]
    diffs = y[m:] - y[:-m]
    sigma = float(np.sqrt(np.mean(diffs**2)))
    spread = _z(level) * sigma * np.sqrt(steps // m + 1)
    fitted = np.full(n, np.nan)
    fitted[m:] = y[:-m]
    return Forecast(
        point,
        point - spread,
        point + spread,
        fitted,
        {"season_length": m, "residual_sd": round(sigma, 4)},
    )


# --- Holt-Winters


@dataclass
class _HW:
    alpha: float
    beta: float
    gamma: float
    phi: float
    m: int
    multiplicative: bool


def _hw_start(y: list[float], m: int, multiplicative: bool) -> tuple[float, float, list[float]]:
    if m > 1:
        first = sum(y[:m]) / m
        second = sum(y[m : 2 * m]) / m
        level, trend = first, (second - first) / m
        season = [v / first if multiplicative else v - first for v in y[:m]]
    else:
        k = min(len(y) - 1, 7)
        level, trend = y[0], (y[k] - y[0]) / k
        season = [1.0 if multiplicative else 0.0]
    return level, trend, season


def _hw_filter(y: list[float], p: _HW) -> tuple[float, list[float], float, float, list[float]]:
    """Run the recursions; return SSE, one-step fits and the final level, trend, season."""
    level, trend, season = _hw_start(y, p.m, p.multiplicative)
    a, b, g, phi, m = p.alpha, p.beta, p.gamma, p.phi, p.m
    sse = 0.0
    fitted = []
    for t, value in enumerate(y):
        i = t % m
        s = season[i]
        base = level + phi * trend
        if p.multiplicative:
            guess = base * s
            new_level = a * value / s + (1 - a) * base
            season[i] = g * value / new_level + (1 - g) * s
        else:
            guess = base + s
            new_level = a * (value - s) + (1 - a) * base
            season[i] = g * (value - new_level) + (1 - g) * s
        trend = b * (new_level - level) + (1 - b) * phi * trend
        level = new_level
        fitted.append(guess)
        sse += (value - guess) ** 2
    return sse, fitted, level, trend, season


def _nelder_mead(
    f: Callable[[np.ndarray], float],
    x0: np.ndarray,
    *,
    iterations: int = 400,
    step: float = 0.8,
    tolerance: float = 1e-10,
) -> np.ndarray:
    """Minimise ``f`` from ``x0`` (the textbook simplex method, enough for 1-4 unknowns)."""
    k = len(x0)
    simplex = [x0.astype(float)]
    for j in range(k):
        point = x0.astype(float).copy()
        point[j] += step
        simplex.append(point)
    scores = [f(x) for x in simplex]
    for _ in range(iterations):
        order = np.argsort(scores)
        simplex = [simplex[i] for i in order]
        scores = [scores[i] for i in order]
        if abs(scores[-1] - scores[0]) <= tolerance * (abs(scores[0]) + 1e-30):
            break
        centroid = np.mean(simplex[:-1], axis=0)
        reflected = centroid + (centroid - simplex[-1])
        r = f(reflected)
        if r < scores[0]:
            expanded = centroid + 2 * (centroid - simplex[-1])
            e = f(expanded)
            simplex[-1], scores[-1] = (expanded, e) if e < r else (reflected, r)
        elif r < scores[-2]:
            simplex[-1], scores[-1] = reflected, r
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            c = f(contracted)
            if c < scores[-1]:
                simplex[-1], scores[-1] = contracted, c
            else:
                best = simplex[0]
                simplex = [best + 0.5 * (x - best) for x in simplex]
                scores = [f(x) for x in simplex]
    return simplex[int(np.argmin(scores))]


_BOUNDS = {
    "alpha": (0.001, 0.999),
    "beta": (0.0001, 0.5),
    "gamma": (0.001, 0.999),
    "phi": (0.8, 0.98),
}
_START = {"alpha": 0.2, "beta": 0.02, "gamma": 0.1, "phi": 0.95}


def _fit_hw(
    y: np.ndarray, m: int, multiplicative: bool, fixed: dict[str, float | None], damped: bool
) -> tuple[_HW, list[str]]:
    values = [float(v) for v in y]
    free = [name for name in ("alpha", "beta", "gamma", "phi") if fixed.get(name) is None]
    if m == 1 and "gamma" in free:
        free.remove("gamma")
    if not damped and "phi" in free:
        free.remove("phi")
    known = {"alpha": 0.2, "beta": 0.02, "gamma": 0.0, "phi": 0.98 if damped else 1.0}
    known.update({k: float(v) for k, v in fixed.items() if v is not None})
    if m == 1:
        known["gamma"] = 0.0

    def unpack(u: np.ndarray) -> _HW:
        values_ = dict(known)
        for name, x in zip(free, u, strict=True):
            lo, hi = _BOUNDS[name]
            if name == "gamma":  # the usual admissible region: gamma < 1 - alpha
                hi = max(lo, min(hi, 1 - values_["alpha"]))
            values_[name] = lo + (hi - lo) / (1 + math.exp(-max(min(x, 30.0), -30.0)))
        return _HW(values_["alpha"], values_["beta"], values_["gamma"], values_["phi"], m, multiplicative)

    def objective(u: np.ndarray) -> float:
        sse = _hw_filter(values, unpack(u))[0]
        return sse if math.isfinite(sse) else 1e300

    if free:
        start = []
        for name in free:
            lo, hi = _BOUNDS[name]
            share = (_START[name] - lo) / (hi - lo)
            start.append(math.log(share / (1 - share)))
        best = _nelder_mead(objective, np.array(start))
        return unpack(best), free
    return unpack(np.array([])), free


def _hw_simulate(
    p: _HW,
    level: float,
    trend: float,
    season: list[float],
    n: int,
    horizon: int,
    sigma: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Future sample paths (paths x horizon) from the fitted state, with normal one-step errors."""
    paths = SIMULATED_PATHS
    L = np.full(paths, level)
    B = np.full(paths, trend)
    S = np.tile(np.array(season, dtype=float), (paths, 1))
    out = np.empty((paths, horizon))
    noise = rng.normal(0.0, sigma, size=(paths, horizon))
    a, b, g, phi = p.alpha, p.beta, p.gamma, p.phi
    for h in range(horizon):
        i = (n + h) % p.m
        s = S[:, i]
        base = L + phi * B
        if p.multiplicative:
            value = base * s + noise[:, h]
            safe_s = np.where(np.abs(s) < 1e-9, 1e-9, s)
            new_level = a * value / safe_s + (1 - a) * base
            safe_level = np.where(np.abs(new_level) < 1e-9, 1e-9, new_level)
            S[:, i] = g * value / safe_level + (1 - g) * s
        else:
            value = base + s + noise[:, h]
            new_level = a * (value - s) + (1 - a) * base
            S[:, i] = g * (value - new_level) + (1 - g) * s
        B = b * (new_level - L) + (1 - b) * phi * B
        L = new_level
        out[:, h] = value
    return out


def holt_winters(
    y: np.ndarray,
    dates: np.ndarray,
    future: np.ndarray,
    season: Seasonality,
    level: float,
    fixed: dict[str, float | None],
    damped: bool,
) -> Forecast:
    multiplicative = season.mode == "multiplicative"
    if multiplicative:
        _require_positive(y, "multiplicative seasonality")
    if season.frequency == "daily":
        m = 7 if season.weekly else 1
        separate_yearly = season.yearly
    else:
        m = {"weekly": 52, "monthly": 12}[season.frequency] if season.yearly else 1
        separate_yearly = False

    # Daily data: remove the yearly cycle (Fourier terms, fitted with the trend) first.
    yearly_hist = np.zeros(len(y))
    yearly_future = np.zeros(len(future))
    work = y
    if separate_yearly:
        target = np.log(y) if multiplicative else y
        X = _design(dates, dates[0], season, weekly=False)
        beta = np.linalg.lstsq(X, target, rcond=None)[0]
        fourier = slice(2, X.shape[1])
        yearly_hist = X[:, fourier] @ beta[fourier]
        yearly_future = _design(future, dates[0], season, weekly=False)[:, fourier] @ beta[fourier]
        work = y / np.exp(yearly_hist) if multiplicative else y - yearly_hist

    if len(work) < 2 * m:
        raise InputRejected(f"Holt-Winters with a season of {m} periods needs {2 * m} points or more")
    params, estimated = _fit_hw(work, m, multiplicative, fixed, damped)
    sse, fitted, lvl, trend, seas = _hw_filter([float(v) for v in work], params)
    n = len(work)
    sigma = math.sqrt(sse / max(n - len(estimated) - 2, 1))
    steps = np.arange(1, len(future) + 1)
    damp = np.cumsum(params.phi**steps)
    s_future = np.array([seas[(n + h) % m] for h in range(len(future))])
    point = (lvl + damp * trend) * s_future if multiplicative else lvl + damp * trend + s_future
    paths = _hw_simulate(params, lvl, trend, seas, n, len(future), sigma, np.random.default_rng(_SEED))
    tail = (100.0 - level) / 2.0
    lower, upper = np.percentile(paths, [tail, 100.0 - tail], axis=0)
    fitted_arr = np.array(fitted)
    if separate_yearly:
        if multiplicative:
            back, back_hist = np.exp(yearly_future), np.exp(yearly_hist)
            point, lower, upper, fitted_arr = (
                point * back,
                lower * back,
                upper * back,
                fitted_arr * back_hist,
            )
        else:
            point, lower, upper = (
                point + yearly_future,
                lower + yearly_future,
                upper + yearly_future,
            )
            fitted_arr = fitted_arr + yearly_hist
    return Forecast(
        point,
        lower,
        upper,
        fitted_arr,
        {
            "alpha": round(params.alpha, 4),
            "beta": round(params.beta, 4),
            "gamma": round(params.gamma, 4) if m > 1 else None,
            "phi": round(params.phi, 4),
            "season_length": m,
            "estimated": estimated,
            "yearly_cycle": "Fourier terms"
            if separate_yearly
            else ("in the season" if m > 1 and season.yearly else "none"),
            "residual_sd": round(sigma, 4),
        },
    )
