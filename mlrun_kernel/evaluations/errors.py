"""Errors of the evaluations area; each carries the HTTP status the service answers with."""

from __future__ import annotations


class EvaluationError(Exception):
    """Something about metrics, evaluations, rules or requests went wrong; the message says what to do."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidSetting(EvaluationError):
    """A rule, schedule, setup, webhook or request that cannot be stored as given (nothing was stored)."""

    status = 422


class NotFound(EvaluationError):
    status = 404


class Forbidden(EvaluationError):
    status = 403


class Conflict(EvaluationError):
    """The object is in a state that does not allow this (e.g. closing a resolved request)."""

    status = 409
