"""Defensive readers for run parameters.

The platform validates parameters against the manifest's schema and fills
defaults before a run starts; these readers repeat the checks that matter so
the model also behaves when run by hand with a partial ``params.json``.
``where`` names the field in messages (``columns.date``, ``holidays[2].impact``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from mlrun_kernel.model import InputRejected


def section(params: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    """A nested object parameter; ``{}`` when absent."""
    value = params.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputRejected(f"parameter {where or key} must be an object, got {value!r}")
    return value


def number(
    params: dict[str, Any], key: str, default: float, *, low: float, high: float, where: str = ""
) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputRejected(f"parameter {where or key} must be a number, got {value!r}")
    if not low <= value <= high:
        raise InputRejected(f"parameter {where or key} must be between {low:g} and {high:g}, got {value}")
    return float(value)


def optional_number(
    params: dict[str, Any], key: str, *, low: float, high: float, where: str = ""
) -> float | None:
    if params.get(key) is None:
        return None
    return number(params, key, 0.0, low=low, high=high, where=where)


def integer(params: dict[str, Any], key: str, default: int, *, low: int, high: int, where: str = "") -> int:
    value = params.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputRejected(f"parameter {where or key} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise InputRejected(f"parameter {where or key} must be between {low} and {high}, got {value}")
    return value


def boolean(params: dict[str, Any], key: str, default: bool, where: str = "") -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise InputRejected(f"parameter {where or key} must be true or false, got {value!r}")
    return value


def choice(params: dict[str, Any], key: str, default: str, allowed: Iterable[str], where: str = "") -> str:
    allowed = list(allowed)
    value = params.get(key, default)
    if value not in allowed:
        raise InputRejected(f"parameter {where or key} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def text(params: dict[str, Any], key: str, default: str, where: str = "") -> str:
    value = params.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise InputRejected(f"parameter {where or key} must be a non-empty string, got {value!r}")
    return value.strip()


def date(value: Any, where: str) -> dt.date:
    if not isinstance(value, str):
        raise InputRejected(f"parameter {where} must be a date like 2025-03-31, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputRejected(f"parameter {where} must be a date like 2025-03-31, got {value!r}") from None
