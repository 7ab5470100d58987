"""The forecast picture: history, forecast, prediction interval (PNG via Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402


def _number(value: float, _pos: int = 0) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:g}"


def draw(
    path: Path,
    *,
    history_dates: np.ndarray,
    history: np.ndarray,
    dates: np.ndarray,
    point: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    level: float,
    title: str,
    ylabel: str,
    actual: np.ndarray | None = None,
) -> None:
    fig, ax = plt.subplots(figsize=(11, 5), dpi=120, layout="constrained")
    ax.plot(history_dates, history, color="#52606d", linewidth=0.9, label="history")
    ax.fill_between(
        dates,
        lower,
        upper,
        color="#f0883e",
        alpha=0.25,
        linewidth=0,
        label=f"{level:g}% prediction interval",
    )
    ax.plot(dates, point, color="#d9480f", linewidth=1.6, label="forecast")
    if actual is not None:
        ax.plot(
            dates,
            actual,
            color="#1f2933",
            linewidth=0.9,
            marker="." if len(dates) <= 120 else None,
            markersize=4,
            label="actual (held out)",
        )
    ax.axvline(dates[0], color="#9aa5b1", linestyle="--", linewidth=0.8)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(FuncFormatter(_number))
    ax.set_title(title, fontsize=13, loc="left")
    ax.set_xlabel("date")
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#e4e7eb", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", frameon=False, ncols=4, fontsize=9)
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(lower)), float(np.nanmin(history))))
    fig.savefig(path, format="png")
    plt.close(fig)
