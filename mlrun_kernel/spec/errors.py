"""Errors raised by the model image contract.

Every error is a :class:`SpecError`. The ones that can carry several problems
at once (:class:`ManifestError`, :class:`ParameterError`, :class:`LabelError`)
keep them in ``.errors`` as :class:`SpecIssue` values, so a form or a build log
can show each problem where it belongs, and ``str(error)`` is one readable line
per problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SpecIssue:
    """One problem, and where it is.

    ``path`` is dotted for manifests (``"tasks.predict.parameters.properties.x"``),
    a JSON pointer for parameters (``"/window/size"``, root ``""``) and the label
    name for labels.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(Exception):
    """Base class: something about a model image breaks the contract."""


class _IssuesError(SpecError):
    """A SpecError that lists every problem found, one line each."""

    def __init__(self, errors: Iterable[SpecIssue], message: str | None = None) -> None:
        self.errors: list[SpecIssue] = list(errors)
        if message is None:
            message = "\n".join(self._line(issue) for issue in self.errors)
        super().__init__(message)

    @staticmethod
    def _line(issue: SpecIssue) -> str:
        return str(issue)


class ManifestError(_IssuesError):
    """The manifest (or a parameters schema inside it) does not validate.

    Lines read ``tasks.predict.parameters: 'type' must be 'object'``.
    """


class ParameterError(_IssuesError):
    """A run's parameters do not validate against the task's schema.

    ``.errors[i].path`` is a JSON pointer (``"/window/size"``; ``""`` for the
    whole object). Lines read ``/threshold: must be <= 1``; the root reads
    ``(root): ...``.
    """

    @staticmethod
    def _line(issue: SpecIssue) -> str:
        return f"{issue.path or '(root)'}: {issue.message}"


class LabelError(_IssuesError):
    """The image labels are missing, malformed or too large.

    ``.errors[i].path`` is the label name; lines read
    ``label org.opencontainers.image.title is missing``.
    """

    def __init__(self, message: str | Iterable[SpecIssue], *, label: str = "") -> None:
        if isinstance(message, str):
            super().__init__([SpecIssue(label, message)], message)
        else:
            super().__init__(message)

    @staticmethod
    def _line(issue: SpecIssue) -> str:
        return f"label {issue.path} {issue.message}" if issue.path else issue.message
