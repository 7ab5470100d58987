"""Defensive readers for run parameters.

The platform validates parameters against the manifest's schema and fills
defaults before a run starts; these readers repeat the checks that matter so
the model also behaves when run by hand with a partial ``params.json``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlrun_kernel.model import InputRejected


def number(
    params: dict[str, Any],
    key: str,
    default: float,
    *,
    low: float,
    high: float,
    low_open: bool = False,
) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputRejected(f"parameter {key} must be a number, got {value!r}")
    if value > high or value < low or (low_open and value == low):
        bound = "(" if low_open else "["
        raise InputRejected(f"parameter {key} must be in {bound}{low}, {high}], got {value}")
    return float(value)


def integer(params: dict[str, Any], key: str, default: int, *, low: int, high: int) -> int:
    value = params.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputRejected(f"parameter {key} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise InputRejected(f"parameter {key} must be between {low} and {high}, got {value}")
    return value


def boolean(params: dict[str, Any], key: str, default: bool) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise InputRejected(f"parameter {key} must be true or false, got {value!r}")
    return value


def choice(params: dict[str, Any], key: str, default: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    value = params.get(key, default)
    if value not in allowed:
        raise InputRejected(f"parameter {key} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def text(params: dict[str, Any], key: str, default: str) -> str:
    value = params.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise InputRejected(f"parameter {key} must be a non-empty string, got {value!r}")
    return value.strip()
